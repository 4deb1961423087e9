"""Shared fixtures: a controllable clock, a standard roster, and every real backend."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy
import structlog

from approvals import JST, ApprovalsApplication, open_approvals
from approvals.definitions import load_directory
from approvals.demo import (  # the people of the sample roster
    AUDITOR,
    CHIEF,
    HANDLER,
    HR_STAFF,
    MANAGER,
    OTHER_MANAGER,
    OTHER_STAFF,
    REPRESENTATIVE,
    STAFF,
)
from approvals.demo import SimulatedClock as FakeClock
from approvals.demo import appoint_sample_roster as appoint_standard_roster

POSTGRES_URL = os.environ.get(
    "APPROVALS_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

__all__ = [
    "AUDITOR",
    "CHIEF",
    "HANDLER",
    "HR_STAFF",
    "MANAGER",
    "OTHER_MANAGER",
    "OTHER_STAFF",
    "REPRESENTATIVE",
    "STAFF",
    "FakeClock",
    "appoint_standard_roster",
]


@pytest.fixture(autouse=True)
def fresh_logging() -> Iterator[None]:
    """Undo any structlog set-up a command line run in this process made."""
    yield
    structlog.reset_defaults()


@pytest.fixture(autouse=True)
def whole_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Print tables whole, as piped output is: pytest-xdist's workers set COLUMNS=80 (and
    LINES), which the command line's tables would fit. A test wanting a width sets it."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)


@pytest.fixture(scope="session")
def workflows() -> dict[str, object]:
    return dict(load_directory())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 4, 1, 9, 0, tzinfo=JST))


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


def _new_schema(server: str) -> str:
    """Create a schema on ``server``; return a URL whose search_path is that schema."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(server)
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    separator = "&" if "?" in server else "?"
    return f"{server}{separator}options=-csearch_path%3D{schema}"


def _drop_schemas(server: str, urls: list[str]) -> None:
    """Drop the schemas of URLs made by :func:`_new_schema`."""
    admin = sqlalchemy.create_engine(server)
    with admin.begin() as connection:
        for url in urls:
            schema = url.rsplit("%3D", 1)[1]
            connection.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped after the test."""
    url = _new_schema(postgres_server)
    yield url
    _drop_schemas(postgres_server, [url])


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a real database: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'approvals.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def fresh_store(
    backend_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], str]]:
    """Make a new store at each call (a round, an example), on the backend of ``backend_url``:
    a new SQLite file, or a new PostgreSQL schema; the schemas are dropped after the test."""
    server = (
        None if backend_url.startswith("sqlite") else request.getfixturevalue("postgres_server")
    )
    made: list[str] = []

    def make() -> str:
        if server is None:
            url = f"sqlite:///{tmp_path / f'round-{len(made)}.db'}"
        else:
            url = _new_schema(server)
        made.append(url)
        return url

    yield make
    if server is not None:
        _drop_schemas(server, made)


def drop_triggers(url: str, tables: Sequence[str]) -> None:
    """Take the database's guards off, as an insider with the owner's rights would: every
    trigger on SQLite, the user triggers of ``tables`` on PostgreSQL."""
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            names = connection.execute(
                sqlalchemy.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            ).scalars()
            for name in list(names):
                connection.execute(sqlalchemy.text(f"DROP TRIGGER {name}"))
        else:
            for table in tables:
                connection.execute(sqlalchemy.text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
    engine.dispose()
