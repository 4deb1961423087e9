"""Benchmark eventsourcing's own recorders against eventsourcing-sqlalchemy's.

For each backend below, one fresh application writes and reads the same
workload, and three figures are measured:

* append/s: events per second when each transaction saves one new event
  (N/10 aggregates are created, then events are triggered on them round-robin
  until N events have been saved, one ``Application.save()`` per event);
* decisions/s: ``repository.get()`` + one triggered event + ``save()`` per
  second, with the aggregate cache disabled (N/3 decisions);
* read events/s: the whole log read through the recorder's
  ``select_notifications()`` in pages of 1000 and decoded into domain events
  with the application's mapper (best of three full scans).

Backends:

1. ``eventsourcing.sqlite`` on a SQLite file (``SQLITE_DBNAME``);
2. ``eventsourcing_sqlalchemy`` on a SQLite file (``SQLALCHEMY_URL=sqlite:///...``);
3. ``eventsourcing.postgres`` on PostgreSQL, in a fresh schema;
4. ``eventsourcing_sqlalchemy`` on PostgreSQL (psycopg 3), in the same schema.

SQLite files live in a temporary directory. Both SQLite recorders switch the
file to WAL themselves; neither sets ``PRAGMA synchronous``, so the value
reported in the output is SQLite's default for a fresh connection. The
PostgreSQL schema is created for the run and dropped (CASCADE) at the end; if
PostgreSQL cannot be reached, the two PostgreSQL rows are skipped.

Run from the repository root::

    python bench/recorders.py [--events N] [--postgres URL]

``--events`` defaults to 3000; ``--postgres`` defaults to
``postgresql://postgres@127.0.0.1:5432/test``.
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing_sqlalchemy.recorders import SQLAlchemyApplicationRecorder
from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url

DEFAULT_EVENTS = 3000
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
PAGE_SIZE = 1000
READ_REPEATS = 3
JOURNAL_MODE = "PRAGMA journal_mode"
SYNCHRONOUS = "PRAGMA synchronous"
SQLITE_SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
PACKAGES = (
    "eventsourcing",
    "eventsourcing-sqlalchemy",
    "SQLAlchemy",
    "psycopg",
    "psycopg-pool",
)


class Counter(Aggregate):
    """A tiny aggregate: one attribute, one event."""

    def __init__(self) -> None:
        self.count = 0

    @event("Incremented")
    def increment(self) -> None:
        self.count += 1


class BenchApp(Application[UUID]):
    """Base application; subclasses only differ by name, hence by table names."""

    name = "BenchBase"
    # Start from an empty class-level env; everything comes from Application(env=...).
    env: ClassVar[dict[str, str]] = {}


class SqliteEsApp(BenchApp):
    name = "BenchSqliteES"


class SqliteSaApp(BenchApp):
    name = "BenchSqliteSA"


class PostgresEsApp(BenchApp):
    name = "BenchPostgresES"


class PostgresSaApp(BenchApp):
    name = "BenchPostgresSA"


@dataclass(frozen=True)
class Backend:
    label: str
    database: str  # "SQLite" or "PostgreSQL"
    is_sqlalchemy: bool
    app_class: type[BenchApp]
    env: dict[str, str]


@dataclass(frozen=True)
class Result:
    backend: Backend
    append_rate: float
    decision_rate: float
    read_rate: float
    events_in_log: int
    storage_note: str


def common_env(persistence_module: str) -> dict[str, str]:
    """Settings shared by every backend: no aggregate cache, no snapshots."""
    return {
        "PERSISTENCE_MODULE": persistence_module,
        # An empty value means no cache: Repository.cache is None.
        "AGGREGATE_CACHE_MAXSIZE": "",
        "IS_SNAPSHOTTING_ENABLED": "n",
    }


def sqlite_backends(directory: Path) -> list[Backend]:
    es_file = directory / "eventsourcing.sqlite3"
    sa_url = f"sqlite:///{directory / 'eventsourcing_sqlalchemy.sqlite3'}"
    return [
        Backend(
            label="eventsourcing.sqlite",
            database="SQLite",
            is_sqlalchemy=False,
            app_class=SqliteEsApp,
            env=common_env("eventsourcing.sqlite") | {"SQLITE_DBNAME": str(es_file)},
        ),
        Backend(
            label="eventsourcing_sqlalchemy",
            database="SQLite",
            is_sqlalchemy=True,
            app_class=SqliteSaApp,
            env=common_env("eventsourcing_sqlalchemy") | {"SQLALCHEMY_URL": sa_url},
        ),
    ]


def postgres_backends(url: URL, schema: str) -> list[Backend]:
    sa_url = url.set(drivername="postgresql+psycopg")
    return [
        Backend(
            label="eventsourcing.postgres",
            database="PostgreSQL",
            is_sqlalchemy=False,
            app_class=PostgresEsApp,
            env=common_env("eventsourcing.postgres")
            | {
                "POSTGRES_DBNAME": url.database or "",
                "POSTGRES_HOST": url.host or "127.0.0.1",
                "POSTGRES_PORT": str(url.port or 5432),
                "POSTGRES_USER": url.username or "",
                # The factory insists on a password key; empty is fine with trust auth.
                "POSTGRES_PASSWORD": url.password or "",
                "POSTGRES_CONNECT_TIMEOUT": "5",
                "POSTGRES_SCHEMA": schema,
            },
        ),
        Backend(
            label="eventsourcing_sqlalchemy",
            database="PostgreSQL",
            is_sqlalchemy=True,
            app_class=PostgresSaApp,
            env=common_env("eventsourcing_sqlalchemy")
            | {
                "SQLALCHEMY_URL": sa_url.render_as_string(hide_password=False),
                "SQLALCHEMY_SCHEMA": schema,
            },
        ),
    ]


def timed(func: Callable[[], Any]) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def append_events(app: BenchApp, n_events: int) -> list[Counter]:
    """Create N/10 aggregates, then trigger events until N events are saved."""
    aggregates: list[Counter] = []
    for _ in range(max(1, n_events // 10)):
        aggregate = Counter()
        app.save(aggregate)
        aggregates.append(aggregate)
    for i in range(n_events - len(aggregates)):
        aggregate = aggregates[i % len(aggregates)]
        aggregate.increment()
        app.save(aggregate)
    return aggregates


def make_decisions(app: BenchApp, ids: list[UUID], n_decisions: int) -> None:
    for i in range(n_decisions):
        aggregate: Counter = app.repository.get(ids[i % len(ids)])
        aggregate.increment()
        app.save(aggregate)


def read_log(app: BenchApp) -> int:
    """Read and decode the whole log through the recorder, page by page."""
    count = 0
    start: int | None = None
    while True:
        page = app.recorder.select_notifications(start, limit=PAGE_SIZE)
        for notification in page:
            app.mapper.to_domain_event(notification)
        count += len(page)
        if len(page) < PAGE_SIZE:
            return count
        start = page[-1].id + 1  # ids may have gaps (PostgreSQL sequences); >= is fine


def sqlite_pragmas(app: BenchApp) -> tuple[str, str]:
    """Return (journal_mode, synchronous) as seen on the recorder's own connection."""
    recorder = app.recorder
    if isinstance(recorder, SQLiteApplicationRecorder):
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(JOURNAL_MODE)
            journal_mode = str(cursor.fetchone()[0])
            cursor.execute(SYNCHRONOUS)
            synchronous = int(cursor.fetchone()[0])
    elif isinstance(recorder, SQLAlchemyApplicationRecorder):
        engine = recorder.datastore.engine
        assert isinstance(engine, Engine)
        with engine.connect() as connection:
            journal_mode = str(connection.exec_driver_sql(JOURNAL_MODE).scalar())
            synchronous = int(connection.exec_driver_sql(SYNCHRONOUS).scalar() or 0)
    else:
        msg = f"Unexpected recorder {type(recorder).__name__}"
        raise TypeError(msg)
    return journal_mode, SQLITE_SYNCHRONOUS.get(synchronous, str(synchronous))


def close_app(app: BenchApp) -> None:
    app.close()
    recorder = app.recorder
    if isinstance(recorder, SQLAlchemyApplicationRecorder):
        # SQLAlchemyFactory has no close(), so Application.close() leaves the
        # engine's connection pool open; dispose of it explicitly.
        engine = recorder.datastore.engine
        if isinstance(engine, Engine):
            engine.dispose()


def run_backend(backend: Backend, n_events: int) -> Result:
    n_decisions = max(1, n_events // 3)
    app = backend.app_class(env=backend.env)
    try:
        aggregates: list[Counter] = []

        def append() -> None:
            aggregates.extend(append_events(app, n_events))

        append_seconds = timed(append)
        ids = [aggregate.id for aggregate in aggregates]
        decision_seconds = timed(lambda: make_decisions(app, ids, n_decisions))

        expected = n_events + n_decisions
        read_seconds = []
        for _ in range(READ_REPEATS):
            started = time.perf_counter()
            count = read_log(app)
            read_seconds.append(time.perf_counter() - started)
            if count != expected:
                msg = f"{backend.label}: read {count} events, expected {expected}"
                raise RuntimeError(msg)

        if backend.database == "SQLite":
            journal_mode, synchronous = sqlite_pragmas(app)
            note = f"journal_mode={journal_mode}, synchronous={synchronous}"
        else:
            note = "-"
    finally:
        close_app(app)
    return Result(
        backend=backend,
        append_rate=n_events / append_seconds,
        decision_rate=n_decisions / decision_seconds,
        read_rate=expected / min(read_seconds),
        events_in_log=expected,
        storage_note=note,
    )


@contextmanager
def postgres_schema(url: URL) -> Iterator[tuple[str, str] | None]:
    """Create a fresh schema; yield (schema, server info) or None if unreachable."""
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        admin = psycopg.connect(conninfo, autocommit=True, connect_timeout=3)
    except psycopg.Error as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        print(f"PostgreSQL at {url.render_as_string()} unreachable: {reason}")
        print("PostgreSQL backends skipped.")
        yield None
        return
    schema = f"bench_recorders_{uuid.uuid4().hex[:12]}"
    with admin:
        server_version = admin.execute("SHOW server_version").fetchone()
        synchronous_commit = admin.execute("SHOW synchronous_commit").fetchone()
        info = (
            f"server {server_version[0] if server_version else '?'}, "
            f"synchronous_commit={synchronous_commit[0] if synchronous_commit else '?'}"
        )
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield schema, info
        finally:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def print_versions() -> None:
    print(f"Python {platform.python_version()} ({platform.python_implementation()})")
    print(f"SQLite library {sqlite3.sqlite_version}")
    print(", ".join(f"{name} {package_version(name)}" for name in PACKAGES))


def print_table(results: list[Result]) -> None:
    columns = ("backend", "append/s", "decisions/s", "read events/s")
    header = "{:<38} {:>10} {:>12} {:>14}".format(*columns)
    print(header)
    print("-" * len(header))
    for result in results:
        name = f"{result.backend.label} ({result.backend.database})"
        print(
            f"{name:<38} {result.append_rate:>10,.0f} {result.decision_rate:>12,.0f} "
            f"{result.read_rate:>14,.0f}"
        )


def print_ratios(results: list[Result]) -> None:
    print()
    print("eventsourcing-sqlalchemy / eventsourcing's own recorder:")
    for database in ("SQLite", "PostgreSQL"):
        same_db = [r for r in results if r.backend.database == database]
        rows = {r.backend.is_sqlalchemy: r for r in same_db}
        if len(rows) < 2:
            print(f"  {database:<11} skipped")
            continue
        sa, own = rows[True], rows[False]
        print(
            f"  {database:<11} append x{sa.append_rate / own.append_rate:.2f}  "
            f"decisions x{sa.decision_rate / own.decision_rate:.2f}  "
            f"read x{sa.read_rate / own.read_rate:.2f}"
        )


def parse_args(argv: list[str]) -> argparse.Namespace:
    description = (__doc__ or "").splitlines()[0]
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--events",
        type=int,
        default=DEFAULT_EVENTS,
        help=f"events appended per backend (default {DEFAULT_EVENTS}); "
        "decisions are N/3, aggregates N/10",
    )
    parser.add_argument(
        "--postgres",
        default=DEFAULT_POSTGRES_URL,
        help=f"PostgreSQL URL (default {DEFAULT_POSTGRES_URL})",
    )
    args = parser.parse_args(argv)
    if args.events < 10:
        parser.error("--events must be at least 10")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    n_events: int = args.events
    print_versions()
    n_aggregates, n_decisions = max(1, n_events // 10), max(1, n_events // 3)
    print(
        f"Workload per backend: {n_events} appends ({n_aggregates} aggregates), "
        f"{n_decisions} decisions, read = best of {READ_REPEATS} full scans "
        f"in pages of {PAGE_SIZE}."
    )
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-recorders-") as directory:
        for backend in sqlite_backends(Path(directory)):
            results.append(run_backend(backend, n_events))
    for result in results:
        print(
            f"SQLite / {result.backend.label}: {result.storage_note} "
            "(recorder sets WAL itself, leaves synchronous at SQLite's default)"
        )

    url = make_url(args.postgres)
    with postgres_schema(url) as pg:
        if pg is not None:
            schema, info = pg
            print(f"PostgreSQL {info}; schema {schema} (dropped at the end)")
            for backend in postgres_backends(url, schema):
                results.append(run_backend(backend, n_events))

    print()
    print_table(results)
    print_ratios(results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
