"""Exports for auditors' own tools: every case and roster event, as JSON Lines or CSV."""

from __future__ import annotations

import csv
import json
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any
from uuid import UUID

import sqlalchemy as sa

from approvals.audit.decoding import PageDecoder, read_events
from approvals.audit.keys import CaseDataErased, CaseEventUnreadable
from approvals.domain.case import Case
from approvals.domain.clocks import JST
from approvals.domain.roster import Roster

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication

__all__ = ["COLUMNS", "export_rows", "write_csv", "write_jsonl"]

COLUMNS = [
    "position", "at", "subject", "event", "actor", "role", "trigger", "from", "to",
    "comment", "fields", "checklist", "attachments", "user", "department",
]  # fmt: skip


PAGE = 5000
"""Events read per query."""
REFERENCES = 16_384
"""Case references kept in memory (the most recent): an older one is read again from its
case's first event, so that memory does not grow with the log."""


def export_rows(
    app: ApprovalsApplication,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield one row per case or roster event, in the order recorded, within [start, end);
    the events of a case that cannot be read (see ``app.unreadable()``) are left out.
    ``progress(done, total)`` is called after each page: the log's positions read so far, out
    of the last one when the export began.

    The log is read with the driver's cursor a page at a time and each event decoded once
    (see :mod:`approvals.audit.decoding`); memory stays bounded whatever the log's size."""
    decoder = PageDecoder(app)
    references = _References(app, decoder)
    position = -1
    last = 0
    total = (app.recorder.max_notification_id() or 0) if progress is not None else 0
    while True:
        with app.engine.connect() as connection:
            page = read_events(connection, app, last, _END, PAGE)
        decoder.page(page)
        for stored in page:
            position += 1
            try:
                event: Any = decoder.decode(stored)
            except CaseDataErased:
                continue  # disposed of (its retention record says what was), or damaged
            except CaseEventUnreadable:
                continue  # a damaged case, which ApprovalsApplication.unreadable() names
            if isinstance(event, Case.Filed):
                references.filed(event.originator_id, event.reference)
            at: datetime = event.timestamp
            if (start and at < start) or (end and at >= end):
                continue
            row = _row(event, references, stored[0])
            if row is not None:
                yield {"position": position, "at": at.astimezone(JST).isoformat(), **row}
        if progress is not None:
            done = total if len(page) < PAGE else min(page[-1][0], total)
            progress(done, max(total, done))
        if len(page) < PAGE:
            return
        last = page[-1][0]


_END = 2**62  # past any position of the log


class _References:
    """The reference of each case seen filed, by case id: the most recent in memory, an older
    one read again from the case's first event (before the event being exported)."""

    def __init__(self, app: ApprovalsApplication, decoder: PageDecoder) -> None:
        self.app = app
        self.decoder = decoder
        self.known: OrderedDict[UUID, str] = OrderedDict()

    def filed(self, originator: UUID, reference: str) -> None:
        self.known[originator] = reference
        if len(self.known) > REFERENCES:
            self.known.popitem(last=False)

    def of(self, originator: UUID, position: int) -> str:
        """Return the reference of the case ``originator`` as its filing (stored before
        ``position``) says, or the id as text when it has none that can be read."""
        found = self.known.get(originator)
        if found is None:
            found = self._read(originator, position)
            self.filed(originator, found)
        return found

    def _read(self, originator: UUID, position: int) -> str:
        events = self.app.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
        query = sa.select(events.c.id, events.c.topic).where(
            events.c.originator_id == originator, events.c.originator_version == 1
        )
        with self.app.engine.connect() as connection:
            first = connection.execute(query).first()
            if first is None or first.id >= position:
                return str(originator)
            rows = read_events(connection, self.app, first.id - 1, first.id, 1)
        try:
            event = self.decoder.decode(rows[0])
        except (CaseDataErased, CaseEventUnreadable):
            return str(originator)
        return event.reference if isinstance(event, Case.Filed) else str(originator)


def _row(event: Any, references: _References, position: int) -> dict[str, Any] | None:
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
    if isinstance(event, Roster.Established):
        return {**_roster_row(event, "", "representative"), "user": event.representative}
    if isinstance(event, Roster.Appointed | Roster.Dismissed):
        return {
            **_roster_row(event, event.actor_role, event.role),
            "user": event.user,
            "department": event.department,
        }
    return None


def _case_row(event: Any, references: _References, position: int) -> dict[str, Any]:
    return {
        "subject": references.of(event.originator_id, position),
        "event": type(event).__name__, "actor": event.actor, "role": event.role,
        "comment": event.comment, "fields": dict(event.fields),
        "attachments": list(event.attachments), "user": "",
    }  # fmt: skip


def _roster_row(event: Any, role: str, to: str) -> dict[str, Any]:
    return {
        "subject": "roster", "event": type(event).__name__, "actor": event.actor, "role": role,
        "trigger": type(event).__name__.lower(), "from": "", "to": to, "comment": "",
        "fields": {}, "checklist": [], "attachments": [], "user": "", "department": "",
    }  # fmt: skip


def write_jsonl(rows: Iterator[dict[str, Any]], stream: IO[str]) -> int:
    """Write rows as JSON Lines; return how many."""
    encode = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode  # as json.dumps
    count = 0
    lines: list[str] = []
    for row in rows:
        lines.append(encode(row))
        count += 1
        if len(lines) == 2000:  # a few large writes rather than one per row
            lines.append("")
            stream.write("\n".join(lines))
            lines.clear()
    if lines:
        lines.append("")
        stream.write("\n".join(lines))
    return count


def write_csv(rows: Iterator[dict[str, Any]], stream: IO[str]) -> int:
    """Write rows as CSV with a header; nested values as JSON; return how many."""
    writer = csv.DictWriter(stream, fieldnames=COLUMNS)
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(
            {k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
             for k, v in row.items()}
        )  # fmt: skip
        count += 1
    return count
