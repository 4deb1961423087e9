"""One damaged case never takes the others down.

A case's events are encrypted under a key of its own.  Stores exist whose case was written
under a key that was never kept (a concurrency bug of an earlier version), and an insider with
the database can replace or delete a key row.  Then that one case cannot be read: it is refused
by reference in one sentence, named by the lists and by `audit verify`, and everything else —
the other cases, the inbox, the registers, the read models, the audit — goes on working.
A case disposed of (its key destroyed on purpose) is not damaged, and is not reported.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import text

from approvals import JST, ApprovalsApplication, CaseDisposed, CaseUnreadable, open_approvals
from approvals.cli import cli
from approvals.domain.case import case_id
from approvals.projections import all_models
from approvals.readmodel import Projector, rows_of
from tests.conftest import AUDITOR, CHIEF, HANDLER, MANAGER, FakeClock, appoint_standard_roster
from tests.unit.test_cases import file_case

SEVEN_YEARS_AND_A_MONTH = 7 * 366 + 31
HOW = ("replaced", "lost")


@dataclass
class Damaged:
    """A store where case ``bad`` cannot be read, opened afresh after the damage."""

    url: str
    app: ApprovalsApplication
    clock: FakeClock
    good: list[str]  # waiting for the chief, then for a manager
    bad: str  # consulted (waits for the chief), under a legal hold
    disposed: str  # disposed of: its key destroyed on purpose
    how: str

    @property
    def code(self) -> str:
        return "case.unreadable" if self.how == "replaced" else "case.key_missing"


def damage(url: str, reference: str, how: str) -> None:
    """What the old bug left, or an insider does: the case's key is not the one its events were
    written under (``replaced``), or there is none at all (``lost``)."""
    engine = sqlalchemy.create_engine(url)
    originator = str(case_id(reference))
    try:
        with engine.begin() as connection:
            if how == "replaced":
                if engine.dialect.name == "sqlite":
                    connection.execute(text("DROP TRIGGER approvals_case_keys_no_update"))
                else:
                    connection.execute(text("ALTER TABLE approvals_case_keys DISABLE TRIGGER ALL"))
                changed = connection.execute(
                    text("UPDATE approvals_case_keys SET data_key = :k WHERE originator_id = :o"),
                    {"k": AESGCM.generate_key(bit_length=256).hex(), "o": originator},
                ).rowcount
            else:  # the owner's rights: the key may go only with its disposal otherwise
                if engine.dialect.name == "sqlite":
                    connection.execute(text("DROP TRIGGER approvals_case_keys_no_delete"))
                else:
                    connection.execute(text("ALTER TABLE approvals_case_keys DISABLE TRIGGER ALL"))
                changed = connection.execute(
                    text("DELETE FROM approvals_case_keys WHERE originator_id = :o"),
                    {"o": originator},
                ).rowcount
        assert changed == 1
    finally:
        engine.dispose()


def build(url: str, how: str, workflows: dict[str, Any]) -> Damaged:
    """A disposed case, two sound ones and one damaged between them; the read models are not
    built before the damage (every process meets it as it catches up)."""
    clock = FakeClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    app = open_approvals(url, clock=clock, workflows=workflows)  # type: ignore[arg-type]
    try:
        appoint_standard_roster(app)
        disposed = file_case(app, "purpose").reference
        app.act(disposed, "consult", actor=MANAGER)
        app.act(disposed, "reject", actor=CHIEF, comment="Not needed")
        clock.advance(days=SEVEN_YEARS_AND_A_MONTH)
        app.retention().approve(disposed, actor=CHIEF)
        app.retention().dispose(disposed, actor=HANDLER)
        first = file_case(app, "purpose").reference
        app.act(first, "consult", actor=MANAGER)
        bad = file_case(app, "purpose").reference
        app.act(bad, "consult", actor=MANAGER)
        app.retention().hold(bad, actor=CHIEF, reason="A claim is pending")
        second = file_case(app, "purpose").reference
    finally:
        app.close()
    damage(url, bad, how)
    fresh = open_approvals(url, clock=clock, workflows=workflows)  # type: ignore[arg-type]
    return Damaged(url, fresh, clock, [first, second], bad, disposed, how)


@pytest.fixture(params=HOW)
def damaged(
    request: pytest.FixtureRequest, backend_url: str, workflows: dict[str, Any]
) -> Iterator[Damaged]:
    store = build(backend_url, request.param, workflows)
    yield store
    store.app.close()


def run(store: Damaged, *args: str, user: str = CHIEF, lang: str = "en") -> Result:
    return CliRunner().invoke(
        cli, ["--db", store.url, "--user", user, "--lang", lang, *args], prog_name="approvals"
    )


def sentence(store: Damaged, lang: str = "en") -> str:
    return CaseUnreadable(store.code, reference=store.bad).render(lang)


# -- the application ----------------------------------------------------------------------------


def test_the_other_cases_are_read_and_the_damaged_one_is_refused_in_one_sentence(
    damaged: Damaged,
) -> None:
    app, bad = damaged.app, damaged.bad
    for reference in damaged.good:
        assert app.case(reference).reference == reference
        assert app.history(reference)[0].trigger == "file"
    refusals = [
        lambda: app.case(bad),
        lambda: app.case(bad.lower(), as_of=damaged.clock()),
        lambda: app.history(bad),
        lambda: app.act(bad, "approve", actor=CHIEF),
    ]
    for refuse in refusals:
        with pytest.raises(CaseUnreadable) as caught:
            refuse()
        error = caught.value
        assert (error.code, error.reference) == (damaged.code, bad)
        assert str(error) == sentence(damaged)
        assert str(error).startswith(f"{bad} cannot be read: ")
        assert "\n" not in str(error)
        assert error.render("ja").startswith(f"{bad} を読み出せません")
    assert isinstance(caught.value, OSError)  # a StorageError: the stored data is damaged
    assert app.case(damaged.good[0]).state == "consulting"  # nothing of it was held in memory


def test_the_lists_leave_the_damaged_case_out_and_name_it(damaged: Damaged) -> None:
    app = damaged.app
    assert app.references() == tuple(damaged.good)
    assert [str(problem) for problem in app.unreadable()] == [sentence(damaged)]
    assert [case.reference for case in app.cases()] == damaged.good
    with pytest.raises(CaseDisposed):
        app.case(damaged.disposed)  # disposed of on purpose: not damaged


def test_the_inbox_and_the_registers_are_read_without_the_damaged_case(damaged: Damaged) -> None:
    app = damaged.app
    assert {item.reference for item in app.inbox(CHIEF)} == {damaged.good[0]}
    assert {item.reference for item in app.inbox(MANAGER)} == {damaged.good[1]}
    registers = app.registers()
    assert [e.reference for e in registers.cases()] == [damaged.disposed, *damaged.good]
    assert [e.reference for e in registers.cases_as_of(damaged.clock())] == damaged.good
    assert damaged.bad not in {e.reference for e in registers.retention()}
    assert damaged.bad not in {e.reference for e in registers.overdue()}
    assert registers.vendors() == ()
    assert registers.provisions() == ()
    assert [str(problem) for problem in registers.unreadable()] == [sentence(damaged)]
    found = app.reminders(actor=CHIEF, everyone=True, within=timedelta(days=30))
    assert damaged.bad not in {item.reference for item in found}


def rows(projector: Projector) -> dict[str, dict[str, set[tuple[Any, ...]]]]:
    return {model.name: rows_of(projector.engine, model) for model in projector.models}


def test_the_read_models_skip_the_damaged_case_and_a_rebuild_gives_the_rows_followed_live(
    damaged: Damaged,
) -> None:
    app = damaged.app
    live = Projector(app, all_models(), batch=2)
    live.catch_up()
    assert {s.lag for s in live.status()} == {0}, "the projector is stuck on the damaged case"
    app.act(damaged.good[0], "approve", actor=CHIEF)
    app.act(damaged.good[1], "consult", actor=MANAGER)
    live.catch_up()
    assert {s.lag for s in live.status()} == {0}
    followed = rows(live)
    assert followed["unreadable"]["rm_unreadable"] == {(damaged.bad, damaged.code)}
    for model, tables in followed.items():
        for name, found in tables.items():
            if model != "unreadable":
                assert all(damaged.bad not in row for row in found), (model, name)
    live.rebuild()
    assert rows(live) == followed
    assert live.check() == ()


# -- the command line ---------------------------------------------------------------------------


LISTS = {
    "list": "good",
    "inbox": "good",
    "register cases": "good",
    "register retention": "disposed",
    "register overdue": "",
    "remind --all": "",
}


@pytest.mark.parametrize("command", sorted(LISTS))
def test_each_list_at_the_terminal_shows_the_others_and_names_the_damaged_case(
    damaged: Damaged, command: str
) -> None:
    result = run(damaged, *command.split())
    assert result.exit_code == 0, result.output
    assert damaged.bad not in result.stdout
    shown = {"good": damaged.good[0], "disposed": damaged.disposed}.get(LISTS[command])
    if shown is not None:
        assert shown in result.stdout
    assert sentence(damaged) in result.stderr.splitlines()


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("command", ["show", "history", "approve"])
def test_the_damaged_case_is_refused_at_the_terminal_in_one_line(
    damaged: Damaged, command: str, lang: str
) -> None:
    result = run(damaged, command, damaged.bad, lang=lang)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == sentence(damaged, lang) + "\n"
    assert "Traceback" not in result.output


def test_the_read_models_are_rebuilt_and_checked_at_the_terminal(damaged: Damaged) -> None:
    assert run(damaged, "projections", "rebuild").exit_code == 0
    result = run(damaged, "projections", "check")
    assert result.exit_code == 0, result.output
    status = run(damaged, "projections", "status")
    assert status.exit_code == 0
    assert sentence(damaged) in status.stderr.splitlines()


def test_audit_verify_reports_the_damaged_case_and_checks_everything_else(
    damaged: Damaged,
) -> None:
    result = run(damaged, "--json", "audit", "verify", user=AUDITOR)
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["events"] == damaged.app.recorder.max_notification_id()
    (finding,) = report["findings"]
    assert (finding["code"], finding["subject"]) == ("unreadable", damaged.bad)
    assert finding["position"] == damaged.app.position_of(case_id(damaged.bad), 1)
    assert finding["message"].startswith(f"{damaged.bad} cannot be read: ")
    assert "hashes" in finding["message"]
    shown = run(damaged, "audit", "verify", user=AUDITOR)
    assert shown.exit_code == 1
    assert damaged.bad in shown.stdout
    assert "Traceback" not in shown.output


def test_audit_verify_still_finds_an_altered_event_of_another_case(damaged: Damaged) -> None:
    engine = sqlalchemy.create_engine(damaged.url)
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "sqlite":
                connection.execute(text("DROP TRIGGER approvals_events_no_update"))
            else:
                connection.execute(text("ALTER TABLE approvals_events DISABLE TRIGGER ALL"))
            connection.execute(
                text("UPDATE approvals_events SET state = :s WHERE originator_id = :o "
                     "AND originator_version = 2"),
                {"s": b"AK1" + bytes(60),
                 "o": case_id(damaged.good[0]) if engine.dialect.name != "sqlite"
                 else case_id(damaged.good[0]).bytes},
            )  # fmt: skip
    finally:
        engine.dispose()
    result = run(damaged, "--json", "audit", "verify", user=AUDITOR)
    assert result.exit_code == 1
    findings = json.loads(result.stdout)["findings"]
    assert {(f["code"], f["subject"]) for f in findings} >= {
        ("altered", damaged.good[0]),
        ("unreadable", damaged.bad),
    }


def test_audit_export_and_report_go_on_and_name_the_damaged_case(damaged: Damaged) -> None:
    result = run(damaged, "audit", "export", user=AUDITOR)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    subjects = {row["subject"] for row in rows if row["kind"] == "case"}
    assert set(damaged.good) <= subjects
    assert damaged.bad not in subjects  # its events: its hold, in its retention record, is kept
    assert ("retention", "HoldPlaced") in {
        (row["kind"], row["event"]) for row in rows if row["subject"] == damaged.bad
    }
    assert sentence(damaged) in result.stderr.splitlines()
    report = run(damaged, "audit", "report", "--year", "2026", user=AUDITOR)
    assert report.exit_code == 0, report.output
    assert "does NOT verify" in report.stdout
