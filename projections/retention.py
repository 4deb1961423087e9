"""The retention schedule: until when each case is kept (seven years from its end), legal
holds, the chief's approval of disposal, and the disposal record once disposed of; and the
cases each case names in a field of kind ``case``, whose retention it follows (Art.15-7: a
subcontracting approval is kept as long as its entrustment)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Boolean, Column, Date, Index, MetaData, String, Table, Text

from approvals.domain.clocks import retention_until, usable_day
from approvals.readmodel import CaseSubject, ReadModel, Rows, UTCDateTime

__all__ = ["MODEL", "links", "schedule"]

metadata = MetaData()
schedule = Table(
    "rm_retention",
    metadata,
    Column("reference", String(40), primary_key=True),
    Column("workflow", String(64), nullable=False),
    Column("department", String(200), nullable=False),
    Column("title", Text, nullable=False),
    Column("state", String(64), nullable=False),
    Column("retained_until", Date, nullable=True),  # None while the case runs
    Column("held", Boolean, nullable=False),
    Column("hold_reason", Text, nullable=False),
    Column("approved_by", String(200), nullable=False),
    Column("disposed_at", UTCDateTime, nullable=True),
    Column("disposed_by", String(200), nullable=False),
    Column("disposal_method", Text, nullable=False),
    Index("rm_retention_by_until", "retained_until", "reference"),
)
links = Table(
    "rm_retention_links",
    metadata,
    Column("reference", String(40), primary_key=True),
    Column("names", String(40), primary_key=True),  # a case it is kept as long as
    Index("rm_retention_links_by_names", "names"),
)


def _day(value: object) -> date | None:
    return usable_day(value)


class RetentionSchedule(ReadModel):
    """One row per case: its own retention deadline, hold, approval and disposal; one row per
    case it names (the registers count those in the period it is kept)."""

    name = "retention"
    version = 3
    metadata = metadata
    case_tables = (schedule, links)

    def for_case(self, subject: CaseSubject) -> Rows:
        record, case, workflow = subject.record, subject.case, subject.workflow
        row: dict[str, Any] = {
            "reference": subject.reference,
            "held": bool(record and record.held),
            "hold_reason": record.hold_reason if record else "",
            "approved_by": record.approved_by if record else "",
            "disposed_at": None,
            "disposed_by": "",
            "disposal_method": "",
        }
        if record is not None and record.disposed:
            disposal = record.disposal
            row |= {
                "workflow": str(disposal.get("workflow", "")),
                "department": str(disposal.get("department", "")),
                "title": str(disposal.get("what", "")),
                "state": "disposed",
                "retained_until": _day(disposal.get("retained_until")),
                "disposed_at": record.disposed_at,
                "disposed_by": str(disposal["by"]),
                "disposal_method": str(disposal["method"]),
            }
            return {schedule: [row]}
        if case is None or workflow is None:
            return {}
        row |= {
            "workflow": case.workflow_id,
            "department": case.department,
            "title": case.title,
            "state": case.state,
            "retained_until": retention_until(case.history, workflow.retention),
        }
        named = workflow.named_cases(case.fields)
        return {
            schedule: [row],
            links: [{"reference": subject.reference, "names": other} for other in named],
        }


MODEL = RetentionSchedule()
