"""Walk the whole log and say whether it is what the engine wrote, naming the first bad event.

Always in this order, each layer catching what the one before cannot, and never stopping at
what it finds (a log altered behind the engine's back is what this is for, so nothing read
from it is trusted to decode or replay):

1. integrity: every event against its ledger row (altered, deleted, inserted behind the
   engine's back), the ledger's positions and its own chains (reordered, removed or forged
   rows, a case missing one of its events), then the Merkle root against checkpoints held
   outside the database (a tail cut off, a log wiped, or a log rewritten with every hash
   recomputed: only a checkpoint can tell);
2. decoding: every event that does not decode is a finding naming its case and position, and
   every case not disposed of against its key (a case that cannot be read: the hashes over its
   ciphertext may verify, its content is lost all the same);
3. rule replay: each case against the rules it ran on (see :mod:`approvals.audit.rules`); a
   case or the roster that does not replay is a finding, and the others are still checked.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import StoredEvent
from sqlalchemy import Connection, Table, select

from approvals.audit.damage import STORAGE_ERRORS, damage_findings, issued_references
from approvals.audit.findings import Finding
from approvals.audit.hashing import GENESIS, chain_hash, leaf_data, leaf_hash
from approvals.audit.keys import CaseDataErased, CaseEventUnreadable
from approvals.audit.ledger import LedgerRow
from approvals.audit.merkle import RootBuilder, proof_is_valid
from approvals.audit.rules import check_rules
from approvals.audit.writers import actor_findings, signature_findings
from approvals.domain.case import Case, case_id
from approvals.domain.registry import PublishedDefinition, ReferenceCounter
from approvals.domain.retention import RetentionRecord
from approvals.domain.roster import ROSTER_ID
from approvals.errors import Label

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication
    from approvals.audit.checkpoint import Checkpoint

__all__ = ["Finding", "Report", "verify_log"]


@dataclass(frozen=True, slots=True)
class Report:
    """The outcome of a verification."""

    events: int
    root: bytes
    log: str
    findings: tuple[Finding, ...]
    checkpoints: tuple[str, ...] = ()
    notes: tuple[Label, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """Whether nothing is wrong."""
        return not self.findings

    @property
    def counts(self) -> Mapping[str, int]:
        """How many findings of each kind (code), most frequent first."""
        return dict(Counter(f.code for f in self.findings).most_common())

    @property
    def first(self) -> Finding | None:
        """The first bad event (or the first finding without a position)."""
        placed = [f for f in self.findings if f.position is not None]
        if placed:
            return min(placed, key=lambda f: f.position or 0)
        return self.findings[0] if self.findings else None


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes
    stored: StoredEvent


def _events(app: ApprovalsApplication) -> Iterator[_Row]:
    start = 1
    while True:
        page = app.recorder.select_notifications(start, 5000)
        for n in page:
            # Bytes as written; a value changed behind the engine may come back as text.
            state = n.state if isinstance(n.state, bytes) else str(n.state).encode("utf-8")
            stored = StoredEvent(n.originator_id, n.originator_version, n.topic, state)
            yield _Row(n.id, str(n.originator_id), n.originator_version, n.topic, state, stored)
        if len(page) < 5000:
            return
        start = page[-1].id + 1


_HASH = re.compile(r"[0-9a-f]{64}")


def _hex(value: object) -> bytes:
    """A ledger hash as bytes; one that is not what the engine writes (64 lowercase hex digits)
    reads as nothing, which matches no hash (the row is then named as altered or forged)."""
    text = str(value)
    return bytes.fromhex(text) if _HASH.fullmatch(text) else b""


def _ledger_rows(connection: Connection, table: Table, page: int = 5000) -> Iterator[LedgerRow]:
    """Read the whole ledger in position order, as :func:`~approvals.audit.ledger.ledger_rows`
    does, but taking nothing in it for granted: it may have been edited by hand."""
    start: int | None = None
    while True:
        query = select(table).order_by(table.c.position).limit(page)
        if start is not None:
            query = query.where(table.c.position > start)
        result = connection.execute(query).all()
        for row in result:
            yield LedgerRow(
                position=int(row.position),
                event_id=int(row.event_id),
                originator_id=str(row.originator_id),
                originator_version=int(row.originator_version),
                leaf_hash=_hex(row.leaf_hash),
                chain_hash=_hex(row.chain_hash),
                case_chain_hash=_hex(row.case_chain_hash),
            )
        if len(result) < page:
            return
        start = int(result[-1].position)


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


def _subjects(app: ApprovalsApplication) -> dict[str, str]:
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


class _Walk:
    """The state of one pass over events and ledger side by side."""

    def __init__(self, subjects: dict[str, str], mapper: Any) -> None:
        self.subjects = subjects
        self.mapper = mapper
        self.findings: list[Finding] = []
        self.undecodable: list[Finding] = []  # the second layer's: reported after integrity
        self.unreadable_cases: set[str] = set()  # whose notice does not decrypt: damage.py's
        self.shift = 0  # how far the ledger's positions are off, once a jump was named
        self.chain = GENESIS
        self.cases: dict[str, tuple[int, bytes]] = {}
        self.roots = RootBuilder()
        self.first_leaf = b""
        self.sizes: dict[int, bytes] = {}
        self.wanted: set[int] = set()

    def name(self, originator: str) -> str:
        return self.subjects.get(originator, f"aggregate {originator}")

    def add(self, code: str, position: int | None, subject: str, en: str, ja: str) -> None:
        self.findings.append(Finding(code, position, subject, Label(en, ja)))

    def decode(self, event: _Row, position: int | None) -> None:
        """Decode one event; one that does not is a finding (and the walk goes on)."""
        try:
            self.mapper.to_domain_event(event.stored)
        except STORAGE_ERRORS:
            raise
        except CaseDataErased:
            return  # its key was destroyed: disposal, or damage that damage.py names
        except CaseEventUnreadable:
            if event.originator_version == 1:  # the case cannot be read: damage.py names it
                self.unreadable_cases.add(event.originator_id)
                return
            if event.originator_id in self.unreadable_cases:
                return
            self._undecodable(event, position)
        except Exception:  # noqa: BLE001 - an event changed behind the engine; it is reported
            self._undecodable(event, position)

    def _undecodable(self, event: _Row, position: int | None) -> None:
        subject = self.name(event.originator_id)
        where = "" if position is None else f"event {position} "
        where_ja = "" if position is None else f"イベント {position} "
        self.undecodable.append(
            Finding(
                "undecodable", position, subject,
                Label(
                    f"{where}({subject}, #{event.originator_version}) cannot be decoded: it is "
                    "not an event the engine wrote",
                    f"{where_ja}({subject} #{event.originator_version})を復元できません: "
                    "エンジンが書いたイベントではありません",
                ),
            )
        )  # fmt: skip

    def leaf(self, leaf: bytes) -> None:
        self.roots.add(leaf)
        if self.roots.size in self.wanted:
            self.sizes[self.roots.size] = self.roots.root()

    def pair(self, event: _Row, row: LedgerRow) -> None:
        """Check one event against the ledger row recorded for it."""
        subject = self.name(event.originator_id)
        leaf = leaf_hash(
            leaf_data(event.originator_id, event.originator_version, event.topic, event.state)
        )
        if leaf != row.leaf_hash or (event.originator_id, event.originator_version) != (
            row.originator_id,
            row.originator_version,
        ):
            self.add(
                "altered", row.position, subject,
                f"event {row.position} ({subject}, #{event.originator_version}) is not what was "
                "recorded: it was changed after it was written",
                f"イベント {row.position}({subject} #{event.originator_version})は記録時の内容と"
                "異なります: 書き込み後に変更されています",
            )  # fmt: skip
        self.ledger(row)
        self.leaf(leaf)
        self.decode(event, row.position)

    def ledger(self, row: LedgerRow) -> None:
        """Check the position and the chains of one ledger row."""
        if not self.first_leaf:
            self.first_leaf = row.leaf_hash  # the log's identity, as recorded
        subject = self.name(row.originator_id)
        expected = self.roots.size + self.shift
        if row.position != expected:
            self.add(
                "position", row.position, subject,
                f"the ledger's positions jump from {expected} to {row.position} ({subject}): "
                "ledger rows were removed or renumbered",
                f"台帳の位置が {expected} から {row.position} に飛んでいます({subject}): 台帳の"
                "行が削除されたか番号が付け替えられています",
            )  # fmt: skip
            self.shift = row.position - self.roots.size  # one finding per jump
        self.chain = chain_hash(self.chain, row.leaf_hash)
        if self.chain != row.chain_hash:
            self.add(
                "chain", row.position, subject,
                f"the ledger's chain breaks at event {row.position} ({subject}): ledger rows were "
                "removed, reordered or forged",
                f"イベント {row.position}({subject})で台帳の連鎖が切れています: 台帳の行が削除・"
                "並べ替え・偽造されています",
            )  # fmt: skip
            self.chain = row.chain_hash  # go on from what is there, to find further damage
        version, previous = self.cases.get(row.originator_id, (0, GENESIS))
        if row.originator_version != version + 1:
            self.add(
                "case_gap", row.position, subject,
                f"{subject} jumps from event #{version} to #{row.originator_version} at "
                f"position {row.position}: an event of it is missing",
                f"{subject} は #{version} から #{row.originator_version} に飛んでいます"
                f"(位置 {row.position}): イベントが欠けています",
            )  # fmt: skip
        case_chain = chain_hash(previous, row.leaf_hash)
        if case_chain != row.case_chain_hash and row.originator_version == version + 1:
            self.add(
                "case_chain", row.position, subject,
                f"the chain of {subject} breaks at #{row.originator_version} (position "
                f"{row.position})",
                f"{subject} の連鎖が #{row.originator_version}(位置 {row.position})で切れています",
            )  # fmt: skip
        self.cases[row.originator_id] = (row.originator_version, row.case_chain_hash)


def _zip(events: Iterator[_Row], rows: Iterator[LedgerRow], walk: _Walk) -> None:
    event = next(events, None)
    row = next(rows, None)
    while event is not None or row is not None:
        if row is not None and (event is None or row.event_id < event.id):
            subject = walk.name(row.originator_id)
            walk.add(
                "deleted", row.position, subject,
                f"event {row.position} ({subject}, #{row.originator_version}) was recorded but "
                "is gone: it was deleted",
                f"イベント {row.position}({subject} #{row.originator_version})は記録されていますが"
                "存在しません: 削除されています",
            )  # fmt: skip
            walk.ledger(row)
            walk.leaf(row.leaf_hash)
            row = next(rows, None)
        elif event is not None and (row is None or event.id < row.event_id):
            subject = walk.name(event.originator_id)
            walk.add(
                "unrecorded", walk.roots.size, subject,
                f"an event of {subject} (#{event.originator_version}, database id {event.id}) "
                "was never recorded by the engine: it was inserted behind its back",
                f"{subject} のイベント(#{event.originator_version}、ID {event.id})はエンジンが"
                "記録していません: 外部から挿入されています",
            )  # fmt: skip
            walk.decode(event, None)
            event = next(events, None)
        elif event is not None and row is not None:
            walk.pair(event, row)
            event, row = next(events, None), next(rows, None)


def _check_points(walk: _Walk, checkpoints: Sequence[Checkpoint], log: str) -> list[Label]:
    notes: list[Label] = []
    ordered = sorted(checkpoints, key=lambda c: c.tree_size)
    for checkpoint in ordered:
        name = checkpoint.path or f"checkpoint of {checkpoint.tree_size} events"
        if not _signed(checkpoint):
            walk.add("checkpoint_signature", None, name,
                     f"{name} is not validly signed: it cannot be trusted",
                     f"{name} の署名が正しくありません: 信頼できません")  # fmt: skip
            continue
        size = checkpoint.tree_size
        signed = checkpoint.time.strftime("%Y-%m-%d %H:%M %Z")
        if walk.roots.size == 0 < size:
            walk.add(
                "truncated", 0, name,
                f"the log holds no event but {name} (signed {signed}) recorded {size}: the log "
                "was wiped",
                f"ログにイベントがありませんが、{name} は {size} 件を記録しています: ログが"
                "消去されています",
            )  # fmt: skip
            continue
        if checkpoint.log != log:
            walk.add("checkpoint_log", None, name,
                     f"{name} is of another log (or the first event was replaced)",
                     f"{name} は別のログのもの(または最初のイベントが置き換えられています)")  # fmt: skip
            continue
        if size > walk.roots.size:
            walk.add(
                "truncated", walk.roots.size, name,
                f"the log has {walk.roots.size} events but {name} (signed {signed}) recorded "
                f"{size}: the tail from event {walk.roots.size} was cut off",
                f"ログのイベントは {walk.roots.size} 件ですが、{name} は {size} 件を記録しています:"
                f" イベント {walk.roots.size} 以降が切り取られています",
            )  # fmt: skip
        elif walk.sizes.get(size) != checkpoint.root:
            seen = any(f.position is not None and f.position < size for f in walk.findings)
            how = ("", "") if seen else (
                ": the log was rewritten with its hashes recomputed, which only a checkpoint "
                "held outside can reveal",
                ": ハッシュを再計算してログが書き換えられています(外部に保管したチェックポイント"
                "でのみ検出できます)",
            )  # fmt: skip
            walk.add(
                "rewritten", None, name,
                f"the first {size} events are not those {name} signed{how[0]}",
                f"最初の {size} 件のイベントは {name} の署名時と異なります{how[1]}",
            )  # fmt: skip
        if not _extends(checkpoint):
            walk.add("checkpoint_consistency", None, name,
                     f"{name} does not prove it extends the checkpoint before it",
                     f"{name} は直前のチェックポイントを引き継いでいることを証明できません")  # fmt: skip
    if not checkpoints:
        notes.append(Label(
            "No checkpoint was given: a log rewritten with recomputed hashes, or cut short, "
            "cannot be told from a sound one without a checkpoint held outside the database.",
            "チェックポイントが指定されていません: ハッシュを再計算して書き換えられたログや末尾を"
            "切り取られたログは、外部に保管したチェックポイントなしには検出できません。",
        ))  # fmt: skip
    return notes


def _signed(checkpoint: Checkpoint) -> bool:
    """Whether ``checkpoint`` is validly signed; a file edited into nonsense is not."""
    try:
        return checkpoint.signature_is_valid()
    except Exception:  # noqa: BLE001 - a checkpoint edited by hand; it is reported as unsigned
        return False


def _extends(checkpoint: Checkpoint) -> bool:
    """Whether ``checkpoint``'s consistency proof shows it extends the one before it."""
    if checkpoint.previous is None or checkpoint.consistency is None:
        return True
    prior_size, prior_root = checkpoint.previous
    try:
        return proof_is_valid(
            checkpoint.consistency, prior_size, prior_root, checkpoint.tree_size, checkpoint.root
        )
    except Exception:  # noqa: BLE001 - a proof edited into nonsense proves nothing; reported
        return False


def verify_log(
    app: ApprovalsApplication, checkpoints: Iterable[Checkpoint] = (), *, rules: bool = True
) -> Report:
    """Verify the whole log of ``app`` (and against ``checkpoints``); return the report.

    Integrity first (events, ledger, chains, root, checkpoints), then decoding, then rule
    replay (unless not ``rules``); whatever the log holds, this reports and does not raise.
    """
    pinned = list(checkpoints)
    walk = _Walk(_subjects(app), app.mapper)
    walk.wanted = {c.tree_size for c in pinned}
    ledger = app.recorder.ledger  # type: ignore[attr-defined]
    with app.engine.connect() as connection:
        _zip(_events(app), _ledger_rows(connection, ledger), walk)
    log = walk.first_leaf.hex()
    notes = _check_points(walk, pinned, log)
    signed = signature_findings(app)  # who wrote each event: keys as the roster held them
    walk.findings += signed.findings
    notes.append(signed.note)
    walk.findings += walk.undecodable
    walk.findings += damage_findings(app)
    walk.findings += actor_findings(app, signed.signed_from)
    if rules:
        walk.findings += check_rules(app)
    return Report(
        events=walk.roots.size,
        root=walk.roots.root(),
        log=log,
        findings=tuple(walk.findings),
        checkpoints=tuple(c.path for c in pinned),
        notes=tuple(notes),
    )
