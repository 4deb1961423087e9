"""Thousands of single alterations of a small store, each made as an insider with the owner's
rights would (the append-only triggers off): `audit verify` reports every one and raises on none.

One store per backend: the sample roster with a dismissal and a new appointment, cases of three
workflows (one returned, one approved), two signed checkpoints with events after each.  Each
alteration is made, verified by a freshly opened application (no cache of an earlier read can
hide it), then undone, and the tables are checked to be exactly as before.  A fixed seed makes
every run the same; an alteration that changes nothing (a byte replaced by itself, a checkpoint
file that still reads as the same signed statement) is not counted.
"""

from __future__ import annotations

import hashlib
import random
import string
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine, text

from approvals import JST, ApprovalsApplication, open_approvals
from approvals.audit.checkpoint import Checkpoint, generate_keys, load_private_key
from approvals.audit.checkpoint import load_public_key as read_public_key
from approvals.audit.service import create_checkpoint, read_checkpoints, verify_with_keys
from approvals.audit.signing import WriterKey
from approvals.definitions import load_directory
from approvals.demo import (
    CHIEF,
    FILINGS,
    MANAGER,
    OTHER_STAFF,
    REPRESENTATIVE,
    STAFF,
    TITLES,
    SimulatedClock,
    appoint_sample_roster,
    begin_signing,
)
from approvals.errors import ApprovalsError
from tests.conftest import drop_triggers

ALTERATIONS = {"sqlite": 300, "postgresql": 80}
"""How many alterations are counted per backend: bounded for CI (a fresh application and a whole
verification each)."""
SEED = 20261130
TABLES = (
    "approvals_events", "approvals_integrity", "approvals_case_keys", "approvals_disposals",
    "approvals_signatures",
)  # fmt: skip
HASHES = ("leaf_hash", "chain_hash", "case_chain_hash")


@dataclass
class Store:
    url: str
    engine: Engine
    workflows: dict[str, Any]
    checkpoints: list[Checkpoint]
    public: Ed25519PublicKey
    files: list[Path]
    baseline: str = ""
    failures: list[str] = field(default_factory=list)


def build(url: str, tmp_path: Path) -> Store:
    """The small store, signed from its first key on, its two checkpoints, and the triggers
    off."""
    workflows = dict(load_directory())
    clock = SimulatedClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    representative = WriterKey(REPRESENTATIVE, Ed25519PrivateKey.generate())
    service = WriterKey("intranet", Ed25519PrivateKey.generate(), service=True)
    app = open_approvals(url, clock=clock, workflows=workflows, signer=representative)
    begin_signing(app, service.public_key)
    app.close()
    app = open_approvals(url, clock=clock, workflows=workflows, signer=service)
    private_path, public_path, _ = generate_keys(tmp_path / "keys")
    private = load_private_key(private_path)
    folder = tmp_path / "checkpoints"
    try:
        appoint_sample_roster(app)
        app.dismiss(actor=MANAGER, user=OTHER_STAFF, role="staff", department="sales")
        purpose = _file(app, "purpose")
        clock.next_morning()
        app.act(purpose, "return", actor=MANAGER, comment="Name the data subjects precisely.")
        create_checkpoint(app, private, folder)
        clock.next_morning()
        method = _file(app, "method")
        app.act(method, "consult", actor=MANAGER)
        app.act(method, "approve", actor=CHIEF)
        app.appoint(actor=MANAGER, user="kato", role="staff", department="sales")
        create_checkpoint(app, private, folder)
        clock.next_morning()
        _file(app, "joint_use")
    finally:
        app.close()
    drop_triggers(url, TABLES)
    engine = sqlalchemy.create_engine(url)
    files = sorted(folder.glob("*.json"))
    store = Store(url, engine, workflows, read_checkpoints([folder]), read_public_key(public_path),
                  files)  # fmt: skip
    store.baseline = fingerprint(store)
    return store


def _file(app: ApprovalsApplication, workflow: str) -> str:
    return app.file(workflow, actor=STAFF, title=TITLES[workflow], department="sales",
                    fields=FILINGS[workflow]).reference  # fmt: skip


def fingerprint(store: Store) -> str:
    """A digest of every row of the log's tables, to prove each alteration was undone."""
    digest = hashlib.sha256()
    with store.engine.connect() as connection:
        for table in TABLES:
            for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY 1")):
                digest.update(repr(tuple(bytes(v) if isinstance(v, memoryview) else v
                                         for v in row)).encode())  # fmt: skip
    return digest.hexdigest()


def rows(store: Store, table: str) -> list[dict[str, Any]]:
    with store.engine.connect() as connection:
        result = connection.execute(text(f"SELECT * FROM {table} ORDER BY 1"))
        return [dict(row._mapping) for row in result]


Undo = Callable[[], None]


def run_sql(store: Store, sql: str, **params: Any) -> None:
    with store.engine.begin() as connection:
        connection.execute(text(sql), params)


def update(store: Store, table: str, key: str, row: dict[str, Any], column: str, *,
           value: Any) -> Undo | None:  # fmt: skip
    """Set one value; None when it changes nothing or the database refuses it (a duplicate)."""
    if value == row[column] or (isinstance(value, bytes) and value == bytes(row[column])):
        return None
    sql = f"UPDATE {table} SET {column} = :v WHERE {key} = :k"
    try:
        run_sql(store, sql, v=value, k=row[key])
    except sqlalchemy.exc.IntegrityError:
        return None
    return lambda: run_sql(store, sql, v=row[column], k=value if column == key else row[key])


def delete(store: Store, table: str, key: str, row: dict[str, Any]) -> Undo:
    run_sql(store, f"DELETE FROM {table} WHERE {key} = :k", k=row[key])
    columns = ", ".join(row)
    values = ", ".join(f":{name}" for name in row)
    return lambda: run_sql(store, f"INSERT INTO {table} ({columns}) VALUES ({values})", **row)


def flip(rng: random.Random, value: bytes) -> bytes:
    index = rng.randrange(len(value))
    return value[:index] + bytes([rng.randrange(256)]) + value[index + 1 :]


def alter_event(store: Store, rng: random.Random) -> tuple[str, Undo | None]:
    row = rng.choice(rows(store, "approvals_events"))
    what = rng.choice(["state", "topic", "version", "delete", "duplicate"])
    if what == "state":
        changed = flip(rng, bytes(row["state"]))
        return what, update(store, "approvals_events", "id", row, "state", value=changed)
    if what == "topic":
        topic: str = row["topic"]
        index = rng.randrange(len(topic))
        changed = topic[:index] + rng.choice(string.printable.strip()) + topic[index + 1 :]
        return what, update(store, "approvals_events", "id", row, "topic", value=changed)
    if what == "version":
        version = row["originator_version"] + rng.choice([-2, -1, 1, 2, 1000])
        return what, update(
            store, "approvals_events", "id", row, "originator_version", value=version
        )
    if what == "delete":
        return what, delete(store, "approvals_events", "id", row)
    copy = {k: v for k, v in row.items() if k != "id"}
    copy["originator_version"] = row["originator_version"] + 1000  # (case, version) is unique
    columns = ", ".join(copy)
    values = ", ".join(f":{name}" for name in copy)
    with store.engine.begin() as connection:
        connection.execute(text(f"INSERT INTO approvals_events ({columns}) VALUES ({values})"),
                           copy)  # fmt: skip
        new = connection.execute(text("SELECT max(id) FROM approvals_events")).scalar_one()
    return what, lambda: run_sql(store, "DELETE FROM approvals_events WHERE id = :k", k=new)


def alter_ledger(store: Store, rng: random.Random) -> tuple[str, Undo | None]:
    ledger = rows(store, "approvals_integrity")
    row = rng.choice(ledger)
    what = rng.choice([*HASHES, "position", "event_id", "delete"])
    if what in HASHES:
        value: str = row[what]
        index = rng.randrange(len(value))
        char = rng.choice("0123456789abcdef" * 3 + "ABCDEFg x")
        changed = value[:index] + char + value[index + 1 :]
        undo = update(store, "approvals_integrity", "position", row, what, value=changed)
    elif what == "position":
        taken = {r["position"] for r in ledger}
        free = [p for p in range(-3, len(ledger) + 3) if p not in taken]
        undo = update(
            store, "approvals_integrity", "position", row, "position", value=rng.choice(free)
        )
    elif what == "event_id":
        value_id = row["event_id"] + rng.choice([-1, 1, 7, 1000])
        undo = update(store, "approvals_integrity", "position", row, "event_id", value=value_id)
    else:
        undo = delete(store, "approvals_integrity", "position", row)
    return f"ledger {what}", undo


def alter_key(store: Store, rng: random.Random) -> tuple[str, Undo | None]:
    row = rng.choice(rows(store, "approvals_case_keys"))
    if rng.random() < 0.5:
        return "key deleted", delete(store, "approvals_case_keys", "originator_id", row)
    new_key = rng.randbytes(32).hex()
    undo = update(store, "approvals_case_keys", "originator_id", row, "data_key", value=new_key)
    return "key replaced", undo


def alter_signature(store: Store, rng: random.Random) -> tuple[str, Undo | None]:
    signatures = rows(store, "approvals_signatures")
    row = rng.choice(signatures)
    what = rng.choice(["writer", "key_id", "signature", "position", "delete"])
    if what == "delete":
        return "signature delete", delete(store, "approvals_signatures", "position", row)
    if what == "position":
        taken = {r["position"] for r in signatures}
        free = [p for p in range(0, len(signatures) + 3) if p not in taken]
        value: Any = rng.choice(free)
    elif what == "writer":
        value = rng.choice([CHIEF, MANAGER, STAFF, REPRESENTATIVE, "intranet", "mallory"])
    else:
        text_value: str = row[what]
        index = rng.randrange(len(text_value))
        value = text_value[:index] + rng.choice("0123456789abcdef") + text_value[index + 1 :]
    undo = update(store, "approvals_signatures", "position", row, what, value=value)
    return f"signature {what}", undo


def verify(store: Store, checkpoints: list[Checkpoint]) -> bool:
    """Whether a fresh application's verification reports something (it must not raise)."""
    app = open_approvals(store.url, create=False, workflows=store.workflows)
    try:
        return not verify_with_keys(app, checkpoints, [store.public]).ok
    finally:
        app.close()


def checkpoint_round(store: Store, rng: random.Random, scratch: Path) -> bool | None:
    """One byte of one checkpoint file changed: detected (True), missed (False), or not counted
    (None: it still reads as the very statement that was signed)."""
    index = rng.randrange(len(store.files))
    original = store.files[index].read_bytes()
    changed = flip(rng, original)
    if changed == original:
        return None
    scratch.write_bytes(changed)
    try:
        (altered,) = read_checkpoints([scratch])
    except ApprovalsError:
        return True  # refused in one sentence, as the command line shows it
    before = store.checkpoints[index]
    if (altered.statement(), altered.signature) == (before.statement(), before.signature):
        return None
    given = [*store.checkpoints[:index], altered, *store.checkpoints[index + 1 :]]
    return verify(store, given)


def test_every_single_alteration_is_reported_and_none_raises(
    backend_url: str, tmp_path: Path
) -> None:
    store = build(backend_url, tmp_path)
    rng = random.Random(SEED)
    assert not verify(store, store.checkpoints), "the untouched store verifies"
    counted: dict[str, int] = {}
    wanted = ALTERATIONS[store.engine.dialect.name]
    alterations = [alter_event] * 4 + [alter_ledger] * 3 + [alter_key] + [alter_signature] * 2
    try:
        while sum(counted.values()) < wanted and len(store.failures) < 5:
            if rng.random() < 0.08:
                what = "checkpoint byte"
                try:
                    found = checkpoint_round(store, rng, tmp_path / "altered.json")
                except Exception:  # noqa: BLE001 - collected: the test names every one
                    store.failures.append(f"{what}: raised\n{traceback.format_exc()}")
                    continue
            else:
                what, undo = rng.choice(alterations)(store, rng)
                if undo is None:
                    continue  # changed nothing, or the database refused it
                found = None
                try:
                    found = verify(store, store.checkpoints)
                except Exception:  # noqa: BLE001 - collected: the test names every one
                    store.failures.append(f"{what}: raised\n{traceback.format_exc()}")
                finally:
                    undo()
            if found is None:
                continue
            counted[what] = counted.get(what, 0) + 1
            if not found:
                store.failures.append(f"{what}: not reported")
            if sum(counted.values()) % 100 == 0:
                assert fingerprint(store) == store.baseline, f"the undo of {what} was incomplete"
    finally:
        store.engine.dispose()
    assert store.failures == [], store.failures
    assert sum(counted.values()) == wanted
    assert len(counted) == 19, counted  # every kind of alteration was made
