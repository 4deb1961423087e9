"""`approvals audit prove CASE|POSITION [--checkpoint FILE]` prints RFC 9162 inclusion proofs.

Each proof printed is checked here by a verifier written from the text of RFC 9162 §2.1 with
hashlib alone, not by approvals' own module, against leaf hashes computed here from the stored
events and a root computed here from the ledger, on a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import rfc8785
import sqlalchemy
from click.testing import CliRunner, Result
from sqlalchemy import text

from approvals import JST, open_approvals
from approvals.cli import cli
from approvals.demo import SimulatedClock, run_demo
from tests.cli.conftest import HERMETIC_ENV

# --- RFC 9162 §2.1, from the text ------------------------------------------------------------


def rfc_leaf_hash(data: bytes) -> bytes:
    """§2.1.1: MTH({d(0)}) = SHA-256(0x00 || d(0))."""
    return hashlib.sha256(b"\x00" + data).digest()


def rfc_node_hash(left: bytes, right: bytes) -> bytes:
    """§2.1.1: SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def rfc_mth(leaves: list[bytes]) -> bytes:
    """§2.1.1, the Merkle Tree Hash of a list of leaf hashes."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return rfc_node_hash(rfc_mth(leaves[:k]), rfc_mth(leaves[k:]))


def rfc_verify_inclusion(
    leaf_hash: bytes, leaf_index: int, tree_size: int, inclusion_path: list[bytes], root: bytes
) -> bool:
    """§2.1.3.2, step by step."""
    if leaf_index >= tree_size:  # 1
        return False
    fn, sn = leaf_index, tree_size - 1  # 2
    r = leaf_hash  # 3
    for p in inclusion_path:  # 4
        if sn == 0:  # a
            return False
        if fn % 2 == 1 or fn == sn:  # b
            r = rfc_node_hash(p, r)
            if fn % 2 == 0:
                while not (fn % 2 == 1 or fn == 0):
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = rfc_node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1  # c
    return sn == 0 and r == root  # 5


# --- the store --------------------------------------------------------------------------------


@pytest.fixture
def demo(backend_url: str) -> Iterator[dict[str, Any]]:
    """The demo log (five workflows run to their end) on a SQLite file, then PostgreSQL."""
    clock = SimulatedClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    app = open_approvals(backend_url, clock=clock)
    try:
        made = run_demo(app, clock)
    finally:
        app.close()
    engine = sqlalchemy.create_engine(backend_url)
    yield {"url": backend_url, "run": made, "engine": engine, "clock": clock}
    engine.dispose()


def approvals(url: str, *args: str, user: str | None = "nobody", lang: str = "en") -> Result:
    argv = ["--db", url, *(["--user", user] if user else []), *args]
    environment = {**HERMETIC_ENV, "APPROVALS_LANG": lang}
    return CliRunner().invoke(cli, argv, env=environment, prog_name="approvals")


def ledger(demo: dict[str, Any]) -> list[dict[str, Any]]:
    """Every ledger row with its event, read with plain SQL."""
    with demo["engine"].connect() as connection:
        rows = connection.execute(text(
            "SELECT l.position, l.originator_id, l.originator_version, l.leaf_hash, e.topic, "
            "e.state FROM approvals_integrity l JOIN approvals_events e ON e.id = l.event_id "
            "ORDER BY l.position"
        )).mappings()  # fmt: skip
        return [dict(row) for row in rows]


def leaf_of(row: dict[str, Any]) -> bytes:
    """The leaf hash of a stored event: SHA-256(0x00 || RFC 8785 form of the four fields)."""
    record = {
        "originator_id": row["originator_id"],
        "originator_version": row["originator_version"],
        "topic": row["topic"],
        "state": base64.b64encode(bytes(row["state"])).decode("ascii"),
    }
    return rfc_leaf_hash(rfc8785.dumps(record))


def proved(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def check(document: dict[str, Any], rows: list[dict[str, Any]], size: int) -> None:
    """Every inclusion printed verifies, independently, for the event the ledger holds there."""
    leaves = [leaf_of(row) for row in rows[:size]]
    assert [bytes.fromhex(row["leaf_hash"]) for row in rows[:size]] == leaves
    root = bytes.fromhex(document["root_hash"])
    assert document["tree_size"] == size
    assert root == rfc_mth(leaves)
    assert document["inclusions"]
    for item in document["inclusions"]:
        index = item["leaf_index"]
        leaf = bytes.fromhex(item["leaf_hash"])
        assert leaf == leaves[index]
        assert item["originator_id"] == rows[index]["originator_id"]
        assert item["originator_version"] == rows[index]["originator_version"]
        path = [bytes.fromhex(h) for h in item["inclusion_path"]]
        assert rfc_verify_inclusion(leaf, index, size, path, root), item
        assert not rfc_verify_inclusion(leaf, index, size, path, rfc_mth(leaves[:-1]))


# --- the tests --------------------------------------------------------------------------------


def test_the_proof_of_a_position_verifies_with_an_independent_rfc_9162_verifier(
    demo: dict[str, Any],
) -> None:
    rows = ledger(demo)
    for position in (0, 1, len(rows) // 2, len(rows) - 1):
        document = proved(approvals(demo["url"], "audit", "prove", str(position)))
        assert [item["leaf_index"] for item in document["inclusions"]] == [position]
        assert document["case"] is None
        assert document["checkpoint"] is None
        check(document, rows, len(rows))


def test_the_proof_of_a_case_covers_every_event_of_it(demo: dict[str, Any]) -> None:
    rows = ledger(demo)
    reference = demo["run"].finished["entrustment"]
    document = proved(approvals(demo["url"], "audit", "prove", reference.lower()))
    assert document["case"] == reference
    originator = document["inclusions"][0]["originator_id"]
    mine = [row for row in rows if row["originator_id"] == originator]
    assert [item["leaf_index"] for item in document["inclusions"]] == [r["position"] for r in mine]
    assert [item["originator_version"] for item in document["inclusions"]] == list(
        range(1, len(mine) + 1)
    )
    check(document, rows, len(rows))


def test_the_output_is_json_whatever_the_language_and_needs_no_roster_role(
    demo: dict[str, Any],
) -> None:
    result = approvals(demo["url"], "audit", "prove", "3", user=None, lang="ja")
    document = proved(result)
    assert set(document) == {
        "hash_algorithm", "tree_size", "root_hash", "checkpoint", "case", "inclusions",
    }  # fmt: skip
    assert set(document["inclusions"][0]) == {
        "leaf_index", "leaf_hash", "inclusion_path", "originator_id", "originator_version",
    }  # fmt: skip
    assert document["hash_algorithm"] == "SHA-256"


def test_a_proof_against_a_checkpoint_is_of_its_size_and_root(
    demo: dict[str, Any], tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    assert approvals(demo["url"], "audit", "keygen", "--dir", str(keys)).exit_code == 0
    private = next(keys.glob("*.key"))
    folder = tmp_path / "cp"
    made = approvals(demo["url"], "--json", "audit", "checkpoint", "--key", str(private),
                     "--dir", str(folder), user="kansa")  # fmt: skip
    assert made.exit_code == 0, made.output
    signed = json.loads(made.stdout)
    app = open_approvals(demo["url"], clock=demo["clock"])
    try:
        app.act(demo["run"].open_cases[1], "approve", actor="sato")
    finally:
        app.close()
    rows = ledger(demo)
    assert len(rows) > signed["tree_size"]
    (file,) = folder.glob("*.json")
    last = signed["tree_size"] - 1
    document = proved(
        approvals(demo["url"], "audit", "prove", str(last), "--checkpoint", str(file))
    )
    assert document["root_hash"] == signed["root"]
    assert document["checkpoint"] == str(file)
    check(document, rows, signed["tree_size"])

    # A case with events before and after the checkpoint: only those it signed are proved.
    reference = demo["run"].open_cases[1]
    document = proved(
        approvals(demo["url"], "audit", "prove", reference, "--checkpoint", str(file))
    )
    assert all(item["leaf_index"] < signed["tree_size"] for item in document["inclusions"])
    check(document, rows, signed["tree_size"])
    now = proved(approvals(demo["url"], "audit", "prove", reference))
    assert len(now["inclusions"]) == len(document["inclusions"]) + 1
    check(now, rows, len(rows))

    # An event after the checkpoint is not in its tree.
    beyond = approvals(demo["url"], "audit", "prove", str(len(rows) - 1), "--checkpoint", str(file))
    refused_in_one_sentence(beyond, f"There is no event at position {len(rows) - 1}")


def refused_in_one_sentence(result: Result, start: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(start), lines[0]
    assert "Traceback" not in result.output


def test_a_checkpoint_whose_root_is_not_the_logs_is_refused_in_one_sentence(
    demo: dict[str, Any], tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from approvals.audit.checkpoint import sign

    rows = ledger(demo)
    forged = sign(Ed25519PrivateKey.generate(), log=rows[0]["leaf_hash"], tree_size=5,
                  root=rfc_mth([leaf_of(row) for row in rows[:4]]),
                  time=datetime(2026, 4, 1, tzinfo=JST))  # fmt: skip
    file = tmp_path / "forged.json"
    file.write_text(forged.to_json())
    result = approvals(demo["url"], "audit", "prove", "0", "--checkpoint", str(file))
    refused_in_one_sentence(result, "No proof was given: the root of the first 5 events")

    document = json.loads(forged.to_json())
    document["tree_size"] = len(rows) + 1
    file.write_text(json.dumps(document))
    result = approvals(demo["url"], "audit", "prove", "0", "--checkpoint", str(file))
    refused_in_one_sentence(result, f"No proof was given: {file} is not validly signed")

    beyond = sign(Ed25519PrivateKey.generate(), log=rows[0]["leaf_hash"], tree_size=len(rows) + 1,
                  root=bytes(32), time=datetime(2026, 4, 1, tzinfo=JST))  # fmt: skip
    file.write_text(beyond.to_json())
    result = approvals(demo["url"], "audit", "prove", "0", "--checkpoint", str(file))
    refused_in_one_sentence(result, f"No proof was given: {file} records {len(rows) + 1} events")


def test_a_position_out_of_range_or_an_unknown_case_is_refused_in_one_sentence(
    demo: dict[str, Any],
) -> None:
    size = len(ledger(demo))
    result = approvals(demo["url"], "audit", "prove", str(size))
    refused_in_one_sentence(result, f"There is no event at position {size}: the tree proved "
                                    f"against holds {size} events")  # fmt: skip
    result = approvals(demo["url"], "audit", "prove", "ENT-2031-0099")
    refused_in_one_sentence(result, "No case has the reference ENT-2031-0099")
    result = approvals(demo["url"], "audit", "prove", str(size), lang="ja")
    refused_in_one_sentence(result, f"位置 {size} のイベントはありません")
    result = approvals(demo["url"], "audit", "prove", "99999999999999999999999")
    refused_in_one_sentence(result, "There is no event at position 99999999999999999999999")


def test_an_event_changed_behind_the_engine_is_not_proved(demo: dict[str, Any]) -> None:
    rows = ledger(demo)
    position = len(rows) // 2
    engine = demo["engine"]
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER IF EXISTS approvals_events_no_update"))
        else:
            connection.execute(text("ALTER TABLE approvals_events DISABLE TRIGGER USER"))
        connection.execute(
            text("UPDATE approvals_events SET topic = topic || 'x' WHERE id = ("
                 "SELECT event_id FROM approvals_integrity WHERE position = :p)"), {"p": position}
        )  # fmt: skip
    result = approvals(demo["url"], "audit", "prove", str(position))
    refused_in_one_sentence(
        result, f"No proof was given: the event at position {position} is not what the ledger"
    )
    assert approvals(demo["url"], "audit", "prove", str(position - 1)).exit_code == 0


def test_a_ledger_row_missing_is_refused_in_one_sentence(demo: dict[str, Any]) -> None:
    rows = ledger(demo)
    position = len(rows) // 3
    engine = demo["engine"]
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER IF EXISTS approvals_integrity_no_delete"))
        else:
            connection.execute(text("ALTER TABLE approvals_integrity DISABLE TRIGGER USER"))
        connection.execute(
            text("DELETE FROM approvals_integrity WHERE position = :p"), {"p": position}
        )
    result = approvals(demo["url"], "audit", "prove", str(len(rows) - 1))
    refused_in_one_sentence(
        result, f"No proof was given: the ledger's row at position {position} is missing"
    )


def test_the_help_says_what_is_proved_and_who_may_run_it(demo: dict[str, Any]) -> None:
    result = approvals(demo["url"], "audit", "prove", "--help")
    assert result.exit_code == 0
    words = " ".join(result.stdout.split())
    assert "RFC 9162" in words
    assert "every event of CASE" in words
    assert "anyone who can read the database" in words
