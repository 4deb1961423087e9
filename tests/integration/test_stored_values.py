"""Reads survive anything stored: a value an earlier version let in never breaks a read.

The door now refuses a date of 9999-12-31, a NUL in a title, a name longer than a column.  An
earlier version did not, and its stores are kept seven years and cannot be edited.  Each test
writes such a value as that version did (the door's checks switched off for the one write),
then opens the store afresh with the door back: the inbox, every register, the reminders, the
case's own view and `audit verify` work for every case, deadlines and retention never count
from the value, and the case's line names it with the sentence the door says of it today.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from click.testing import CliRunner, Result

import approvals.domain.flaws as flaw_checks
from approvals import JST, ApprovalsApplication, FlawedValue, open_approvals
from approvals.audit.verify import verify_log
from approvals.cli import cli
from approvals.domain import guards, roster
from approvals.domain.flaws import flaws
from approvals.projections import all_models
from approvals.readmodel import Projector, ReadModel, rows_of
from tests.conftest import (
    AUDITOR,
    CHIEF,
    MANAGER,
    STAFF,
    FakeClock,
    appoint_standard_roster,
)
from tests.scenarios import FILINGS, PATHS, reads, take, until

FAR = "9999-12-31"
REQUEST = {
    "kind": "disclosure",
    "data_subject": "Hanako Yamada",
    "received_on": "2026-04-24",
    "request_details": "Everything the company holds on her",
    "wished_method": "in_writing",
}


@contextmanager
def earlier_version(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Write as a version that checked neither dates' range nor names' characters did (what
    the read models remember of that version's verdicts is forgotten with it, as a new
    process would start without them)."""
    with monkeypatch.context() as patched:
        fresh = {kind: {} for kind in flaw_checks._KNOWN if isinstance(kind, str)}
        patched.setattr(flaw_checks, "_KNOWN", fresh)
        patched.setattr(guards, "_within", lambda spec, day, given: None)
        patched.setattr(guards, "check_name", lambda value, what, limit=0: value)
        patched.setattr(roster, "check_name", lambda value, what, limit=0: value)
        yield


def step(app: ApprovalsApplication, ref: str, trigger: str, **fields: str) -> None:
    move = next(m for m in PATHS["entrustment"] if m.trigger == trigger)
    app.act(ref, trigger, actor=move.actor, fields={**move.fields, **fields},
            checklist=move.checklist, comment=move.comment)  # fmt: skip


def _inspected(app: ApprovalsApplication) -> str:
    ref = until(app, "entrustment", "inspect")
    step(app, ref, "inspect", inspection_date=FAR)
    return ref


def _ended(app: ApprovalsApplication) -> str:
    ref = until(app, "entrustment", "end_contract")
    step(app, ref, "end_contract", individual_contract_end_date=FAR)
    return ref


def _requested(app: ApprovalsApplication) -> str:
    return app.file("request", actor=STAFF, title="A request", department="sales",
                    fields={**REQUEST, "received_on": FAR}).reference  # fmt: skip


KEPT: dict[str, Callable[[ApprovalsApplication], str]] = {
    "an inspection dated 9999-12-31 (a deadline runs from it)": _inspected,
    "a contract ended 9999-12-31 (retention counts from it)": _ended,
    "a request received 9999-12-31 (its answer is due from it)": _requested,
}


@pytest.fixture
def store(
    backend_url: str, clock: FakeClock, workflows: Any
) -> Iterator[Callable[[], ApprovalsApplication]]:
    """Open the store at ``backend_url`` (once more at each call); all are closed after."""
    opened: list[ApprovalsApplication] = []

    def open_store() -> ApprovalsApplication:
        app = open_approvals(backend_url, clock=clock, workflows=workflows)
        opened.append(app)
        return app

    yield open_store
    for app in opened:
        app.close()


@pytest.mark.parametrize("kept", sorted(KEPT))
def test_a_date_an_earlier_version_let_in_breaks_no_read_and_is_named(
    store: Callable[[], ApprovalsApplication],
    monkeypatch: pytest.MonkeyPatch,
    clock: FakeClock,
    kept: str,
) -> None:
    app = store()
    appoint_standard_roster(app)
    good = app.file("purpose", actor=STAFF, title="Newsletter", department="sales",
                    fields=FILINGS["purpose"]).reference  # fmt: skip
    with earlier_version(monkeypatch):
        flawed = KEPT[kept](app)
    app.close()

    app = store()  # as the next version opens it
    reads(app)
    assert good in {item.reference for item in app.inbox(MANAGER)}
    assert flawed in app.references()
    listed = {case.reference for case in app.registers().cases()}
    assert {good, flawed} <= listed
    notices = app.registers().flawed()
    assert [n.reference for n in notices] == [flawed]
    assert isinstance(notices[0], FlawedValue)
    assert FAR in str(notices[0])
    assert "between 1900-01-01 and 2200-12-31" in str(notices[0])
    assert "以前の版" in notices[0].render("ja")
    view = app.case(flawed)
    assert len(view.flawed) == 1
    assert FAR in view.flawed[0].en
    for deadline in view.deadlines:  # counted from when the step was recorded, not from 9999
        assert deadline.due_at.year < 2100
    if "retention" in kept:
        assert view.retention_until is None  # the clock waits: the case is kept
    clock.advance(days=400)
    assert flawed in {r.reference for r in app.reminders(actor=CHIEF, everyone=True)} or (
        "retention" in kept
    )
    report = verify_log(app)
    assert report.events > 0  # and it ran to the end
    assert not Projector(app, all_models()).check()


def test_a_nul_and_an_overlong_name_an_earlier_version_let_in_break_no_read(
    store: Callable[[], ApprovalsApplication], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a NUL in a title broke the inbox and the registers for everyone."""
    app = store()
    appoint_standard_roster(app)
    long_name = "n" * 300  # longer than the read models' name columns (200)
    with earlier_version(monkeypatch):
        app.appoint(actor=MANAGER, user="nul\x00man", role="staff", department="sales")
        app.appoint(actor=MANAGER, user=long_name, role="staff", department="sales")
        bad = app.file("purpose", actor=STAFF, title="Bad\x00title", department="sales",
                       fields=FILINGS["purpose"]).reference  # fmt: skip
        long = app.file("purpose", actor=long_name, title="Long filer", department="sales",
                        fields=FILINGS["purpose"]).reference  # fmt: skip
    good = app.file("purpose", actor=STAFF, title="Newsletter", department="sales",
                    fields=FILINGS["purpose"]).reference  # fmt: skip
    app.close()

    app = store()
    reads(app)
    waiting = {item.reference: item for item in app.inbox(MANAGER)}
    assert {bad, long, good} <= set(waiting)
    assert waiting[bad].title == "Bad\ufffdtitle"  # the row shows what no backend can store
    assert app.case(bad).title == "Bad\x00title"  # the log keeps it as it was
    named = {n.reference for n in app.registers().flawed()}
    assert {bad, long} <= named
    assert good not in named
    assert not Projector(app, all_models()).check()


class _Failing(ReadModel):
    """A read model with a defect no check foresaw: one case's rows cannot be computed."""

    def __init__(self, model: ReadModel, reference: str) -> None:
        self._model, self._reference = model, reference
        self.name = model.name  # type: ignore[misc]
        self.version = model.version  # type: ignore[misc]
        self.metadata = model.metadata  # type: ignore[misc]
        self.case_tables = model.case_tables  # type: ignore[misc]
        self.roster_tables = model.roster_tables  # type: ignore[misc]

    def for_case(self, subject: Any) -> Any:
        if subject.reference == self._reference and subject.case is not None:
            raise OverflowError("date value out of range")
        return self._model.for_case(subject)

    def for_roster(self, aggregate: Any) -> Any:
        return self._model.for_roster(aggregate)


def test_one_case_no_model_can_compute_is_left_out_and_named_and_the_others_go_on(
    store: Callable[[], ApprovalsApplication],
) -> None:
    app = store()
    appoint_standard_roster(app)
    refs = [
        app.file("purpose", actor=STAFF, title=f"Case {n}", department="sales",
                 fields=FILINGS["purpose"]).reference
        for n in range(3)
    ]  # fmt: skip
    models = [
        _Failing(model, refs[1]) if model.name == "inbox" else model for model in all_models()
    ]
    projector = Projector(app, models)
    projector.rebuild()
    inbox = {row[0] for row in rows_of(app.engine, models[1])["rm_inbox"]}
    assert inbox == {refs[0], refs[2]}
    unreadable = rows_of(app.engine, models[-1])["rm_unreadable"]
    assert unreadable == {(refs[1], "case.uncomputable")}


def test_lists_in_the_cli_name_the_flawed_case_on_stderr_and_exit_0(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, clock: FakeClock, workflows: Any
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    app = open_approvals(url, clock=clock, workflows=workflows)
    appoint_standard_roster(app)
    with earlier_version(monkeypatch):
        flawed = _requested(app)
        steering = app.file("purpose", actor=STAFF, title="Evil\x1b[2J\x07title",
                            department="sales", fields=FILINGS["purpose"]).reference  # fmt: skip
    app.close()

    def run(*args: str, lang: str = "en") -> Result:
        return CliRunner().invoke(
            cli, ["--db", url, "--user", CHIEF, "--lang", lang, *args], prog_name="approvals",
            env={"APPROVALS_DB": None, "APPROVALS_USER": None, "APPROVALS_LANG": None,
                 "APPROVALS_CALENDAR": None},
        )  # fmt: skip

    for command in (["inbox"], ["list"], ["register", "overdue"], ["remind", "--all"]):
        result = run(*command)
        assert result.exit_code == 0, (command, result.output)
        assert "Traceback" not in result.output
        assert f"{flawed} holds a value kept by an earlier version" in result.stderr, command
    for command in (["list"], ["inbox"], ["show", steering], ["history", steering]):
        result = run(*command)
        assert result.exit_code == 0, (command, result.output)
        assert "\x1b" not in result.output, command  # a terminal is never steered by a value
        assert "\x07" not in result.output, command
    assert "Evil\\x1b[2J\\x07title" in run("list").stdout
    shown = run("show", flawed)
    assert shown.exit_code == 0
    assert FAR in shown.stdout
    assert "以前の版" in run("inbox", lang="ja").stderr
    verified = CliRunner().invoke(
        cli, ["--db", url, "--user", AUDITOR, "audit", "verify"], prog_name="approvals"
    )
    assert "Traceback" not in verified.output, verified.output


def test_no_value_the_door_lets_in_is_called_flawed(workflows: dict[str, object]) -> None:
    """Every reference workflow walked to its end with the sample company's data: nothing in
    it is named as refused today (the check reads stored values, not what is typed).  Each is
    walked on a store of its own from 1 April 2026: the sample dates tell one story per
    workflow, and a walk ends on the day its facts say (an end of 31 March 2027)."""
    for workflow, moves in PATHS.items():
        clock = FakeClock(datetime(2026, 4, 1, 9, 0, tzinfo=JST))
        app = open_approvals("sqlite://", clock=clock, workflows=workflows)  # type: ignore[arg-type]
        try:
            appoint_standard_roster(app)
            ref = app.file(workflow, actor=STAFF, title=f"A {workflow}", department="sales",
                           fields=FILINGS[workflow]).reference  # fmt: skip
            for move in moves:
                take(app, ref, move)
            case = app.case_aggregate(ref)
            assert flaws(case, app.definition_of(case)) == (), workflow
            assert not app.registers().flawed()
        finally:
            app.close()
