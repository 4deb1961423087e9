"""An audit bundle: everything needed to verify the log without its database.

::

    MANIFEST.json        format, counts, root, and the SHA-256 of every other file
    events.jsonl         every stored event with its ledger row, in position order
    case-keys.jsonl      the data keys of the cases not disposed of (their events are encrypted)
    definitions/         the exact definition texts the cases ran on
    checkpoints/         the signed checkpoints given at export
    keys/                the public keys given at export

Verifying a bundle checks the manifest, loads the events into a throwaway in-memory store and
runs the same verification as on the live log, definitions and rules included.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import insert, select

from approvals.audit.checkpoint import Checkpoint, load_checkpoint, load_public_key
from approvals.audit.findings import Finding
from approvals.audit.ledger import ledger_rows
from approvals.audit.service import read_checkpoints, verify_with_keys
from approvals.audit.verify import Report
from approvals.domain.registry import PublishedDefinition
from approvals.errors import InvalidValue, Label
from approvals.factory import open_approvals

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication

__all__ = ["FORMAT", "export_bundle", "verify_bundle"]

FORMAT = "approvals-bundle/1"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _event_lines(app: ApprovalsApplication) -> Iterator[dict[str, Any]]:
    ledger = app.recorder.ledger  # type: ignore[attr-defined]
    table = app.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
    with app.engine.connect() as connection:
        for row in ledger_rows(connection, ledger):
            event = connection.execute(select(table).where(table.c.id == row.event_id)).first()
            yield {
                "position": row.position,
                "event_id": row.event_id,
                "originator_id": row.originator_id,
                "originator_version": row.originator_version,
                "topic": None if event is None else event.topic,
                "state": None if event is None else base64.b64encode(bytes(event.state)).decode(),
                "leaf_hash": row.leaf_hash.hex(),
                "chain_hash": row.chain_hash.hex(),
                "case_chain_hash": row.case_chain_hash.hex(),
            }


def export_bundle(
    app: ApprovalsApplication,
    folder: Path,
    checkpoints: Iterable[Path] = (),
    keys: Iterable[Path] = (),
) -> dict[str, Any]:
    """Write the bundle into ``folder`` (which must be new or empty); return its manifest."""
    if folder.exists() and any(folder.iterdir()):
        raise InvalidValue(
            "value.invalid",
            field=Label(f"The bundle folder {folder}", f"バンドルのフォルダ {folder}"),
            kind=Label("a new or empty folder", "新しいか空のフォルダ"),
            value=str(folder),
        )
    pinned = read_checkpoints(checkpoints)  # refuse what is no checkpoint or key before
    public = list(keys)  # anything is written: a refused bundle leaves no folder behind
    for key in public:
        load_public_key(key)
    made = not folder.exists()
    try:
        count = _write(app, folder, pinned, public)
    except BaseException:
        if made:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            for entry in folder.iterdir():  # it was empty: empty it again
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        raise
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    manifest = {
        "format": FORMAT,
        "created": app.now().isoformat(),
        "events": count,
        "files": {str(p.relative_to(folder)): _sha256(p) for p in files},
    }
    (folder / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _write(
    app: ApprovalsApplication, folder: Path, pinned: list[Checkpoint], keys: list[Path]
) -> int:
    """Write the bundle's files but the manifest into ``folder``; return how many events."""
    (folder / "definitions").mkdir(parents=True, exist_ok=True)
    (folder / "checkpoints").mkdir()
    (folder / "keys").mkdir()
    count = 0
    with (folder / "events.jsonl").open("w", encoding="utf-8") as stream:
        for line in _event_lines(app):
            stream.write(json.dumps(line, sort_keys=True) + "\n")
            count += 1
    key_table = app.case_keys.table
    with app.engine.connect() as connection, (folder / "case-keys.jsonl").open("w") as stream:
        for row in connection.execute(select(key_table).order_by(key_table.c.originator_id)):
            line = {"originator_id": row.originator_id, "data_key": row.data_key}
            stream.write(json.dumps(line) + "\n")
    for notification in app.recorder.select_notifications(
        1, 1_000_000, topics=(PublishedDefinition.Published.TOPIC,)
    ):
        published: Any = app.mapper.to_domain_event(notification)
        name = f"{published.workflow_id}-v{published.workflow_version}.toml"
        (folder / "definitions" / name).write_bytes(published.source.encode("utf-8"))
    for checkpoint in pinned:
        shutil.copy2(checkpoint.path, folder / "checkpoints" / Path(checkpoint.path).name)
    for key in keys:
        shutil.copy2(key, folder / "keys" / key.name)
    return count


def _manifest_findings(folder: Path) -> tuple[dict[str, Any], list[Finding]]:
    findings: list[Finding] = []

    def add(subject: str, en: str, ja: str) -> None:
        findings.append(Finding("bundle", None, subject, Label(en, ja)))

    try:
        manifest = json.loads((folder / "MANIFEST.json").read_text(encoding="utf-8"))
        listed: dict[str, str] = dict(manifest["files"])
        if manifest.get("format") != FORMAT:
            raise ValueError(manifest.get("format"))
    except (OSError, ValueError, KeyError, TypeError):
        add(
            "MANIFEST.json",
            "the bundle has no readable manifest",
            "バンドルのマニフェストを読めません",
        )
        return {}, findings
    present = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    present.discard("MANIFEST.json")
    for name in sorted(present | set(listed)):
        if name not in listed:
            add(
                name,
                f"{name} was added to the bundle after export",
                f"{name} はエクスポート後に追加されています",
            )
        elif name not in present:
            add(
                name,
                f"{name} was removed from the bundle",
                f"{name} がバンドルから削除されています",
            )
        elif _sha256(folder / name) != listed[name]:
            add(
                name,
                f"{name} was changed after export",
                f"{name} はエクスポート後に変更されています",
            )
    return manifest, findings


def _load(app: ApprovalsApplication, folder: Path) -> None:
    events = app.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
    ledger = app.recorder.ledger  # type: ignore[attr-defined]
    event_rows, ledger_rows_ = [], []
    with (folder / "events.jsonl").open(encoding="utf-8") as stream:
        for text in stream:
            line = json.loads(text)
            if line["state"] is not None:
                event_rows.append({
                    "id": line["event_id"], "originator_id": UUID(line["originator_id"]),
                    "originator_version": line["originator_version"], "topic": line["topic"],
                    "state": base64.b64decode(line["state"]),
                })  # fmt: skip
            for key in ("leaf_hash", "chain_hash", "case_chain_hash"):
                if len(bytes.fromhex(line[key])) != 32:
                    raise ValueError(f"{key} of position {line['position']} is not a SHA-256")
            ledger_rows_.append({key: line[key] for key in (
                "position", "event_id", "originator_id", "originator_version", "leaf_hash",
                "chain_hash", "case_chain_hash")})  # fmt: skip
    keys_path = folder / "case-keys.jsonl"
    key_rows = (
        [json.loads(text) for text in keys_path.read_text().splitlines()]
        if keys_path.exists()
        else []
    )
    with app.engine.begin() as connection:
        if key_rows:
            connection.execute(insert(app.case_keys.table), key_rows)
        if event_rows:
            connection.execute(insert(events), event_rows)
        if ledger_rows_:
            connection.execute(insert(ledger), ledger_rows_)


def _definition_findings(app: ApprovalsApplication, folder: Path) -> list[Finding]:
    published: set[str] = set()
    for notification in app.recorder.select_notifications(
        1, 1_000_000, topics=(PublishedDefinition.Published.TOPIC,)
    ):
        try:
            published.add(app.mapper.to_domain_event(notification).sha256)  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - an altered event is reported by the walk
            continue
    return [
        Finding(
            "bundle",
            None,
            path.name,
            Label(
                f"{path.name} is not a definition the log ran on",
                f"{path.name} はログの案件が使った定義ではありません",
            ),
        )
        for path in sorted((folder / "definitions").glob("*.toml"))
        if _sha256(path) not in published
    ]


def _checkpoints(folder: Path, findings: list[Finding]) -> list[Checkpoint]:
    found = []
    for path in sorted((folder / "checkpoints").glob("*.json")):
        try:
            found.append(load_checkpoint(path))
        except InvalidValue:
            findings.append(Finding("bundle", None, path.name, Label(
                f"{path.name} is not a readable checkpoint",
                f"{path.name} はチェックポイントとして読めません")))  # fmt: skip
    return sorted(found, key=lambda c: (c.tree_size, c.time))


def verify_bundle(folder: Path) -> Report:
    """Verify a bundle with no database: manifest, events, ledger, checkpoints, rules."""
    manifest, findings = _manifest_findings(folder)
    # The cases run on the definitions kept in the log itself; the files are for people.
    app = open_approvals("sqlite://", workflows={})
    try:
        try:
            _load(app, folder)
        except (OSError, ValueError, KeyError, TypeError) as error:
            findings.append(Finding("bundle", None, "events.jsonl", Label(
                f"events.jsonl cannot be read ({error})", f"events.jsonl を読めません({error})")))  # fmt: skip
            return Report(0, b"", "", tuple(findings))
        findings.extend(_definition_findings(app, folder))
        keys = [load_public_key(p) for p in sorted((folder / "keys").glob("*.pub"))]
        checkpoints = _checkpoints(folder, findings)
        report = verify_with_keys(app, checkpoints, keys)
    finally:
        app.close()
    if manifest and manifest.get("events") != report.events:
        findings.append(Finding("bundle", None, "MANIFEST.json", Label(
            f"the manifest lists {manifest.get('events')} events and the bundle holds {report.events}",
            f"マニフェストのイベント数 {manifest.get('events')} とバンドルの {report.events} が異なります")))  # fmt: skip
    return replace(report, findings=(*findings, *report.findings))
