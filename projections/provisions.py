"""The provision ledger: each provision of personal data to a third party (Art.16) with the
items its record keeps — date, recipient, data subjects, data items, consent — and each joint
use (Art.17) once in effect, with the items announced — data items, joint users, purpose, the
party responsible."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Column, Date, Index, Integer, MetaData, String, Table, Text

from approvals.domain.case import Case, Entry
from approvals.readmodel import CaseSubject, ReadModel, Rows, UTCDateTime

__all__ = ["MODEL", "ledger"]

PROVISION = "provision"
"""The workflow of third-party provision; each ``record_provision`` step is one provision."""
JOINT_USE = "joint_use"
"""The workflow of joint use; a case in effect is one joint use."""

metadata = MetaData()
ledger = Table(
    "rm_provisions",
    metadata,
    Column("reference", String(40), primary_key=True),
    Column("entry", Integer, primary_key=True),  # the case's event that records it
    Column("kind", String(16), nullable=False),  # provision | joint_use
    Column("department", String(200), nullable=False),
    Column("state", String(64), nullable=False),
    Column("on_date", Date, nullable=True),  # provided on / announced on
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("party", Text, nullable=False),  # the recipient, or the joint users
    Column("responsible_party", Text, nullable=False),
    Column("data_subjects", Text, nullable=False),
    Column("data_items", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("consent", String(64), nullable=False),
    Index("rm_provisions_by_date", "on_date", "reference", "entry"),
    Index("rm_provisions_by_kind", "kind", "on_date"),
    Index("rm_provisions_by_party", "party"),
)


def _date(value: Any) -> date | None:
    return None if value in (None, "") else date.fromisoformat(str(value))


def _row(case: Case, entry: Entry, kind: str, values: dict[str, Any]) -> dict[str, Any]:
    def text(name: str) -> str:
        return str(values.get(name, "") or "")

    return {
        "reference": case.reference,
        "entry": entry.position,
        "kind": kind,
        "department": case.department,
        "state": case.state,
        "recorded_at": entry.at,
        "recorded_by": entry.actor,
        "on_date": _date(values.get("provision_date") or values.get("announced_on")),
        "party": text("recipient") or text("joint_users"),
        "responsible_party": text("responsible_party"),
        "data_subjects": text("data_subjects"),
        "data_items": text("data_items"),
        "purpose": text("purpose"),
        "consent": text("consent"),
    }


class Provisions(ReadModel):
    """One row per provision recorded and per joint use put in effect."""

    name = "provisions"
    version = 2
    metadata = metadata
    case_tables = (ledger,)

    def for_case(self, subject: CaseSubject) -> Rows:
        case, workflow = subject.case, subject.workflow
        if case is None or workflow is None:
            return {}
        rows: list[dict[str, Any]] = []
        if case.workflow_id == PROVISION:
            rows = [
                _row(case, entry, PROVISION, {**case.history[0].fields, **entry.fields})
                for entry in case.history
                if entry.trigger == "record_provision"
            ]
        elif case.workflow_id == JOINT_USE:
            running = workflow.effective_states
            start = next((entry for entry in case.history if entry.dest in running), None)
            if start is not None:
                rows = [_row(case, start, JOINT_USE, dict(case.fields))]
        return {ledger: rows}


MODEL = Provisions()
