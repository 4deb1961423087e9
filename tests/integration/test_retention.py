"""Retention: nothing disposed of before its deadline or under a hold; after disposal the case
cannot be read, its disposal record remains, and the log still verifies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from approvals import (
    JST,
    ApprovalsApplication,
    CaseDisposed,
    InvalidValue,
    NotAuthorized,
    RetentionRefused,
    open_approvals,
)
from approvals.audit.checkpoint import generate_keys
from approvals.cli import cli
from approvals.demo import AUDITOR, CHIEF, HANDLER, MANAGER, SimulatedClock, run_demo
from approvals.domain.case import case_id

SEVEN_YEARS_AND_A_MONTH = 7 * 366 + 31


@pytest.fixture
def store(backend_url: str) -> Iterator[tuple[ApprovalsApplication, SimulatedClock, Any]]:
    clock = SimulatedClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    app = open_approvals(backend_url, clock=clock)
    run = run_demo(app, clock)
    yield app, clock, run
    app.close()


def events(app: ApprovalsApplication) -> int:
    return app.recorder.max_notification_id() or 0


def test_nothing_is_disposed_of_before_the_deadline(store: Any) -> None:
    app, _, run = store
    before = events(app)
    with pytest.raises(RetentionRefused, match="must be kept until 2033-05-02"):
        app.retention().approve(run.rejected, actor=CHIEF)
    with pytest.raises(RetentionRefused, match="must be kept until the case's end"):
        app.retention().approve(run.open_cases[0], actor=CHIEF)
    assert events(app) == before
    assert app.retention().due() == ()


def test_a_legal_hold_blocks_disposal_until_released(store: Any) -> None:
    app, clock, run = store
    retention = app.retention()
    clock.advance(days=SEVEN_YEARS_AND_A_MONTH)
    with pytest.raises(NotAuthorized, match="only the chief personal information officer may"):
        retention.hold(run.rejected, actor=MANAGER, reason="litigation")
    held = retention.hold(run.rejected, actor=CHIEF, reason="litigation")
    assert held.hold == "litigation"
    assert run.rejected in [item.reference for item in retention.due()]
    before = events(app)
    with pytest.raises(RetentionRefused, match=r"a legal hold stands \(litigation\)"):
        retention.approve(run.rejected, actor=CHIEF)
    with pytest.raises(RetentionRefused, match="already under a legal hold"):
        retention.hold(run.rejected, actor=CHIEF, reason="again")
    assert events(app) == before
    retention.release(run.rejected, actor=CHIEF, comment="settled")
    with pytest.raises(RetentionRefused, match="no legal hold to release"):
        retention.release(run.rejected, actor=CHIEF)
    assert retention.approve(run.rejected, actor=CHIEF).approved_by == CHIEF


def test_disposal_needs_the_chiefs_approval_and_a_handler_of_the_department(store: Any) -> None:
    app, clock, run = store
    retention = app.retention()
    clock.advance(days=SEVEN_YEARS_AND_A_MONTH)
    with pytest.raises(RetentionRefused, match="the chief has not approved it"):
        retention.dispose(run.rejected, actor=HANDLER)
    retention.approve(run.rejected, actor=CHIEF)
    with pytest.raises(NotAuthorized, match="only a data handling officer of sales may"):
        retention.dispose(run.rejected, actor=CHIEF)
    retention.hold(run.rejected, actor=CHIEF, reason="audit question")
    with pytest.raises(RetentionRefused, match="a legal hold stands"):
        retention.dispose(run.rejected, actor=HANDLER)


def test_a_disposed_case_is_gone_its_record_remains_and_the_log_still_verifies(
    store: Any, backend_url: str, tmp_path: Path
) -> None:
    app, clock, run = store
    private, public, _ = generate_keys(tmp_path / "keys")
    runner = CliRunner()

    def audit(*args: str) -> Any:
        return runner.invoke(
            cli, ["--db", backend_url, "--user", AUDITOR, "--json", "audit", *args]
        )

    assert audit("checkpoint", "--key", str(private), "--dir", str(tmp_path / "cp")).exit_code == 0
    clock.advance(days=SEVEN_YEARS_AND_A_MONTH)
    reference = run.rejected
    retention = app.retention()
    retention.approve(reference, actor=CHIEF)
    done = retention.dispose(reference, actor=HANDLER, method="paper copies shredded")
    record = done.disposed
    assert (record["by"], record["count"], record["method"]) == (
        HANDLER,
        3,
        "paper copies shredded",
    )
    assert str(record["what"]).startswith(f"{reference} (provision)")

    with pytest.raises(CaseDisposed, match=f"{reference} was disposed of on .* by {HANDLER}"):
        app.case(reference)
    assert reference not in app.references()
    assert reference not in [c.reference for c in app.cases()]
    with app.engine.connect() as connection:
        keys = connection.execute(
            text("SELECT count(*) FROM approvals_case_keys WHERE originator_id = :o"),
            {"o": str(case_id(reference))},
        ).scalar_one()
    assert keys == 0
    with pytest.raises(CaseDisposed, match="only its disposal record remains"):
        retention.approve(reference, actor=CHIEF)

    verified = audit("verify", "--checkpoint", str(tmp_path / "cp"), "--key", str(public))
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.stdout)["ok"] is True

    other = open_approvals(backend_url, clock=clock)
    try:
        with pytest.raises(CaseDisposed):
            other.case(reference)
        assert other.retention().item(reference).disposed["by"] == HANDLER
    finally:
        other.close()


def test_no_word_of_a_case_is_stored_in_clear(store: Any) -> None:
    app, _, _ = store
    with app.engine.connect() as connection:
        stored = [bytes(state) for (state,) in connection.execute(
            text("SELECT state FROM approvals_events"))]  # fmt: skip
    assert not any(b"Scanning of paper customer files" in state for state in stored)
    assert not any(b"Consent cannot be shown" in state for state in stored)
    assert any(b"suzuki" in state for state in stored)  # the roster is not personal data
    assert app.case(app.references()[0]).title  # and yet every case reads back


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_retention_at_the_terminal(store: Any, backend_url: str, lang: str) -> None:
    _, clock, run = store
    clock.advance(days=SEVEN_YEARS_AND_A_MONTH)
    # The command line reads the real clock: the demo ran in 2026, so nothing is due yet.
    runner = CliRunner()

    def approvals(user: str, *args: str) -> Any:
        return runner.invoke(cli, ["--db", backend_url, "--user", user, "--lang", lang, *args])

    early = approvals(CHIEF, "retention", "approve", run.rejected)
    assert early.exit_code == 1
    assert "2033-05-02" in early.stderr
    assert early.stderr.count("\n") == 1
    held = approvals(CHIEF, "--json", "retention", "hold", run.rejected, "--reason", "dispute")
    assert held.exit_code == 0, held.output
    assert json.loads(held.stdout)[0]["hold"] == "dispute"
    shown = approvals(AUDITOR, "retention", "show", run.rejected)
    assert shown.exit_code == 0
    assert ("legal hold: dispute" if lang == "en" else "保全措置中: dispute") in shown.stdout
    assert approvals(MANAGER, "retention", "release", run.rejected).exit_code == 1


def test_retention_texts_with_a_nul_or_control_characters_are_refused_and_nothing_written(
    store: Any,
) -> None:
    # A NUL in a hold reason reached the read models' text columns, which PostgreSQL refuses:
    # every register would have failed for everyone from then on.
    app, clock, run = store
    retention = app.retention()
    clock.advance(days=SEVEN_YEARS_AND_A_MONTH)
    before = events(app)
    with pytest.raises(InvalidValue, match="The reason"):
        retention.hold(run.rejected, actor=CHIEF, reason="litigation\x00")
    with pytest.raises(InvalidValue, match="The comment"):
        retention.approve(run.rejected, actor=CHIEF, comment="ok\x1b[2J")
    assert events(app) == before
    retention.approve(run.rejected, actor=CHIEF)
    before = events(app)
    with pytest.raises(InvalidValue, match="The disposal method"):
        retention.dispose(run.rejected, actor=HANDLER, method="shredded\x00")
    assert events(app) == before
    assert app.registers().retention()  # the registers still read
