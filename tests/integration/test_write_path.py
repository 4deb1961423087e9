"""The write path of a decision, on a SQLite file and on PostgreSQL: few statements, and the
ledger, case keys and signatures exactly as a slower path wrote them.

A decision reads the case, its retention record and the roster in one query, then writes
under the writers' lock: the event's INSERT (whose RETURNING clause, on PostgreSQL, also
reads the ledger's last row, the case's previous chain value and the roster's last key
event), then the ledger row with, on PostgreSQL, its signature and a new case key in the same
statement.  These tests count the statements and check what they wrote with the verifier.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy
from eventsourcing.persistence import StoredEvent
from sqlalchemy import text

from approvals import ApprovalsApplication, open_approvals
from approvals.audit.hashing import GENESIS, chain_hash, leaf_data, leaf_hash
from approvals.audit.verify import verify_log
from approvals.audit.writers import signature_findings
from approvals.demo import FILINGS
from approvals.errors import ConcurrencyConflict, SigningRefused
from tests.conftest import (
    CHIEF,
    MANAGER,
    REPRESENTATIVE,
    STAFF,
    FakeClock,
    appoint_standard_roster,
)
from tests.integration.test_signed_writers import (  # noqa: F401 - signed: a fixture
    HOST,
    event_count,
    key,
    opened,
    signed,
)
from tests.unit.test_cases import file_case


@contextmanager
def statements(app: ApprovalsApplication) -> Iterator[list[str]]:
    """Collect the statements ``app`` sends while the block runs."""
    sent: list[str] = []

    def count(_c: object, _cur: object, statement: str, *_args: object) -> None:
        sent.append(statement)

    sqlalchemy.event.listen(app.engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        sqlalchemy.event.remove(app.engine, "before_cursor_execute", count)


def file_cases(app: ApprovalsApplication, count: int) -> list[str]:
    return [
        app.file("purpose", actor=STAFF, title=f"case {n}", department="sales",
                 fields=FILINGS["purpose"]).reference
        for n in range(count)
    ]  # fmt: skip


def ledger(app: ApprovalsApplication) -> list[tuple[object, ...]]:
    with app.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                text("SELECT * FROM approvals_integrity ORDER BY position")
            )
        ]


def test_a_decision_on_a_case_read_before_takes_four_statements(
    backend_url: str, clock: FakeClock, workflows: dict[str, object]
) -> None:
    app = open_approvals(backend_url, clock=clock, workflows=workflows)  # type: ignore[arg-type]
    try:
        appoint_standard_roster(app)
        (reference,) = file_cases(app, 1)
        app.act(reference, "consult", actor=MANAGER)  # the case and its key are known now
        with statements(app) as sent:
            app.act(reference, "approve", actor=CHIEF)
        writes = [s for s in sent if not s.lstrip().upper().startswith("SELECT")]
        # read the case, retention record and roster; (lock and wake followers); the event
        # with the ledger's reads; the ledger row
        assert len(sent) == 4, sent
        assert len(writes) == 2, sent
        assert verify_log(app, rules=False).ok
    finally:
        app.close()


def test_chains_read_under_the_lock_when_another_writer_wrote_last(
    backend_url: str, clock: FakeClock, workflows: dict[str, object]
) -> None:
    """Two applications on one store take turns: neither has the other's chain values or
    last ledger row in memory, so each decision reads them in its INSERT; the ledger has no
    hole and verifies, and every case's chain runs on across both writers."""
    first = open_approvals(backend_url, clock=clock, workflows=workflows)  # type: ignore[arg-type]
    second = open_approvals(backend_url, clock=clock, workflows=workflows, create=False)  # type: ignore[arg-type]
    try:
        appoint_standard_roster(first)
        references = file_cases(first, 4)
        for n, reference in enumerate(references):
            (first if n % 2 else second).act(reference, "consult", actor=MANAGER)
            (second if n % 2 else first).act(reference, "approve", actor=CHIEF)
        rows = ledger(first)
        assert [row[0] for row in rows] == list(range(len(rows)))
        report = verify_log(first, rules=True)
        assert report.ok, report.first
        assert [e.trigger for e in second.history(references[-1])] == [
            "file",
            "consult",
            "approve",
        ]
    finally:
        second.close()
        first.close()


def test_a_key_revoked_between_a_decision_and_its_turn_refuses_the_decision(
    signed: str,  # noqa: F811 - the fixture
) -> None:
    """A decision signs on the roster as the command read it (not read again); the roster's
    last key event, read under the writers' lock with the event's INSERT, still stops a
    decision whose key was revoked in between: nothing of it is written, and run again it is
    refused as unsigned."""
    chief = key(CHIEF)
    host = opened(signed, HOST)
    record = host.register_key(actor=REPRESENTATIVE, holder=CHIEF, public_key=chief.public_key)
    reference = file_case(host, "purpose").reference
    host.act(reference, "consult", actor=MANAGER)
    app = opened(signed, chief)
    decide = app.signing_for
    revoked: list[bool] = []

    def racing(aggregates: Any, writer: str | None) -> Any:
        chosen = decide(aggregates, writer)
        if not revoked:
            host.revoke_key(actor=REPRESENTATIVE, key_id=record.key_id)
            revoked.append(True)
        return chosen

    app.signing_for = racing  # type: ignore[method-assign]
    before = event_count(app)
    with pytest.raises(ConcurrencyConflict):
        app.act(reference, "approve", actor=CHIEF)
    assert event_count(app) == before + 1  # the revocation only
    with pytest.raises(SigningRefused, match="not registered"):
        app.act(reference, "approve", actor=CHIEF)
    assert event_count(app) == before + 1
    assert signature_findings(app).findings == ()
    app.close()
    host.close()


def test_one_event_with_a_new_case_key_and_its_signature_in_one_statement(
    backend_url: str, clock: FakeClock, workflows: dict[str, object]
) -> None:
    """The one-row write (the ledger row, its signature, a new case key): every row as the
    hashes say, the key kept once committed."""
    app = open_approvals(backend_url, clock=clock, workflows=workflows)  # type: ignore[arg-type]
    try:
        appoint_standard_roster(app)
        recorder: Any = app.recorder
        originator = uuid.uuid4()
        made = app.case_keys.key(originator, create=True)
        assert made is not None
        signer = key(CHIEF)
        recorder.signer = lambda: (signer, CHIEF)
        try:
            stored = StoredEvent(originator, 1, "approvals:Test.Made", b"state")
            (event_id,) = recorder.insert_events([stored])
        finally:
            recorder.signer = lambda: None
        rows = ledger(app)
        previous = rows[-2]
        position, row_event, row_originator, version, leaf, chain, case_chain = rows[-1]
        expected_leaf = leaf_hash(leaf_data(str(originator), 1, stored.topic, stored.state))
        assert (position, row_event, row_originator, version) == (
            previous[0] + 1, event_id, str(originator), 1,
        )  # fmt: skip
        assert leaf == expected_leaf.hex()
        assert chain == chain_hash(bytes.fromhex(str(previous[5])), expected_leaf).hex()
        assert case_chain == chain_hash(GENESIS, expected_leaf).hex()
        with app.engine.connect() as connection:
            kept = connection.execute(
                text("SELECT data_key FROM approvals_case_keys WHERE originator_id = :o"),
                {"o": str(originator)},
            ).scalar_one()
            signature = connection.execute(
                text("SELECT writer, key_id FROM approvals_signatures WHERE position = :p"),
                {"p": position},
            ).one()
        assert bytes.fromhex(kept) == made
        assert tuple(signature) == (CHIEF, signer.key_id)
        assert app.case_keys.key(originator) == made
    finally:
        app.close()
