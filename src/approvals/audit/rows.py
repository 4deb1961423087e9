"""What the export writes for each event of the log: one row, with a ``kind`` saying what it is.

Every event `audit verify` walks makes a row (the events of a case that cannot be read, or
was disposed of, excepted: see :mod:`approvals.audit.export`):

========== ============================================================ =====================
kind       events                                                       subject
========== ============================================================ =====================
case       Filed, StepTaken                                             the case's reference
roster     Established, Appointed, Dismissed                            ``roster``
key        KeyRegistered, KeyRevoked (a writer's signing key)           ``roster``
retention  Opened, HoldPlaced, HoldReleased, DisposalApproved, Disposed the case's reference
counter    Started, Issued (the numbers of case references)             the series (ENT-2026)
definition Published (a workflow version first used by a case)          the workflow's id
other      an event of a kind this version does not know                its aggregate's id
========== ============================================================ =====================
"""

from __future__ import annotations

import re
from typing import Any, Protocol
from uuid import UUID

from approvals.domain.case import Case
from approvals.domain.registry import PublishedDefinition, ReferenceCounter
from approvals.domain.retention import RetentionRecord
from approvals.domain.roster import Roster

__all__ = ["COLUMNS", "Referencing", "row_of", "subject_named"]

COLUMNS = [
    "position", "at", "kind", "subject", "event", "actor", "role", "trigger", "from", "to",
    "comment", "fields", "checklist", "attachments", "user", "department",
]  # fmt: skip
"""The columns of every row, in the order CSV writes them (JSON Lines sorts them by name)."""


class Referencing(Protocol):
    """What gives :func:`row_of` the subjects of events that do not name their own."""

    def of(self, originator: UUID | str, position: int) -> str:
        """The subject (a case's reference, a counter's series) named by the first event of
        ``originator``, for its event stored at ``position``."""
        ...


def subject_named(event: Any) -> str | None:
    """The subject the first event of an aggregate names for all its events (a case's filing
    its reference, a counter's start its series, a retention record's opening its case), or
    None when ``event`` is no such event."""
    if isinstance(event, Case.Filed | RetentionRecord.Opened):
        return str(event.reference)
    if isinstance(event, ReferenceCounter.Started):
        return str(event.series)
    return None


def row_of(event: Any, references: Referencing, position: int) -> dict[str, Any]:
    """The row of ``event`` (stored at ``position``) but its position and time."""
    if isinstance(event, Case.Filed):
        return {
            **_case_row(event, references, position), "trigger": "file", "from": "", "to": event.state,
            "checklist": [], "department": event.department,
        }  # fmt: skip
    if isinstance(event, Case.StepTaken):
        return {
            **_case_row(event, references, position), "trigger": event.trigger, "from": event.source,
            "to": event.dest, "checklist": list(event.checklist), "department": "",
        }  # fmt: skip
    if isinstance(event, _ROSTER):
        return _roster_row(event)
    if isinstance(event, (RetentionRecord.Opened, *_RETENTION)):
        return _retention_row(event, references, position)
    return _record_row(event, references, position)


_ROSTER = (
    Roster.Established,
    Roster.Appointed,
    Roster.Dismissed,
    Roster.KeyRegistered,
    Roster.KeyRevoked,
)
_RETENTION = (
    RetentionRecord.HoldPlaced,
    RetentionRecord.HoldReleased,
    RetentionRecord.DisposalApproved,
    RetentionRecord.Disposed,
)


def _roster_row(event: Any) -> dict[str, Any]:
    """The row of an event of the roster: an appointment (or its end), a writer's key."""
    if isinstance(event, Roster.Established):
        return {**_other_row(event, "roster", "roster", event.actor), "to": "representative",
                "user": event.representative}  # fmt: skip
    row = _other_row(event, "roster", "roster", event.actor, event.actor_role)
    if isinstance(event, Roster.KeyRegistered):
        fields = {"key_id": event.key_id, "public_key": event.public_key, "service": event.service}
        return {**row, "kind": "key", "user": event.holder, "fields": fields}
    if isinstance(event, Roster.KeyRevoked):
        return {**row, "kind": "key", "fields": {"key_id": event.key_id}}
    return {**row, "to": event.role, "user": event.user, "department": event.department}


def _retention_row(event: Any, references: Referencing, position: int) -> dict[str, Any]:
    """The row of an event of a case's retention record: a hold, the disposal."""
    if isinstance(event, RetentionRecord.Opened):
        return _other_row(event, "retention", event.reference)
    subject = references.of(event.originator_id, position)
    row = _other_row(event, "retention", subject, event.actor, event.role)
    if isinstance(event, RetentionRecord.HoldPlaced):
        return {**row, "comment": event.reason}
    if isinstance(event, RetentionRecord.Disposed):
        fields = {
            "workflow": event.workflow, "title": event.title, "events": event.events,
            "method": event.method, "retained_until": event.retained_until,
        }  # fmt: skip
        return {**row, "fields": fields, "department": event.department}
    return {**row, "comment": event.comment}


def _record_row(event: Any, references: Referencing, position: int) -> dict[str, Any]:
    """The row of an event of a counter, a definition, or of a kind not known here."""
    if isinstance(event, ReferenceCounter.Started):
        return {**_other_row(event, "counter", event.series), "fields": {"number": 1}}
    if isinstance(event, ReferenceCounter.Issued):
        subject = references.of(event.originator_id, position)
        return {**_other_row(event, "counter", subject), "fields": {"number": event.number}}
    if isinstance(event, PublishedDefinition.Published):
        fields = {"version": event.workflow_version, "sha256": event.sha256}
        return {**_other_row(event, "definition", event.workflow_id), "fields": fields}
    return _other_row(event, "other", str(event.originator_id))


def _case_row(event: Any, references: Referencing, position: int) -> dict[str, Any]:
    return {
        "kind": "case", "subject": references.of(event.originator_id, position),
        "event": type(event).__name__, "actor": event.actor, "role": event.role,
        "comment": event.comment, "fields": dict(event.fields),
        "attachments": list(event.attachments), "user": "",
    }  # fmt: skip


_WORD = re.compile(r"(?<!^)(?=[A-Z])")


def _other_row(
    event: Any, kind: str, subject: str, actor: str = "", role: str = ""
) -> dict[str, Any]:
    """The row of an event of no case, its columns empty but what it names; its trigger is
    its name in snake case (``key_registered``)."""
    name = type(event).__name__
    return {
        "kind": kind, "subject": subject, "event": name, "actor": actor, "role": role,
        "trigger": _WORD.sub("_", name).lower(), "from": "", "to": "", "comment": "",
        "fields": {}, "checklist": [], "attachments": [], "user": "", "department": "",
    }  # fmt: skip
