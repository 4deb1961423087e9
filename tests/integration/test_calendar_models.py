"""Read models holding due dates follow the calendar: opened on another calendar they are
rebuilt, and a tracking table from before the calendar mattered gains its column."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from approvals import JST, open_approvals
from approvals.calendar import JapaneseCalendar
from approvals.readmodel import TRACKING_TABLE
from tests.conftest import MANAGER, STAFF, FakeClock, appoint_standard_roster
from tests.scenarios import FILINGS

COMPANY = JapaneseCalendar.with_company_days(closed=[date(2026, 8, 13), date(2026, 8, 14)])


def consultation_due(url: str, clock: FakeClock, calendar: JapaneseCalendar) -> datetime:
    app = open_approvals(url, clock=clock, holiday=calendar)
    try:
        (entry,) = app.registers().overdue(running=True)
        return entry.due_at.astimezone(JST)
    finally:
        app.close()


def test_the_deadlines_follow_the_calendar_the_store_is_opened_with(backend_url: str) -> None:
    clock = FakeClock(datetime(2026, 8, 12, 10, 0, tzinfo=JST))  # Wednesday before Obon
    app = open_approvals(backend_url, clock=clock)
    try:
        appoint_standard_roster(app)
        app.file("purpose", actor=STAFF, title="Obon", department="sales",
                 fields=FILINGS["purpose"])  # fmt: skip
    finally:
        app.close()
    clock.now = datetime(2026, 9, 1, 10, 0, tzinfo=JST)
    # 直ちに, one business day: 13 August nationally; the company is closed on 13 and 14
    # August, so Monday 17 August.
    national = consultation_due(backend_url, clock, JapaneseCalendar())
    assert (national.date(), national.hour) == (date(2026, 8, 13), 10)
    company = consultation_due(backend_url, clock, COMPANY)
    assert (company.date(), company.hour) == (date(2026, 8, 17), 10)
    engine = sa.create_engine(backend_url)
    try:
        with engine.connect() as connection:
            stored = dict(connection.execute(
                sa.text(f"SELECT name, calendar FROM {TRACKING_TABLE}")).all())  # fmt: skip
    finally:
        engine.dispose()
    assert stored["deadlines"] == COMPANY.fingerprint()
    assert stored["cases"] is None  # the case register holds no due dates


def test_a_tracking_table_from_before_the_calendar_gains_its_column(backend_url: str) -> None:
    clock = FakeClock(datetime(2026, 8, 12, 10, 0, tzinfo=JST))
    engine = sa.create_engine(backend_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(
                f"CREATE TABLE {TRACKING_TABLE} (name VARCHAR(64) PRIMARY KEY, version INTEGER "
                "NOT NULL, position BIGINT NOT NULL, updated_at TIMESTAMP NULL)"))  # fmt: skip
            connection.execute(sa.text(
                f"INSERT INTO {TRACKING_TABLE} VALUES ('deadlines', 2, 0, NULL)"))  # fmt: skip
    finally:
        engine.dispose()
    app = open_approvals(backend_url, clock=clock)
    try:
        appoint_standard_roster(app)
        ref = app.file("purpose", actor=STAFF, title="Old store", department="sales",
                       fields=FILINGS["purpose"]).reference  # fmt: skip
        app.act(ref, "consult", actor=MANAGER)
        assert [entry.reference for entry in app.registers().cases()] == [ref]
        assert app.registers().overdue() == ()
    finally:
        app.close()
