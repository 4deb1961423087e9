"""Deadlines: every run of every deadline of every case, so that the overdue list (what is
overdue now, and what was done late) is two indexed queries.  A run's rows change only when
the run starts or stops; the case's title and state are read from the case register."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, MetaData, String, Table

from approvals.domain.clocks import Episodes
from approvals.readmodel import CaseSubject, Following, ReadModel, Rows, UTCDateTime

__all__ = ["MODEL", "deadlines"]

metadata = MetaData()
deadlines = Table(
    "rm_deadlines",
    metadata,
    Column("reference", String(40), primary_key=True),
    Column("deadline", String(64), primary_key=True),
    Column("run", Integer, primary_key=True),  # 1 for the deadline's first run, and so on
    Column("started_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("stopped_at", UTCDateTime, nullable=True),  # None while the clock runs
    Column("late", Boolean, nullable=False),  # stopped after it was due
    Column("workflow", String(64), nullable=False),
    Column("workflow_version", Integer, nullable=False),
    Column("department", String(200), nullable=False),
    Index("rm_deadlines_running", "stopped_at", "due_at"),
    Index("rm_deadlines_late", "late", "due_at"),
    Index("rm_deadlines_by_department", "department", "late", "due_at"),
)


class Deadlines(ReadModel):
    """Each run of a deadline: started, due, stopped."""

    name = "deadlines"
    version = 2
    uses_calendar = True
    metadata = metadata
    case_tables = (deadlines,)

    def __init__(self) -> None:
        # each case's clocks as its last batch left them: the next takes in its new events
        self._clocks: Following[Episodes] = Following()

    def for_case(self, subject: CaseSubject) -> Rows:
        case, workflow = subject.case, subject.workflow
        if case is None or workflow is None:
            return {}
        clocks = self._clocks.get(case.reference)
        if clocks is None or not clocks.follows(case.history, workflow.deadlines, subject.holiday):
            clocks = Episodes(case.history, workflow.deadlines, subject.holiday)
            self._clocks.keep(case.reference, clocks)
        runs: dict[str, int] = {}
        rows = []
        for run in clocks.now():
            runs[run.deadline.name] = runs.get(run.deadline.name, 0) + 1
            rows.append(
                {
                    "reference": case.reference,
                    "deadline": run.deadline.name,
                    "run": runs[run.deadline.name],
                    "started_at": run.started_at,
                    "due_at": run.due_at,
                    "stopped_at": run.stopped_at,
                    "late": run.stopped_at is not None and run.stopped_at > run.due_at,
                    "workflow": case.workflow_id,
                    "workflow_version": case.workflow_version,
                    "department": case.department,
                }
            )
        return {deadlines: rows}


MODEL = Deadlines()
