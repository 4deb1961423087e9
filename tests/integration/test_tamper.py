"""Tampering with plain SQL, on a SQLite file and on PostgreSQL: `audit verify` names it.

The attacker here has the database: they drop the append-only triggers first, then edit,
delete, reorder, insert, cut the tail, or rewrite the log and recompute every hash.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from click.testing import CliRunner
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import text

from approvals import JST, ApprovalsApplication, open_approvals
from approvals.audit.checkpoint import generate_keys
from approvals.audit.hashing import GENESIS, chain_hash, leaf_data, leaf_hash
from approvals.cli import cli
from approvals.demo import AUDITOR, SimulatedClock, run_demo
from approvals.domain.case import case_id


@pytest.fixture
def tampered(backend_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A demo log with a signed checkpoint held outside, and the means to break it."""
    clock = SimulatedClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    app = open_approvals(backend_url, clock=clock)
    run = run_demo(app, clock)
    private, public, _ = generate_keys(tmp_path / "keys")
    folder = tmp_path / "checkpoints"
    assert audit(backend_url, "checkpoint", "--key", str(private), "--dir", str(folder))[0] == 0
    engine = sqlalchemy.create_engine(backend_url)
    with engine.begin() as connection:
        for statement in drop_triggers(engine.dialect.name):
            connection.execute(text(statement))
    yield {"url": backend_url, "app": app, "run": run, "engine": engine, "folder": folder,
           "public": public}  # fmt: skip
    engine.dispose()
    app.close()


TABLES = ("approvals_events", "approvals_integrity")


def drop_triggers(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [f"DROP TRIGGER {t}_{what}" for t in TABLES for what in ("no_update", "no_delete")]
    return [
        f"DROP TRIGGER {t}_{what} ON {t}" for t in TABLES for what in ("append_only", "no_truncate")
    ]


def audit(url: str, *args: str) -> tuple[int, dict[str, Any] | str]:
    result = CliRunner().invoke(
        cli, ["--db", url, "--user", AUDITOR, "--json", "audit", *args], prog_name="approvals"
    )
    try:
        return result.exit_code, json.loads(result.stdout)
    except json.JSONDecodeError:
        return result.exit_code, result.output


def verify(state: dict[str, Any], *, checkpoint: bool = True) -> tuple[int, dict[str, Any]]:
    args = ["verify"]
    if checkpoint:
        args += ["--checkpoint", str(state["folder"]), "--key", str(state["public"])]
    code, report = audit(state["url"], *args)
    assert isinstance(report, dict), report
    return code, report


def event_of(state: dict[str, Any], reference: str, version: int) -> tuple[int, int]:
    """Return (database id, position) of a case's event."""
    with state["engine"].connect() as connection:
        row = connection.execute(
            text("SELECT event_id, position FROM approvals_integrity "
                 "WHERE originator_id = :o AND originator_version = :v"),
            {"o": str(case_id(reference)), "v": version},
        ).one()  # fmt: skip
    return row.event_id, row.position


def state_of(state: dict[str, Any], event_id: int) -> bytes:
    with state["engine"].connect() as connection:
        value = connection.execute(
            text("SELECT state FROM approvals_events WHERE id = :id"), {"id": event_id}
        ).scalar_one()
    return bytes(value)


def reseal(state: dict[str, Any], event_id: int, edit: Callable[[bytes], bytes]) -> bytes:
    """What an attacker with the database does: decrypt a case event, edit it, encrypt it."""
    with state["engine"].connect() as connection:
        row = connection.execute(
            text("SELECT i.originator_id, i.originator_version, k.data_key, e.state "
                 "FROM approvals_integrity i JOIN approvals_events e ON e.id = i.event_id "
                 "JOIN approvals_case_keys k ON k.originator_id = i.originator_id "
                 "WHERE i.event_id = :id"),
            {"id": event_id},
        ).one()  # fmt: skip
    aad = f"{row.originator_id}:{row.originator_version}".encode()
    sealed = bytes(row.state)
    cipher = AESGCM(bytes.fromhex(row.data_key))
    plain = cipher.decrypt(sealed[3:15], sealed[15:], aad)
    edited = edit(plain)
    assert edited != plain, "the edit changed nothing"
    nonce = os.urandom(12)
    return sealed[:3] + nonce + cipher.encrypt(nonce, edited, aad)


def execute(state: dict[str, Any], sql: str, **params: Any) -> None:
    with state["engine"].begin() as connection:
        connection.execute(text(sql), params)


def test_the_untouched_log_verifies(tampered: dict[str, Any]) -> None:
    code, report = verify(tampered)
    assert (code, report["ok"], report["findings"]) == (0, True, [])
    assert report["events"] == tampered["app"].recorder.max_notification_id()


def test_an_edited_payload_is_named(tampered: dict[str, Any]) -> None:
    reference = tampered["run"].finished["entrustment"]
    event_id, position = event_of(tampered, reference, 5)  # the chief's approval
    forged = reseal(tampered, event_id, lambda plain: plain.replace(b'"sato"', b'"suzuki"'))
    execute(
        tampered, "UPDATE approvals_events SET state = :s WHERE id = :id", s=forged, id=event_id
    )
    code, report = verify(tampered)
    assert code == 1
    assert (report["first"]["code"], report["first"]["position"]) == ("altered", position)
    assert report["first"]["subject"] == reference
    rules = [f for f in report["findings"] if f["code"] == "rule"]
    assert any("suzuki took 'approve'" in f["message"] for f in rules)


def test_a_deleted_event_is_named(tampered: dict[str, Any]) -> None:
    reference = tampered["run"].rejected
    event_id, position = event_of(tampered, reference, 3)  # the rejection
    execute(tampered, "DELETE FROM approvals_events WHERE id = :id", id=event_id)
    code, report = verify(tampered)
    assert code == 1
    assert (report["first"]["code"], report["first"]["position"]) == ("deleted", position)
    assert report["first"]["subject"] == reference


def test_reordered_events_are_named(tampered: dict[str, Any]) -> None:
    reference = tampered["run"].finished["purpose"]
    first_id, first_position = event_of(tampered, reference, 4)
    second_id, _ = event_of(tampered, reference, 5)
    one, two = state_of(tampered, first_id), state_of(tampered, second_id)
    execute(tampered, "UPDATE approvals_events SET state = :s WHERE id = :id", s=two, id=first_id)
    execute(tampered, "UPDATE approvals_events SET state = :s WHERE id = :id", s=one, id=second_id)
    code, report = verify(tampered)
    assert code == 1
    assert (report["first"]["code"], report["first"]["position"]) == ("altered", first_position)
    assert report["first"]["subject"] == reference


def test_an_inserted_forged_event_is_named(tampered: dict[str, Any]) -> None:
    reference = tampered["run"].open_cases[1]  # waits for the chief
    event_id, _ = event_of(tampered, reference, 2)
    copy_event(tampered, event_id, 3, lambda state: state.replace(b'"consult"', b'"approve"'))
    code, report = verify(tampered)
    assert code == 1
    assert report["first"]["code"] == "unrecorded"
    assert report["first"]["subject"] == reference


def copy_event(
    state: dict[str, Any], event_id: int, version: int, change: Callable[[bytes], bytes]
) -> None:
    """Insert a copy of an event behind the engine's back, as ``version`` of its aggregate,
    its stored bytes changed by ``change``."""
    with state["engine"].begin() as connection:
        row = connection.execute(
            text("SELECT originator_id, topic, state FROM approvals_events WHERE id = :id"),
            {"id": event_id},
        ).one()
        connection.execute(
            text("INSERT INTO approvals_events (originator_id, originator_version, topic, state) "
                 "VALUES (:o, :v, :t, :s)"),
            {"o": row.originator_id, "v": version, "t": row.topic, "s": change(bytes(row.state))},
        )  # fmt: skip


def recompute_ledger(state: dict[str, Any], *, begin_again: bool = False) -> None:
    """What a thorough attacker does: rebuild every ledger row from the events as they are
    (with ``begin_again``, each case's chain begun again at each of its events #1)."""
    with state["engine"].begin() as connection:
        events = connection.execute(
            text("SELECT id, originator_id, originator_version, topic, state "
                 "FROM approvals_events ORDER BY id")
        ).all()  # fmt: skip
        connection.execute(text("DELETE FROM approvals_integrity"))
        chain, cases = GENESIS, {}
        for position, event in enumerate(events):
            originator = as_uuid(event.originator_id)
            leaf = leaf_hash(leaf_data(originator, event.originator_version, event.topic,
                                       bytes(event.state)))  # fmt: skip
            chain = chain_hash(chain, leaf)
            before = cases.get(originator, GENESIS)
            if begin_again and event.originator_version == 1:
                before = GENESIS
            cases[originator] = chain_hash(before, leaf)
            connection.execute(
                text("INSERT INTO approvals_integrity VALUES (:p, :e, :o, :v, :l, :c, :k)"),
                {"p": position, "e": event.id, "o": originator, "v": event.originator_version,
                 "l": leaf.hex(), "c": chain.hex(), "k": cases[originator].hex()},
            )  # fmt: skip


def as_uuid(value: Any) -> str:
    """The originator id as stored: 16 bytes on SQLite, a UUID on PostgreSQL."""
    return (
        str(uuid.UUID(bytes=bytes(value))) if isinstance(value, bytes | memoryview) else str(value)
    )


@pytest.mark.parametrize("cut", [1, 3])
def test_a_truncated_tail_is_caught_only_by_the_checkpoint(
    tampered: dict[str, Any], cut: int
) -> None:
    size = verify(tampered)[1]["events"]
    with tampered["engine"].begin() as connection:
        connection.execute(text("DELETE FROM approvals_integrity WHERE position >= :p"),
                           {"p": size - cut})  # fmt: skip
        connection.execute(
            text("DELETE FROM approvals_events WHERE id NOT IN "
                 "(SELECT event_id FROM approvals_integrity)")
        )  # fmt: skip
    code, report = verify(tampered, checkpoint=False)
    assert (code, report["ok"]) == (3, True)  # sound inside, checked against nothing pinned
    assert any("cannot be told" in note for note in report["notes"])
    code, report = verify(tampered)
    assert code == 1
    assert (report["first"]["code"], report["first"]["position"]) == ("truncated", size - cut)


def test_a_log_rewritten_with_recomputed_hashes_is_caught_only_by_the_checkpoint(
    tampered: dict[str, Any],
) -> None:
    reference = tampered["run"].rejected
    event_id, _ = event_of(tampered, reference, 3)
    forged = reseal(
        tampered,
        event_id,
        lambda plain: plain.replace(b"Consent cannot be shown for all.", b"Fine."),
    )
    execute(
        tampered, "UPDATE approvals_events SET state = :s WHERE id = :id", s=forged, id=event_id
    )
    recompute_ledger(tampered)
    code, report = verify(tampered, checkpoint=False)
    assert (code, report["ok"]) == (3, True)  # sound inside, checked against nothing pinned
    code, report = verify(tampered)
    assert code == 1
    codes = [f["code"] for f in report["findings"]]
    assert codes == ["rewritten"]
    assert "only a checkpoint held outside" in report["findings"][0]["message"]


def test_a_checkpoint_edited_by_one_byte_is_refused(tampered: dict[str, Any]) -> None:
    (file,) = tampered["folder"].glob("*.json")
    document = json.loads(file.read_text())
    document["tree_size"] += 1
    file.write_text(json.dumps(document))
    code, report = verify(tampered)
    assert code == 1
    assert [f["code"] for f in report["findings"]] == ["checkpoint_signature"]


def test_a_checkpoint_signed_by_another_key_is_refused(
    tampered: dict[str, Any], tmp_path: Path
) -> None:
    _, stranger, _ = generate_keys(tmp_path / "other")
    code, report = audit(tampered["url"], "verify", "--checkpoint", str(tampered["folder"]),
                         "--key", str(stranger))  # fmt: skip
    assert code == 1
    assert isinstance(report, dict)
    assert [f["code"] for f in report["findings"]] == ["checkpoint_key"]


def test_a_later_checkpoint_proves_it_extends_the_earlier(
    tampered: dict[str, Any], tmp_path: Path
) -> None:
    app: ApprovalsApplication = tampered["app"]
    app.act(tampered["run"].open_cases[1], "approve", actor="sato")
    private = next((tmp_path / "keys").glob("*.key"))
    code, made = audit(tampered["url"], "checkpoint", "--key", str(private),
                       "--dir", str(tampered["folder"]))  # fmt: skip
    assert code == 0
    assert isinstance(made, dict)
    assert made["previous"] is True
    later = json.loads(Path(made["path"]).read_text())
    assert later["consistency"] is not None
    assert verify(tampered)[0] == 0


def test_the_timeline_marks_the_event_that_was_changed(tampered: dict[str, Any]) -> None:
    reference = tampered["run"].finished["purpose"]
    event_id, position = event_of(tampered, reference, 3)
    code, before = audit(tampered["url"], "timeline", reference)
    assert code == 0
    assert isinstance(before, list)
    assert all(item["intact"] for item in before)
    assert before[2]["position"] == position
    forged = reseal(tampered, event_id, lambda plain: plain.replace(b"tanaka", b"tanaka2"))
    execute(
        tampered, "UPDATE approvals_events SET state = :s WHERE id = :id", s=forged, id=event_id
    )
    code, after = audit(tampered["url"], "timeline", reference)
    assert code == 0
    assert isinstance(after, list)
    assert [item["intact"] for item in after].count(False) == 1
    assert after[2]["intact"] is False


def test_a_handover_redated_before_the_contract_breaks_a_rule(tampered: dict[str, Any]) -> None:
    reference = tampered["run"].finished["entrustment"]
    event_id, position = event_of(tampered, reference, 8)  # the handover
    earlier = (b'"handover_date":"2026-04-', b'"handover_date":"2026-03-')
    forged = reseal(tampered, event_id, lambda plain: plain.replace(*earlier))
    execute(
        tampered, "UPDATE approvals_events SET state = :s WHERE id = :id", s=forged, id=event_id
    )
    code, report = verify(tampered)
    assert code == 1
    rules = [f for f in report["findings"] if f["code"] == "rule"]
    assert [(f["position"], f["message"]) for f in rules] == [
        (position, "handover_date is dated before individual_contract_date"),
        (
            position,
            "'hand_over' recorded Data handed over on as 2026-03-20, before 'approve' was "
            "recorded on the case (2026-04-17)",
        ),
    ]
