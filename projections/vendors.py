"""The vendor register: every entrustment (Art.15) — the vendor, its contracts, handover and
end, compliance checks, inspections done and the next one due, the vendor's yearly reports
received and the next one due, breaches reported and open — and every subcontracting by a
vendor, with the entrustment it belongs to."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Column, Date, Index, Integer, MetaData, String, Table, Text

from approvals.domain.case import Case
from approvals.domain.clocks import due_dates, usable_day
from approvals.domain.workflow import Workflow
from approvals.readmodel import CaseSubject, ReadModel, Rows, UTCDateTime

__all__ = ["DATES", "MODEL", "SUBCONTRACTING", "WORKFLOWS", "subcontracting", "vendors"]

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
    Index("rm_vendors_by_vendor", "vendor"),
    Index("rm_vendors_by_state", "state", "reference"),
    Index("rm_vendors_by_department", "department", "reference"),
    Index("rm_vendors_by_inspection", "next_inspection_due"),
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


def _date(value: Any) -> date | None:
    return usable_day(value)  # None for a date an earlier version let in (9999-12-31)


def _approved_at(case: Case) -> datetime | None:
    return next((e.at for e in case.history if e.trigger == "approve"), None)


def _last(case: Case, trigger: str, field: str) -> tuple[date | None, int]:
    taken = [entry for entry in case.history if entry.trigger == trigger]
    return (_date(taken[-1].fields.get(field)) if taken else None), len(taken)


class Vendors(ReadModel):
    """One row per entrustment case; one per subcontracting case."""

    name = "vendors"
    version = 4
    uses_calendar = True
    metadata = metadata
    case_tables = (vendors, subcontracting)

    def for_case(self, subject: CaseSubject) -> Rows:
        case, workflow = subject.case, subject.workflow
        if case is None or workflow is None:
            return {}
        if case.workflow_id == SUBCONTRACTING:
            return {subcontracting: [_subcontract(case, workflow)]}
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


MODEL = Vendors()
