"""Audit bundles trust only the auditor's key and never carry a case key in clear."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import create_engine, text

from approvals import JST, ApprovalsApplication, open_approvals
from approvals.audit.checkpoint import (
    generate_keys,
    load_checkpoint,
    load_private_key,
    load_public_key,
    sign,
)
from approvals.audit.hashing import GENESIS, chain_hash, leaf_data, leaf_hash
from approvals.audit.merkle import root_of
from approvals.audit.sealing import open_sealed, seal
from approvals.cli import cli
from approvals.demo import AUDITOR, SimulatedClock, run_demo


@pytest.fixture
def demo(backend_url: str) -> Iterator[tuple[str, ApprovalsApplication]]:
    clock = SimulatedClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    app = open_approvals(backend_url, clock=clock)
    run_demo(app, clock)
    yield backend_url, app
    app.close()


def approvals(url: str, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--db", url, "--user", AUDITOR, *args], prog_name="approvals")


def offline(folder: Path, *args: str) -> Any:
    """``audit verify --bundle`` with no database: the store named does not even exist."""
    nowhere = str(folder.parent / "no-such.db")
    return approvals(nowhere, "--json", "audit", "verify", "--bundle", str(folder), *args)


class Auditor:
    """The auditor's key pair and the checkpoints signed with it, kept outside the database."""

    def __init__(self, url: str, home: Path) -> None:
        self.private, self.public, self.key_id = generate_keys(home / "keys")
        self.checkpoints = home / "checkpoints"
        made = approvals(url, "audit", "checkpoint", "--key", str(self.private),
                         "--dir", str(self.checkpoints))  # fmt: skip
        assert made.exit_code == 0, made.output

    def pinned(self) -> tuple[str, ...]:
        return ("--key", str(self.public), "--checkpoint", str(self.checkpoints))


@pytest.fixture
def auditor(demo: tuple[str, ApprovalsApplication], tmp_path: Path) -> Auditor:
    return Auditor(demo[0], tmp_path / "auditor")


def export(url: str, folder: Path, *args: str) -> Path:
    made = approvals(url, "audit", "export", "--bundle", str(folder), *args)
    assert made.exit_code == 0, made.output
    return folder


def case_keys(url: str) -> dict[str, str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT originator_id, data_key FROM approvals_case_keys")
            )
            return {str(row[0]): str(row[1]) for row in rows}
    finally:
        engine.dispose()


def events(folder: Path) -> list[dict[str, Any]]:
    lines = (folder / "events.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def rewrite(folder: Path, lines: list[dict[str, Any]], signer: Ed25519PrivateKey | None) -> None:
    """Do what a forger with the bundle does: recompute every leaf and chain hash, re-sign the
    bundle's checkpoints with ``signer`` (and put its public key in keys/), and rewrite the
    manifest so that every file's SHA-256 matches again."""
    chain, cases, leaves = GENESIS, dict[str, bytes](), []
    for line in lines:
        state = base64.b64decode(line["state"])
        leaf = leaf_hash(leaf_data(line["originator_id"], line["originator_version"],
                                   line["topic"], state))  # fmt: skip
        chain = chain_hash(chain, leaf)
        case_chain = chain_hash(cases.get(line["originator_id"], GENESIS), leaf)
        cases[line["originator_id"]] = case_chain
        line.update(leaf_hash=leaf.hex(), chain_hash=chain.hex(), case_chain_hash=case_chain.hex())
        leaves.append(leaf)
    with (folder / "events.jsonl").open("w", encoding="utf-8") as stream:
        for line in lines:
            stream.write(json.dumps(line, sort_keys=True) + "\n")
    if signer is not None:
        for path in (folder / "checkpoints").glob("*.json"):
            old = load_checkpoint(path)
            forged = sign(signer, log=leaves[0].hex(), tree_size=old.tree_size,
                          root=root_of(leaves[: old.tree_size]), time=old.time)  # fmt: skip
            path.write_text(forged.to_json(), encoding="utf-8")
        for path in (folder / "keys").iterdir():
            path.unlink()
        pem = signer.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        (folder / "keys" / "forger.pub").write_bytes(pem)
    manifest = json.loads((folder / "MANIFEST.json").read_text(encoding="utf-8"))
    manifest["files"] = {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "MANIFEST.json"
    }
    (folder / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def notes(result: Any) -> str:
    return "\n".join(json.loads(result.stdout)["notes"])


def test_a_bundle_forged_and_re_signed_with_another_key_fails_against_the_auditors(
    demo: tuple[str, ApprovalsApplication], auditor: Auditor, tmp_path: Path
) -> None:
    url = demo[0]
    folder = export(url, tmp_path / "forged", "--checkpoint", str(auditor.checkpoints),
                    "--key", str(auditor.public))  # fmt: skip
    lines = events(folder)
    appointment = [line for line in lines if line["topic"] == "approvals:Roster.Appointed"][-1]
    state = json.loads(base64.b64decode(appointment["state"]))
    state["timestamp"]["_data_"] = "2026-03-01T09:00:00+09:00"  # backdated by a month
    appointment["state"] = base64.b64encode(json.dumps(state).encode()).decode()
    rewrite(folder, lines, Ed25519PrivateKey.generate())

    internally = offline(folder)  # what the forger wants seen: consistent with itself
    assert json.loads(internally.stdout)["findings"] == [], internally.output
    assert "internal consistency only" in notes(internally)

    result = offline(folder, *auditor.pinned())
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is False
    rewritten = [f for f in report["findings"] if f["code"] == "rewritten"]
    assert rewritten, result.output
    assert str(auditor.checkpoints) in rewritten[0]["subject"]
    assert "signed by keys not given: not trusted" in notes(result)


def test_a_bundle_without_a_checkpoint_of_the_pinned_key_says_it_is_not_trusted(
    demo: tuple[str, ApprovalsApplication], auditor: Auditor, tmp_path: Path
) -> None:
    folder = export(demo[0], tmp_path / "b", "--checkpoint", str(auditor.checkpoints))
    other = generate_keys(tmp_path / "other")[1]
    result = offline(folder, "--key", str(other))
    report = json.loads(result.stdout)
    assert report["findings"] == [], result.output
    assert report["checkpoints"] == []  # the bundle's own were signed by a key not given
    assert "signed by keys not given: not trusted" in notes(result)
    assert "internal consistency only" in notes(result)


def test_a_bundle_holds_no_case_key_and_verifies_all_but_the_replay_of_cases(
    demo: tuple[str, ApprovalsApplication], auditor: Auditor, tmp_path: Path
) -> None:
    url = demo[0]
    keys = case_keys(url)
    assert keys
    folder = export(url, tmp_path / "b", "--checkpoint", str(auditor.checkpoints))
    assert not (folder / "case-keys.jsonl").exists()
    written = b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
    for key in keys.values():
        assert key.encode() not in written
        assert bytes.fromhex(key) not in written
        assert base64.b64encode(bytes.fromhex(key)) not in written
    for path in [folder, *folder.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))

    result = offline(folder, *auditor.pinned())
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert "without their keys" in notes(result)
    assert "internal consistency only" not in notes(result)

    refused = offline(folder, *auditor.pinned(), "--open-with", str(auditor.private))
    assert refused.exit_code == 1
    assert "Traceback" not in refused.output
    assert "holds no sealed case keys" in refused.output


def test_a_bundle_sealed_to_the_auditor_opens_only_with_the_auditors_private_key(
    demo: tuple[str, ApprovalsApplication], auditor: Auditor, tmp_path: Path
) -> None:
    url = demo[0]
    keys = case_keys(url)
    folder = export(url, tmp_path / "b", "--checkpoint", str(auditor.checkpoints),
                    "--seal-to", str(auditor.public))  # fmt: skip
    assert (folder / "case-keys.sealed").exists()
    assert not (folder / "case-keys.jsonl").exists()
    written = b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
    for key in keys.values():
        assert key.encode() not in written
        assert bytes.fromhex(key) not in written
    assert stat.S_IMODE((folder / "case-keys.sealed").stat().st_mode) == 0o600

    opened = offline(folder, *auditor.pinned(), "--open-with", str(auditor.private))
    assert opened.exit_code == 0, opened.output
    assert json.loads(opened.stdout)["ok"] is True
    assert "without their keys" not in notes(opened)

    closed = offline(folder, *auditor.pinned())
    assert closed.exit_code == 0, closed.output
    assert "without their keys" in notes(closed)

    stranger = generate_keys(tmp_path / "stranger")[0]
    refused = offline(folder, *auditor.pinned(), "--open-with", str(stranger))
    assert refused.exit_code == 1
    assert "Traceback" not in refused.output
    assert f"sealed to key {auditor.key_id}" in refused.output


def test_the_sealed_keys_replay_the_cases_and_find_a_rule_broken_inside_one(
    demo: tuple[str, ApprovalsApplication], auditor: Auditor, tmp_path: Path
) -> None:
    url = demo[0]
    keys = case_keys(url)
    folder = export(url, tmp_path / "b", "--seal-to", str(auditor.public))
    lines = events(folder)

    def opened(line: dict[str, Any]) -> tuple[AESGCM, bytes, dict[str, Any]]:
        sealed = base64.b64decode(line["state"])
        cipher, aad = AESGCM(bytes.fromhex(keys[line["originator_id"]])), _aad(line)
        return cipher, sealed[3:15], json.loads(cipher.decrypt(sealed[3:15], sealed[15:], aad))

    # The approver of one case becomes its filer: a rule only a replay of the case can see.
    approval = next(
        line for line in lines
        if line["topic"] == "approvals:Case.StepTaken" and opened(line)[2]["trigger"] == "approve"
    )  # fmt: skip
    filed = next(line for line in lines if line["originator_id"] == approval["originator_id"])
    cipher, nonce, state = opened(approval)
    state["actor"] = opened(filed)[2]["actor"]
    forged = cipher.encrypt(nonce, json.dumps(state).encode(), _aad(approval))
    approval["state"] = base64.b64encode(b"AK1" + nonce + forged).decode()
    rewrite(folder, lines, None)

    replayed = offline(folder, "--open-with", str(auditor.private))
    assert replayed.exit_code == 1, replayed.output
    assert any(f["code"] == "rule" for f in json.loads(replayed.stdout)["findings"])
    unopened = offline(folder)
    assert json.loads(unopened.stdout)["findings"] == [], unopened.output


def _aad(line: dict[str, Any]) -> bytes:
    return f"{line['originator_id']}:{line['originator_version']}".encode()


def test_a_bundle_is_sealed_only_to_a_public_key_and_refused_leaves_no_folder(
    demo: tuple[str, ApprovalsApplication], auditor: Auditor, tmp_path: Path
) -> None:
    folder = tmp_path / "b"
    refused = approvals(demo[0], "audit", "export", "--bundle", str(folder),
                        "--seal-to", str(auditor.private))  # fmt: skip
    assert refused.exit_code == 1
    assert "Traceback" not in refused.output
    assert not folder.exists()


def old_bundle(url: str, folder: Path, auditor: Auditor) -> Path:
    """A bundle as version 1 wrote it: the case keys in clear, world-readable."""
    export(url, folder, "--checkpoint", str(auditor.checkpoints))
    with (folder / "case-keys.jsonl").open("w", encoding="utf-8") as stream:
        for originator, key in sorted(case_keys(url).items()):
            stream.write(json.dumps({"originator_id": originator, "data_key": key}) + "\n")
    manifest = json.loads((folder / "MANIFEST.json").read_text(encoding="utf-8"))
    manifest = {key: manifest[key] for key in ("created", "events")}
    manifest["format"] = "approvals-bundle/1"
    manifest["files"] = {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "MANIFEST.json"
    }
    (folder / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    for path in folder.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return folder


def test_an_old_bundle_with_keys_in_clear_still_verifies_and_says_so(
    demo: tuple[str, ApprovalsApplication], auditor: Auditor, tmp_path: Path
) -> None:
    folder = old_bundle(demo[0], tmp_path / "old", auditor)
    result = offline(folder, *auditor.pinned())
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] is True
    assert "holds the case keys in clear" in notes(result)
    assert "without their keys" not in notes(result)  # its cases were replayed


def test_an_auditor_private_key_opens_for_the_replay_what_was_sealed_to_its_public_key(
    tmp_path: Path,
) -> None:
    private, public, _ = generate_keys(tmp_path)
    blob = seal(b"the keys", load_public_key(public))
    assert b"the keys" not in blob
    assert open_sealed(blob, load_private_key(private)) == b"the keys"


@pytest.mark.parametrize("content", [b"not json\n", b'{"originator_id": 1}\n', b"[]\n"])
def test_case_keys_sealed_to_the_auditor_by_someone_else_are_checked_not_trusted(
    demo: tuple[str, ApprovalsApplication], auditor: Auditor, tmp_path: Path, content: bytes
) -> None:
    folder = export(demo[0], tmp_path / "b", "--seal-to", str(auditor.public))
    (folder / "case-keys.sealed").write_bytes(seal(content, load_public_key(auditor.public)))
    rewrite(folder, events(folder), None)  # anyone can seal to a public key
    result = offline(folder, "--open-with", str(auditor.private))
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert "case-keys.sealed" in [f["subject"] for f in report["findings"]]
