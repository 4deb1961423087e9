"""The provision ledger: each provision of personal data to a third party (Art.16) with the
items its record keeps — date, recipient, data subjects, data items, consent — and each joint
use (Art.17) once in effect, with the items announced — data items, joint users, purpose, the
party responsible.

Each provision's record has a retention of its own (the Act on the Protection of Personal
Information, Art.29-2, and the Commission's Rules), beside the seven years the company keeps
the whole case: three years from the day the record was made — the day the provision was
recorded here, as the engine stamps it (not the provided-on date typed in, usually earlier) —
or one year where the contract or other document with the provision stands in for the record
(``contract_as_record``, as the case holds it when the provision is recorded; the Rules count
that year from the last provision the document covers, and the case's seven years outlast it
either way).  Years run as the Civil Code counts them (Art.140, 143): the day the record is
made is not counted, so the period ends on the same date in the last year, and a record made
on 29 February ends on 28 February (the day before 1 March, where counting began).

Each data subject a provision names (``data_subjects`` lists them separated by commas, 、 or
new lines) is a row of ``rm_provision_subjects``: its spelling as recorded, and the key it is
found by (:func:`subject_key`), so that every provision concerning one person can be found.

A data subject's refusal of provision that the company complied with (a request's
``stop_provision``, Art.19) is a row of its own, of kind ``refusal``: the request's
reference, the day provision stopped, the data subject (also a row of ``rm_provision_subjects``)
— so that a search for a person shows their refusal beside the provisions naming them.  The
engine refuses a later provision naming them unless it records its legal ground (consent
``law_permits``, the ground in the step's comment: :mod:`approvals.domain.links`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Column, Date, Index, Integer, MetaData, String, Table, Text

from approvals.domain.case import Case, Entry
from approvals.domain.clocks import JST, add_years, usable_day
from approvals.domain.links import KEY_LENGTH, split_subjects, subject_key
from approvals.readmodel import CaseSubject, ReadModel, Rows, UTCDateTime

__all__ = [
    "KEY_LENGTH",
    "MODEL",
    "REFUSAL",
    "ledger",
    "record_kept_until",
    "split_subjects",
    "subject_key",
    "subjects",
]

PROVISION = "provision"
"""The workflow of third-party provision; each ``record_provision`` step is one provision."""
JOINT_USE = "joint_use"
"""The workflow of joint use; a case in effect is one joint use."""
CONTRACT_AS_RECORD = "contract_as_record"
"""The field saying that the contract or other document with the provision is its record."""
RECORD_YEARS = 3
"""How long the record of a provision is kept, from the day it was made."""
CONTRACT_RECORD_YEARS = 1
"""How long it is kept where the contract or other document stands in for the record."""
REFUSAL = "refusal"
"""The kind of a ledger row showing a data subject's refusal of provision complied with."""
REQUEST = "request"
STOP_PROVISION = "stop_provision"

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
    # The last day the provision's own record is kept (joint uses: None).
    Column("record_kept_until", Date, nullable=True),
    Index("rm_provisions_by_date", "on_date", "reference", "entry"),
    Index("rm_provisions_by_kind", "kind", "on_date"),
    Index("rm_provisions_by_party", "party"),
)
subjects = Table(
    "rm_provision_subjects",
    metadata,
    Column("reference", String(40), primary_key=True),
    Column("entry", Integer, primary_key=True),  # the provision's row in rm_provisions
    Column("subject_key", Text, primary_key=True),  # subject_key(subject): what is searched
    Column("subject", Text, nullable=False),  # as recorded, spaces tidied
    Index("rm_provision_subjects_by_key", "subject_key", "reference", "entry"),
)


def record_kept_until(made_on: date, *, contract: bool = False) -> date:
    """Return the last day the record of a provision made on ``made_on`` is kept."""
    return add_years(made_on, CONTRACT_RECORD_YEARS if contract else RECORD_YEARS)


def _date(value: Any) -> date | None:
    return usable_day(value)  # None for a date an earlier version let in (9999-12-31)


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
        "record_kept_until": None,
    }


def _provisions(case: Case) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return the ledger rows and the subject rows of each provision the case recorded."""
    rows: list[dict[str, Any]] = []
    named: list[dict[str, Any]] = []
    # Each provision's items as the case holds them when it is recorded: what the step did not
    # give again (the consent recorded with the measures, say) was taken from there when the
    # step was checked.
    held: dict[str, Any] = {}
    for entry in case.history:
        held.update(entry.fields)
        if entry.trigger != "record_provision":
            continue
        row = _row(case, entry, PROVISION, held)
        # The record is made when the provision is recorded here (provided on may be earlier).
        made_on = entry.at.astimezone(JST).date()
        contract = held.get(CONTRACT_AS_RECORD) is True
        row["record_kept_until"] = record_kept_until(made_on, contract=contract)
        rows.append(row)
        named += [
            {"reference": case.reference, "entry": entry.position, "subject_key": key,
             "subject": spelling}
            for spelling, key in split_subjects(row["data_subjects"])
        ]  # fmt: skip
    return rows, named


def _refusals(case: Case) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return the ledger row and the subject row of a refusal of provision complied with."""
    for entry in case.history:
        if entry.trigger != STOP_PROVISION:
            continue
        values = dict(case.fields)
        row = _row(case, entry, REFUSAL, {**values, "data_subjects": values.get("data_subject")})
        row["on_date"] = _date(values.get("stopped_on"))
        row["consent"] = ""
        named = [
            {"reference": case.reference, "entry": entry.position, "subject_key": key,
             "subject": spelling}
            for spelling, key in split_subjects(row["data_subjects"])
        ]  # fmt: skip
        return [row], named
    return [], []


class Provisions(ReadModel):
    """One row per provision recorded and per joint use put in effect; one row per data
    subject each provision names."""

    name = "provisions"
    version = 4
    metadata = metadata
    case_tables = (ledger, subjects)

    @staticmethod
    def subject_key(text: str) -> str:
        """Return the key the data subject ``text`` is found by (see :func:`subject_key`)."""
        return subject_key(text)

    def for_case(self, subject: CaseSubject) -> Rows:
        case, workflow = subject.case, subject.workflow
        if case is None or workflow is None:
            return {}
        rows: list[dict[str, Any]] = []
        named: list[dict[str, Any]] = []
        if case.workflow_id == PROVISION:
            rows, named = _provisions(case)
        elif case.workflow_id == REQUEST:
            rows, named = _refusals(case)
        elif case.workflow_id == JOINT_USE:
            running = workflow.effective_states
            start = next((entry for entry in case.history if entry.dest in running), None)
            if start is not None:
                rows = [_row(case, start, JOINT_USE, dict(case.fields))]
        return {ledger: rows, subjects: named}


MODEL = Provisions()
