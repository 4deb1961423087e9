"""Deadline clocks: minutes, the regulation's terms, clocks started and stopped at recorded
moments, and deadlines that apply only to some cases — computed as a person reading the rule
would compute them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from approvals import JST, DefinitionError
from approvals.calendar import JapaneseCalendar, load_calendar
from approvals.domain.case import Entry
from approvals.domain.clocks import add, due_dates, episodes, meaning, moment_of, weekends
from approvals.domain.workflow import MEANINGS, Deadline, Duration
from approvals.errors import Label

NATIONAL = JapaneseCalendar()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JST)


def entry(when: str, trigger: str, dest: str, **fields: Any) -> Entry:
    return Entry(0, at(when), "someone", "staff", trigger, "", dest, "", fields, (), ())


def deadline(within: Duration, states: tuple[str, ...] = ("open",), **rest: Any) -> Deadline:
    return Deadline(name="d", label=Label("d", "d"), states=states, within=within, **rest)


def test_minutes_are_counted_on_the_clock_across_midnight_and_holidays() -> None:
    # The vendor's sixty minutes run through the night into a national holiday.
    assert add(at("2026-05-02T23:30"), Duration(60, "minutes"), NATIONAL) == at("2026-05-03T00:30")


def test_the_terms_mean_the_default_spans_unless_the_calendar_says_otherwise(
    tmp_path: Path,
) -> None:
    immediately = Duration(0, "immediately")
    assert meaning(immediately, weekends) == MEANINGS["immediately"] == Duration(1, "business_days")
    # Friday before Golden Week: "immediately" is the next business day, 7 May.
    assert add(at("2026-05-01T10:00"), immediately, NATIONAL) == at("2026-05-07T10:00")
    path = tmp_path / "calendar.toml"
    path.write_text("[terms]\nimmediately = { hours = 24 }\nwithout_delay = { days = 14 }\n")
    company = load_calendar(path)
    assert add(at("2026-05-01T10:00"), immediately, company) == at("2026-05-02T10:00")
    assert meaning(Duration(0, "without_delay"), company) == Duration(14, "days")
    assert meaning(Duration(0, "promptly"), company) == MEANINGS["promptly"]
    assert company.fingerprint() != NATIONAL.fingerprint()
    assert load_calendar(path).fingerprint() == company.fingerprint()


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[terms]\nsoon = { days = 1 }\n", "terms.soon"),
        ("[terms]\nimmediately = { weeks = 1 }\n", "terms.immediately"),
        ('[terms]\nimmediately = "one day"\n', "terms.immediately"),
        ("[terms]\nimmediately = { days = -1 }\n", "terms.immediately"),
    ],
)
def test_a_broken_term_in_the_calendar_file_is_refused_with_its_key(
    tmp_path: Path, text: str, key: str
) -> None:
    path = tmp_path / "calendar.toml"
    path.write_text(text)
    with pytest.raises(DefinitionError) as refused:
        load_calendar(path)
    assert key in refused.value.render("en")


def test_a_date_field_is_a_moment_at_the_end_of_that_day_and_a_datetime_is_itself() -> None:
    assert moment_of("2026-04-30") == datetime(2026, 4, 30, 23, 59, 59, 999999, JST)
    assert moment_of("2026-04-30T09:15:00+09:00") == at("2026-04-30T09:15")


def test_a_clock_counted_from_a_recorded_moment_starts_there_not_at_the_step() -> None:
    # Filed two days after the incident became known: the clock started when it was known.
    rule = deadline(Duration(5, "days"), from_fields=("known_at",))
    history = [entry("2026-04-29T12:00", "file", "open", known_at="2026-04-27T08:00:00+09:00")]
    (due,) = due_dates(history, [rule], NATIONAL)
    assert due.started_at == at("2026-04-27T08:00")
    assert due.due_at == at("2026-05-02T08:00")


def test_a_clock_stops_at_the_moment_recorded_in_its_until_field() -> None:
    rule = deadline(Duration(60, "minutes"), from_fields=("noticed_at",), until_field="told_at")
    on_time = [entry("2026-06-01T12:00", "file", "open", noticed_at="2026-06-01T10:00:00+09:00",
                     told_at="2026-06-01T10:45:00+09:00")]  # fmt: skip
    (run,) = episodes(on_time, [rule], NATIONAL)
    assert run.stopped_at == at("2026-06-01T10:45")
    assert not run.missed(at("2026-06-01T12:00"))
    late = [
        entry("2026-06-01T12:00", "file", "open", noticed_at="2026-06-01T10:00:00+09:00"),
        entry("2026-06-01T12:05", "record", "open", told_at="2026-06-01T11:30:00+09:00"),
    ]
    (run,) = episodes(late, [rule], NATIONAL)
    assert run.due_at == at("2026-06-01T11:00")
    assert run.stopped_at == at("2026-06-01T11:30")
    assert run.missed(run.stopped_at)
    assert due_dates(late, [rule], NATIONAL) == ()  # stopped: not running any more
    waiting = late[:1]
    assert [d.due_at for d in due_dates(waiting, [rule], NATIONAL)] == [at("2026-06-01T11:00")]


def test_an_inspection_clock_restarts_from_the_inspection_date_recorded() -> None:
    rule = deadline(Duration(365, "days"), states=("active",), restart_on=("inspect",),
                    from_fields=("inspection_date", "handover_date"))  # fmt: skip
    history = [
        entry("2026-04-03T10:00", "hand_over", "active", handover_date="2026-04-01"),
        # Recorded in June, the inspection itself took place on 28 May.
        entry("2026-06-10T10:00", "inspect", "active", inspection_date="2026-05-28"),
    ]
    first, second = episodes(history, [rule], NATIONAL)
    assert first.started_at == moment_of("2026-04-01")
    assert first.stopped_at == moment_of("2026-05-28")  # the day it took place
    assert not first.missed(at("2027-01-01T00:00"))
    assert second.due_at == moment_of("2027-05-28")
    assert second.stopped_at is None


@pytest.mark.parametrize(
    ("start", "years", "due"),
    [
        ("2026-04-01", 1, "2027-04-01"),  # a year runs to the same date
        ("2028-02-29", 1, "2029-02-28"),  # from 29 February: the last day of February
        ("2027-02-28", 1, "2028-02-28"),  # not 29 February in a leap year
        ("2026-12-31", 7, "2033-12-31"),
    ],
)
def test_years_run_to_the_same_date_as_the_civil_code_counts_them(
    start: str, years: int, due: str
) -> None:
    assert add(moment_of(start), Duration(years, "years"), NATIONAL) == moment_of(due)
    # a national holiday on the due date does not move it: years are not business days
    assert add(moment_of("2026-01-01"), Duration(1, "years"), NATIONAL) == moment_of("2027-01-01")


YEARLY = deadline(Duration(1, "years"), states=("active", "breach"), periodic=True,
                  restart_on=("record_report",),
                  from_fields=("report_date", "contract_date"))  # fmt: skip


def yearly(*reports: tuple[str, str]) -> list[Any]:
    """A contract of 20 April 2026 handed over in May, and the reports given as (recorded at,
    received on)."""
    history = [
        entry("2026-04-20T10:00", "conclude", "contracted", contract_date="2026-04-20"),
        entry("2026-05-07T10:00", "hand_over", "active"),
    ]
    for recorded, received in reports:
        history.append(entry(recorded, "record_report", "active", report_date=received))
    return list(episodes(history, [YEARLY], NATIONAL))


def test_a_yearly_report_falls_due_on_each_anniversary_of_the_contract() -> None:
    (first,) = yearly()
    assert first.started_at == moment_of("2026-04-20")
    assert first.due_at == moment_of("2027-04-20")
    on_time, second = yearly(("2027-04-22T09:00", "2027-04-15"))
    assert not on_time.missed(at("2030-01-01T00:00"))  # received on 15 April, entered later
    assert second.started_at == moment_of("2027-04-15")
    assert second.due_at == moment_of("2028-04-20")


def test_a_late_report_does_not_move_the_next_anniversary() -> None:
    late, second = yearly(("2027-06-30T09:00", "2027-06-30"))
    assert late.missed(at("2030-01-01T00:00"))
    assert second.due_at == moment_of("2028-04-20")  # not 30 June 2028
    # Two years missed: the one report counts for the period it falls in.
    very_late, next_due = yearly(("2029-01-10T09:00", "2029-01-10"))
    assert very_late.missed(at("2030-01-01T00:00"))
    assert next_due.due_at == moment_of("2029-04-20")


def test_an_early_report_counts_for_the_year_it_was_due_in() -> None:
    early, second, third = yearly(
        ("2027-03-01T09:00", "2027-03-01"), ("2028-04-20T18:00", "2028-04-20")
    )
    assert not early.missed(at("2030-01-01T00:00"))
    assert second.due_at == moment_of("2028-04-20")  # not 1 March 2028
    assert not second.missed(at("2030-01-01T00:00"))  # received on the day it was due
    assert third.due_at == moment_of("2029-04-20")
    (running,) = due_dates(
        [
            entry("2026-04-20T10:00", "conclude", "contracted", contract_date="2026-04-20"),
            entry("2026-05-07T10:00", "hand_over", "active"),
            entry("2027-03-01T09:00", "record_report", "breach", report_date="2027-03-01"),
        ],
        [YEARLY],
        NATIONAL,
    )
    assert running.due_at == moment_of("2028-04-20")  # restarted in a breach state, too


@pytest.mark.parametrize(
    ("recorded", "applies"),
    [
        ({}, ["final_report_30"]),  # undecided: the shorter clock runs
        ({"improper_purpose": False}, ["final_report_30"]),
        ({"improper_purpose": True}, ["final_report_60"]),
        ({"report_required": False}, []),
        ({"report_required": False, "improper_purpose": True}, []),
    ],
)
def test_when_and_unless_choose_the_deadline_by_what_the_case_records(
    recorded: dict[str, Any], applies: list[str]
) -> None:
    rules = [
        Deadline("final_report_30", Label("30", "30"), ("open",), Duration(30, "days"),
                 unless={"improper_purpose": True, "report_required": False}),
        Deadline("final_report_60", Label("60", "60"), ("open",), Duration(60, "days"),
                 when={"improper_purpose": True}, unless={"report_required": False}),
    ]  # fmt: skip
    history = [entry("2026-07-01T09:00", "file", "open", **recorded)]
    assert [d.deadline.name for d in due_dates(history, rules, NATIONAL)] == applies


@pytest.mark.parametrize(
    ("known", "days", "due"),
    [
        # Thirty days across a month end, and sixty across New Year: calendar days, not
        # business days, so holidays do not move them.
        ("2026-04-15T16:00", 30, "2026-05-15T16:00"),
        ("2026-12-20T09:00", 30, "2027-01-19T09:00"),
        ("2026-11-30T09:00", 60, "2027-01-29T09:00"),
    ],
)
def test_report_deadlines_in_calendar_days(known: str, days: int, due: str) -> None:
    rule = deadline(Duration(days, "days"), from_fields=("known_at",))
    history = [entry(known, "file", "open", known_at=at(known).isoformat())]
    assert due_dates(history, [rule], NATIONAL)[0].due_at == at(due)


def test_a_date_deadline_of_zero_days_is_due_at_the_end_of_that_day() -> None:
    rule = deadline(Duration(0, "days"), from_fields=("return_by",))
    history = [entry("2026-08-01T09:00", "take_out", "open", return_by="2026-08-07")]
    due = due_dates(history, [rule], NATIONAL)[0].due_at
    assert due.date() == date(2026, 8, 7)
    assert due + timedelta(microseconds=1) == at("2026-08-08T00:00")
