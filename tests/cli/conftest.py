"""Fixtures for the command line tests: a SQLite store with the sample roster, and a runner."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Protocol

import pytest
import structlog
from click.testing import CliRunner, Result

from approvals import JST, open_approvals
from approvals.cli import cli
from approvals.demo import MANAGER, STAFF, SimulatedClock, appoint_sample_roster
from approvals.logging import configure
from tests.scenarios import FILINGS

# Settings a developer's shell may hold; the tests say everything on the command line instead.
HERMETIC_ENV: dict[str, str | None] = {
    "APPROVALS_DB": None,
    "APPROVALS_USER": None,
    "APPROVALS_LANG": None,
    "APPROVALS_CALENDAR": None,
    "APPROVALS_KEYS": None,
    "COLUMNS": None,  # tables fit COLUMNS when set; the tests that read tables want them whole
    "APPROVALS_WORKFLOWS": None,
    "APPROVALS_ZONE": None,
}


class Run(Protocol):
    """``run(*args, user=..., lang=...)``: `approvals --db STORE [--user USER] ARGS...`."""

    def __call__(
        self,
        *args: str,
        user: str | None = None,
        lang: str | None = None,
        input: str | None = None,
        db: str | None = None,
        env: dict[str, str | None] | None = None,
    ) -> Result: ...


@pytest.fixture(autouse=True)
def quiet_library_logs() -> Iterator[None]:
    """Keep the library's info lines quiet in fixtures, and undo the CLI's logging set-up.

    Each command configures structlog to print on the stderr of its run; a later library call
    must not write to that stream once the run is over.
    """
    configure(verbose=False)
    yield
    structlog.reset_defaults()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A SQLite file holding the sample roster (daihyo, sato, kansa, suzuki, tanaka, ...)."""
    path = tmp_path / "approvals.db"
    app = open_approvals(f"sqlite:///{path}")
    try:
        appoint_sample_roster(app)
    finally:
        app.close()
    return path


@pytest.fixture
def run(store: Path) -> Run:
    """Invoke `approvals` in-process on ``store``; the language goes in APPROVALS_LANG."""

    def invoke(
        *args: str,
        user: str | None = None,
        lang: str | None = None,
        input: str | None = None,
        db: str | None = None,
        env: dict[str, str | None] | None = None,
    ) -> Result:
        argv = ["--db", db or str(store), *(["--user", user] if user else []), *args]
        environment = {
            **HERMETIC_ENV,
            "XDG_CONFIG_HOME": str(store.parent / "config"),  # signing keys, the test's own
            "APPROVALS_LANG": lang,
            **(env or {}),
        }
        return CliRunner().invoke(cli, argv, input=input, env=environment, prog_name="approvals")

    return invoke


@pytest.fixture
def past_store(tmp_path: Path) -> tuple[str, str]:
    """A store written in January 2020: filed Monday 6 at 10:00 JST, consulted the next day."""
    path = tmp_path / "past.db"
    clock = SimulatedClock(datetime(2020, 1, 6, 10, 0, tzinfo=JST))
    app = open_approvals(f"sqlite:///{path}", clock=clock)
    try:
        appoint_sample_roster(app)
        ref = app.file(
            "purpose", actor=STAFF, title="Old", department="sales", fields=FILINGS["purpose"]
        ).reference
        clock.next_morning()
        app.act(ref, "consult", actor=MANAGER)
    finally:
        app.close()
    return str(path), ref
