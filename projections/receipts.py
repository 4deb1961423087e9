"""The receipts ledger: each receipt of personal data from a third party, with the record the
Act on the Protection of Personal Information asks the recipient to keep (APPI Art.30; the
Commission's Rules Art.15-18) — the provider's name and address, its representative, how the
provider obtained the data — beside the data items, the purpose and whether the data include
sensitive personal information (要配慮個人情報) with the prior consent recorded for it.

An indirect collection (``method`` with ``collection = "indirect"``, Art.8) takes effect with
``record_indirect_measures``, which records the confirmation: that step is one row, of kind
``receipt``.  A separate model rather than a fourth kind of the provision ledger: the items
differ (a provider, its address and representative, how it obtained the data — none of them
a provision's), and APPI 30 is a record of its own beside the provision record of APPI 29.

The record is kept three years from the day it was made (Rules Art.19-3 for the general case)
— the day the confirmation was recorded here, as the engine stamps it — counted as the Civil
Code counts years (Art.140, 143), like the provision ledger; the company keeps the whole case
seven years from its end either way.  The one-year period where the receipt is of a
contract's delivery of goods or services is not modelled (no such flag is recorded).

The provider is found by its name as a whole, in any case, full- or half-width, however
spaced (:func:`~approvals.domain.links.subject_key`), like a data subject of the provision
ledger.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Boolean, Column, Date, Index, Integer, MetaData, String, Table, Text

from approvals.domain.case import Case, Entry
from approvals.domain.clocks import JST, add_years, usable_day
from approvals.domain.links import KEY_LENGTH, subject_key
from approvals.readmodel import CaseSubject, ReadModel, Rows, UTCDateTime

__all__ = ["MODEL", "RECEIPT", "RECORD_YEARS", "ledger", "record_kept_until"]

METHOD = "method"
"""The workflow of new and indirect collection."""
RECEIPT_STEPS = ("record_indirect_measures",)
"""The steps that record a receipt's confirmation; each one taken is one row."""
RECEIPT = "receipt"
"""The kind of a row: a receipt of data from a third party."""
RECORD_YEARS = 3
"""How long the record of a receipt is kept, from the day it was made."""

metadata = MetaData()
ledger = Table(
    "rm_receipts",
    metadata,
    Column("reference", String(40), primary_key=True),
    Column("entry", Integer, primary_key=True),  # the case's event that records it
    Column("kind", String(16), nullable=False),  # receipt
    Column("department", String(200), nullable=False),
    Column("state", String(64), nullable=False),
    Column("on_date", Date, nullable=True),  # collection starts on
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("provider", Text, nullable=False),
    Column("provider_key", String(KEY_LENGTH), nullable=False),  # subject_key(provider)
    Column("provider_address", Text, nullable=False),
    Column("provider_representative", Text, nullable=False),
    Column("provider_acquisition", Text, nullable=False),
    Column("data_items", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("sensitive", Boolean, nullable=False),
    Column("sensitive_consent", String(64), nullable=False),
    Column("record_kept_until", Date, nullable=False),
    Index("rm_receipts_by_date", "on_date", "reference", "entry"),
    Index("rm_receipts_by_provider", "provider_key", "reference", "entry"),
)


def record_kept_until(made_on: date) -> date:
    """Return the last day the record of a receipt made on ``made_on`` is kept."""
    return add_years(made_on, RECORD_YEARS)


def _row(case: Case, entry: Entry, values: dict[str, Any]) -> dict[str, Any]:
    def text(name: str) -> str:
        return str(values.get(name, "") or "")

    provider = " ".join(text("provider_name").split())
    return {
        "reference": case.reference,
        "entry": entry.position,
        "kind": RECEIPT,
        "department": case.department,
        "state": case.state,
        "on_date": usable_day(values.get("effective_date")),
        "recorded_at": entry.at,
        "recorded_by": entry.actor,
        "provider": provider,
        "provider_key": subject_key(provider),
        "provider_address": text("provider_address"),
        "provider_representative": text("provider_representative"),
        "provider_acquisition": text("provider_acquisition"),
        "data_items": text("data_items"),
        "purpose": text("purpose"),
        "sensitive": values.get("sensitive") is True,
        "sensitive_consent": text("sensitive_consent"),
        # The record is made when the confirmation is recorded here.
        "record_kept_until": record_kept_until(entry.at.astimezone(JST).date()),
    }


class Receipts(ReadModel):
    """One row per receipt of personal data from a third party confirmed and recorded."""

    name = "receipts"
    version = 1
    metadata = metadata
    case_tables = (ledger,)

    @staticmethod
    def provider_key(text: str) -> str:
        """Return the key the provider ``text`` is found by (see :func:`subject_key`)."""
        return subject_key(text)

    def for_case(self, subject: CaseSubject) -> Rows:
        case = subject.case
        if case is None or case.workflow_id != METHOD:
            return {}
        rows: list[dict[str, Any]] = []
        # Each receipt's items as the case holds them when it is recorded.
        held: dict[str, Any] = {}
        for entry in case.history:
            held.update(entry.fields)
            if entry.trigger in RECEIPT_STEPS and held.get("provider_name"):
                rows.append(_row(case, entry, held))
        return {ledger: rows}


MODEL = Receipts()
