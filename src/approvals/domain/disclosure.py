"""The disclosure of provision records (第三者提供記録の開示, APPI Art.33-5): what a request
of kind ``provision_records`` discloses is counted from the provision ledger, never typed.

When the chief takes ``disclose_records`` on a data subject's request, the application reads
the provision ledger for the data subject the request names (as the ledger finds a person:
:func:`approvals.domain.links.subject_key`) at that moment, and passes the provisions it found
to :func:`records_disclosed`; the step records their number (``records_disclosed``) and which
they are (``records_references``: each provision's case, its ledger entry, the day provided
and the recipient).  Nobody types those two fields: a value given for them by any step is
refused (:func:`computed_refusal`), so the case shows exactly what the ledger held when the
records were disclosed — none is a disclosure too ("no record exists", as APPI Art.33-3 asks
to be said).

Pure: the application loads the ledger and passes what it found.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from approvals.domain.workflow import Step, Workflow
from approvals.errors import InvalidValue, Label, Refused

__all__ = [
    "COMPUTED",
    "COUNT",
    "DISCLOSE_RECORDS",
    "REFERENCES",
    "REFERENCES_LIMIT",
    "ProvisionRecord",
    "computed_refusal",
    "records_disclosed",
    "records_wanted",
    "subject_of",
]

REQUEST = "request"
DISCLOSE_RECORDS = "disclose_records"
"""The step of a request that discloses the provision records about its data subject."""
SUBJECT = "data_subject"
COUNT = "records_disclosed"
"""The field recording how many provision records were disclosed."""
REFERENCES = "records_references"
"""The field recording which provision records were disclosed."""
COMPUTED = (COUNT, REFERENCES)
REFERENCES_LIMIT = 10_000
"""The longest list of references recorded, in characters (the limit of a text field)."""
_LEDGER = Label("the provision ledger", "第三者提供記録簿")


@dataclass(frozen=True, slots=True)
class ProvisionRecord:
    """One provision naming the data subject, as the ledger holds it."""

    reference: str
    entry: int
    on_date: date | None
    recipient: str

    def shown(self) -> str:
        """The record as the case lists it: ``PR-2026-0001#5 2026-05-10 Group insurer``."""
        day = self.on_date.isoformat() if self.on_date is not None else "-"
        recipient = " ".join(self.recipient.split())
        return f"{self.reference}#{self.entry} {day} {recipient}".strip()


def records_wanted(workflow: Workflow, step: Step) -> bool:
    """Return whether ``step`` discloses provision records (the application then reads the
    ledger for the data subject)."""
    return workflow.id == REQUEST and step.trigger == DISCLOSE_RECORDS and COUNT in workflow.fields


def subject_of(fields: Mapping[str, Any]) -> str:
    """The data subject a request names."""
    return str(fields.get(SUBJECT) or "")


def records_disclosed(records: Iterable[ProvisionRecord]) -> dict[str, Any]:
    """Return the values ``disclose_records`` records for the provisions ``records``: their
    number, and (when there is any) one line each, oldest first, cut with the number left
    out when the list would pass :data:`REFERENCES_LIMIT`."""
    found = sorted(set(records), key=lambda r: (r.on_date or date.min, r.reference, r.entry))
    values: dict[str, Any] = {COUNT: len(found)}
    if not found:
        return values
    lines: list[str] = []
    used = 0
    for index, record in enumerate(found):
        line = record.shown()[:500]
        more = f"… and {len(found) - index} more / 他{len(found) - index}件"
        if used + len(line) + 1 + len(more) > REFERENCES_LIMIT:
            lines.append(more)
            break
        lines.append(line)
        used += len(line) + 1
    values[REFERENCES] = "\n".join(lines)
    return values


def computed_refusal(workflow: Workflow, fields: Mapping[str, Any]) -> Refused | None:
    """Return why ``fields`` cannot be recorded — they give a value the engine counts from the
    ledger — or None."""
    if workflow.id != REQUEST:
        return None
    for name in fields:
        if name in COMPUTED and name in workflow.fields:
            return InvalidValue(
                "value.from_ledger",
                field=workflow.fields[name].label,
                ledger=_LEDGER,
                step=workflow.trigger_label(DISCLOSE_RECORDS),
            )
    return None
