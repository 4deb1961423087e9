"""The inbox: which step of which case waits for which role (of which department), and the
roster that says who holds those roles now.  A person's inbox is one join of the two."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Column, Index, Integer, MetaData, String, Table, Text

from approvals.domain.clocks import due_dates
from approvals.domain.roster import Roster
from approvals.domain.workflow import DEPARTMENT_ROLES
from approvals.readmodel import CaseSubject, ReadModel, Rows, UTCDateTime
from approvals.views import since

__all__ = ["MODEL", "inbox", "roster"]

metadata = MetaData()
inbox = Table(
    "rm_inbox",
    metadata,
    Column("reference", String(40), primary_key=True),
    Column("trigger", String(64), primary_key=True),
    Column("role", String(32), nullable=False),
    Column("department", String(200), nullable=False),  # "" for a company-wide role
    Column("filer", String(200), nullable=False),
    Column("filer_only", Boolean, nullable=False),  # only the filer may take it
    Column("not_filer", Boolean, nullable=False),  # the filer may not decide their own case
    Column("workflow", String(64), nullable=False),
    Column("workflow_version", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("case_department", String(200), nullable=False),
    Column("state", String(64), nullable=False),
    Column("since", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=True),
    Index("rm_inbox_by_role", "role", "department"),
)
roster = Table(
    "rm_roster",
    metadata,
    Column("user", String(200), primary_key=True),
    Column("role", String(32), primary_key=True),
    Column("department", String(200), primary_key=True),
    Column("start", UTCDateTime, nullable=False),
)


class Inbox(ReadModel):
    """What waits for whom: open steps by role and department; the roster's running terms."""

    name = "inbox"
    version = 2  # 2: a filer's step no longer shows the deadline of another role's step
    uses_calendar = True
    metadata = metadata
    case_tables = (inbox,)
    roster_tables = (roster,)

    def for_case(self, subject: CaseSubject) -> Rows:
        case, workflow = subject.case, subject.workflow
        if case is None or workflow is None or workflow.state(case.state).terminal:
            return {}
        due = min(
            (d.due_at for d in due_dates(case.history, workflow.deadlines, subject.holiday)),
            default=None,
        )
        waiting = since(case)
        steps = workflow.allowed(case.state)
        # A deadline running while others may act is theirs to meet: the filer's own step
        # beside theirs (withdraw, while the manager is to consult) shows none.  When only the
        # filer may act (resubmit or withdraw a returned notice) the deadline is the filer's.
        others_act = any(not step.filer_only for step in steps)
        rows: list[dict[str, Any]] = [
            {
                "reference": case.reference,
                "trigger": step.trigger,
                "role": step.role,
                "department": case.department if step.role in DEPARTMENT_ROLES else "",
                "filer": case.filer,
                "filer_only": step.filer_only,
                "not_filer": step.role in ("manager", "chief"),
                "workflow": case.workflow_id,
                "workflow_version": case.workflow_version,
                "title": case.title,
                "case_department": case.department,
                "state": case.state,
                "since": waiting,
                "due_at": None if step.filer_only and others_act else due,
            }
            for step in steps
        ]
        return {inbox: rows}

    def for_roster(self, aggregate: Roster) -> Rows:
        return {
            roster: [
                {"user": t.user, "role": t.role, "department": t.department, "start": t.start}
                for t in aggregate.terms_at(None)
            ]
        }


MODEL = Inbox()
