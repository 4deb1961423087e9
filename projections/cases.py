"""The case register (台帳): every case, its workflow, state, department, filer and dates."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Column, Date, Index, Integer, MetaData, String, Table, Text

from approvals.readmodel import CaseSubject, ReadModel, Rows, UTCDateTime
from approvals.views import register_values

__all__ = ["MODEL", "cases"]

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
    # the day the action starts, as the case records it (a workflow's effective_date field),
    # beside the moment the step putting it in effect was recorded
    Column("effective_date", Date, nullable=True),
    Column("effective_at", UTCDateTime, nullable=True),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("retention_until", Date, nullable=True),
    Column("disposed_at", UTCDateTime, nullable=True),
    # the register's order: when filed, or for a disposed case (whose filing date went with its
    # data) when disposed of; the indexes let a filtered page be read without sorting
    Column("listed_at", UTCDateTime, nullable=False),
    Index("rm_cases_listed", "listed_at", "reference"),
    Index("rm_cases_by_workflow", "workflow", "listed_at"),
    Index("rm_cases_by_workflow_state", "workflow", "state", "listed_at"),
    Index("rm_cases_by_department", "department", "listed_at"),
    Index("rm_cases_by_department_state", "department", "state", "listed_at"),
    Index("rm_cases_by_state", "state", "listed_at"),
)


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
        "effective_date": None,
        "effective_at": None,
        "ended_at": None,
        "retention_until": None,
        "disposed_at": datetime.fromisoformat(str(disposal["date"])),
        "listed_at": datetime.fromisoformat(str(disposal["date"])),
    }


class CaseRegister(ReadModel):
    """台帳: one row per case, disposed cases kept as the disposal record's row."""

    name = "cases"
    version = 3  # 3: the recorded effective_date beside the moment put in effect
    metadata = metadata
    case_tables = (cases,)

    def for_case(self, subject: CaseSubject) -> Rows:
        record = subject.record
        if record is not None and record.disposed:
            return {cases: [disposed_row(subject.reference, record.disposal)]}
        if subject.case is None or subject.workflow is None:
            return {}
        values = register_values(subject.case, subject.workflow)
        return {cases: [{**values, "disposed_at": None, "listed_at": values["filed_at"]}]}


MODEL = CaseRegister()
