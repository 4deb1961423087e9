"""`approvals remind`: what is overdue and what is due soon, person by person, for a terminal
and (--json) for a mailer; the calendar file changes what "immediately" means.  ``past_store``
holds a chief's decision due 2020-01-15 10:00 that never came."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from approvals import JST, ApprovalsApplication, open_approvals
from approvals.calendar import load_calendar
from approvals.demo import SimulatedClock, appoint_sample_roster
from tests.cli.conftest import Run
from tests.conftest import AUDITOR, CHIEF, MANAGER, STAFF, FakeClock
from tests.scenarios import FILINGS

LANGS = ["en", "ja"]


def file_purpose(app: ApprovalsApplication, title: str = "Newsletter") -> str:
    return app.file(
        "purpose", actor=STAFF, title=title, department="sales", fields=FILINGS["purpose"]
    ).reference


@pytest.mark.parametrize("lang", LANGS)
def test_the_chief_is_reminded_of_the_overdue_decision_with_the_steps_that_meet_it(
    run: Run, past_store: tuple[str, str], lang: str
) -> None:
    db, ref = past_store
    result = run("remind", user=CHIEF, db=db, lang=lang)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (f"{CHIEF}: 1 overdue, 0 due soon" if lang == "en"
                        else f"{CHIEF}: 期限超過 1 件、期限間近 0 件")  # fmt: skip
    (row,) = lines[3:]
    assert row.startswith(ref)
    assert "2020-01-15 10:00" in row
    assert ("OVERDUE" if lang == "en" else "期限超過") in row
    assert ("approve / reject" if lang == "en" else "承認 / 却下") in row


def test_the_filer_who_could_only_withdraw_is_not_reminded_of_the_chiefs_deadline(
    run: Run, past_store: tuple[str, str]
) -> None:
    db, _ = past_store
    result = run("remind", user=STAFF, db=db)
    assert result.exit_code == 0
    assert result.stdout.strip() == "Nothing is overdue or due within 3 days."


@pytest.mark.parametrize("lang", LANGS)
def test_only_the_chief_the_auditor_and_the_representative_see_everyones_reminders(
    run: Run, past_store: tuple[str, str], lang: str
) -> None:
    db, _ = past_store
    refused = run("remind", "--all", user=STAFF, db=db, lang=lang)
    assert refused.exit_code == 1
    assert "Traceback" not in refused.output
    assert refused.stderr.count("\n") == 1
    assert (f"{STAFF} cannot see everyone's reminders" if lang == "en"
            else f"{STAFF} は全員の期限通知を見ることはできません") in refused.stderr  # fmt: skip
    allowed = run("--json", "remind", "--all", user=AUDITOR, db=db)
    assert allowed.exit_code == 0, allowed.output
    assert [p["person"] for p in json.loads(allowed.stdout)["people"]] == [CHIEF]


def test_the_json_is_one_document_a_mailer_can_send_from(
    run: Run, past_store: tuple[str, str]
) -> None:
    db, ref = past_store
    document = json.loads(run("--json", "remind", "--all", user=CHIEF, db=db).stdout)
    assert set(document) == {"generated_at", "until", "people"}
    (person,) = document["people"]
    assert (person["person"], person["overdue"], person["due_soon"]) == (CHIEF, 1, 0)
    (item,) = person["items"]
    assert (item["reference"], item["deadline"], item["overdue"]) == (ref, "decision", True)
    assert datetime.fromisoformat(item["due_at"]) == datetime(2020, 1, 15, 10, 0, tzinfo=JST)
    assert item["steps"] == ["approve", "reject", "return for revision"]


def test_json_and_lang_may_follow_the_command_as_a_person_would_type_them(
    run: Run, past_store: tuple[str, str]
) -> None:
    db, _ = past_store
    before = json.loads(run("--json", "remind", "--all", user=CHIEF, db=db).stdout)
    after = json.loads(run("remind", "--all", "--json", user=CHIEF, db=db).stdout)
    assert after["people"] == before["people"]
    assert run("remind", "--lang", "ja", user=CHIEF, db=db).stdout.startswith(
        f"{CHIEF}: 期限超過 1 件"
    )
    refused = run("remind", "--all", "--json", "--lang", "ja", user=STAFF, db=db)
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["error"]["code"] == "remind.not_authorized"
    assert f"{STAFF} は全員の期限通知を見ることはできません" in refused.stderr


def test_a_deadline_due_within_the_days_asked_for_is_listed_as_due_soon(
    run: Run, store: Path
) -> None:
    app = open_approvals(f"sqlite:///{store}")
    try:
        ref = file_purpose(app)  # now: the manager consults immediately (one business day)
    finally:
        app.close()
    assert "Nothing is overdue" in run("remind", "--days", "0", user=MANAGER).stdout
    soon = json.loads(run("--json", "remind", "--days", "7", user=MANAGER).stdout)["people"]
    assert [(p["person"], p["overdue"], p["due_soon"]) for p in soon] == [(MANAGER, 0, 1)]
    assert soon[0]["items"][0]["reference"] == ref


def test_remind_reads_the_registers_as_the_clock_moves(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 4, 28, 10, 0, tzinfo=JST)  # Tuesday before Golden Week
    ref = file_purpose(app)
    # 直ちに, one business day: 4/29 is Showa Day, so due Thursday 30 April 10:00.
    (due,) = app.reminders(actor=MANAGER, within=timedelta(days=2))
    assert (due.reference, due.deadline, due.overdue) == (ref, "consultation", False)
    assert due.due_at == datetime(2026, 4, 30, 10, 0, tzinfo=JST)
    assert app.reminders(actor=MANAGER, within=timedelta(days=1)) == ()
    clock.now = datetime(2026, 4, 30, 10, 1, tzinfo=JST)
    (late,) = app.reminders(actor=MANAGER, within=timedelta(0))
    assert late.overdue
    app.act(ref, "consult", actor=MANAGER)
    assert app.reminders(actor=MANAGER, within=timedelta(days=30)) == ()
    (decision,) = app.reminders(actor=CHIEF, within=timedelta(days=30))
    # Five business days from Thursday 30 April: 1, 7, 8, 11, 12 May (3-6 May are holidays).
    assert f"{decision.due_at.astimezone(JST):%Y-%m-%d %H:%M}" == "2026-05-12 10:01"


def test_the_calendar_file_moves_business_day_deadlines_and_the_read_models_follow(
    run: Run, tmp_path: Path
) -> None:
    path = tmp_path / "calendar.db"
    clock = SimulatedClock(datetime(2025, 12, 26, 9, 0, tzinfo=JST))  # a Friday
    app = open_approvals(f"sqlite:///{path}", clock=clock)
    try:
        appoint_sample_roster(app)
        ref = file_purpose(app)
    finally:
        app.close()
    calendar = tmp_path / "calendar.toml"
    calendar.write_text('[company]\nclosed_every_year = ["12-29", "12-30", "12-31", "01-02"]\n')
    assert load_calendar(calendar).why(datetime(2025, 12, 29).date()) is not None

    def due(*options: str) -> str:
        result = run(*options, "--json", "register", "overdue", db=str(path), user=AUDITOR)
        assert result.exit_code == 0, result.output
        (entry,) = [e for e in json.loads(result.stdout) if e["reference"] == ref]
        return f"{datetime.fromisoformat(entry['due_at']).astimezone(JST):%Y-%m-%d %H:%M}"

    # 直ちに, one business day.  National holidays only: Monday 29 December.  The company
    # also closes 29 December - 2 January (1 January is a national holiday, 3 and 4 are a
    # weekend): Monday 5 January.
    assert due() == "2025-12-29 09:00"
    company = due("--calendar", str(calendar))
    assert company == "2026-01-05 09:00"
    env_company = run("--json", "register", "overdue", db=str(path), user=AUDITOR,
                      env={"APPROVALS_CALENDAR": str(calendar)})  # fmt: skip
    assert "2026-01-05T09:00" in env_company.stdout  # in the company's zone, Asia/Tokyo
    assert due() == "2025-12-29 09:00"  # and back: the read models follow the calendar


def test_a_broken_calendar_file_is_refused_in_one_sentence_and_nothing_is_written(
    run: Run, tmp_path: Path, store: Path
) -> None:
    calendar = tmp_path / "calendar.toml"
    calendar.write_text('[terms]\nimmediately = "soon"\n')
    before = store.stat().st_size, store.stat().st_mtime_ns
    result = run("--calendar", str(calendar), "remind", user=CHIEF)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"Calendar file {calendar} is refused at terms.immediately" in result.stderr
    assert (store.stat().st_size, store.stat().st_mtime_ns) == before
