"""Shared fixtures: a controllable clock, a standard roster, and every real backend."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy

from approvals import JST, ApprovalsApplication, open_approvals
from approvals.definitions import load_directory

POSTGRES_URL = os.environ.get(
    "APPROVALS_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

# The people of the standard roster, by what they do.
REPRESENTATIVE = "daihyo"
CHIEF = "sato"
AUDITOR = "kansa"
MANAGER = "suzuki"  # sales
OTHER_MANAGER = "takahashi"  # hr
STAFF = "tanaka"  # sales
OTHER_STAFF = "ito"  # sales
HR_STAFF = "watanabe"  # hr
HANDLER = "yamamoto"  # sales


class FakeClock:
    """A clock tests move by hand; every reading moves it on by ``tick``."""

    def __init__(self, start: datetime, tick: timedelta = timedelta(seconds=1)) -> None:
        self.now = start
        self.tick = tick

    def __call__(self) -> datetime:
        moment = self.now
        self.now += self.tick
        return moment

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def workflows() -> dict[str, object]:
    return dict(load_directory())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 4, 1, 9, 0, tzinfo=JST))


def appoint_standard_roster(app: ApprovalsApplication) -> None:
    """Appoint the standard roster, each by who may appoint them."""
    app.establish_roster(REPRESENTATIVE)
    app.appoint(actor=REPRESENTATIVE, user=CHIEF, role="chief")
    app.appoint(actor=REPRESENTATIVE, user=AUDITOR, role="auditor")
    app.appoint(actor=CHIEF, user=MANAGER, role="manager", department="sales")
    app.appoint(actor=CHIEF, user=OTHER_MANAGER, role="manager", department="hr")
    app.appoint(actor=MANAGER, user=STAFF, role="staff", department="sales")
    app.appoint(actor=MANAGER, user=OTHER_STAFF, role="staff", department="sales")
    app.appoint(actor=OTHER_MANAGER, user=HR_STAFF, role="staff", department="hr")
    app.appoint(actor=MANAGER, user=HANDLER, role="handler", department="sales")


@pytest.fixture
def app(clock: FakeClock, workflows: dict[str, object]) -> Iterator[ApprovalsApplication]:
    """approvals on an in-memory SQLite database with the standard roster."""
    application = open_approvals("sqlite://", clock=clock, workflows=workflows)  # type: ignore[arg-type]
    appoint_standard_roster(application)
    yield application
    application.close()


def postgres_available() -> bool:
    engine = sqlalchemy.create_engine(POSTGRES_URL)
    try:
        with engine.connect():
            return True
    except sqlalchemy.exc.OperationalError:
        return False
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL URL; skipped locally when no server answers, a failure under CI."""
    if not postgres_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL does not answer at {POSTGRES_URL}, and CI must run its tests")
        pytest.skip(f"PostgreSQL does not answer at {POSTGRES_URL}; its tests are skipped here")
    return POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped after the test."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(postgres_server)
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in postgres_server else "?"
    yield f"{postgres_server}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a real database: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'approvals.db'}"
    return str(request.getfixturevalue("postgres_url"))
