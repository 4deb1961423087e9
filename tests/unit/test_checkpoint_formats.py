"""Checkpoints of format /2 carry an RFC 9162 consistency proof; those of format /1 (pymerkle's
layout, written before) still load, their signature and root are checked, their old proof is
not (``audit verify`` recomputes the root at their size from the log, which is stronger)."""

from __future__ import annotations

import base64
import json
import shutil
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from approvals import JST, ApprovalsApplication
from approvals.audit.checkpoint import (
    FORMAT,
    FORMAT_1,
    FORMAT_2,
    Checkpoint,
    key_id,
    load_checkpoint,
    sign,
)
from approvals.audit.merkle import root_of, verify_consistency
from approvals.audit.service import create_checkpoint, read_checkpoints
from approvals.audit.verify import verify_log
from approvals.errors import InvalidValue
from tests.conftest import MANAGER, STAFF, FakeClock
from tests.scenarios import FILINGS

V1 = Path(__file__).parent / "data" / "checkpoints-v1"
LEAVES = [bytes.fromhex(line) for line in (V1 / "leaves.txt").read_text().split()]
WHEN = datetime(2026, 4, 1, 9, tzinfo=JST)


def test_a_new_checkpoint_is_of_format_3_and_reads_back_as_written(tmp_path: Path) -> None:
    private = Ed25519PrivateKey.generate()
    proof = ("ab" * 32, "cd" * 32)
    made = sign(private, log="00" * 32, tree_size=8, root=bytes(32), time=WHEN,
                previous=(6, b"\x01" * 32), consistency=proof)  # fmt: skip
    path = tmp_path / "c.json"
    path.write_text(made.to_json(), encoding="utf-8")
    document = json.loads(path.read_text())
    assert document["format"] == FORMAT == "approvals-checkpoint/3"
    assert document["verified"] is None  # signed, and saying nothing
    assert document["consistency"] == list(proof)
    loaded = load_checkpoint(path)
    assert loaded.format == FORMAT
    assert loaded.consistency == proof
    assert loaded.signature_is_valid()
    assert loaded.statement() == made.statement()


def test_a_format_2_checkpoint_written_before_verified_was_signed_still_loads_and_verifies(
    tmp_path: Path,
) -> None:
    """Format /2 signed the same statement without ``verified``: it reads back as written,
    its signature holds, and it says nothing of how the log was verified."""
    private = Ed25519PrivateKey.generate()
    new = sign(private, log="00" * 32, tree_size=8, root=bytes(32), time=WHEN,
               previous=(6, b"\x01" * 32), consistency=("ab" * 32,))  # fmt: skip
    made = replace(new, format=FORMAT_2)
    made = replace(made, signature=private.sign(rfc8785.dumps(made.statement())))
    path = tmp_path / "old.json"
    path.write_text(made.to_json(), encoding="utf-8")
    assert "verified" not in json.loads(path.read_text())
    loaded = load_checkpoint(path)
    assert (loaded.format, loaded.verified) == (FORMAT_2, None)
    assert loaded.signature_is_valid()
    forged = json.loads(path.read_text())
    forged["verified"] = "full"  # a /2 file does not sign it: ignored, never trusted
    path.write_text(json.dumps(forged), encoding="utf-8")
    assert load_checkpoint(path).verified is None


def test_a_checkpoint_whose_proof_was_edited_is_no_longer_validly_signed(
    tmp_path: Path,
) -> None:
    made = sign(Ed25519PrivateKey.generate(), log="00" * 32, tree_size=8, root=bytes(32),
                time=WHEN, previous=(6, bytes(32)), consistency=("ab" * 32,))  # fmt: skip
    document = json.loads(made.to_json())
    document["consistency"] = ["cd" * 32]
    path = tmp_path / "c.json"
    path.write_text(json.dumps(document))
    assert not load_checkpoint(path).signature_is_valid()


@pytest.mark.parametrize("content", ["[1, 2]", "7", '"text"', "not json"])
def test_a_file_that_is_no_json_object_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "c.json"
    path.write_text(content)
    with pytest.raises(InvalidValue, match="checkpoint"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    ("format_", "consistency"),
    [
        ("approvals-checkpoint/4", None),
        (None, None),
        ("approvals-checkpoint/2", {"path": []}),
        ("approvals-checkpoint/2", [1, 2]),
        ("approvals-checkpoint/2", "abcd"),
    ],
    ids=["a later format", "no format", "a /2 with pymerkle's proof", "numbers", "a string"],
)
def test_a_file_that_is_no_checkpoint_of_a_known_format_is_refused(
    tmp_path: Path, format_: str | None, consistency: Any
) -> None:
    made = sign(Ed25519PrivateKey.generate(), log="00" * 32, tree_size=1, root=bytes(32),
                time=WHEN)  # fmt: skip
    document = {**json.loads(made.to_json()), "format": format_, "consistency": consistency}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(document))
    with pytest.raises(InvalidValue, match="checkpoint"):
        load_checkpoint(path)


# --- Format /1, as the release before wrote it ----------------------------------------------


def test_the_format_1_checkpoints_written_before_still_load_and_verify_their_signature(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "v1"
    shutil.copytree(V1, folder)
    first, second = read_checkpoints(sorted(folder.glob("checkpoint-*.json")))
    for made in (first, second):
        assert made.format == FORMAT_1
        assert made.signature_is_valid()
        assert made.root == root_of(LEAVES[: made.tree_size])
        assert made.consistency is None  # the old layout is not an RFC 9162 proof
    assert second.previous == (first.tree_size, first.root)
    assert second.legacy_consistency is not None  # kept: the signature covers it
    assert second.legacy_consistency["metadata"]["prior_size"] == 58
    written = json.loads((folder / Path(second.path).name).read_text())
    assert json.loads(second.to_json()) == written


def test_a_format_1_checkpoint_edited_anywhere_is_no_longer_validly_signed(
    tmp_path: Path,
) -> None:
    source = V1 / "checkpoint-000000000059-20260505T100000.json"
    for change in ("root", "proof"):
        document = json.loads(source.read_text())
        if change == "root":
            document["root"] = "00" * 32
        else:
            document["consistency"]["path"][0] = "00" * 32
        path = tmp_path / f"{change}.json"
        path.write_text(json.dumps(document))
        assert not load_checkpoint(path).signature_is_valid(), change


def _sign_format_1(
    private: Ed25519PrivateKey, folder: Path, *, size: int, root: bytes, log: str,
    previous: tuple[int, bytes] | None, proof: dict[str, Any] | None,
) -> Path:  # fmt: skip
    """Write a checkpoint exactly as the release before did (format /1, pymerkle's proof)."""
    public = private.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    statement = {
        "format": "approvals-checkpoint/1",
        "log": log,
        "tree_size": size,
        "root": root.hex(),
        "time": WHEN.isoformat(),
        "key_id": key_id(public),
        "public_key": base64.b64encode(raw).decode("ascii"),
        "previous": None if previous is None
        else {"tree_size": previous[0], "root": previous[1].hex()},
        "consistency": proof,
    }  # fmt: skip
    signature = private.sign(rfc8785.dumps(statement))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"checkpoint-{size:012d}-v1.json"
    document = {**statement, "signature": base64.b64encode(signature).decode("ascii")}
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def _pymerkle_shaped(prior: int, size: int) -> dict[str, Any]:
    return {"type": "consistency", "metadata": {"algorithm": "sha256", "security": True,
            "size": size, "prior_size": prior}, "rule": [0], "path": ["00" * 32],
            "subset": [0]}  # fmt: skip


def _file(app: ApprovalsApplication, clock: FakeClock) -> str:
    filed = app.file("purpose", actor=STAFF, title="T", department="sales",
                     fields=FILINGS["purpose"])  # fmt: skip
    clock.advance(hours=1)
    return filed.reference


def test_verify_checks_the_root_of_a_format_1_checkpoint_but_not_its_old_proof(
    app: ApprovalsApplication, clock: FakeClock, tmp_path: Path
) -> None:
    private = Ed25519PrivateKey.generate()
    first = verify_log(app, rules=False)
    _file(app, clock)
    later = verify_log(app, rules=False)
    folder = tmp_path / "cp"
    _sign_format_1(private, folder, size=first.events, root=first.root, log=first.log,
                   previous=None, proof=None)  # fmt: skip
    _sign_format_1(private, folder, size=later.events, root=later.root, log=later.log,
                   previous=(first.events, first.root),
                   proof=_pymerkle_shaped(first.events, later.events))  # fmt: skip
    report = verify_log(app, read_checkpoints([folder]))
    assert report.ok, report.findings
    assert len(report.checkpoints) == 2

    wrong = tmp_path / "wrong"
    _sign_format_1(private, wrong, size=first.events, root=later.root, log=first.log,
                   previous=None, proof=None)  # fmt: skip
    report = verify_log(app, read_checkpoints([wrong]))
    assert [f.code for f in report.findings] == ["rewritten"]


def test_checkpoints_made_now_carry_an_rfc_9162_proof_that_verify_checks(
    app: ApprovalsApplication, clock: FakeClock, tmp_path: Path
) -> None:
    private = Ed25519PrivateKey.generate()
    folder = tmp_path / "cp"
    first, _, _ = create_checkpoint(app, private, folder)
    app.act(_file(app, clock), "consult", actor=MANAGER)
    later, path, _ = create_checkpoint(app, private, folder)
    assert later.format == FORMAT
    assert later.previous == (first.tree_size, first.root)
    document = json.loads(path.read_text())
    assert document["format"] == "approvals-checkpoint/3"
    assert document["verified"] == "full"  # made after a full verification
    proof = [bytes.fromhex(item) for item in document["consistency"]]
    assert verify_consistency(first.tree_size, later.tree_size, first.root, later.root, proof)
    assert verify_log(app, read_checkpoints([folder])).ok

    # The same statement with a proof of another layout, signed by the same key: refused.
    forged = sign(private, log=later.log, tree_size=later.tree_size, root=later.root,
                  time=later.time, previous=later.previous,
                  consistency=tuple(reversed(document["consistency"])))  # fmt: skip
    path.write_text(forged.to_json())
    codes = [f.code for f in verify_log(app, read_checkpoints([folder])).findings]
    assert codes == ["checkpoint_consistency"]


def test_a_checkpoint_of_an_unchanged_log_proves_it_with_an_empty_proof(
    app: ApprovalsApplication, tmp_path: Path
) -> None:
    private = Ed25519PrivateKey.generate()
    folder = tmp_path / "cp"
    first, _, _ = create_checkpoint(app, private, folder)
    again: Checkpoint
    again, _, _ = create_checkpoint(app, private, folder)
    assert again.previous == (first.tree_size, first.root)
    assert again.consistency == ()
    assert verify_log(app, read_checkpoints([folder])).ok
