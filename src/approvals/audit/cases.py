"""The second and third layers of verification, case by case and over every core.

Each event is decoded once (a case's decrypted under its key), a signed event's actor is
compared with the writer its signature names, the cases whose notice cannot be read are
noted, and each case is replayed from the events just decoded and checked against its rules
(:mod:`approvals.audit.rules`) — without reading any of them again.

Cases are independent, so a long log is shared out: each process takes the aggregates whose
id falls in its share (a CRC-32 of the id, modulo the number of shares), walks the log beside
the ledger exactly as one process would (:func:`~approvals.audit.pages.paired`, so that each
event gets the same ledger row whatever was done to either table), and decodes, checks and
replays only its own aggregates.  When the first layer found the log sound (each event
beside the ledger row its id names), a share is instead a range of aggregate ids, read
aggregate by aggregate with each event's ledger row joined (:class:`_Stream`): each case is
replayed as soon as its last event is read and its events dropped, so that a worker's memory
does not grow with the log; a case that replays clean is then written to the share's file
(:mod:`approvals.audit.kept`: its notice's event id, its retention record's id, its
reference, and its summary when the rules across cases read it), not kept in memory, and the
parent looks back at one only when its record does not replay as it should, and reads the
summaries from the files one at a time.  An aggregate that is not a case (a workflow's yearly
reference counter) is read in parts.  Each process also checks the writers' signatures of its
share of the positions (:func:`~approvals.audit.writers.signature_share`, the roster replayed
in each).  The parent puts what the shares found back in the order of the sequential walk:
events by database id, cases in the order they were filed, signatures by position.  A short
log, or where this process may not fork (:func:`~approvals.stored.sharing_cores`: no ``fork``,
an in-memory database, a thread other than the main one), is walked in this process as one
share, by the same code: aggregate by aggregate when the log is sound, so that the memory of a
verification run in a web server's thread does not grow with the log either.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection as Connection_
from typing import TYPE_CHECKING, Any
from uuid import UUID
from zlib import crc32

from eventsourcing.persistence import StoredEvent
from sqlalchemy import Connection, inspect

from approvals.audit.damage import STORAGE_ERRORS, issued_references
from approvals.audit.findings import Finding
from approvals.audit.kept import Kept, KeptWriter, WorkflowKey
from approvals.audit.keys import CASE_TOPICS, CaseDataErased, CaseEventUnreadable
from approvals.audit.links import LinkSummary, summarized
from approvals.audit.pages import (
    PAGE,
    as_bytes,
    as_uuid,
    columns_of,
    event_rows,
    ledger_duplicates,
    paired,
    signed_ledger_rows,
    table_of,
    text_id,
)
from approvals.audit.signing import SIGNATURES_TABLE
from approvals.audit.writers import (
    Signatures,
    SignatureShare,
    actor_finding,
    joined_signatures,
    signature_findings,
    signature_share,
)
from approvals.domain.case import Case, case_id
from approvals.domain.links import IN_EFFECT_LINKS, PROVISION, REQUEST
from approvals.domain.registry import PublishedDefinition, ReferenceCounter, reference_key
from approvals.domain.retention import RetentionRecord, retention_id
from approvals.domain.roster import ROSTER_ID, Roster
from approvals.errors import Label
from approvals.stored import sharing_cores

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication
    from approvals.domain.workflow import Workflow

__all__ = ["PARALLEL_FROM", "CasePass", "Replay", "Share", "merged", "subjects", "walk_cases"]

PARALLEL_FROM = 10_000
"""Events from which the cases are shared out over processes (below, one process is quicker)."""

_FILED = Case.Filed.TOPIC


def _named(event: Any) -> dict[str, str]:
    """The names one event gives: a notice names its case, a counter its series, and so on."""
    if isinstance(event, Case.Filed):
        return {str(event.originator_id): str(event.reference)}
    if isinstance(event, RetentionRecord.Opened):
        reference = str(event.reference)
        return {str(case_id(reference)): reference,
                str(event.originator_id): f"retention of {reference}"}  # fmt: skip
    if isinstance(event, ReferenceCounter.Started):
        return {str(event.originator_id): f"numbering of {event.series}"}
    return {str(event.originator_id): f"definition {event.workflow_id} v{event.workflow_version}"}


def subjects(app: ApprovalsApplication) -> dict[str, str]:
    """Name every aggregate as people know it: a case by its reference."""
    names = {str(ROSTER_ID): "roster"}
    topics = (
        Case.Filed.TOPIC,
        ReferenceCounter.Started.TOPIC,
        PublishedDefinition.Published.TOPIC,
        RetentionRecord.Opened.TOPIC,
    )
    start = 1
    unnamed = False
    while True:
        page = app.recorder.select_notifications(start, 5000, topics=topics)
        for notification in page:
            try:
                names.update(_named(app.mapper.to_domain_event(notification)))
            except STORAGE_ERRORS:
                raise
            except Exception:  # noqa: BLE001 - a tampered event may not decode; it is reported
                unnamed = True
        if len(page) < 5000:
            break
        start = page[-1].id + 1
    if unnamed:  # a case whose notice cannot be read is named by the numbering
        issued = issued_references(app)  # a counter that does not replay names nothing
        for originator, reference in issued.items():
            names.setdefault(str(originator), reference)
    return names


@dataclass(frozen=True, slots=True)
class Replay:
    """One case replayed against its rules, as far as its own events tell.

    ``stage`` is "erased" (its events cannot be read: disposed of), "unreadable" (they do
    not replay), or "checked": then the retention record ``record`` decides, in the parent,
    whether what was checked stands (it replays) or the case is unreadable after all (it
    does not, or says the case was disposed of).  When ``ok`` (its rules could be checked),
    ``violations`` are what they say, ``versions`` its events' and ``workflow_id`` its
    workflow's; ``workflow`` and ``links`` (what the rules across cases read of the case:
    :class:`~approvals.audit.links.LinkSummary`) come along only when those rules may need
    them (:data:`LINKABLE`); ``case``, only in this process (a worker sends none)."""

    stage: str
    record: UUID | None = None
    ok: bool = False
    violations: tuple[tuple[int, Label], ...] = ()
    versions: tuple[int, ...] = ()
    workflow_id: str = ""
    case: Case | None = None
    workflow: Workflow | None = None
    links: LinkSummary | None = None


def linked_workflows(workflow_ids: Iterable[str]) -> set[str]:
    """Of the workflows of the cases checked (``workflow_ids``), those whose cases the rules
    across cases (:mod:`approvals.audit.links`) read: a case that names another, a provision,
    and — only when there is one of those — the cases they may name and the requests."""
    present = set(workflow_ids)
    sources = {workflow for workflow, _ in IN_EFFECT_LINKS} | {PROVISION}
    if not present & sources:
        return set()
    return present & (sources | set(IN_EFFECT_LINKS.values()) | {REQUEST})


@dataclass(slots=True)
class Share:
    """What one share of the aggregates gave: findings keyed for the merge, and what the
    parent needs to finish the cases' rules."""

    undecodable: list[tuple[int, Finding]] = field(default_factory=list)  # (event id, …)
    actors: list[tuple[int, int, Finding]] = field(default_factory=list)  # (id, position, …)
    filed: list[tuple[int, UUID, str | None, bool]] = field(default_factory=list)
    """Each notice: (event id, case id, its reference or None, whether it failed as erased)."""
    replays: dict[str, Replay | None] = field(default_factory=dict)
    """By reference; None when the case's events are another share's (the parent replays it)."""
    records: dict[UUID, str] = field(default_factory=dict)
    """How each other aggregate replays as a case's companion, when not "ok": disposed,
    erased, fails."""
    events: int = 0
    partial: bool = False
    """Whether ``events`` counts this share's events only (the walk by aggregate), not all."""
    signature_share: SignatureShare | None = None
    """The writers' signatures of this share's positions, when the workers checked them."""
    signed: Signatures | None = None
    """The writers' signatures of every event, when asked for (:class:`CasePass`)."""
    kept_paths: list[str] = field(default_factory=list)
    """The files of the cases the walk by aggregate replayed clean — they stand, break none
    of their rules, the ledger holds none of their events twice — in neither ``filed`` nor
    ``replays`` (:mod:`approvals.audit.kept`): :func:`merged` takes back those whose record
    does not replay as "ok"; the summaries of those the rules across cases read are there."""
    kept: Kept | None = None
    """The parent's reader of ``kept_paths`` (:func:`merged` opens it; its owner closes it)."""
    workflows: dict[WorkflowKey, Workflow] = field(default_factory=dict)
    """The definitions the summaries kept on disk replayed on."""
    taken_back: set[str] = field(default_factory=set)
    """The references of the clean cases :func:`merged` took back (their summaries kept on
    disk are not read)."""


_JOB: Any = None
"""What the forked workers read: (app, roster or None, count, counter, sound, signatures,
folder)."""


def _version_order(item: tuple[Any, Any, Any]) -> tuple[int, Any]:
    """Sort versions as SQLite does (numbers before text): the order the store reads them in."""
    version = item[0]
    return (0, version) if isinstance(version, int) else (1, str(version))


class _Walker:
    """One share's walk: decoding, actors, notices, and the replay of its cases."""

    def __init__(
        self,
        app: ApprovalsApplication,
        index: int,
        count: int,
        roster: Roster | None,
        only: frozenset[str] | None = None,
    ) -> None:
        self.app = app
        self.index, self.count = index, count
        self.only = only  # the aggregates (ids as text) walked, when not all of them
        self.roster = roster
        self.share = Share()
        self.unreadable_cases: set[str] = set()  # whose notice does not decrypt: damage.py's
        self.events: dict[str, list[tuple[Any, Any, BaseException | None]]] = {}
        self.own = 0  # events of this share walked
        self._names: dict[str, str] | None = None
        self.carried: dict[str, _Companion] = {}  # an aggregate read in parts: its first ones
        self.twice: set[str] | None = None  # the aggregates the ledger holds an event of twice

    def mine(self, originator: str) -> bool:
        if self.only is not None:
            return originator in self.only
        return self.count == 1 or crc32(originator.encode()) % self.count == self.index

    def name(self, originator: str) -> str:
        if self._names is None:
            self._names = subjects(self.app)
        return self._names.get(originator, f"aggregate {originator}")

    def walk(
        self,
        connection: Connection,
        page: int,
        tick: Callable[[int], None] | None,
    ) -> None:
        """Walk the log; ``tick`` is told the events done, every ``page`` of them."""
        roster = str(ROSTER_ID)
        batch: list[tuple[tuple[Any, ...], tuple[Any, ...] | None, str]] = []
        done = 0
        for event, row in paired(
            event_rows(connection, self.app), signed_ledger_rows(connection, self.app)
        ):
            if event is None:
                continue
            done += 1
            originator = text_id(event[1])
            if self.mine(originator):
                self.own += 1
                batch.append((event, row, originator))
                if len(batch) >= 2000:
                    self._settle(batch, roster)
                    batch = []
            if tick is not None and done % page == 0:
                self._settle(batch, roster)
                batch = []
                tick(done)
        self._settle(batch, roster)
        self.share.events = done

    def _settle(
        self, batch: list[tuple[tuple[Any, ...], tuple[Any, ...] | None, str]], roster: str
    ) -> None:
        """Decode a batch of this share's events, their cases' keys read in a few queries."""
        if not batch:
            return
        wanted = [o for e, _, o in batch if isinstance(e[3], str) and e[3].startswith(CASE_TOPICS)]
        if wanted:
            try:
                self.app.case_keys.preload(wanted)
            except STORAGE_ERRORS:
                raise
            except Exception:  # noqa: BLE001 - a key edited into nonsense: decoding names it
                pass
        for event, row, originator in batch:
            position = None if row is None else int(row[0])
            decoded, error = self._decode(event, originator, position)
            if self.roster is not None:  # kept for the cases' replay
                self.events.setdefault(originator, []).append((event[2], decoded, error))
            if event[3] == _FILED:
                self._filed(event, decoded, error)
            if decoded is None or row is None or row[3] is None or str(row[2]) == roster:
                continue
            found = actor_finding(int(row[0]), decoded, row[3])
            if found is not None:
                self.share.actors.append((event[0], int(row[0]), found))

    def _filed(self, event: tuple[Any, ...], decoded: Any, error: BaseException | None) -> None:
        """Note a notice: its reference, or why it does not give one (damage.py names it)."""
        reference: str | None = None
        if error is None:
            try:
                reference = str(decoded.reference)
            except Exception as failed:  # noqa: BLE001 - a notice forged by hand
                error = failed
        try:
            originator = as_uuid(event[1])
        except ValueError:
            return  # not the id of any case: the event is named as undecodable
        erased = isinstance(error, CaseDataErased)
        self.share.filed.append((event[0], originator, reference, erased))

    def _decode(
        self, event: tuple[Any, ...], originator: str, position: int | None
    ) -> tuple[Any, BaseException | None]:
        """Decode one event; one that does not is a finding (and the walk goes on)."""
        _, raw, version, topic, state = event
        try:
            stored = StoredEvent(as_uuid(raw), version, topic, as_bytes(state))
            return self.app.mapper.to_domain_event(stored), None
        except STORAGE_ERRORS:
            raise
        except CaseDataErased as error:
            return None, error  # its key was destroyed: disposal, or damage that damage.py names
        except CaseEventUnreadable as error:
            if version == 1:  # the case cannot be read: damage.py names it
                self.unreadable_cases.add(originator)
            elif originator not in self.unreadable_cases:
                self._undecodable(event[0], originator, version, position)
            return None, error
        except Exception as error:  # noqa: BLE001 - an event changed behind the engine: reported
            self._undecodable(event[0], originator, version, position)
            return None, error

    def _undecodable(self, key: int, originator: str, version: Any, position: int | None) -> None:
        subject = self.name(originator)
        where = "" if position is None else f"event {position} "
        where_ja = "" if position is None else f"イベント {position} "
        self.share.undecodable.append((key, Finding(
            "undecodable", position, subject,
            Label(
                f"{where}({subject}, #{version}) cannot be decoded: it is "
                "not an event the engine wrote",
                f"{where_ja}({subject} #{version})を復元できません: "
                "エンジンが書いたイベントではありません",
            ),
        )))  # fmt: skip

    # -- the rules ------------------------------------------------------------------------------

    def replay_all(self) -> None:
        """Replay every case whose notice this share read, and say how every other aggregate
        of the share replays (a case's retention record is read with it)."""
        cases: set[str] = set()
        for _, _, reference, _ in self.share.filed:
            if reference is not None and reference not in self.share.replays:
                replay = self.share.replays[reference] = self._replay(reference)
                if replay is not None:
                    cases.add(str(case_id(reference)))
        for originator, events in self.events.items():
            if originator not in cases:
                self._record(originator, events)

    def _record(self, originator: str, events: list[tuple[Any, Any, BaseException | None]]) -> None:
        """Note how an aggregate replays as a case's companion (nothing when "ok", the
        verdict the parent takes by default)."""
        verdict = (self.carried.pop(originator, None) or _Companion()).add(events).verdict()
        if verdict != "ok":
            self.share.records[UUID(originator)] = verdict

    def _replay(self, reference: str) -> Replay | None:
        """Check one case as :func:`~approvals.audit.rules.check_rules` did reading it back:
        the repository's replay, then the case with its retention record, then its rules."""
        from approvals.audit.rules import (  # noqa: PLC0415 - rules imports this module
            approval_violations,
            case_violations,
            date_violations,
            newest_definition,
            requirement_violations,
        )

        originator = str(case_id(reference))
        roster = self.roster
        if roster is None or not self.mine(originator):
            return None
        try:
            case = _rebuilt(self.events.get(originator, []))
            key = reference_key(reference)  # as the application reads the case again
        except CaseDataErased:
            return Replay("erased")
        except Exception:  # noqa: BLE001 - a tampered case may not replay; that is the finding
            return Replay("unreadable")
        if str(case_id(key)) != originator:
            return None  # read under another id than filed: the parent replays it as before
        record = retention_id(key)
        try:
            workflow = self.app.definition_of(case)
            newest = newest_definition(self.app, workflow)
            violations = (
                *case_violations(case.history, workflow, roster, case.department),
                *approval_violations(case.history, workflow, newest),
                *date_violations(case.history, workflow, newest),
                *requirement_violations(case.history, workflow, newest),
            )
        except STORAGE_ERRORS:
            raise
        except Exception:  # noqa: BLE001 - a tampered case may not replay; that is the finding
            return Replay("checked", record)
        if self.twice is None:
            self.twice = {originator for originator, _ in ledger_duplicates(self.app)}
        # the versions only matter where the ledger holds an event of the case twice
        versions = tuple(e.position for e in case.history) if originator in self.twice else ()
        links = summarized(case, workflow) if workflow.id in LINKABLE else None
        return Replay(
            "checked", record, True, violations, versions, workflow.id, case, workflow, links
        )


LINKABLE = frozenset(
    {workflow for workflow, _ in IN_EFFECT_LINKS}
    | set(IN_EFFECT_LINKS.values())
    | {PROVISION, REQUEST}
)
"""The workflows whose cases the rules across cases may read (:func:`linked_workflows` never
names another): only their cases' summaries are kept for the parent."""


_FLUSH = 2000
"""Events decoded together in the walk by aggregate (the aggregate being read is finished)."""


class _Anomaly(Exception):
    """A notice filed in one aggregate under the reference of another: the walk by aggregate
    cannot replay it as the walk by position does (the parent then walks the log itself)."""


class _Stream(_Walker):
    """One share of a sound log's aggregates (a range of their ids), read aggregate by
    aggregate, each replayed as soon as its last event is read and then dropped: what a
    worker holds is one page of events, and the cases that do not replay clean (what the
    rules across cases read of them too, when they may: :data:`LINKABLE`).

    Only for a log whose first layer found nothing: each event then has its ledger row (the
    one its database id names), so reading them joined is what :func:`paired` gives.  The
    cases that replay clean are written to a file of ``folder`` (:mod:`approvals.audit.kept`);
    without the rules, only the notices that do not decode are kept."""

    def __init__(
        self, app: ApprovalsApplication, index: int, count: int, roster: Roster | None,
        folder: str,
    ) -> None:  # fmt: skip
        super().__init__(app, index, count, roster)
        self.writer: KeptWriter | None = None
        if roster is not None:
            self.writer = KeptWriter(os.path.join(folder, f"share-{index}-of-{count}.db"))

    def mine(self, originator: str) -> bool:
        return True  # a case's events are all in its aggregate's share

    def finish(self) -> None:
        """Close this share's file, named in the share."""
        if self.writer is not None:
            self.writer.close()
            self.share.kept_paths.append(self.writer.path)
            self.writer = None

    def walk(
        self,
        connection: Connection,
        page: int,
        tick: Callable[[int], None] | None,
    ) -> None:
        roster = str(ROSTER_ID)
        batch: list[tuple[tuple[Any, ...], tuple[Any, ...] | None, str]] = []
        done = 0
        current, apart, split = "", False, False
        for row in _by_aggregate(connection, self.app, self.index, self.count, page):
            originator = text_id(row[1])
            cased = isinstance(row[3], str) and row[3].startswith(CASE_TOPICS)
            # With the rules, a batch ends with a case (its events are replayed together);
            # another aggregate (a workflow's yearly reference counter has an event per case
            # filed), or any without the rules, may be read in parts.
            if originator != current or self.roster is None:
                if len(batch) >= _FLUSH:
                    self._flush(batch, roster)
                    batch = []
                if originator != current:
                    current, apart, split = originator, not cased, False
            elif apart and len(batch) >= _FLUSH:
                self._flush(batch, roster, going=current)
                batch, split = [], True
            if cased:
                if split:  # a case's event in an aggregate read in parts: the walk by position
                    raise _Anomaly(current)
                apart = False
            done += 1
            self.own = done
            batch.append((row[:5], (row[5], row[0], row[6], row[7]), originator))
            if tick is not None and done % page == 0:
                tick(done)
        self._flush(batch, roster)
        self.share.events, self.share.partial = done, True

    def _flush(
        self,
        batch: list[tuple[tuple[Any, ...], tuple[Any, ...] | None, str]],
        roster: str,
        going: str | None = None,
    ) -> None:
        """Decode a batch of aggregates, replay its cases, note its companions, drop it: all
        of them whole but ``going``, whose first events only are there (to be carried on)."""
        seen = len(self.share.filed)
        self._settle(batch, roster)
        if self.roster is None or self.writer is None:  # only damage is read of the notices
            self.share.filed[seen:] = [e for e in self.share.filed[seen:] if e[2] is None]
            return
        cases: set[str] = set()
        filed = self.share.filed[seen:]
        named = Counter(reference for _, _, reference, _ in filed)
        kept = []
        clean: list[tuple[int, bytes, str]] = []
        summaries: list[tuple[int, str, WorkflowKey, LinkSummary]] = []
        for entry in filed:
            notice, filed_in, reference, _ = entry
            if reference is None:
                kept.append(entry)
                continue
            if str(case_id(reference)) != str(filed_in):
                raise _Anomaly(reference)
            if reference not in self.share.replays:
                replay = self._replay(reference)
                if replay is not None:
                    cases.add(str(filed_in))
                    if named[reference] == 1 and replay.record is not None and _clean(replay):
                        clean.append((int(notice), replay.record.bytes, reference))
                        if replay.links is not None and replay.workflow is not None:
                            workflow = replay.workflow
                            key = (workflow.id, workflow.version, workflow.sha256)
                            self.share.workflows.setdefault(key, workflow)
                            summaries.append((int(notice), reference, key, replay.links))
                        continue  # nothing else of it is kept in memory
                    replay = _stripped(replay)  # its summary is what the rules across cases read
                self.share.replays[reference] = replay
            kept.append(entry)
        self.share.filed[seen:] = kept
        self.writer.write(clean, summaries)
        for originator, events in self.events.items():
            if originator == going:
                self.carried[going] = (self.carried.pop(going, None) or _Companion()).add(events)
            elif originator not in cases:
                self._record(originator, events)
        self.events.clear()


def _clean(replay: Replay) -> bool:
    """Whether a case replayed stands and breaks nothing of its own: its rules checked and
    kept, no event of it held twice (the rules across cases read its summary, if any)."""
    return replay.stage == "checked" and replay.ok and not replay.violations and not replay.versions


def _stripped(replay: Replay) -> Replay:
    """The ``replay`` without its case, and without its definition unless the rules across
    cases may read it: what a worker keeps and sends."""
    workflow = replay.workflow if replay.workflow_id in LINKABLE else None
    return replace(replay, case=None, workflow=workflow)


def _by_aggregate(
    connection: Connection, app: ApprovalsApplication, index: int, count: int, page: int
) -> Iterator[tuple[Any, ...]]:
    """The events of share ``index`` of ``count`` (a range of aggregate ids) as (id,
    originator_id, originator_version, topic, state, position, ledger's originator_id, writer
    of its signature), aggregate by aggregate, each in version order: a page at a time by
    keyset, with the driver's cursor."""
    events = app.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
    ledger = app.recorder.ledger  # type: ignore[attr-defined]
    signatures = app.recorder.signatures  # type: ignore[attr-defined]
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    e_columns = columns_of(connection, events, ["id", "originator_id", "originator_version",
                                                "topic", "state"], "e")  # fmt: skip
    originator, version = (
        columns_of(connection, events, [name], "e")
        for name in ("originator_id", "originator_version")
    )
    position = columns_of(connection, ledger, ["position"], "l")
    query = (
        f"SELECT {e_columns}, {position}, {columns_of(connection, ledger, ['originator_id'], 'l')}"
    )
    joined = (
        f" FROM {table_of(connection, events)} e JOIN {table_of(connection, ledger)} l ON "
        f"{columns_of(connection, ledger, ['event_id'], 'l')} = {columns_of(connection, events, ['id'], 'e')}"
    )
    if inspect(connection).has_table(SIGNATURES_TABLE, schema=signatures.schema):
        query += f", {columns_of(connection, signatures, ['writer'], 's')}"
        joined += (
            f" LEFT OUTER JOIN {table_of(connection, signatures)} s ON "
            f"{columns_of(connection, signatures, ['position'], 's')} = {position}"
        )
    else:
        query += ", NULL"
    where = [f"{columns_of(connection, events, ['id'], 'e')} > 0"]
    bounds: list[Any] = []
    for edge, sign in ((index, ">="), (index + 1, "<")):
        if 0 < edge < count:  # the first share has no lower bound, the last no upper
            where.append(f"{originator} {sign} {mark}")
            bounds.append(_id_bound(connection, (edge << 128) // count))
    order = f" ORDER BY {originator}, {version} LIMIT {int(page)}"
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    after: tuple[Any, Any] | None = None
    try:
        while True:
            clauses, parameters = list(where), list(bounds)
            if after is not None:
                clauses.append(f"({originator}, {version}) > ({mark}, {mark})")
                parameters += after
            cursor.execute(f"{query}{joined} WHERE {' AND '.join(clauses)}{order}", parameters)
            rows = cursor.fetchall()
            yield from rows
            if len(rows) < page:
                return
            after = (rows[-1][1], rows[-1][2])
    finally:
        cursor.close()


def _id_bound(connection: Connection, value: int) -> Any:
    """An aggregate id as the database stores it (SQLite: 16 bytes; PostgreSQL: a uuid)."""
    raw = value.to_bytes(16, "big")
    return raw if connection.dialect.name == "sqlite" else UUID(bytes=raw)


def _rebuilt(events: Iterable[tuple[Any, Any, BaseException | None]]) -> Any:
    """The aggregate its events make, as the repository rebuilds it: in version order, each
    event decoded then applied, the first failure raised."""
    aggregate = None
    for _, event, error in sorted(events, key=_version_order):
        if error is not None:
            raise error
        aggregate = event.mutate(aggregate)
    if aggregate is None:
        raise LookupError("no aggregate")
    return aggregate


class _Companion:
    """How an aggregate read beside a case (its retention record) replays, as the application
    reads it: "ok", "disposed", "erased" (a key it does not have), or "fails"; its events
    given in version order, all at once or a part at a time."""

    def __init__(self) -> None:
        self.aggregate: Any = None
        self.failed: str | None = None

    def add(self, events: list[tuple[Any, Any, BaseException | None]]) -> _Companion:
        """Apply ``events`` (the next ones of the aggregate) after those given before."""
        for version, event, error in sorted(events, key=_version_order):
            if self.failed is not None:
                break
            if self.aggregate is not None and self.aggregate.version != version - 1:
                self.failed = "fails"
            elif error is not None:
                self.failed = "erased" if isinstance(error, CaseDataErased) else "fails"
            else:
                try:
                    self.aggregate = event.mutate(self.aggregate)
                except Exception:  # noqa: BLE001 - an event out of place: it does not replay
                    self.failed = "fails"
        return self

    def verdict(self) -> str:
        if self.failed is not None:
            return self.failed
        try:
            return "disposed" if self.aggregate is not None and self.aggregate.disposed else "ok"
        except Exception:  # noqa: BLE001 - not a retention record: it does not replay as one
            return "fails"


def _serve(index: int, page: int, pipe: Connection_) -> None:
    """Walk share ``index`` (in a forked worker) and send what it found, its cases stripped
    (what the rules across cases read of them is in their summaries), and end."""
    try:
        app, roster, count, counter, sound, signatures, folder = _JOB
        walker = _Stream(app, index, count, roster, folder) if sound else _Walker(
            app, index, count, roster
        )  # fmt: skip
        last = [0]

        def tick(done: int) -> None:
            with counter.get_lock():
                counter.value += done - last[0]
            last[0] = done

        def tick_cases(done: int) -> None:
            tick(signed_rows + walker.own)

        signed_rows = 0
        with app.engine.connect() as connection:
            if signatures:
                told = tick if counter is not None else None
                share = signature_share(app, connection, index, count, tick=told, page=page)
                signed_rows = share.events
                walker.share.signature_share = share
            walker.walk(connection, page, tick_cases if counter is not None else None)
        if isinstance(walker, _Stream):
            walker.finish()
        if roster is not None and not sound:
            walker.replay_all()
        walker.events.clear()
        for reference, replay in walker.share.replays.items():
            if replay is not None and replay.case is not None:
                walker.share.replays[reference] = _stripped(replay)
        pipe.send(("share", walker.share))
    except BaseException as error:  # noqa: BLE001 - the parent walks the log itself instead
        with suppress(Exception):
            pipe.send(("failed", repr(error)))
    finally:
        pipe.close()


def _parallel(app: ApprovalsApplication, events: int) -> int:
    """How many processes to share the cases over: 1 for a short log or where forked
    processes cannot share the store."""
    return sharing_cores(app.engine) if events >= PARALLEL_FROM else 1


class CasePass:
    """Decode every event, check signed events' actors and, given a ``roster`` (the rules
    are checked, and it replays), replay every case; with ``signatures``, check the writers'
    signatures too (:attr:`Share.signed`).

    Over several processes the work starts on entering and :meth:`result` waits for it;
    each process checks the signatures of its share of the positions (the roster replayed
    in each) and decodes its share of the aggregates: by position beside the ledger, or,
    when the first layer found the log ``sound``, aggregate by aggregate (:class:`_Stream`:
    memory bounded whatever the size of the log).  In this process it is all done by
    :meth:`result` (aggregate by aggregate too when the log is sound and the rules are
    checked), as it is when a process fails.  ``progress`` is told (events done,
    events in all) every ``page`` events (in processes, about every quarter of a second) and
    at the end.
    """

    def __init__(
        self,
        app: ApprovalsApplication,
        roster: Roster | None,
        *,
        page: int,
        progress: Callable[[int, int], None] | None = None,
        signatures: bool = False,
        sound: bool = False,
    ) -> None:
        self.app, self.roster, self.page, self.progress = app, roster, page, progress
        self.signatures, self.sound = signatures, sound
        self.total = app.recorder.max_notification_id() or 0
        self.count = _parallel(app, self.total)
        self.workers: list[tuple[Any, Connection_]] = []
        self.counter: Any = None
        self.folder: tempfile.TemporaryDirectory[str] | None = None
        self.kept: list[Kept] = []

    def __enter__(self) -> CasePass:
        self.folder = tempfile.TemporaryDirectory(prefix="approvals-verify-")
        if self.count > 1:
            global _JOB  # noqa: PLW0603 - what the forked workers read
            context = multiprocessing.get_context("fork")
            self.counter = context.Value("q", 0) if self.progress is not None else None
            _JOB = (self.app, self.roster, self.count, self.counter, self.sound, self.signatures,
                    self.folder.name)  # fmt: skip
            try:
                for index in range(self.count):
                    mine, theirs = context.Pipe()
                    process = context.Process(
                        target=_serve, args=(index, self.page, theirs), daemon=True
                    )
                    process.start()
                    theirs.close()
                    self.workers.append((process, mine))
            finally:
                _JOB = None
        return self

    def __exit__(self, *exc: object) -> None:
        for process, pipe in self.workers:
            pipe.close()
            if process.is_alive():
                process.terminate()
            process.join()
        for kept in self.kept:
            kept.close()
        if self.folder is not None:
            self.folder.cleanup()

    def result(self) -> Share:
        """Wait for every share; return what they found, merged in the sequential order (to
        be read before leaving the pass: the cases kept on disk go with it)."""
        whole = self._shared() if self.workers else None
        if whole is None:
            whole = self._here()  # which tells the progress of its end itself
        elif self.progress is not None:
            done = whole.events
            self.progress(max(done, self.total), max(done, self.total))
        if whole.kept is not None:
            self.kept.append(whole.kept)
        return whole

    def _here(self) -> Share:
        share = None
        if self.sound and self.roster is not None and self.folder is not None:
            share = _streamed(
                self.app, self.roster, self.folder.name, progress=self.progress, page=self.page
            )
        if share is None:
            share = walk_cases(self.app, self.roster, progress=self.progress, page=self.page)
        if self.signatures:
            share.signed = signature_findings(self.app)
        return share

    def _shared(self) -> Share | None:
        """What the workers found, or None when one failed (the caller walks it here)."""
        got: dict[int, Share] = {}
        walks = 2 if self.signatures else 1  # each event is counted once by each walk
        try:
            while len(got) < len(self.workers):
                for index, (_, pipe) in enumerate(self.workers):
                    if index not in got and pipe.poll(0.25 / len(self.workers)):
                        kind, share = pipe.recv()
                        if kind != "share":
                            return None
                        got[index] = share
                if self.counter is not None and self.progress is not None:
                    done = int(self.counter.value) // walks
                    self.progress(min(done, self.total), max(done, self.total))
            whole = merged([got[index] for index in range(len(self.workers))])
        except (EOFError, OSError):
            return None  # a worker died: the caller walks the log itself
        return whole


def walk_cases(
    app: ApprovalsApplication,
    roster: Roster | None,
    *,
    only: Iterable[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    page: int = PAGE,
) -> Share:
    """Walk the log in this process: decode every event (of the aggregates ``only`` names, as
    text ids, when given: the others are read, not decoded), check signed events' actors and,
    given a ``roster``, replay each case.  ``progress`` is told (done, total) every ``page``
    events and at the end."""
    wanted = None if only is None else frozenset(only)
    walker = _Walker(app, 0, 1, roster, wanted)
    replay = walker.replay_all if roster is not None else None
    return _walked_here(app, walker, progress, page, replay)


def _walked_here(
    app: ApprovalsApplication,
    walker: _Walker,
    progress: Callable[[int, int], None] | None,
    page: int,
    then: Callable[[], None] | None = None,
) -> Share:
    """Walk ``walker``'s share in this process, then do ``then``; ``progress`` is told (done,
    total) every ``page`` events and at the end."""
    total = app.recorder.max_notification_id() or 0

    def tick(done: int) -> None:
        if progress is not None:
            progress(min(done, total), max(done, total))

    with app.engine.connect() as connection:
        walker.walk(connection, page, tick if progress is not None else None)
    if then is not None:
        then()
    if progress is not None:
        done = walker.share.events
        progress(max(done, total), max(done, total))
    return walker.share


def _streamed(
    app: ApprovalsApplication,
    roster: Roster,
    folder: str,
    *,
    progress: Callable[[int, int], None] | None,
    page: int,
) -> Share | None:
    """Walk a sound log in this process aggregate by aggregate, as one share of one
    (:class:`_Stream`: memory bounded whatever the size of the log, as in the workers, the
    clean cases kept in ``folder``), and replay each case; None when a notice names another
    aggregate's case (the walk by position then replays it)."""
    walker = _Stream(app, 0, 1, roster, folder)
    try:
        share = _walked_here(app, walker, progress, page)
    except _Anomaly:
        return None
    finally:
        walker.finish()
    return merged([share])


def merged(shares: list[Share]) -> Share:
    """One share of all: findings in the order of the sequential walk."""
    signed = [share.signature_share for share in shares if share.signature_share is not None]
    whole = shares[0] if len(shares) == 1 and not signed else _joined(shares, signed)
    _unpacked(whole)
    whole.undecodable.sort(key=lambda found: found[0])
    whole.actors.sort(key=lambda found: found[0])
    whole.filed.sort(key=lambda filed: filed[0])
    return whole


def _joined(shares: list[Share], signed: list[SignatureShare]) -> Share:
    """The shares' findings and cases in one share, not yet in order."""
    partial = any(share.partial for share in shares)
    whole = Share(events=sum(s.events for s in shares) if partial else shares[0].events)
    if signed:
        whole.signed = joined_signatures(signed)
    for share in shares:
        whole.undecodable += share.undecodable
        whole.actors += share.actors
        whole.filed += share.filed
        whole.records.update(share.records)
        for reference, replay in share.replays.items():
            if replay is not None or reference not in whole.replays:
                whole.replays[reference] = replay
        whole.kept_paths += share.kept_paths
        whole.workflows.update(share.workflows)
    return whole


def _unpacked(whole: Share) -> None:
    """Open the clean cases kept on disk, and take back into ``filed`` and ``replays`` each
    whose retention record does not replay as "ok" (the record then decides its verdict, as
    for any case): the rest stand, and break nothing of their own."""
    if not whole.kept_paths or whole.kept is not None:
        return
    whole.kept = Kept(whole.kept_paths)
    for notice, record, reference in whole.kept.doubtful(r.bytes for r in whole.records):
        whole.filed.append((notice, case_id(reference), reference, False))
        whole.replays[reference] = Replay("checked", UUID(bytes=record), True)
        whole.taken_back.add(reference)
