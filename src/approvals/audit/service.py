"""The auditor's operations: sign a checkpoint of a verified log, find checkpoints to verify by."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select

from approvals.audit.checkpoint import Checkpoint, key_id, load_checkpoint, sign
from approvals.audit.findings import Finding
from approvals.audit.hashing import leaf_data, leaf_hash
from approvals.audit.merkle import LeafTree, prove_consistency
from approvals.audit.verify import Report, verify_log
from approvals.domain.case import case_id
from approvals.errors import Label, LogNotSound
from approvals.results import HistoryEntry

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication

__all__ = [
    "TimelineEntry",
    "create_checkpoint",
    "read_checkpoints",
    "timeline",
    "verify_with_keys",
]


def read_checkpoints(paths: Iterable[Path]) -> list[Checkpoint]:
    """Read checkpoint files, and every ``*.json`` of folders, oldest (smallest) first."""
    found: list[Checkpoint] = []
    for path in paths:
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        found.extend(load_checkpoint(file) for file in files)
    return sorted(found, key=lambda c: (c.tree_size, c.time))


def _leaf_reader(app: ApprovalsApplication) -> LeafTree:
    ledger = app.recorder.ledger  # type: ignore[attr-defined]
    with app.engine.connect() as connection:
        size = connection.execute(
            select(ledger.c.position).order_by(ledger.c.position.desc()).limit(1)
        ).scalar()
    total = 0 if size is None else int(size) + 1

    def read(offset: int, width: int) -> list[bytes]:
        with app.engine.connect() as connection:
            rows = connection.execute(
                select(ledger.c.leaf_hash)
                .where(ledger.c.position >= offset, ledger.c.position < offset + width)
                .order_by(ledger.c.position)
            ).scalars()
            return [bytes.fromhex(value) for value in rows]

    return LeafTree(total, read)


def create_checkpoint(
    app: ApprovalsApplication, private: Ed25519PrivateKey, folder: Path
) -> tuple[Checkpoint, Path, Report]:
    """Verify the log, then sign its size and root into a new file in ``folder``.

    The newest earlier checkpoint in ``folder`` (validly signed, of this log) becomes the
    previous one, with the proof that the log still extends it.
    """
    earlier = read_checkpoints([folder]) if folder.is_dir() else []
    report = verify_log(app, earlier)
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
    if previous is not None and previous.tree_size < report.events:
        consistency = prove_consistency(_leaf_reader(app), previous.tree_size, report.events)
    checkpoint = sign(
        private,
        log=report.log,
        tree_size=report.events,
        root=report.root,
        time=app.now(),
        previous=None if previous is None else (previous.tree_size, previous.root),
        consistency=consistency,
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"checkpoint-{report.events:012d}-{checkpoint.time:%Y%m%dT%H%M%S}.json"
    path.write_text(checkpoint.to_json(), encoding="utf-8")
    return checkpoint, path, report


def verify_with_keys(
    app: ApprovalsApplication, checkpoints: Sequence[Checkpoint], keys: Sequence[Ed25519PublicKey]
) -> Report:
    """Verify the log against checkpoints, accepting only checkpoints signed by ``keys``
    (any validly signed checkpoint when no key is pinned, which the report notes)."""
    report = verify_log(app, checkpoints)
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
    strangers = [
        Finding(
            "checkpoint_key",
            None,
            c.path,
            Label(
                f"{c.path} is signed by key {c.key_id}, which is not one of the keys given",
                f"{c.path} は指定されていない鍵 {c.key_id} で署名されています",
            ),
        )
        for c in checkpoints
        if c.key_id not in pinned
    ]
    if not strangers:
        return report
    return replace(report, findings=(*report.findings, *strangers))


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
