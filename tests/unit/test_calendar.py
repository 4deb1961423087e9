"""The Japanese calendar: business days counted as a person reading the rule would count them."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from approvals import JST, DefinitionError
from approvals.calendar import JapaneseCalendar, load_calendar
from approvals.domain.clocks import add
from approvals.domain.workflow import Duration

NATIONAL = JapaneseCalendar()
COMPANY = JapaneseCalendar.with_company_days(
    closed=[date(2026, 8, 13), date(2026, 8, 14)],
    closed_every_year=[(12, 29), (12, 30), (12, 31), (1, 2), (1, 3)],
)


def business_days(start: datetime, amount: int, calendar: JapaneseCalendar) -> datetime:
    return add(start, Duration(amount, "business_days"), calendar)


@pytest.mark.parametrize(
    ("start", "amount", "calendar", "due"),
    [
        # Golden Week 2026: 4/29 Showa Day, 5/3 Sunday, 5/4-5/5, 5/6 substitute holiday.
        (datetime(2026, 4, 28, 10, 0), 1, NATIONAL, datetime(2026, 4, 30, 10, 0)),
        (datetime(2026, 4, 30, 10, 0), 1, NATIONAL, datetime(2026, 5, 1, 10, 0)),
        (datetime(2026, 5, 1, 10, 0), 1, NATIONAL, datetime(2026, 5, 7, 10, 0)),
        (datetime(2026, 4, 28, 10, 0), 5, NATIONAL, datetime(2026, 5, 11, 10, 0)),
        # New Year: 1/1 national; the company closes 12/29-1/3 as well.
        (datetime(2026, 12, 28, 17, 0), 1, NATIONAL, datetime(2026, 12, 29, 17, 0)),
        (datetime(2026, 12, 28, 17, 0), 1, COMPANY, datetime(2027, 1, 4, 17, 0)),
        (datetime(2026, 12, 25, 9, 0), 3, COMPANY, datetime(2027, 1, 5, 9, 0)),
        # Month end: Friday 2026-07-31, then the weekend; Marine Day is 7/20.
        (datetime(2026, 7, 31, 12, 0), 1, NATIONAL, datetime(2026, 8, 3, 12, 0)),
        (datetime(2026, 7, 17, 12, 0), 1, NATIONAL, datetime(2026, 7, 21, 12, 0)),
        # The company's summer days, then 8/11 Mountain Day the week before.
        (datetime(2026, 8, 12, 9, 0), 1, COMPANY, datetime(2026, 8, 17, 9, 0)),
        (datetime(2026, 8, 10, 9, 0), 1, COMPANY, datetime(2026, 8, 12, 9, 0)),
        # The citizens' holiday of 2026-09-22, between Respect for the Aged Day and the equinox.
        (datetime(2026, 9, 18, 9, 0), 1, NATIONAL, datetime(2026, 9, 24, 9, 0)),
    ],
)
def test_business_days_skip_weekends_national_and_company_holidays(
    start: datetime, amount: int, calendar: JapaneseCalendar, due: datetime
) -> None:
    assert business_days(start.replace(tzinfo=JST), amount, calendar) == due.replace(tzinfo=JST)


def test_each_day_off_says_why_in_both_languages() -> None:
    days = dict(NATIONAL.holidays_between(date(2026, 5, 1), date(2026, 5, 7)))
    assert sorted(days) == [date(2026, 5, d) for d in (2, 3, 4, 5, 6)]
    assert (days[date(2026, 5, 6)].en, days[date(2026, 5, 6)].ja) == (
        "Substitute Holiday",
        "振替休日",
    )
    assert days[date(2026, 5, 2)].ja == "土曜日"
    assert COMPANY.why(date(2027, 1, 2)) is not None
    assert COMPANY.why(date(2027, 1, 4)) is None
    assert NATIONAL.why(date(2026, 9, 22)).ja == "国民の休日"  # type: ignore[union-attr]


def test_a_calendar_file_gives_the_company_days(tmp_path: Path) -> None:
    path = tmp_path / "calendar.toml"
    path.write_text(
        '[company]\nclosed = ["2026-08-13", 2026-08-14]\n'
        'closed_every_year = ["12-29", "12-30", "12-31", "01-02", "01-03"]\n',
        encoding="utf-8",
    )
    assert load_calendar(path) == COMPANY


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("[company]\nclosed = [\"2026-13-01\"]\n", "company.closed", "is not a day like"),
        ("[company]\nclosed_every_year = [\"02-30\"]\n", "company.closed_every_year",
         "is not a month and day"),
        ("[company]\nclosed = \"2026-08-13\"\n", "company.closed", "it must be a list"),
        ("[company]\nholidays = []\n", "company.holidays", "this key is not known"),
        ("[company\n", "(file)", "it is not TOML"),
    ],
)  # fmt: skip
def test_a_broken_calendar_file_is_refused_naming_the_key(
    tmp_path: Path, text: str, key: str, problem: str
) -> None:
    path = tmp_path / "calendar.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as refused:
        load_calendar(path)
    message = str(refused.value)
    assert message.startswith(f"Calendar file {path} is refused at {key}: ")
    assert problem in message
    assert "\n" not in message
    assert "カレンダー" in refused.value.render("ja")
