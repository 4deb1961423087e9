"""The auditor's operations: sign a checkpoint of a verified log, find checkpoints to verify by,
prove that events are in the log."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select

from approvals.audit.checkpoint import VERIFIED_FULL, Checkpoint, key_id, load_checkpoint, sign
from approvals.audit.findings import signed_by_keys_not_given
from approvals.audit.hashing import leaf_data, leaf_hash
from approvals.audit.merkle import Read, consistency_proof, inclusion_proofs, range_hash
from approvals.audit.verify import Report, verify_log
from approvals.domain.case import case_id
from approvals.errors import CaseNotFound, Label, LogNotSound, NotFound, Refused
from approvals.results import HistoryEntry

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication

__all__ = [
    "Inclusion",
    "InclusionProof",
    "TimelineEntry",
    "create_checkpoint",
    "prove_inclusion",
    "read_checkpoints",
    "timeline",
    "trusted_since",
    "verify_since",
    "verify_with_keys",
]


def read_checkpoints(paths: Iterable[Path]) -> list[Checkpoint]:
    """Read checkpoint files, and every ``*.json`` of folders, oldest (smallest) first."""
    found: list[Checkpoint] = []
    for path in paths:
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        found.extend(load_checkpoint(file) for file in files)
    return sorted(found, key=lambda c: (c.tree_size, c.time))


def _leaf_reader(app: ApprovalsApplication) -> tuple[int, Read]:
    """Return the ledger's size and a reader of its leaf hashes by position; a row missing or
    not a hash is refused in one sentence rather than proved over."""
    ledger = app.recorder.ledger  # type: ignore[attr-defined]
    with app.engine.connect() as connection:
        size = connection.execute(
            select(ledger.c.position).order_by(ledger.c.position.desc()).limit(1)
        ).scalar()
    total = 0 if size is None else int(size) + 1

    def read(offset: int, width: int) -> list[bytes]:
        with app.engine.connect() as connection:
            rows = connection.execute(
                select(ledger.c.position, ledger.c.leaf_hash)
                .where(ledger.c.position >= offset, ledger.c.position < offset + width)
                .order_by(ledger.c.position)
            ).all()
        return [_leaf(rows[i] if i < len(rows) else None, offset + i) for i in range(width)]

    return total, read


def _leaf(row: Any, position: int) -> bytes:
    """The leaf hash of the ledger row read for ``position``; refuse a row missing or damaged."""
    try:
        if row is not None and row.position == position:
            return bytes.fromhex(row.leaf_hash)
    except (TypeError, ValueError):
        pass  # not a hash: refused below, like a missing row
    raise LogNotSound("audit.ledger_damaged", position=position)


def create_checkpoint(
    app: ApprovalsApplication,
    private: Ed25519PrivateKey,
    folder: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Checkpoint, Path, Report]:
    """Verify the log, then sign its size and root into a new file in ``folder``.

    The newest earlier checkpoint in ``folder`` (validly signed, of this log) becomes the
    previous one, with the proof that the log still extends it. ``progress`` is
    :func:`~approvals.audit.verify.verify_log`'s.
    """
    earlier = read_checkpoints([folder]) if folder.is_dir() else []
    report = verify_log(app, earlier, progress=progress)
    if not report.ok:
        first = report.first
        raise LogNotSound(
            "audit.not_sound",
            count=len(report.findings),
            first=first.message if first else Label("", ""),
        )
    if report.events == 0:
        raise LogNotSound("audit.empty")
    previous = next(
        (c for c in reversed(earlier) if c.signature_is_valid() and c.log == report.log), None
    )
    consistency = None
    if previous is not None and previous.tree_size <= report.events:
        _, read = _leaf_reader(app)  # the ledger as just verified: RFC 9162 §2.1.4.1
        proof = consistency_proof(previous.tree_size, report.events, read)
        consistency = tuple(item.hex() for item in proof)
    checkpoint = sign(
        private,
        log=report.log,
        tree_size=report.events,
        root=report.root,
        time=app.now(),
        previous=None if previous is None else (previous.tree_size, previous.root),
        consistency=consistency,
        verified=VERIFIED_FULL,  # verify_log above: every layer, every rule, nothing found
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"checkpoint-{report.events:012d}-{checkpoint.time:%Y%m%dT%H%M%S}.json"
    path.write_text(checkpoint.to_json(), encoding="utf-8")
    return checkpoint, path, report


def verify_with_keys(
    app: ApprovalsApplication,
    checkpoints: Sequence[Checkpoint],
    keys: Sequence[Ed25519PublicKey],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Verify the log against checkpoints, accepting only checkpoints signed by ``keys``
    (any validly signed checkpoint when no key is pinned, which the report notes);
    ``progress`` is :func:`~approvals.audit.verify.verify_log`'s."""
    report = verify_log(app, checkpoints, progress=progress)
    if not keys:
        if checkpoints:
            note = Label(
                "No public key was pinned: the checkpoints are checked against the keys they "
                "carry; pass the auditor's public key to be sure who signed them.",
                "公開鍵が指定されていません: チェックポイントは同梱の鍵で検証しました。署名者を"
                "確かめるには監査責任者の公開鍵を指定してください。",
            )
            return replace(report, notes=(*report.notes, note))
        return report
    pinned = {key_id(key) for key in keys}
    strangers = signed_by_keys_not_given(c for c in checkpoints if c.key_id not in pinned)
    if not strangers:
        return report
    return replace(report, findings=(*report.findings, *strangers))


def trusted_since(checkpoint: Checkpoint, keys: Sequence[Ed25519PublicKey]) -> None:
    """Refuse, in one sentence, a checkpoint that may not be verified since: one not validly
    signed by one of the pinned ``keys`` (the auditor's), or not made by ``audit checkpoint``
    after a full verification that found nothing (it says so in what it signs)."""
    path = checkpoint.path or f"checkpoint of {checkpoint.tree_size} events"
    if not keys:
        raise Refused("audit.since_unpinned", path=path)
    if not checkpoint.signature_is_valid():
        raise Refused("audit.since_unsigned", path=path)
    if checkpoint.key_id not in {key_id(key) for key in keys}:
        raise Refused("audit.since_key", path=path, key_id=checkpoint.key_id)
    if checkpoint.verified != VERIFIED_FULL:
        raise Refused("audit.since_unverified", path=path)


def verify_since(
    app: ApprovalsApplication,
    since: Checkpoint,
    checkpoints: Sequence[Checkpoint],
    keys: Sequence[Ed25519PublicKey],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Verify the log since ``since``: every event re-hashed, the root at its size compared
    with the one it signed, and the writers' signatures, decoding and rules only for what
    came after it (see :mod:`approvals.audit.incremental`); everything when the log does not
    hold what it signed.  Refused first (one sentence) unless ``since`` is trusted
    (:func:`trusted_since`); ``checkpoints`` are compared with the log as well, as
    :func:`verify_with_keys` compares them."""
    trusted_since(since, keys)
    report = verify_log(app, checkpoints, progress=progress, since=since)
    pinned = {key_id(key) for key in keys}
    strangers = signed_by_keys_not_given(c for c in checkpoints if c.key_id not in pinned)
    return replace(report, findings=(*report.findings, *strangers)) if strangers else report


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One event of a case with its place in the log and whether it is as recorded."""

    event: HistoryEntry
    position: int | None
    leaf_hash: str | None
    intact: bool


def timeline(app: ApprovalsApplication, reference: str) -> list[TimelineEntry]:
    """Return a case's events with their place in the log and whether each is as recorded."""
    history = app.history(reference)
    originator = str(case_id(reference.strip().upper()))
    ledger = app.recorder.ledger  # type: ignore[attr-defined]
    events = app.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
    with app.engine.connect() as connection:
        rows = {
            row.originator_version: row
            for row in connection.execute(
                select(ledger, events.c.topic, events.c.state)
                .join(events, events.c.id == ledger.c.event_id)
                .where(ledger.c.originator_id == originator)
            )
        }
    entries: list[TimelineEntry] = []
    for entry in history:
        row = rows.get(entry.position)
        if row is None:
            entries.append(TimelineEntry(entry, None, None, intact=False))
            continue
        recomputed = leaf_hash(leaf_data(originator, entry.position, row.topic, bytes(row.state)))
        entries.append(
            TimelineEntry(entry, row.position, row.leaf_hash, recomputed.hex() == row.leaf_hash)
        )
    return entries


@dataclass(frozen=True, slots=True)
class Inclusion:
    """One event's leaf and the path that proves it is in the tree (RFC 9162 §2.1.3)."""

    leaf_index: int
    leaf_hash: bytes
    inclusion_path: tuple[bytes, ...]
    originator_id: str
    originator_version: int


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """Inclusion proofs of events in the tree of ``tree_size`` leaves whose root is
    ``root_hash``: the whole log, or a checkpoint's (its ``checkpoint`` path)."""

    tree_size: int
    root_hash: bytes
    checkpoint: str | None
    reference: str | None
    inclusions: tuple[Inclusion, ...]


def prove_inclusion(
    app: ApprovalsApplication, target: int | str, checkpoint: Checkpoint | None = None
) -> InclusionProof:
    """Prove that the event at position ``target`` (an int), or every event of case
    ``target`` (a reference), is in the log, or in the tree ``checkpoint`` signed.

    The proof is over the ledger's leaf hashes; each event proved is first checked to be
    what its ledger row recorded, and a checkpoint's root to be the log's root at its size,
    else the proof is refused in one sentence (``audit verify`` tells what is wrong).
    """
    size, read = _leaf_reader(app)
    if checkpoint is not None:
        if not checkpoint.signature_is_valid():
            raise Refused("audit.checkpoint_unsigned", path=checkpoint.path)
        if checkpoint.tree_size > size:
            raise LogNotSound("audit.checkpoint_beyond", path=checkpoint.path,
                              size=checkpoint.tree_size, events=size)  # fmt: skip
        size = checkpoint.tree_size
    root = range_hash(read, 0, size)
    if checkpoint is not None and root != checkpoint.root:
        raise LogNotSound("audit.checkpoint_mismatch", path=checkpoint.path, size=size)
    reference = None
    if isinstance(target, int):
        if not 0 <= target < size:
            raise NotFound("audit.no_position", position=target, size=size)
        rows = _proved_rows(app, position=target)
    else:
        reference = target.strip().upper()
        rows = _proved_rows(app, originator=str(case_id(reference)))
        if not rows:
            raise CaseNotFound(reference=reference)
        rows = [row for row in rows if row.position < size]
        if not rows:
            raise NotFound("audit.case_outside", reference=reference, size=size,
                           path=checkpoint.path if checkpoint else "")  # fmt: skip
    for row in rows:
        _check_recorded(row)
    paths = inclusion_proofs([row.position for row in rows], size, read)
    inclusions = tuple(
        Inclusion(
            leaf_index=row.position,
            leaf_hash=bytes.fromhex(row.leaf_hash),
            inclusion_path=tuple(path),
            originator_id=row.originator_id,
            originator_version=row.originator_version,
        )
        for row, path in zip(rows, paths, strict=True)
    )
    return InclusionProof(
        size, root, None if checkpoint is None else checkpoint.path, reference, inclusions
    )


def _proved_rows(
    app: ApprovalsApplication, *, position: int | None = None, originator: str | None = None
) -> list[Any]:
    """The ledger rows to prove, each with its stored event (none if the event is gone)."""
    ledger = app.recorder.ledger  # type: ignore[attr-defined]
    events = app.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
    query = select(
        ledger,
        events.c.originator_id.label("event_originator"),
        events.c.originator_version.label("event_version"),
        events.c.topic,
        events.c.state,
    ).outerjoin(events, events.c.id == ledger.c.event_id)
    if position is not None:
        query = query.where(ledger.c.position == position)
    else:
        query = query.where(ledger.c.originator_id == originator)
    with app.engine.connect() as connection:
        return list(connection.execute(query.order_by(ledger.c.position)))


def _check_recorded(row: Any) -> None:
    """Refuse to prove an event that is not what its ledger row recorded."""
    if row.event_originator is not None:
        # Bytes as written; a value changed behind the engine may come back as text.
        raw = row.state
        state = bytes(raw) if isinstance(raw, bytes | memoryview) else str(raw).encode("utf-8")
        originator = str(row.event_originator)
        data = leaf_data(originator, row.event_version, row.topic, state)
        recorded = (originator, row.event_version) == (row.originator_id, row.originator_version)
        if recorded and leaf_hash(data).hex() == row.leaf_hash:
            return
    raise LogNotSound("audit.not_recorded", position=row.position)
