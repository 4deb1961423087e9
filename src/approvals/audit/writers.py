"""Check every event's signature against the roster's keys as they stood at its position.

Walks the ledger in position order with the signatures table beside it, replaying the roster's
own events (which are not encrypted) as it goes, so that each event is judged by the keys
registered and not revoked before it.  See :mod:`approvals.audit.signing` for what is signed.
"""

from __future__ import annotations

import json.encoder
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from eventsourcing.persistence import StoredEvent
from nacl.exceptions import CryptoError
from nacl.signing import VerifyKey
from sqlalchemy import Connection, and_, func, inspect, select

from approvals.audit.findings import Finding
from approvals.audit.pages import columns_of, paged, table_of
from approvals.audit.signing import SIGNATURES_TABLE, statement
from approvals.domain.roster import ROSTER_ID, Roster, check_key_registration
from approvals.errors import ApprovalsError, Label

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication

__all__ = [
    "SignatureShare",
    "Signatures",
    "actor_finding",
    "joined_signatures",
    "signature_findings",
    "signature_share",
]

_PAGE = 10_000


@dataclass(frozen=True, slots=True)
class Signatures:
    """What the walk found: the findings, and from which position on events are signed."""

    findings: tuple[Finding, ...]
    signed_from: int | None
    events: int

    @property
    def note(self) -> Label:
        """The sentence the report carries about signing."""
        if self.signed_from is None:
            return Label(
                "No writer's key was ever registered: the events are not signed, so a row "
                "appended with the database's credentials alone cannot be told from the "
                "engine's (register the representative's key to begin signing).",
                "書き手の鍵が登録されていません: イベントは署名されておらず、データベースの資格"
                "情報だけで追加された行をエンジンの書き込みと区別できません(代表者の鍵を登録すると"
                "署名が始まります)。",
            )
        if self.signed_from == 0:
            return Label("Every event is signed.", "すべてのイベントが署名されています。")
        if self.signed_from == 1:
            return Label(
                "Events are signed from position 1 on; the first, the roster's establishment "
                "(which names the log in every checkpoint), was written before signing began.",
                "位置 1 以降のイベントが署名されています。最初のイベント(名簿の開始。各チェック"
                "ポイントがログを識別するもの)は署名開始前に書かれたものです。",
            )
        return Label(
            f"Events are signed from position {self.signed_from} on; the {self.signed_from:,} "
            "before it were written before signing began.",
            f"位置 {self.signed_from} 以降のイベントが署名されています。それより前の "
            f"{self.signed_from:,} 件は署名開始前に書かれたものです。",
        )


class _Row(NamedTuple):
    """One ledger row as the signature walk reads it (the roster's event beside its own)."""

    position: Any
    originator_id: Any
    originator_version: Any
    leaf_hash: Any
    topic: Any
    state: Any
    writer: Any = None
    key_id: Any = None
    signature: Any = None


def _rows(
    app: ApprovalsApplication, connection: Connection, share: tuple[int, int] = (0, 1)
) -> Iterator[_Row]:
    """Every ledger row from position 0 on, in position order, with its signature (if any)
    and, for the roster's, its event's topic and state: read with the driver's cursor, a page
    at a time (:func:`~approvals.audit.pages.paged`).  Given a ``share`` (index, count): only
    the rows whose position modulo count is index, and the roster's."""
    ledger = app.recorder.ledger  # type: ignore[attr-defined]
    signatures = app.recorder.signatures  # type: ignore[attr-defined]
    events = app.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
    present = inspect(connection).has_table(SIGNATURES_TABLE)
    position = columns_of(connection, ledger, ["position"], "l")
    originator = columns_of(connection, ledger, ["originator_id"], "l")
    roster = f"'{ROSTER_ID}'"  # a constant UUID: nothing to escape
    head = columns_of(connection, ledger, ["position", "originator_id", "originator_version",
                                           "leaf_hash"], "l")  # fmt: skip
    topic, state = (columns_of(connection, events, [name], "e") for name in ("topic", "state"))
    query = (
        f"SELECT {head}, CASE WHEN {originator} = {roster} THEN {topic} END, "
        f"CASE WHEN {originator} = {roster} THEN {state} END"
    )
    query += (
        f", {columns_of(connection, signatures, ['writer', 'key_id', 'signature'], 's')}"
        if present else ", NULL, NULL, NULL"
    )  # fmt: skip
    event_id = columns_of(connection, events, ["id"], "e")
    query += (
        f" FROM {table_of(connection, ledger)} l LEFT OUTER JOIN {table_of(connection, events)} "
        f"e ON {event_id} = {columns_of(connection, ledger, ['event_id'], 'l')}"
    )
    if present:
        query += (
            f" LEFT OUTER JOIN {table_of(connection, signatures)} s ON "
            f"{columns_of(connection, signatures, ['position'], 's')} = {position}"
        )
    index, count = share
    # position modulo count, written so that neither driver reads a "%" as a placeholder
    modulo = f"{position} - ({position} / {int(count)}) * {int(count)}"
    where = f"{modulo} = {int(index)} OR {originator} = {roster}" if count > 1 else ""
    make = _Row._make
    for row in paged(connection, query, position, 0, after=-1, where=where):
        yield make(row)


def _orphans(app: ApprovalsApplication, connection: Connection) -> list[int]:
    """Positions of signatures no ledger row has (a signature row inserted on its own)."""
    if not inspect(connection).has_table(SIGNATURES_TABLE):
        return []
    ledger = app.recorder.ledger  # type: ignore[attr-defined]
    signatures = app.recorder.signatures  # type: ignore[attr-defined]
    query = (
        select(signatures.c.position)
        .outerjoin(ledger, ledger.c.position == signatures.c.position)
        .where(and_(ledger.c.position.is_(None)))
        .order_by(signatures.c.position)
        .limit(1000)
    )
    return [int(p) for p in connection.execute(query).scalars()]


PARALLEL_FROM = 20_000
"""Signatures beyond which they are verified in parallel processes (below, starting the
processes costs more than it saves)."""

_BATCH = 2_000  # signatures per batch sent to a process
_AHEAD = 8  # batches in flight at most: what waits for its verdict stays bounded

_RIGHT = object()  # a _Check's actor when the writer is right (a finding only if forged)


@dataclass(frozen=True, slots=True)
class _Check:
    """One event whose signature is being verified, with what a finding about it says."""

    seq: int
    position: int
    key_id: str
    holder: str
    writer: str
    actor: Any


def _statement(position: int, leaf: bytes, writer: str) -> bytes:
    """:func:`~approvals.audit.signing.statement`, built directly for its fixed shape (three
    keys in RFC 8785 order, the leaf as lowercase hex); through it for anything else."""
    if type(writer) is str and type(position) is int and 0 <= position <= _INT_MAX:
        try:
            return (_STATEMENT % (leaf.hex(), position, _escape(writer))).encode("utf-8")
        except UnicodeEncodeError:
            pass
    return statement(position, leaf, writer)


_STATEMENT = '{"leaf_hash":"%s","position":%d,"writer":%s}'
_INT_MAX = 2**53 - 1
_escape: Callable[[str], str] = json.encoder.encode_basestring

_KEYS: dict[str, VerifyKey | None] = {}  # per process: public keys, parsed once


def verify_batch(batch: Sequence[tuple[str, bytes, str]]) -> list[bool]:
    """Verify (public key hex, statement, signature hex) triples; say which hold.

    Ed25519 (RFC 8032) through libsodium (PyNaCl), three times quicker here than OpenSSL's
    for the same verdicts on what the engine signs (libsodium also refuses small-order keys
    and non-canonical encodings, which no key the engine makes has)."""
    verdicts = []
    for public_key, said, signature in batch:
        if public_key not in _KEYS:
            try:
                _KEYS[public_key] = VerifyKey(bytes.fromhex(public_key))
            except (ValueError, TypeError, CryptoError):
                _KEYS[public_key] = None
        key = _KEYS[public_key]
        try:
            if key is None:
                raise ValueError(public_key)  # not a key: nothing verifies with it
            key.verify(said, bytes.fromhex(signature))
        except (CryptoError, ValueError, TypeError):
            verdicts.append(False)
        else:
            verdicts.append(True)
    return verdicts


class _Batches:
    """Signatures to verify, in batches: in this process, or in a pool of processes (one
    per core) for a long log, a bounded number of batches ahead of their verdicts."""

    def __init__(self, count: int) -> None:
        self.judge: Callable[..., None] = lambda check, *, valid: None
        self.pending: list[tuple[str, bytes, str]] = []
        self.checks: list[_Check] = []
        self.flight: deque[tuple[Future[list[bool]], list[_Check]]] = deque()
        self.pool: ProcessPoolExecutor | None = None
        workers = os.cpu_count() or 1
        if count > PARALLEL_FROM and workers > 1:
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            self.pool = ProcessPoolExecutor(workers, mp_context=context)

    def __enter__(self) -> _Batches:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def add(self, item: tuple[str, bytes, str], check: _Check) -> None:
        self.pending.append(item)
        self.checks.append(check)
        if len(self.pending) >= _BATCH:
            self.send()

    def send(self) -> None:
        batch, checks, self.pending, self.checks = self.pending, self.checks, [], []
        if not batch:
            return
        if self.pool is None:
            self.settle(verify_batch(batch), checks)
            return
        self.flight.append((self.pool.submit(verify_batch, batch), checks))
        while len(self.flight) > _AHEAD:
            self.receive()

    def receive(self) -> None:
        future, checks = self.flight.popleft()
        self.settle(future.result(), checks)

    def settle(self, verdicts: list[bool], checks: list[_Check]) -> None:
        for valid, check in zip(verdicts, checks, strict=True):
            self.judge(check, valid=valid)

    def finish(self) -> None:
        """Verify what is left and wait for every verdict."""
        self.send()
        while self.flight:
            self.receive()


def _signatures(connection: Connection, app: ApprovalsApplication, since: int = 0) -> int:
    """How many signatures the store holds at position ``since`` or after (none before
    signing began)."""
    if not inspect(connection).has_table(SIGNATURES_TABLE):
        return 0
    signatures = app.recorder.signatures  # type: ignore[attr-defined]
    query = select(func.count()).select_from(signatures)
    if since:
        query = query.where(signatures.c.position >= since)
    return int(connection.execute(query).scalar_one())


class _Walk:
    """The signature walk: the roster replayed at every row, each event's signature checked
    from ``since`` on (before it, only the roster's events are replayed, for the keys they
    register and revoke)."""

    def __init__(self, app: ApprovalsApplication, batches: _Batches, since: int = 0) -> None:
        self.app = app
        self.since = since
        self.roster: Roster | None = None
        self.found: list[tuple[int, Finding]] = []  # (order of the walk, finding)
        self.seq = 0
        self.signed_from: int | None = None
        self.batches = batches

    @property
    def findings(self) -> list[Finding]:
        """The findings in the walk's order (positions ascending)."""
        return [finding for _, finding in sorted(self.found, key=lambda f: f[0])]

    def add(self, code: str, position: int, en: str, ja: str) -> None:
        self.seq += 1
        self.found.append((self.seq, Finding(code, position, "roster" if code ==
                           "key_registration" else f"event {position}", Label(en, ja))))  # fmt: skip

    def roster_event(self, row: Any) -> Any:
        """Decode and apply a roster event; None when it cannot be (the integrity walk names
        an altered event; here it only cannot count)."""
        try:
            stored = StoredEvent(
                originator_id=ROSTER_ID,
                originator_version=row.originator_version,
                topic=row.topic,
                state=bytes(row.state),
            )
            event: Any = self.app.mapper.to_domain_event(stored)
        except Exception:  # noqa: BLE001 - tampered bytes may fail anywhere in decoding
            self.add(
                "signature_roster", row.position,
                f"the roster event at position {row.position} cannot be read: the keys it may "
                "register or revoke are not known after it",
                f"位置 {row.position} の名簿イベントを読めません: それ以降の鍵の登録・失効を"
                "確認できません",
            )  # fmt: skip
            return None
        return event

    def apply(self, event: Any, position: int) -> None:
        try:
            self.roster = event.mutate(self.roster)
        except Exception:  # noqa: BLE001 - an event out of place (tampering) does not apply
            self.add(
                "signature_roster", position,
                f"the roster event at position {position} does not follow the roster before it",
                f"位置 {position} の名簿イベントはそれまでの名簿に続きません",
            )  # fmt: skip

    def row(self, row: Any) -> None:
        position = int(row.position)
        event: Any = self.roster_event(row) if row.topic is not None else None
        registration = isinstance(event, Roster.KeyRegistered)
        keys = getattr(self.roster, "keys", None) or {}
        if self.signed_from is None and registration:
            self.signed_from = position  # signing begins with the first registered key
        if self.signed_from is not None and position >= self.since:
            if registration and self.roster is not None:
                self.registration(event, position)
            if not keys and registration:  # the first key signs its own registration
                self.signature(row, {event.key_id: _First(event)}, event)
            else:
                self.signature(row, keys, event)
        if event is not None:
            self.apply(event, position)

    def registration(self, event: Any, position: int) -> None:
        assert self.roster is not None
        try:
            check_key_registration(
                self.roster, actor=event.actor, holder=event.holder, service=event.service,
                public_key=event.public_key,
            )  # fmt: skip
        except ApprovalsError as refusal:
            self.add(
                "key_registration", position,
                f"the key registration at position {position} breaks a roster rule: "
                f"{refusal.render('en')}",
                f"位置 {position} の鍵の登録は名簿の規則に反します: {refusal.render('ja')}",
            )  # fmt: skip

    def signature(self, row: Any, keys: dict[str, Any], event: Any) -> None:
        position = int(row.position)
        key_id = getattr(row, "key_id", None)
        if key_id is None:
            self.add(
                "unsigned", position,
                f"event {position} is not signed, though every event after position "
                f"{self.signed_from} must be: it was appended behind the engine's back",
                f"イベント {position} は署名されていません(位置 {self.signed_from} 以降はすべて"
                "署名が必要です): エンジンを通さずに追加されています",
            )  # fmt: skip
            return
        record = keys.get(key_id)
        if record is None or record.end is not None:
            self.add(
                "signature_key", position,
                f"event {position} is signed by key {key_id}, which the roster did not hold "
                "registered at that moment",
                f"イベント {position} は、その時点で名簿に登録されていない鍵 {key_id} で署名"
                "されています",
            )  # fmt: skip
            return
        try:
            leaf = bytes.fromhex(row.leaf_hash)
        except (TypeError, ValueError):
            return  # a ledger row that is not what was written: the integrity walk names it
        actor = getattr(event, "actor", None)
        wrong_writer = (not record.service and record.holder != row.writer) or (
            actor is not None and actor != row.writer
        )
        # Verified later, in a batch (in other processes for a long log): the finding, if
        # any, takes the place in the report it would have taken had it been checked now.
        self.seq += 1
        check = _Check(self.seq, position, key_id, record.holder, row.writer,
                       actor if wrong_writer else _RIGHT)  # fmt: skip
        try:
            said = _statement(position, leaf, row.writer)
        except ValueError:  # a writer that is not text: no signature is over it
            self.judge(check, valid=False)
            return
        self.batches.add((record.public_key, said, row.signature), check)

    def judge(self, check: _Check, *, valid: bool) -> None:
        """Record what the signature's verification said about one event."""
        position, key_id = check.position, check.key_id
        if not valid:
            self.found.append((check.seq, Finding(
                "signature", position, f"event {position}", Label(
                    f"the signature of event {position} does not verify with key {key_id}: the "
                    "event or its signature was forged",
                    f"イベント {position} の署名は鍵 {key_id} で検証できません: イベントか署名が"
                    "偽造されています",
                ))))  # fmt: skip
            return
        if check.actor is _RIGHT:
            return
        actor, writer, holder = check.actor, check.writer, check.holder
        acted = actor is not None and actor != writer
        self.found.append((check.seq, Finding(
            "signature_writer", position, f"event {position}", Label(
                f"event {position} is signed by {holder}'s key for {writer}"
                + (f", but {actor} acted" if acted else ""),
                f"イベント {position} は {holder} の鍵で {writer} として署名されて"
                "います" + (f"が、行為者は {actor} です" if acted else ""),
            ))))  # fmt: skip


@dataclass(frozen=True, slots=True)
class _First:
    """The key the first registration registers, as the walk judges its own signature."""

    event: Any

    @property
    def public_key(self) -> str:
        return str(self.event.public_key)

    @property
    def holder(self) -> str:
        return str(self.event.holder)

    @property
    def service(self) -> bool:
        return bool(self.event.service)

    end = None


def signature_findings(app: ApprovalsApplication, *, since: int = 0) -> Signatures:
    """Check the signature of every event after signing began (of those at position
    ``since`` or after, given a ``since``); never raises on what it reads.

    The roster is replayed in this process, in position order, from the start whatever
    ``since`` is (it is small); the Ed25519 verifications go in batches to one process per
    core when there are more than :data:`PARALLEL_FROM` signatures, else they are checked here.
    """
    count = 0
    with (
        app.engine.connect() as connection,
        _Batches(_signatures(connection, app, since)) as batches,
    ):
        walk = _Walk(app, batches, since)
        batches.judge = walk.judge
        for row in _rows(app, connection):
            walk.row(row)
            count += 1
        batches.finish()
        for position in _orphans(app, connection):
            walk.add(
                "signature_orphan", position,
                f"a signature for position {position} has no event in the ledger",
                f"位置 {position} の署名に対応するイベントが台帳にありません",
            )  # fmt: skip
    return Signatures(tuple(walk.findings), walk.signed_from, count)


@dataclass(frozen=True, slots=True)
class SignatureShare:
    """What one share of the positions gave: its findings keyed by (position, order within
    the share's walk), from which position on events are signed, the rows of the share, and
    (the first share only) the signatures no ledger row has."""

    found: tuple[tuple[int, int, Finding], ...]
    signed_from: int | None
    events: int
    orphans: tuple[int, ...] = ()


class _ShareWalk(_Walk):
    """The signature walk over the ledger rows of one share (``position % count == index``)
    and the roster's, replaying the roster at each of its rows: it checks and reports only
    the positions of its share."""

    def __init__(
        self, app: ApprovalsApplication, batches: _Batches, index: int, count: int
    ) -> None:
        super().__init__(app, batches)
        self.index, self.count = index, count
        self.own = True

    def add(self, code: str, position: int, en: str, ja: str) -> None:
        if self.own:
            super().add(code, position, en, ja)

    def row(self, row: Any) -> None:
        self.own = self.count == 1 or int(row.position) % self.count == self.index
        super().row(row)

    def signature(self, row: Any, keys: dict[str, Any], event: Any) -> None:
        if self.own:
            super().signature(row, keys, event)


def signature_share(
    app: ApprovalsApplication,
    connection: Connection,
    index: int = 0,
    count: int = 1,
    *,
    tick: Callable[[int], None] | None = None,
    page: int = _PAGE,
) -> SignatureShare:
    """Check the signatures of the positions of share ``index`` of ``count`` (every event
    after signing began whose position modulo ``count`` is ``index``) in this process, the
    roster replayed at every row as :func:`signature_findings` does; ``tick`` is told the rows
    of the share done, every ``page`` rows."""
    count_rows = 0
    with _Batches(0) as batches:
        walk = _ShareWalk(app, batches, index, count)
        batches.judge = walk.judge
        for row in _rows(app, connection, (index, count)):
            walk.row(row)
            if walk.own:
                count_rows += 1
                if tick is not None and count_rows % page == 0:
                    tick(count_rows)
        batches.finish()
    found = tuple((f.position or 0, seq, f) for seq, f in walk.found)
    orphans = tuple(_orphans(app, connection)) if index == 0 else ()
    return SignatureShare(found, walk.signed_from, count_rows, orphans)


def joined_signatures(shares: Sequence[SignatureShare]) -> Signatures:
    """The shares' findings as :func:`signature_findings` gives them: in the walk's order
    (positions ascending; at one position, as its share found them), then the orphans."""
    found = sorted((item for share in shares for item in share.found), key=lambda f: f[:2])
    findings = [finding for _, _, finding in found]
    orphans = sorted(position for share in shares for position in share.orphans)
    findings += [
        Finding("signature_orphan", position, f"event {position}", Label(
            f"a signature for position {position} has no event in the ledger",
            f"位置 {position} の署名に対応するイベントが台帳にありません",
        ))
        for position in orphans
    ]  # fmt: skip
    signed_from = shares[0].signed_from if shares else None
    return Signatures(tuple(findings), signed_from, sum(share.events for share in shares))


def actor_finding(position: int, event: Any, writer: str) -> Finding | None:
    """Compare the actor inside a signed event (decrypted: a case's events are encrypted)
    with the writer its signature names: someone holding their own key and the database's
    credentials cannot append "the chief approved" under the chief's name.  The verifier's
    decoding pass calls this for every signed event but the roster's."""
    actor = getattr(event, "actor", None)
    if not isinstance(actor, str) or actor == writer:
        return None
    return Finding(
        "signature_writer", position, f"event {position}", Label(
            f"event {position} says {actor} acted, but it was signed for "
            f"{writer}: it was written under someone else's name",
            f"イベント {position} の行為者は {actor} ですが、{writer} として"
            "署名されています: 他人の名で書き込まれています",
        ))  # fmt: skip
