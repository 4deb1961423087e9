"""Exports for auditors' own tools: every case and roster event, as JSON Lines or CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

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
    of the last one when the export began."""
    references: dict[str, str] = {}
    position = -1
    first = 1
    total = (app.recorder.max_notification_id() or 0) if progress is not None else 0
    while True:
        page = app.recorder.select_notifications(first, 2000)
        for notification in page:
            position += 1
            try:
                event: Any = app.mapper.to_domain_event(notification)
            except CaseDataErased:
                continue  # disposed of (its retention record says what was), or damaged
            except CaseEventUnreadable:
                continue  # a damaged case, which ApprovalsApplication.unreadable() names
            if isinstance(event, Case.Filed):
                references[str(event.originator_id)] = event.reference
            at: datetime = event.timestamp
            if (start and at < start) or (end and at >= end):
                continue
            row = _row(event, references)
            if row is not None:
                yield {"position": position, "at": at.astimezone(JST).isoformat(), **row}
        if progress is not None:
            done = total if len(page) < 2000 else min(page[-1].id, total)
            progress(done, max(total, done))
        if len(page) < 2000:
            return
        first = page[-1].id + 1


def _row(event: Any, references: dict[str, str]) -> dict[str, Any] | None:
    if isinstance(event, Case.Filed):
        return {
            **_case_row(event, references), "trigger": "file", "from": "", "to": event.state,
            "checklist": [], "department": event.department,
        }  # fmt: skip
    if isinstance(event, Case.StepTaken):
        return {
            **_case_row(event, references), "trigger": event.trigger, "from": event.source,
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


def _case_row(event: Any, references: dict[str, str]) -> dict[str, Any]:
    return {
        "subject": references.get(str(event.originator_id), str(event.originator_id)),
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
    count = 0
    for row in rows:
        stream.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
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
