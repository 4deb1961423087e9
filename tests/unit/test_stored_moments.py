"""A moment a read model stores on SQLite comes back as the same aware moment, in UTC, however
it was written: as this release writes it, or as SQLAlchemy's own DATETIME wrote it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from approvals.readmodel import UTCDateTime

DIALECT = sqlite.dialect()
COLUMN = UTCDateTime()


@given(
    moment=st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    ),
    hours=st.integers(-12, 14),
)
def test_a_moment_written_is_read_back_as_the_same_moment_in_utc(
    moment: datetime, hours: int
) -> None:
    written = moment.astimezone(timezone(timedelta(hours=hours)))
    stored = COLUMN.process_bind_param(written, DIALECT)
    read = COLUMN.process_result_value(stored, DIALECT)
    assert read == moment
    assert read is not None
    assert read.tzinfo is UTC


@pytest.mark.parametrize(
    ("stored", "moment"),
    [
        ("2026-04-01 00:00:00.000000", datetime(2026, 4, 1, tzinfo=UTC)),
        ("2026-04-01 09:30:00", datetime(2026, 4, 1, 9, 30, tzinfo=UTC)),
        ("2026-04-01 09:30:00.123", datetime(2026, 4, 1, 9, 30, 0, 123000, tzinfo=UTC)),
        ("2026-04-01", datetime(2026, 4, 1, tzinfo=UTC)),  # a day alone: its midnight
        ("2026-04-01T09:00:00+09:00", datetime(2026, 4, 1, 9, tzinfo=UTC)),  # read as UTC
    ],
)
def test_each_form_a_store_holds_is_read_as_before(stored: str, moment: datetime) -> None:
    read = COLUMN.process_result_value(stored, DIALECT)
    assert read == moment
    assert read is not None
    assert read.tzinfo is UTC
    assert COLUMN.process_result_value(None, DIALECT) is None
