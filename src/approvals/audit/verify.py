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

Given a checkpoint to verify ``since`` (one the auditor signed after a clean full verification:
:func:`approvals.audit.service.verify_since` checks that), the first layer still runs over the
whole log, and the others only over what came after the checkpoint
(:mod:`approvals.audit.incremental`) — unless the first layer finds anything before the
checkpoint's size, or the log's root at that size is not the one signed: then everything is
checked, as without it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from hashlib import sha256 as _sha256
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from approvals.audit.cases import CasePass, subjects, walk_cases
from approvals.audit.damage import damage_findings, read_filings
from approvals.audit.findings import Finding
from approvals.audit.hashing import GENESIS, leaf_data
from approvals.audit.incremental import (
    Since,
    context_links,
    count_cases,
    events_since,
    missing_keys,
    touched,
    without_cases,
)
from approvals.audit.integrity import Tree, sound_log
from approvals.audit.merkle import proof_is_valid
from approvals.audit.pages import (
    PAGE,
    Positions,
    as_bytes,
    event_rows,
    ledger_hash,
    ledger_rows,
    paired,
    text_id,
)
from approvals.audit.rules import check_rules, read_roster
from approvals.audit.writers import signature_findings
from approvals.errors import Label

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication
    from approvals.audit.cases import Share
    from approvals.audit.checkpoint import Checkpoint
    from approvals.audit.writers import Signatures
    from approvals.errors import CaseUnreadable

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
    since: Since | None = None
    """What was checked beyond re-hashing, when verified since a checkpoint (else None)."""

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


class _Walk:
    """The state of the passes over events and ledger side by side."""

    def __init__(self, app: ApprovalsApplication) -> None:
        self.app = app
        self._subjects: dict[str, str] | None = None  # read when a finding first needs a name
        self.findings: list[Finding] = []
        self.shift = 0  # how far the ledger's positions are off, once a jump was named
        self.chain = GENESIS
        self.cases: dict[str, tuple[int, bytes]] = {}
        self.roots = Tree()
        self.first_leaf = b""
        self.sizes: dict[int, bytes] = {}
        self.wanted: set[int] = set()

    def name(self, originator: str) -> str:
        if self._subjects is None:
            self._subjects = subjects(self.app)
        return self._subjects.get(originator, f"aggregate {originator}")

    def add(self, code: str, position: int | None, subject: str, en: str, ja: str) -> None:
        self.findings.append(Finding(code, position, subject, Label(en, ja)))

    def leaf(self, leaf: bytes) -> None:
        self.roots.add(leaf)
        if self.roots.size in self.wanted:
            self.sizes[self.roots.size] = self.roots.root()

    def altered(self, position: int, originator: str, version: Any) -> None:
        subject = self.name(originator)
        self.add(
            "altered", position, subject,
            f"event {position} ({subject}, #{version}) is not what was "
            "recorded: it was changed after it was written",
            f"イベント {position}({subject} #{version})は記録時の内容と"
            "異なります: 書き込み後に変更されています",
        )  # fmt: skip

    def deleted(self, row: tuple[Any, ...]) -> None:
        position, _, originator, version = int(row[0]), row[1], str(row[2]), row[3]
        subject = self.name(originator)
        self.add(
            "deleted", position, subject,
            f"event {position} ({subject}, #{version}) was recorded but "
            "is gone: it was deleted",
            f"イベント {position}({subject} #{version})は記録されていますが"
            "存在しません: 削除されています",
        )  # fmt: skip

    def unrecorded(self, event: tuple[Any, ...]) -> None:
        subject = self.name(text_id(event[1]))
        self.add(
            "unrecorded", self.roots.size, subject,
            f"an event of {subject} (#{event[2]}, database id {event[0]}) "
            "was never recorded by the engine: it was inserted behind its back",
            f"{subject} のイベント(#{event[2]}、ID {event[0]})はエンジンが"
            "記録していません: 外部から挿入されています",
        )  # fmt: skip

    def ledger(self, row: tuple[Any, ...], leaf: bytes) -> None:
        """Check the position and the chains of one ledger row, whose leaf hash is ``leaf``.

        A value computed here is compared with the row's text (what the engine writes:
        64 lowercase hex digits) before anything is decoded: only a row that differs is
        looked at closely."""
        position, originator, version = int(row[0]), str(row[2]), int(row[3])
        if not self.first_leaf:
            self.first_leaf = leaf  # the log's identity, as recorded
        expected = self.roots.size + self.shift
        if position != expected:
            subject = self.name(originator)
            self.add(
                "position", position, subject,
                f"the ledger's positions jump from {expected} to {position} ({subject}): "
                "ledger rows were removed or renumbered",
                f"台帳の位置が {expected} から {position} に飛んでいます({subject}): 台帳の"
                "行が削除されたか番号が付け替えられています",
            )  # fmt: skip
            self.shift = position - self.roots.size  # one finding per jump
        chain = _sha256(b"\x02" + self.chain + leaf).digest()
        if chain.hex() != row[5]:
            subject = self.name(originator)
            self.add(
                "chain", position, subject,
                f"the ledger's chain breaks at event {position} ({subject}): ledger rows were "
                "removed, reordered or forged",
                f"イベント {position}({subject})で台帳の連鎖が切れています: 台帳の行が削除・"
                "並べ替え・偽造されています",
            )  # fmt: skip
            chain = ledger_hash(row[5])  # go on from what is there, to find further damage
        self.chain = chain
        last, previous = self.cases.get(originator, (0, GENESIS))
        case_chain = _sha256(b"\x02" + previous + leaf).digest()
        if case_chain.hex() != row[6]:
            if version == last + 1:
                subject = self.name(originator)
                self.add(
                    "case_chain", position, subject,
                    f"the chain of {subject} breaks at #{version} (position {position})",
                    f"{subject} の連鎖が #{version}(位置 {position})で切れています",
                )  # fmt: skip
            case_chain = ledger_hash(row[6])
        if version != last + 1:
            subject = self.name(originator)
            self.add(
                "case_gap", position, subject,
                f"{subject} jumps from event #{last} to #{version} at "
                f"position {position}: an event of it is missing",
                f"{subject} は #{last} から #{version} に飛んでいます"
                f"(位置 {position}): イベントが欠けています",
            )  # fmt: skip
        self.cases[originator] = (version, case_chain)


def _integrity(walk: _Walk, connection: Connection) -> None:
    """The first layer: every event against its ledger row, the chains and the Merkle root."""
    sha256 = _sha256
    for event, row in paired(event_rows(connection, walk.app), ledger_rows(connection, walk.app)):
        if row is None:
            if event is not None:  # always: paired never yields (None, None)
                walk.unrecorded(event)
            continue
        if event is None:
            walk.deleted(row)
            recorded = ledger_hash(row[4])
            walk.ledger(row, recorded)
            walk.leaf(recorded)
            continue
        originator, version = text_id(event[1]), event[2]
        try:
            leaf = sha256(b"\x00" + leaf_data(originator, version, event[3], as_bytes(event[4])))
            computed, text = leaf.digest(), leaf.hexdigest()
        except ValueError:  # a topic or version rfc8785 refuses: not what the engine wrote
            computed, text = b"", None
        if text == row[4] and originator == row[2] and version == row[3]:
            walk.ledger(row, computed)
        else:
            walk.altered(int(row[0]), originator, version)
            walk.ledger(row, ledger_hash(row[4]))
        walk.leaf(computed)


def integrity_walk(app: ApprovalsApplication, checkpoints: Sequence[Checkpoint]) -> _Walk:
    """Walk the first layer alone (events, ledger, chains, root); what the bench times."""
    walk = _Walk(app)
    walk.wanted = {c.tree_size for c in checkpoints}
    _first_layer(walk)
    return walk


def _first_layer(walk: _Walk) -> None:
    """Integrity: in chunks when the log is long and sound (over every core where this process
    may fork), else the sequential walk (which names what is wrong)."""
    sound = sound_log(walk.app, walk.wanted)
    if sound is not None:
        walk.roots, walk.first_leaf, walk.sizes = sound.tree, sound.first_leaf, sound.sizes
        return
    with walk.app.engine.connect() as connection:
        _integrity(walk, connection)


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
    app: ApprovalsApplication,
    checkpoints: Iterable[Checkpoint] = (),
    *,
    rules: bool = True,
    progress: Callable[[int, int], None] | None = None,
    since: Checkpoint | None = None,
) -> Report:
    """Verify the whole log of ``app`` (and against ``checkpoints``); return the report.

    Integrity first (events, ledger, chains, root, checkpoints), then the writers'
    signatures, then decoding, then rule replay (unless not ``rules``); whatever the log
    holds, this reports and does not raise.  Each pass streams the log in pages of
    :data:`~approvals.audit.pages.PAGE` rows.  Decoding, the actors and the rules are done
    case by case (:mod:`approvals.audit.cases`: in processes of their own for a long log,
    while this one walks the signatures); ``progress`` is told (events done, events in all)
    as that pass goes (every page, or about every quarter of a second in processes) and once
    at its end.

    With ``since`` (a checkpoint whose signature and key the caller has checked, made after a
    clean full verification), integrity is checked in full and compared with it too, then
    the other layers only for the events and cases after it (:mod:`approvals.audit.incremental`)
    when nothing is wrong before its size; else everything, with a note saying why.
    """
    pinned = list(checkpoints)
    if since is not None and since not in pinned:
        pinned.append(since)
    walk = _Walk(app)
    walk.wanted = {c.tree_size for c in pinned}
    _first_layer(walk)
    sound = not walk.findings  # each event beside its ledger row: the cases may be read by id
    log = walk.first_leaf.hex()
    notes = _check_points(walk, pinned, log)
    if since is not None:
        if _holds(walk, since, log):
            return _since(app, walk, since, pinned, notes, rules=rules, progress=progress)
        notes.append(Label(
            f"{since.path} does not hold for this log (see the findings): everything was "
            "checked in full.",
            f"{since.path} はこのログと一致しません(指摘を参照): すべてを検証しました。",
        ))  # fmt: skip
    roster = read_roster(app) if rules else None
    replayed = roster[0] if roster is not None else None
    with CasePass(
        app, replayed, page=PAGE, progress=progress, signatures=True, sound=sound
    ) as cases:
        # The cases are decoded and replayed, and the writers' signatures checked (keys as
        # the roster held them), in processes of their own for a long log; what they kept
        # on disk is read before the pass ends.
        found = cases.result()
        signed = found.signed or signature_findings(app)
        filings, positions = _walked(app, walk, notes, found, signed)
        if signed.signed_from is not None:
            walk.findings += [f for _, at, f in found.actors if at >= signed.signed_from]
        if rules:
            references = [reference for reference, problem in filings if problem is None]
            walk.findings += check_rules(app, roster, references, found, positions)
    return Report(
        events=walk.roots.size,
        root=walk.roots.root(),
        log=log,
        findings=tuple(walk.findings),
        checkpoints=tuple(c.path for c in pinned),
        notes=tuple(notes),
    )


def _walked(
    app: ApprovalsApplication, walk: _Walk, notes: list[Label], found: Share, signed: Signatures
) -> tuple[list[tuple[str, CaseUnreadable | None]], Positions]:
    """What every verification takes from the case walk, full or since a checkpoint alike:
    the writers' signatures (findings and note), the events that do not decode, the cases
    damaged; return the cases filed (each with why it cannot be read) and the positions."""
    walk.findings += signed.findings
    notes.append(signed.note)
    positions = Positions(app)
    filings = read_filings(app, found.filed)
    walk.findings += [finding for _, finding in found.undecodable]
    walk.findings += damage_findings(app, [p for _, p in filings if p is not None], positions)
    return filings, positions


def _holds(walk: _Walk, since: Checkpoint, log: str) -> bool:
    """Whether the log's first ``since.tree_size`` events are those ``since`` signed, and the
    first layer found nothing before them (nor about the checkpoint)."""
    size = since.tree_size
    if since.log != log or size > walk.roots.size or walk.sizes.get(size) != since.root:
        return False
    return not any(
        (f.position is None and f.subject == since.path)
        or (f.position is not None and f.position < size)
        for f in walk.findings
    )


def _stands(found: Any, reference: str) -> bool:
    """Whether a case replayed stands as read (its retention record replays too), as the
    rules across cases take it in a full verification."""
    replay = found.replays.get(reference)
    if replay is None or replay.stage != "checked" or not replay.ok:
        return False
    return replay.record is None or found.records.get(replay.record, "ok") == "ok"


def _since(
    app: ApprovalsApplication,
    walk: _Walk,
    since: Checkpoint,
    pinned: Sequence[Checkpoint],
    notes: list[Label],
    *,
    rules: bool,
    progress: Callable[[int, int], None] | None,
) -> Report:
    """The second and third layers for what came after ``since`` (its size ``N``): the
    signatures from ``N``, the aggregates with an event from ``N`` decoded and replayed whole,
    the roster's rules, the rules across cases with the old cases they name, the keys."""
    size = since.tree_size
    wanted = touched(app, size)
    roster = read_roster(app) if rules else None
    replayed = roster[0] if roster is not None else None
    signed = signature_findings(app, since=size)
    found = walk_cases(app, replayed, only=wanted, progress=progress)
    filings, positions = _walked(app, walk, notes, found, signed)
    walk.findings += missing_keys(app, wanted, positions)
    if signed.signed_from is not None:
        start = max(signed.signed_from, size)
        walk.findings += [f for _, at, f in found.actors if at >= start]
    if rules:
        references = [reference for reference, problem in filings if problem is None]
        bare, loaded = without_cases(found)
        walk.findings += check_rules(app, roster, references, bare, positions)
        kept = {r: loaded[r] for r in references if r in loaded and _stands(bare, r)}
        walk.findings += context_links(app, kept, positions)
    return Report(
        events=walk.roots.size,
        root=walk.roots.root(),
        log=walk.first_leaf.hex(),
        findings=tuple(walk.findings),
        checkpoints=tuple(c.path for c in pinned),
        notes=tuple(notes),
        since=Since(
            position=size,
            signed=since.time,
            path=since.path,
            events=events_since(app, size),
            cases=count_cases(found),
            aggregates=len(wanted),
        ),
    )
