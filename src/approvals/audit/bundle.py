"""An audit bundle: everything needed to verify the log without its database.

::

    MANIFEST.json        format, counts, root, the cases whose keys were held, and the SHA-256
                         of every other file
    events.jsonl         every stored event with its ledger row and its writer's signature (none
                         before signing began), in position order (the events of cases stay
                         encrypted, as stored)
    case-keys.sealed     only with ``--seal-to``: the data keys of the cases not disposed of,
                         sealed to the auditor's public key (see :mod:`approvals.audit.sealing`)
    definitions/         the exact definition texts the cases ran on
    checkpoints/         the signed checkpoints given at export
    keys/                the public keys given at export

No case key is ever written in clear: without ``--seal-to`` the bundle is integrity-only. Every
file is written 0600 and every folder 0700.

Verifying a bundle checks the manifest, loads the events into a throwaway in-memory store and
runs the same verification as on the live log. What is trusted is what the verifier pins: only
checkpoints signed by a public key given with ``--key`` count, and the checkpoint files given
with ``--checkpoint`` are compared with the bundle's log. The bundle's own ``keys/`` and
``checkpoints/`` are information, never trust: whoever made the bundle may have made them too.
Without the case keys (opened with the auditor's private key, ``--open-with``) the encrypted
cases cannot be replayed against their rules; everything else is verified, and the report says
so. Bundles of the first format (case keys in clear) still verify, with a note.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import insert, inspect, select

from approvals.audit.checkpoint import Checkpoint, key_id, load_checkpoint, load_public_key
from approvals.audit.findings import Finding
from approvals.audit.ledger import ledger_rows
from approvals.audit.sealing import NotSealedToThisKey, open_sealed, seal
from approvals.audit.service import read_checkpoints
from approvals.audit.signing import SIGNATURES_TABLE
from approvals.audit.trust import pinned_report, without_case_keys
from approvals.audit.verify import Report
from approvals.domain.registry import PublishedDefinition
from approvals.errors import InvalidValue, Label
from approvals.factory import open_approvals

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication

__all__ = ["FORMAT", "export_bundle", "verify_bundle"]

FORMAT = "approvals-bundle/2"
CLEAR_KEYS_FORMAT = "approvals-bundle/1"
"""The first format: it carried every kept case's data key in clear (``case-keys.jsonl``)."""
SEALED = "case-keys.sealed"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


SIGNED = ("writer", "key_id", "signature")
"""The writer's signature of an event, as the bundle carries it (see approvals.audit.signing)."""


def _event_lines(app: ApprovalsApplication) -> Iterator[dict[str, Any]]:
    ledger = app.recorder.ledger  # type: ignore[attr-defined]
    table = app.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
    signatures = app.recorder.signatures  # type: ignore[attr-defined]
    with app.engine.connect() as connection:
        signed = inspect(connection).has_table(SIGNATURES_TABLE)
        for row in ledger_rows(connection, ledger):
            event = connection.execute(select(table).where(table.c.id == row.event_id)).first()
            signature = (
                connection.execute(
                    select(signatures.c.writer, signatures.c.key_id, signatures.c.signature).where(
                        signatures.c.position == row.position
                    )
                ).first()
                if signed
                else None
            )
            yield {
                "signature": None if signature is None else dict(signature._mapping),
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


def _create(path: Path) -> IO[bytes]:
    """Open a new file of the bundle for writing, readable by its owner only (0600)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(descriptor, 0o600)  # exactly, whatever the umask
    return os.fdopen(descriptor, "wb")


def _make_folder(path: Path) -> None:
    """Make a folder of the bundle, open to its owner only (0700)."""
    path.mkdir(mode=0o700, exist_ok=True)
    path.chmod(0o700)


def export_bundle(
    app: ApprovalsApplication,
    folder: Path,
    checkpoints: Iterable[Path] = (),
    keys: Iterable[Path] = (),
    seal_to: Path | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Write the bundle into ``folder`` (which must be new or empty); return its manifest.

    No case key is written in clear: with ``seal_to`` (the auditor's public key file) the keys
    of the cases not disposed of are sealed to it, else the bundle holds none.
    ``progress(done, total)`` is told how many of the log's events were written."""
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
    recipient = None if seal_to is None else load_public_key(seal_to)
    made = not folder.exists()
    try:
        if made:
            folder.parent.mkdir(parents=True, exist_ok=True)
        _make_folder(folder)
        count, held = _write(app, folder, pinned, public, recipient, progress=progress)
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        manifest = {
            "format": FORMAT,
            "created": app.now().isoformat(),
            "events": count,
            "case_keys": {
                "cases": held,
                "sealed_to": None if recipient is None else key_id(recipient),
            },
            "files": {str(p.relative_to(folder)): _sha256(p) for p in files},
        }
        with _create(folder / "MANIFEST.json") as stream:
            stream.write((json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
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
    return manifest


def _write(
    app: ApprovalsApplication,
    folder: Path,
    pinned: list[Checkpoint],
    keys: list[Path],
    recipient: Ed25519PublicKey | None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, list[str]]:
    """Write the bundle's files but the manifest into ``folder``; return how many events, and
    the cases whose keys were held (sealed to ``recipient``, or left out)."""
    for name in ("definitions", "checkpoints", "keys"):
        _make_folder(folder / name)
    count = 0
    total = (app.recorder.max_notification_id() or 0) if progress is not None else 0
    with _create(folder / "events.jsonl") as stream:
        for line in _event_lines(app):
            stream.write((json.dumps(line, sort_keys=True) + "\n").encode("utf-8"))
            count += 1
            if progress is not None and count % 500 == 0:
                progress(count, max(total, count))
    if progress is not None:  # done: the last event written, whatever gaps the ids had
        progress(max(total, count), max(total, count))
    key_table = app.case_keys.table
    with app.engine.connect() as connection:
        rows = connection.execute(select(key_table).order_by(key_table.c.originator_id)).all()
    if recipient is not None:
        plain = "".join(
            json.dumps({"originator_id": row.originator_id, "data_key": row.data_key}) + "\n"
            for row in rows
        )
        with _create(folder / SEALED) as stream:
            stream.write(seal(plain.encode("utf-8"), recipient))
    for notification in app.recorder.select_notifications(
        1, 1_000_000, topics=(PublishedDefinition.Published.TOPIC,)
    ):
        published: Any = app.mapper.to_domain_event(notification)
        name = f"{published.workflow_id}-v{published.workflow_version}.toml"
        with _create(folder / "definitions" / name) as stream:
            stream.write(published.source.encode("utf-8"))
    for checkpoint in pinned:
        with _create(folder / "checkpoints" / Path(checkpoint.path).name) as stream:
            stream.write(Path(checkpoint.path).read_bytes())
    for key in keys:
        with _create(folder / "keys" / key.name) as stream:
            stream.write(key.read_bytes())
    return count, [str(row.originator_id) for row in rows]


def _manifest_findings(folder: Path) -> tuple[dict[str, Any], list[Finding]]:
    findings: list[Finding] = []

    def add(subject: str, en: str, ja: str) -> None:
        findings.append(Finding("bundle", None, subject, Label(en, ja)))

    try:
        manifest = json.loads((folder / "MANIFEST.json").read_text(encoding="utf-8"))
        listed: dict[str, str] = dict(manifest["files"])
        if manifest.get("format") not in (FORMAT, CLEAR_KEYS_FORMAT):
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


def _load(app: ApprovalsApplication, folder: Path, key_rows: list[dict[str, str]]) -> None:
    events = app.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
    ledger = app.recorder.ledger  # type: ignore[attr-defined]
    event_rows, ledger_rows_, signature_rows = [], [], []
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
            if line.get("signature") is not None:
                signature = line["signature"]
                signature_rows.append({"position": line["position"],
                                       **{k: str(signature[k]) for k in SIGNED}})  # fmt: skip
    with app.engine.begin() as connection:
        if key_rows:
            connection.execute(insert(app.case_keys.table), key_rows)
        if event_rows:
            connection.execute(insert(events), event_rows)
        if ledger_rows_:
            connection.execute(insert(ledger), ledger_rows_)
        if signature_rows:
            connection.execute(insert(app.recorder.signatures), signature_rows)  # type: ignore[attr-defined]


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


def _key_rows(
    folder: Path, manifest: dict[str, Any], private: Ed25519PrivateKey | None
) -> tuple[list[dict[str, str]], list[Finding], list[Label]]:
    """Return the case keys to load, what is wrong with them, and what the report should say."""
    if manifest.get("format") == CLEAR_KEYS_FORMAT:
        path = folder / "case-keys.jsonl"
        try:
            rows = _parse_keys(path.read_text(encoding="utf-8")) if path.exists() else []
        except (OSError, ValueError):
            rows = []  # the manifest names the file as changed; its cases are reported unread
        return rows, [], [Label(
            f"This bundle ({CLEAR_KEYS_FORMAT}) holds the case keys in clear: whoever has a copy "
            "reads every case in it, and the keys outlive any later disposal. Keep it as you keep "
            "the database, destroy it past the retention, and export a new bundle instead.",
            f"このバンドル({CLEAR_KEYS_FORMAT})は案件の鍵を平文で含んでいます: 写しを持つ人は"
            "誰でもすべての案件を読め、鍵はその後の廃棄後も残ります。データベースと同様に保管し、"
            "保存期間を過ぎたら破棄し、新しいバンドルを作り直してください。")]  # fmt: skip
    if private is None:
        return [], [], []
    raw = private.public_key()
    sealed_to = _case_keys(manifest).get("sealed_to")
    if manifest and sealed_to is None:
        raise InvalidValue("bundle.not_sealed", path=str(folder))
    if sealed_to is not None and sealed_to != key_id(raw):
        raise InvalidValue("bundle.sealed_to_other", path=str(folder), sealed=str(sealed_to),
                           key=key_id(raw))  # fmt: skip
    try:
        plain = open_sealed((folder / SEALED).read_bytes(), private)
        return _parse_keys(plain.decode("utf-8")), [], []
    except (OSError, ValueError, NotSealedToThisKey):
        return [], [Finding("bundle", None, SEALED, Label(
            f"{SEALED} does not open with the key it is sealed to, or holds no case keys: it "
            "was altered or replaced",
            f"{SEALED} は封をした鍵で開けないか、案件の鍵を含んでいません: 改変されたか置き換え"
            "られています"))], []  # fmt: skip


def _parse_keys(text: str) -> list[dict[str, str]]:
    """Return the rows of case keys in ``text`` (JSON Lines); refuse anything else with
    ValueError (anyone can seal to a public key: what is opened is checked like the rest)."""
    rows: dict[str, str] = {}
    for line in text.splitlines():
        row = json.loads(line)
        if not isinstance(row, dict):
            raise ValueError("not a row of case keys")
        originator, key = row.get("originator_id"), row.get("data_key")
        if not isinstance(originator, str) or not isinstance(key, str):
            raise ValueError("not a row of case keys")
        originator = str(UUID(originator))
        if originator in rows or len(bytes.fromhex(key)) != 32:
            raise ValueError("not a row of case keys")
        rows[originator] = key.lower()
    return [{"originator_id": o, "data_key": k} for o, k in rows.items()]


def _case_keys(manifest: dict[str, Any]) -> dict[str, Any]:
    """Return what the manifest says of the case keys (nothing, for a manifest not readable)."""
    entry = manifest.get("case_keys")
    return entry if isinstance(entry, dict) else {}


def verify_bundle(
    folder: Path,
    keys: Sequence[Ed25519PublicKey] = (),
    checkpoints: Sequence[Checkpoint] = (),
    private: Ed25519PrivateKey | None = None,
) -> Report:
    """Verify a bundle with no database: manifest, events, ledger, rules, and the checkpoints
    given and those of the bundle signed by one of ``keys`` (the bundle's own keys are not
    trusted); ``private`` opens the case keys sealed to the auditor, for the cases' replay."""
    manifest, findings = _manifest_findings(folder)
    key_rows, key_findings, notes = _key_rows(folder, manifest, private)
    findings.extend(key_findings)
    # The cases run on the definitions kept in the log itself; the files are for people.
    app = open_approvals("sqlite://", workflows={})
    try:
        try:
            _load(app, folder, key_rows)
        except (OSError, ValueError, KeyError, TypeError) as error:
            findings.append(Finding("bundle", None, "events.jsonl", Label(
                f"events.jsonl cannot be read ({error})", f"events.jsonl を読めません({error})")))  # fmt: skip
            return Report(0, b"", "", tuple(findings), notes=tuple(notes))
        findings.extend(_definition_findings(app, folder))
        report = pinned_report(app, checkpoints, _checkpoints(folder, findings), keys)
        if not key_rows and manifest.get("format") == FORMAT:
            held = {str(o) for o in _case_keys(manifest).get("cases") or ()}
            ledger = app.recorder.ledger  # type: ignore[attr-defined]
            with app.engine.connect() as connection:
                positions = {
                    int(row.position): str(row.originator_id)
                    for row in connection.execute(select(ledger.c.position, ledger.c.originator_id))
                }
            report = without_case_keys(report, held, positions)
    finally:
        app.close()
    if manifest and manifest.get("events") != report.events:
        findings.append(Finding("bundle", None, "MANIFEST.json", Label(
            f"the manifest lists {manifest.get('events')} events and the bundle holds {report.events}",
            f"マニフェストのイベント数 {manifest.get('events')} とバンドルの {report.events} が異なります")))  # fmt: skip
    return replace(report, findings=(*findings, *report.findings), notes=(*report.notes, *notes))
