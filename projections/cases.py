"""The case register (台帳): every case, its workflow, state, department, filer and dates."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Column, Date, Index, Integer, MetaData, String, Table, Text

from approvals.domain.case import Case
from approvals.domain.clocks import retention_until
from approvals.domain.workflow import Workflow
from approvals.readmodel import CaseSubject, ReadModel, Rows, UTCDateTime

__all__ = ["DECISIONS", "MODEL", "cases"]

DECISIONS = ("approve", "reject")
"""The chief's decisions (承認 or not): the first one taken dates the decision."""

metadata = MetaData()
cases = Table(
    "rm_cases",
    metadata,
    Column("reference", String(40), primary_key=True),
    Column("workflow", String(64), nullable=False),
    Column("workflow_version", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("department", String(200), nullable=False),
    Column("filer", String(200), nullable=False),
    Column("state", String(64), nullable=False),
    Column("terminal", Boolean, nullable=False),
    Column("events", Integer, nullable=False),
    Column("filed_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=True),
    Column("decision", String(64), nullable=True),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("effective_at", UTCDateTime, nullable=True),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("retention_until", Date, nullable=True),
    Column("disposed_at", UTCDateTime, nullable=True),
    Index("rm_cases_by_state", "workflow", "state"),
    Index("rm_cases_by_department", "department", "state"),
    Index("rm_cases_by_filed", "filed_at"),
)


def register_row(case: Case, workflow: Workflow) -> dict[str, Any]:
    """Return the register's row of a case."""
    history = case.history
    decision = next((e for e in history if e.trigger in DECISIONS), None)
    running = workflow.effective_states
    effective = next((e for e in history if e.dest in running), None)
    ended = next((e for e in history if e.dest in workflow.retention.starts_on), None)
    return {
        "reference": case.reference,
        "workflow": case.workflow_id,
        "workflow_version": case.workflow_version,
        "title": case.title,
        "department": case.department,
        "filer": case.filer,
        "state": case.state,
        "terminal": workflow.state(case.state).terminal,
        "events": case.version,
        "filed_at": case.created_on,
        "updated_at": case.modified_on,
        "decision": decision.trigger if decision else None,
        "decided_at": decision.at if decision else None,
        "effective_at": effective.at if effective else None,
        "ended_at": ended.at if ended else None,
        "retention_until": retention_until(history, workflow.retention),
        "disposed_at": None,
    }


def disposed_row(reference: str, disposal: Mapping[str, Any]) -> dict[str, Any]:
    """Return the register's row of a case whose data was disposed of: what the record keeps."""
    return {
        "reference": reference,
        "workflow": str(disposal.get("workflow", "")),
        "workflow_version": 0,
        "title": "",
        "department": str(disposal.get("department", "")),
        "filer": "",
        "state": "disposed",
        "terminal": True,
        "events": int(str(disposal.get("count", 0))),
        "filed_at": None,
        "updated_at": None,
        "decision": None,
        "decided_at": None,
        "effective_at": None,
        "ended_at": None,
        "retention_until": None,
        "disposed_at": datetime.fromisoformat(str(disposal["date"])),
    }


class CaseRegister(ReadModel):
    """台帳: one row per case, disposed cases kept as the disposal record's row."""

    name = "cases"
    version = 1
    metadata = metadata
    case_tables = (cases,)

    def for_case(self, subject: CaseSubject) -> Rows:
        record = subject.record
        if record is not None and record.disposed:
            return {cases: [disposed_row(subject.reference, record.disposal)]}
        if subject.case is None or subject.workflow is None:
            return {}
        return {cases: [register_row(subject.case, subject.workflow)]}


MODEL = CaseRegister()
