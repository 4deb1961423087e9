"""The vendor register: every entrustment (Art.15) — the vendor, its contracts, handover and
end, compliance checks, inspections done and the next one due, the vendor's yearly reports
received and the next one due, breaches reported and open — and every subcontracting by a
vendor, with the entrustment it belongs to.

An entrustment that has ended owes the return or erasure of its data (001 Art.9, 002 第12):
its row keeps when it ended and when that duty fell due, and each erasure case is a row of
``rm_erasures`` naming its entrustment.  The register joins them when it is read — a subcontract
is in effect only while its entrustment has not ended, and the duty is overdue until an erasure
case naming the entrustment is closed — so that each case's rows stay its own (a rebuild gives
the same rows whatever order the cases change in).

The duties not met in time are kept apart, in ``rm_erasure_duties``, derived by the database
from those rows in the transaction that writes them (:meth:`Vendors.settle`): one row for each
ended entrustment whose duty is open, or was met late, with when the first erasure case naming
it closed.  An entrustment whose data came back in time has none, so the overdue list and the
reminders read only the duties they may show, however many entrustments the years have ended."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from approvals.domain.case import Case
from approvals.domain.clocks import add, due_dates, usable_day
from approvals.domain.links import ERASURE, ERASURE_DONE, ERASURE_DUTY, running_states
from approvals.domain.workflow import Workflow
from approvals.readmodel import CaseSubject, ReadModel, Rows, UTCDateTime, chunks

__all__ = [
    "DATES",
    "MODEL",
    "SUBCONTRACTING",
    "WORKFLOWS",
    "duties",
    "erasures",
    "subcontracting",
    "vendors",
]

WORKFLOWS = ("entrustment",)
"""The workflows whose cases entrust data to a vendor."""

DATES = (
    "basic_contract_date",
    "individual_contract_date",
    "handover_date",
    "individual_contract_end_date",
)
"""The contract dates the register shows, as the entrustment workflow names its fields."""

INSPECTION = "inspection"
"""The deadline that schedules the periodic inspection (Art.15-6)."""

VENDOR_REPORT = "vendor_report"
"""The deadline that asks for the vendor's yearly report (001 Art.13-1)."""

SUBCONTRACTING = "subcontracting"
"""The workflow whose cases let a vendor subcontract, each naming its entrustment case."""

metadata = MetaData()
vendors = Table(
    "rm_vendors",
    metadata,
    Column("reference", String(40), primary_key=True),
    Column("vendor", Text, nullable=False),
    Column("workflow", String(64), nullable=False),
    Column("workflow_version", Integer, nullable=False),
    Column("department", String(200), nullable=False),
    Column("state", String(64), nullable=False),
    Column("data_items", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("approved_at", UTCDateTime, nullable=True),
    *(Column(name, Date, nullable=True) for name in DATES),
    Column("last_check", Date, nullable=True),
    Column("checks", Integer, nullable=False),
    Column("last_inspection", Date, nullable=True),
    Column("inspections", Integer, nullable=False),
    Column("next_inspection_due", UTCDateTime, nullable=True),
    Column("last_vendor_report", Date, nullable=True),
    Column("vendor_reports", Integer, nullable=False),
    Column("next_vendor_report_due", UTCDateTime, nullable=True),
    Column("breaches", Integer, nullable=False),
    Column("open_breaches", Integer, nullable=False),
    # When the entrustment ended, and when the return or erasure it then owes fell due.
    Column("ended_at", UTCDateTime, nullable=True),
    Column("erasure_due_at", UTCDateTime, nullable=True),
    Index("rm_vendors_by_vendor", "vendor"),
    Index("rm_vendors_by_state", "state", "reference"),
    Index("rm_vendors_by_department", "department", "reference"),
    Index("rm_vendors_by_inspection", "next_inspection_due"),
    # the overdue list walks the ended entrustments by when their erasure fell due
    Index("rm_vendors_by_erasure_due", "erasure_due_at", "reference"),
    Index("rm_vendors_by_department_erasure_due", "department", "erasure_due_at", "reference"),
)
subcontracting = Table(
    "rm_subcontracting",
    metadata,
    Column("reference", String(40), primary_key=True),
    Column("entrustment", String(40), nullable=False),
    Column("subcontractor", Text, nullable=False),
    Column("department", String(200), nullable=False),
    Column("state", String(64), nullable=False),
    Column("in_effect", Boolean, nullable=False),
    Column("approved_at", UTCDateTime, nullable=True),
    Column("written_approval_date", Date, nullable=True),
    Index("rm_subcontracting_by_entrustment", "entrustment", "reference"),
)
erasures = Table(
    "rm_erasures",
    metadata,
    Column("reference", String(40), primary_key=True),
    Column("entrustment", String(40), nullable=False),
    Column("state", String(64), nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),  # its record confirmed: the duty is met
    Index("rm_erasures_by_entrustment", "entrustment", "closed_at"),
)
duties = Table(
    "rm_erasure_duties",
    metadata,
    Column("reference", String(40), primary_key=True),  # the entrustment that owes it
    Column("department", String(200), nullable=False),
    Column("erasure_due_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),  # None while it is open; else met late
    Index("rm_erasure_duties_open", "closed_at", "erasure_due_at", "reference"),
    Index("rm_erasure_duties_by_due", "erasure_due_at", "reference"),
    Index("rm_erasure_duties_by_department", "department", "erasure_due_at", "reference"),
)


def _date(value: Any) -> date | None:
    return usable_day(value)  # None for a date an earlier version let in (9999-12-31)


def _approved_at(case: Case) -> datetime | None:
    return next((e.at for e in case.history if e.trigger == "approve"), None)


def _last(case: Case, trigger: str, field: str) -> tuple[date | None, int]:
    taken = [entry for entry in case.history if entry.trigger == trigger]
    return (_date(taken[-1].fields.get(field)) if taken else None), len(taken)


class Vendors(ReadModel):
    """One row per entrustment case; one per subcontracting case; one per erasure case; one
    per return or erasure not met in time."""

    name = "vendors"
    version = 7
    uses_calendar = True
    metadata = metadata
    case_tables = (vendors, subcontracting, erasures)
    derived_tables = (duties,)

    def bearing(self, connection: Connection, changed: Mapping[Table, Sequence[str]]) -> set[str]:
        """The entrustments changed, and those the erasure cases changed name."""
        keys = set(changed.get(vendors, ()))
        for chunk in chunks(changed.get(erasures, ()), 500):
            query = sa.select(erasures.c.entrustment).where(erasures.c.reference.in_(chunk))
            keys.update(connection.execute(query).scalars())
        return keys

    def settle(self, connection: Connection, keys: set[str]) -> None:
        """Each of ``keys`` that has ended owes a duty: kept while it is open or was met late
        (the first erasure case naming it closed after it fell due)."""
        closed = (
            sa.select(sa.func.min(erasures.c.closed_at))
            .where(erasures.c.entrustment == vendors.c.reference,
                   erasures.c.closed_at.is_not(None))
            .scalar_subquery()
        )  # fmt: skip
        for chunk in chunks(sorted(keys), 500):
            connection.execute(sa.delete(duties).where(duties.c.reference.in_(chunk)))
            owed = sa.select(
                vendors.c.reference, vendors.c.department, vendors.c.erasure_due_at, closed
            ).where(
                vendors.c.reference.in_(chunk),
                vendors.c.erasure_due_at.is_not(None),
                sa.or_(closed.is_(None), closed > vendors.c.erasure_due_at),
            )
            connection.execute(
                sa.insert(duties).from_select(
                    ["reference", "department", "erasure_due_at", "closed_at"], owed
                )
            )

    def for_case(self, subject: CaseSubject) -> Rows:
        case, workflow = subject.case, subject.workflow
        if case is None or workflow is None:
            return {}
        if case.workflow_id == SUBCONTRACTING:
            return {subcontracting: [_subcontract(case, workflow)]}
        if case.workflow_id == ERASURE:
            return {erasures: [_erasure(case)]}
        if case.workflow_id not in WORKFLOWS:
            return {}
        approved = _approved_at(case)
        last_check, checks = _last(case, "record_compliance_check", "check_date")
        last_inspection, inspections = _last(case, "inspect", "inspection_date")
        breaches = sum(1 for e in case.history if e.trigger == "report_breach")
        closed = sum(
            1 for e in case.history if e.trigger == "record_measures" and e.source != "approved"
        )
        last_report, reports = _last(case, "record_vendor_report", "vendor_report_date")
        due = {
            d.deadline.name: d.due_at
            for d in due_dates(case.history, workflow.deadlines, subject.holiday)
        }
        row: dict[str, Any] = {
            "reference": case.reference,
            "vendor": str(case.fields.get("vendor", "")),
            "workflow": case.workflow_id,
            "workflow_version": case.workflow_version,
            "department": case.department,
            "state": case.state,
            "data_items": str(case.fields.get("data_items", "")),
            "purpose": str(case.fields.get("purpose", "")),
            "approved_at": approved,
            **{name: _date(case.fields.get(name)) for name in DATES},
            "last_check": last_check,
            "checks": checks,
            "last_inspection": last_inspection,
            "inspections": inspections,
            "next_inspection_due": due.get(INSPECTION),
            "last_vendor_report": last_report,
            "vendor_reports": reports,
            "next_vendor_report_due": due.get(VENDOR_REPORT),
            "breaches": breaches,
            "open_breaches": max(0, breaches - closed),
            **_end(case, workflow, subject),
        }
        return {vendors: [row]}


def _subcontract(case: Case, workflow: Workflow) -> dict[str, Any]:
    return {
        "reference": case.reference,
        "entrustment": str(case.fields.get("entrustment", "")),
        "subcontractor": str(case.fields.get("subcontractor", "")),
        "department": case.department,
        "state": case.state,
        "in_effect": case.state in workflow.effective_states,
        "approved_at": _approved_at(case),
        "written_approval_date": _date(case.fields.get("written_approval_date")),
    }


def _end(case: Case, workflow: Workflow, subject: CaseSubject) -> dict[str, Any]:
    """When the entrustment ended (left effect for good), and when its return or erasure is due."""
    running = running_states(workflow)
    end = next(
        (e for e in case.history if e.source in running and workflow.state(e.dest).terminal),
        None,
    )
    if end is None:
        return {"ended_at": None, "erasure_due_at": None}
    return {"ended_at": end.at, "erasure_due_at": add(end.at, ERASURE_DUTY.within, subject.holiday)}


def _erasure(case: Case) -> dict[str, Any]:
    closed = next((e.at for e in case.history if e.dest == ERASURE_DONE), None)
    return {
        "reference": case.reference,
        "entrustment": str(case.fields.get("entrustment", "")),
        "state": case.state,
        "closed_at": closed,
    }


MODEL = Vendors()
