"""Exports for auditors' own tools: every event of the log, as JSON Lines or CSV.

Each event makes one row (see :mod:`approvals.audit.rows`: its ``kind`` says what it is),
its time in the zone asked for, with its offset."""

from __future__ import annotations

import csv
import gc
import json
import multiprocessing
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from datetime import datetime, tzinfo
from json.encoder import encode_basestring
from typing import IO, TYPE_CHECKING, Any, Protocol, cast
from uuid import UUID

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from approvals.audit.decoding import EventOpener, PageDecoder, as_event, case_text, read_events
from approvals.audit.keys import CASE_TOPICS, CaseDataErased, CaseEventUnreadable
from approvals.audit.rows import COLUMNS, row_of, subject_named
from approvals.domain.case import Case
from approvals.domain.registry import ReferenceCounter
from approvals.domain.retention import RetentionRecord
from approvals.stored import sharing_cores
from approvals.zones import company_zone

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication

__all__ = ["COLUMNS", "export_rows", "write_csv", "write_jsonl"]


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
    zone: tzinfo | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield one row per event of the log (see :mod:`approvals.audit.rows`), in the order
    recorded, within [start, end] (both included), each time ``at`` in ``zone`` (default: the
    company's, :func:`approvals.zones.company_zone`) with its offset; the events of a case
    that cannot be read (see ``app.unreadable()``) or was disposed of are left out (its
    retention record's rows say what was).  ``progress(done, total)`` is called after each
    page: the log's positions read so far, out of the last one when the export began.

    The log is read with the driver's cursor a page at a time and each event decoded once
    (see :mod:`approvals.audit.decoding`); memory stays bounded whatever the log's size.
    :func:`write_jsonl` given these rows writes them without building them (see
    :class:`_Export`), in worker processes when the log is large."""
    return _Export(app, start, end, company_zone() if zone is None else zone, progress)


class _Export(Iterator[dict[str, Any]]):
    """The rows of an export, read when asked for: as dicts one at a time (iterating), or as
    JSON Lines a page at a time (:meth:`lines`).

    For JSON Lines each page of stored events is decoded and written as text at once, without
    domain events or row dicts for the usual events, in worker processes when the log holds
    :data:`PARALLEL` events or more and this process may fork
    (:func:`~approvals.stored.sharing_cores`; the workers inherit the
    application's mapper and are given the keys of their page's cases; they read nothing).
    A case's reference, the subject of its rows, comes from its filing, which may lie pages
    before: a worker leaves a hole for it, which this process fills in page order with the
    references it keeps (:class:`_References`).  At most a few pages are in flight, so memory
    stays bounded; the text is the same byte for byte whichever path wrote it."""

    def __init__(
        self,
        app: ApprovalsApplication,
        start: datetime | None,
        end: datetime | None,
        zone: tzinfo,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.app = app
        self.start = start
        self.end = end
        self.zone = zone
        self.progress = progress
        self.count = 0
        self._dicts: Iterator[dict[str, Any]] | None = None

    def __next__(self) -> dict[str, Any]:
        if self._dicts is None:
            self._dicts = self._rows()
        return next(self._dicts)

    def _rows(self) -> Iterator[dict[str, Any]]:
        """The rows as dicts, decoded in this process."""
        app, start, end, zone = self.app, self.start, self.end, self.zone
        decoder = PageDecoder(app)
        references = _References(app, decoder)
        position = -1
        for page in self._pages(decoder, decoder.page):
            for stored in page:
                position += 1
                try:
                    event: Any = decoder.decode(stored)
                except CaseDataErased:
                    continue  # disposed of (its retention record says what was), or damaged
                except CaseEventUnreadable:
                    continue  # a damaged case, which ApprovalsApplication.unreadable() names
                subject = subject_named(event)
                if subject is not None:
                    references.filed(str(event.originator_id), subject)
                at: datetime = event.timestamp
                if (start and at < start) or (end and at > end):
                    continue
                row = row_of(event, references, stored[0])
                yield {"position": position, "at": at.astimezone(zone).isoformat(), **row}

    def _pages(
        self, decoder: PageDecoder, prepare: Callable[[list[tuple[Any, ...]]], None]
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Every page of the log's stored events, after ``prepare(page)``; progress is told
        of a page when the next one is asked for (or at the end)."""
        app, progress = self.app, self.progress
        total = (app.recorder.max_notification_id() or 0) if progress is not None else 0
        last = 0
        size = PAGE
        while True:
            with app.engine.connect() as connection:
                page = read_events(connection, app, last, _END, size)
            prepare(page)
            yield page
            if progress is not None:
                done = total if len(page) < size else min(page[-1][0], total)
                progress(done, max(total, done))
            if len(page) < size:
                return
            last = page[-1][0]

    def lines(self) -> Iterator[str]:
        """The rows as JSON Lines (as :func:`write_jsonl` writes dicts), a page at a time;
        :attr:`count` is the number of rows written so far."""
        decoder = PageDecoder(self.app)
        references = _References(self.app, decoder)
        encode = _ENCODE
        for pieces, count in self._encoded(decoder):
            text: list[str] = []
            for piece in pieces:
                if type(piece) is str:
                    text.append(piece)
                elif len(piece) == 2:  # a hole for a case's reference (a counter's series)
                    text.append(encode(references.of(piece[0], cast(int, piece[1]))))
                else:  # a case's filing (a counter's start, a retention record's opening)
                    references.filed(piece[0], piece[1])
            self.count += count
            if text:
                yield "".join(text)

    def _encoded(self, decoder: PageDecoder) -> Iterator[tuple[list[_Piece], int]]:
        """Each page encoded (see :func:`_page`), in order: here, or by worker processes
        (a few pages in flight, so that memory stays bounded)."""
        app, progress, size = self.app, self.progress, PAGE
        total = app.recorder.max_notification_id() or 0
        window = (self.start, self.end, self.zone)
        workers = _workers(app, total)
        pool = None
        if workers:
            context = multiprocessing.get_context("fork")
            # Frozen, the inherited objects are left out of the workers' collections, so that
            # their memory stays shared with this process (a host's own freeze is kept).
            frozen = gc.get_freeze_count()
            gc.freeze()
            try:
                pool = context.Pool(workers, initializer=_started, initargs=(app,))
            finally:
                if not frozen:
                    gc.unfreeze()
        try:
            waiting: deque[_Pending] = deque()
            after = position = 0
            while True:
                upto = _boundary(app, after, size)
                job = (after, _END if upto is None else upto, size, position, window)
                waiting.append(
                    _Done(_page(decoder, job)) if pool is None else pool.apply_async(_work, (job,))
                )
                while waiting and (upto is None or len(waiting) > 2 * workers):
                    pieces, count, read, last = waiting.popleft().get()
                    yield pieces, count
                    if progress is not None:
                        done = total if read < size else min(last, total)
                        progress(done, max(total, done))
                if upto is None:  # the last page was read: the end, unless the log grew
                    if read < size:
                        return
                    upto = last
                after, position = upto, position + size
        finally:
            if pool is not None:
                pool.terminate()


_END = 2**62  # past any position of the log


def _boundary(app: ApprovalsApplication, after: int, size: int) -> int | None:
    """The position of the ``size``-th event after ``after``, None if the log holds fewer."""
    table = app.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
    query = (
        sa.select(table.c.id)
        .where(table.c.id > after)
        .order_by(table.c.id)
        .offset(size - 1)
        .limit(1)
    )
    with app.engine.connect() as connection:
        found: int | None = connection.execute(query).scalar()
    return found


PARALLEL = 20_000
"""Events in the log from which JSON Lines are written by worker processes."""
WORKERS = 4
"""Worker processes at most (never more than the processors this process may use)."""


def _workers(app: ApprovalsApplication, events: int) -> int:
    """How many worker processes write the JSON Lines of ``app``'s log of ``events`` (0:
    none)."""
    workers = min(WORKERS, sharing_cores(app.engine))
    return workers if workers > 1 and events >= PARALLEL else 0


_Piece = str | tuple[str, int] | tuple[str, Any, None]
"""A part of a page's JSON Lines: text; a hole for the reference of the case (id as text) whose
event (at this position in the log) the row is; or a case's filing (its id and reference).  A
counter's series and a retention record's case are filled in the same way."""
_Window = tuple[datetime | None, datetime | None, tzinfo]
"""The times [start, end] of the events exported (None: no bound), and the zone their times
are written in."""
_Job = tuple[int, int, int, int, _Window]
"""A page to encode: the stored events past ``after`` up to ``upto``, at most ``size``; the
first is ``position``-th in the log; those in ``window`` make rows."""
_Page = tuple[list[_Piece], int, int, int]
"""A page encoded: its pieces, its rows, the stored events read and the last one's position."""


class _Pending(Protocol):
    """A page being encoded."""

    def get(self) -> _Page:
        """The page encoded."""
        ...


class _Done:
    """A page encoded in this process."""

    def __init__(self, page: _Page) -> None:
        self.page = page

    def get(self) -> _Page:
        return self.page


_DECODER: PageDecoder | None = None  # in a worker process: its own, on the parent's app


def _started(app: ApprovalsApplication) -> None:
    """In a worker process as it starts (forked: ``app`` is the parent's, with connections
    of its own, see ``StoredApplication.after_fork``): make its decoder."""
    global _DECODER  # noqa: PLW0603 -- one per worker process, set once as it starts
    _DECODER = PageDecoder(app)


def _work(job: _Job) -> _Page:
    """In a worker process: :func:`_page` with the decoder it was started with."""
    if _DECODER is None:  # pragma: no cover -- _started runs before any work
        raise RuntimeError("This worker process was not started by an export.")
    return _page(_DECODER, job)


def _page(decoder: PageDecoder, job: _Job) -> _Page:
    """Read the stored events of ``job`` (past ``after`` up to ``upto``, at most ``size``;
    the first is ``position``-th in the log) and the keys of their cases; encode them (see
    :func:`_encode`)."""
    after, upto, size, position, window = job
    app = decoder.app
    with app.engine.connect() as connection:
        rows = read_events(connection, app, after, upto, size)
    keys = decoder.page_keys(rows)
    pieces, count = _encode(decoder.opener, rows, keys, position, window)
    return pieces, count, len(rows), rows[-1][0] if rows else after


_ENCODE = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode  # as json.dumps writes
_QUOTE = encode_basestring  # a str as _ENCODE writes it
_SUBJECT = '"subject": '


def _encode(
    opener: EventOpener,
    rows: list[tuple[Any, ...]],
    keys: dict[str, bytes],
    position: int,
    window: _Window,
) -> tuple[list[_Piece], int]:
    """Return the JSON Lines of the rows of the stored events ``rows`` (the first at
    ``position`` in the log) as pieces, and how many rows they hold: what
    :meth:`_Export._rows` gives and :func:`write_jsonl` writes, byte for byte, but for the
    references of the cases, left as holes.  ``keys`` are the data keys of the cases of the
    rows that have one."""
    pieces: list[_Piece] = []
    text: list[str] = []  # the text since the last hole
    ciphers: dict[str, AESGCM] = {}
    ids: dict[Any, tuple[str, UUID]] = {}  # each case's id as the driver gives it: as text, a UUID
    count = 0
    for at, stored in enumerate(rows, position):
        found = ids.get(stored[1])
        if found is None:
            found = ids[stored[1]] = _ids(stored[1])
        case, originator = found
        try:
            if stored[3].startswith(CASE_TOPICS):
                cipher = ciphers.get(case)
                if cipher is None and case in keys:
                    cipher = ciphers[case] = AESGCM(keys[case])
                cls, state = opener.state(stored, case, cipher, originator)
            else:
                event = opener.other(stored)
                cls, state = type(event), vars(event)
        except (CaseDataErased, CaseEventUnreadable):
            continue  # see ApprovalsApplication.unreadable() and the retention records
        if issubclass(cls, _NAMING):
            if text:
                pieces.append("".join(text))
                text.clear()
            pieces.append((case, subject_named(as_event(cls, state)), None))
        line = _line(cls, state, at, stored[0], window)
        if line is None:
            continue
        count += 1
        if type(line) is str:
            text.append(line)
        else:
            text.append(line[0])
            pieces.append("".join(text))
            pieces.append((case, stored[0]))
            text[:] = [line[1]]
    if text:
        pieces.append("".join(text))
    return pieces, count


_NAMING = (Case.Filed, RetentionRecord.Opened, ReferenceCounter.Started)
"""The first events of aggregates that name the subject of their later events (see
:func:`~approvals.audit.rows.subject_named`)."""


def _ids(raw: Any) -> tuple[str, UUID]:
    """A case's id, as the driver gives it, as text and as a UUID."""
    originator = raw if isinstance(raw, UUID) else UUID(bytes=bytes(raw))
    return case_text(raw), originator


def _line(
    cls: type, state: dict[str, Any], position: int, at: int, window: _Window
) -> str | tuple[str, str] | None:
    """The JSON line of the event of class ``cls`` with ``state`` (``position``-th in the log,
    stored at ``at``), whole or as the text before and after its case's reference; None when
    it lies outside ``window``."""
    start, end, zone = window
    found = state.get("timestamp")
    timestamp: datetime = as_event(cls, state).timestamp if found is None else found
    if (start and timestamp < start) or (end and timestamp > end):
        return None
    when = timestamp.astimezone(zone).isoformat()
    line = _usual(cls, state, position, when)
    if line is not None:
        return line
    hole = _Hole()
    row = row_of(as_event(cls, state), hole, at)
    return _general(row, position, when, hole=hole.asked)


def _json(value: list[Any] | dict[str, Any]) -> str:
    """A list or dict as _ENCODE writes it (most are empty)."""
    return _ENCODE(value) if value else "[]" if type(value) is list else "{}"


class _Hole:
    """References for :func:`~approvals.audit.rows.row_of` in a worker: the subject is filled
    in afterwards (``asked``: the row has a hole for it)."""

    def __init__(self) -> None:
        self.asked = False

    def of(self, originator: UUID | str, position: int) -> str:
        self.asked = True
        return ""


def _general(row: dict[str, Any], position: int, when: str, *, hole: bool) -> str | tuple[str, str]:
    """The JSON line of ``row`` (with its position and time): whole for an event that names
    its subject, else (``hole``) the text before and after its case's reference."""
    whole = {"position": position, "at": when, **row}
    if not hole:
        return _ENCODE(whole) + "\n"
    before = {k: v for k, v in whole.items() if k < "subject"}
    after = {k: v for k, v in whole.items() if k > "subject"}
    return _ENCODE(before)[:-1] + ", " + _SUBJECT, ", " + _ENCODE(after)[1:] + "\n"


def _usual(cls: type, state: dict[str, Any], position: int, when: str) -> tuple[str, str] | None:
    """The JSON line of a case's filing or step (with its position and time), as the text
    before and after the case's reference, written directly; None when the event is not one
    of those or holds values of other types than the engine writes (:func:`_general` writes
    it then, as json does)."""
    q = _QUOTE
    try:
        if cls is Case.StepTaken:
            actor, role, comment = state["actor"], state["role"], state["comment"]
            trigger, source, dest = state["trigger"], state["source"], state["dest"]
            fields, checklist = state["fields"], state["checklist"]
            attachments = state["attachments"]
            if not (
                type(actor) is type(role) is type(comment) is type(trigger) is str
                and type(source) is type(dest) is str
                and type(fields) is dict
                and type(checklist) is type(attachments) is list
            ):
                return None
            return (
                f'{{"actor": {q(actor)}, "at": {q(when)}, "attachments": {_json(attachments)}'
                f', "checklist": {_json(checklist)}, "comment": {q(comment)}'
                f', "department": "", "event": "StepTaken", "fields": {_json(fields)}'
                f', "from": {q(source)}, "kind": "case", "position": {position}'
                f', "role": {q(role)}, {_SUBJECT}',
                f', "to": {q(dest)}, "trigger": {q(trigger)}, "user": ""}}\n',
            )
        if cls is Case.Filed:
            actor, role, comment = state["actor"], state["role"], state["comment"]
            department, to = state["department"], state["state"]
            fields, attachments = state["fields"], state["attachments"]
            if not (
                type(actor) is type(role) is type(comment) is type(department) is str
                and type(to) is str
                and type(fields) is dict
                and type(attachments) is list
            ):
                return None
            return (
                f'{{"actor": {q(actor)}, "at": {q(when)}, "attachments": {_json(attachments)}'
                f', "checklist": [], "comment": {q(comment)}, "department": {q(department)}'
                f', "event": "Filed", "fields": {_json(fields)}, "from": "", "kind": "case"'
                f', "position": {position}, "role": {q(role)}, {_SUBJECT}',
                f', "to": {q(to)}, "trigger": "file", "user": ""}}\n',
            )
    except KeyError:
        return None
    return None


class _References:
    """The reference of each case seen filed, by case id (as text): the most recent in memory,
    an older one read again from the case's first event (before the event being exported).
    The series of a counter and the case of a retention record, by their ids, likewise."""

    def __init__(self, app: ApprovalsApplication, decoder: PageDecoder) -> None:
        self.app = app
        self.decoder = decoder
        self.known: OrderedDict[str, str] = OrderedDict()

    def filed(self, originator: str, reference: str) -> None:
        self.known[originator] = reference
        if len(self.known) > REFERENCES:
            self.known.popitem(last=False)

    def of(self, originator: UUID | str, position: int) -> str:
        """Return the reference of the case ``originator`` as its filing (stored before
        ``position``) says, or the id as text when it has none that can be read."""
        text = str(originator)
        found = self.known.get(text)
        if found is None:
            found = self._read(text, position)
            self.filed(text, found)
        return found

    def _read(self, originator: str, position: int) -> str:
        events = self.app.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
        query = sa.select(events.c.id, events.c.topic).where(
            events.c.originator_id == UUID(originator), events.c.originator_version == 1
        )
        with self.app.engine.connect() as connection:
            first = connection.execute(query).first()
            if first is None or first.id >= position:
                return originator
            rows = read_events(connection, self.app, first.id - 1, first.id, 1)
        try:
            event = self.decoder.decode(rows[0])
        except (CaseDataErased, CaseEventUnreadable):
            return originator
        return subject_named(event) or originator


def write_jsonl(rows: Iterator[dict[str, Any]], stream: IO[str]) -> int:
    """Write rows as JSON Lines; return how many.  The rows of :func:`export_rows` are written
    a page at a time without being built (the same bytes)."""
    if isinstance(rows, _Export) and rows._dicts is None:
        for text in rows.lines():
            stream.write(text)
        return rows.count
    encode = _ENCODE
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
