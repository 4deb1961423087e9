"""The company's zone and what a WHEN typed on the command line means in it."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import pytest

from approvals.zones import (
    COMPANY_ZONE,
    UnknownZone,
    company_zone,
    moment_given,
    zone_called,
    zone_named,
)

TOKYO = zone_named("Asia/Tokyo")


def test_the_company_zone_is_tokyo_shown_by_its_name() -> None:
    assert COMPANY_ZONE == "Asia/Tokyo"
    assert zone_called(company_zone()) == "Asia/Tokyo"
    assert company_zone().utcoffset(datetime(2026, 7, 1)) == timedelta(hours=9)
    assert zone_called(timezone(timedelta(hours=9), "JST")) == "JST"


def test_a_day_is_its_start_or_with_end_its_last_moment_in_the_zone() -> None:
    assert moment_given("2026-11-30", TOKYO) == datetime(2026, 11, 30, tzinfo=TOKYO)
    last = moment_given(" 2026-11-30 ", TOKYO, end=True)
    assert last == datetime.combine(datetime(2026, 11, 30), time.max, TOKYO)
    assert last.astimezone(UTC) == datetime(2026, 11, 30, 14, 59, 59, 999999, tzinfo=UTC)
    assert moment_given("20261130", UTC, end=True) == datetime(
        2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC
    )


def test_a_day_ends_at_its_own_offset_where_the_clocks_change() -> None:
    berlin = zone_named("Europe/Berlin")
    # 29 March 2026: summer time begins; the day ends at +02:00, it began at +01:00
    assert moment_given("2026-03-29", berlin).utcoffset() == timedelta(hours=1)
    assert moment_given("2026-03-29", berlin, end=True).utcoffset() == timedelta(hours=2)


def test_a_time_is_taken_in_the_zone_unless_it_gives_an_offset() -> None:
    assert moment_given("2026-11-30T17:00", TOKYO, end=True) == datetime(
        2026, 11, 30, 17, tzinfo=TOKYO
    )
    given = moment_given("2026-11-30T17:00+00:00", TOKYO)
    assert given == datetime(2026, 11, 30, 17, tzinfo=UTC)
    assert given.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01", "2026-11-30T25:00", "30/11/2026"])
def test_text_that_is_no_moment_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match=r"isoformat|must be in"):
        moment_given(text, TOKYO)


@pytest.mark.parametrize(
    "name",
    ["Mars/Olympus", "", "../../etc/passwd", "/usr/share/zoneinfo/UTC", "Asia/Tokyo\x00",
     "東京", "A" * 100_000, "\udcff"],
)  # fmt: skip
def test_a_name_no_zone_has_is_refused_as_unknown(name: str) -> None:
    with pytest.raises(UnknownZone) as refused:
        zone_named(name)
    assert refused.value.name == name
