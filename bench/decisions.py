"""How many durable decisions a second, on SQLite and PostgreSQL, from 1 and 4 processes.

A decision is one command a person gives on a case that waits for it: a manager's
consultation (協議) or a chief's approval (承認).  The same work is done three ways, each on
its own fresh store, and the figures are printed side by side:

* **approvals**: ``app.act(reference, trigger, actor=...)`` — the roster and the workflow's
  rules checked, the event encrypted with the case's key, the integrity ledger extended;
* **eventsourcing**: the same events on a bare eventsourcing aggregate with
  eventsourcing-sqlalchemy (get, trigger, save; no rules, no encryption, no ledger);
* **plain SQLAlchemy**: a ``state`` column updated and an audit row inserted in one
  transaction (row lock on PostgreSQL, an immediate transaction on SQLite).

Like for like: every commit is durable, and every implementation runs on the same settings,
set explicitly on each new connection by the same function (:func:`same_settings`): SQLite in
WAL mode with ``synchronous=FULL`` and the engine's busy timeout; PostgreSQL with its defaults
(``synchronous_commit=on``).  What differs is what each does: approvals checks the roster and
the workflow, encrypts each event under its case's key, chains it into the integrity ledger and
queues its writers on SQLite in a lock the kernel keeps (a file beside the database: a waiting
writer is woken the moment the lock is free); the two baselines do none of that, and several
SQLite writers of theirs meet SQLite's own busy handler, which polls with growing sleeps.  As
that alone can swing a 4-process ratio by 4x from run to run, the baselines are also run with
approvals' queue around each write transaction ("+ queue"), and the targets are taken against
those.  With 4 processes each works on cases of its own,
started together at a barrier; decisions/s is all decisions over the wall time of the run,
latency is per decision.  (The cold start of the command line is bench/cold_start.py's.)

Targets: >= 0.8 of the eventsourcing library's own figure in the same run (1 and 4 processes,
both backends); the ratio to the plain SQLAlchemy implementation reported; p99 < 10 ms.
Run from the repository root::

    python bench/decisions.py [--decisions N] [--postgres URL] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import sqlalchemy as sa
import structlog
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from summary import Target, record

from approvals import open_approvals
from approvals.demo import CHIEF, FILINGS, MANAGER, STAFF, appoint_sample_roster
from approvals.store import SQLITE_BUSY_TIMEOUT_MS, sqlite_url

try:
    import fcntl
except ImportError:  # Windows: no queue, the busy handler alone
    fcntl = None  # type: ignore[assignment]

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
STEPS = (("consult", MANAGER, "manager", "consulted"), ("approve", CHIEF, "chief", "approved"))
ALLOWED = {("notified", "consult"): "consulted", ("consulted", "approve"): "approved"}


# -- the three implementations ------------------------------------------------------------------


@sa.event.listens_for(sa.engine.Engine, "connect")
def same_settings(dbapi_connection: Any, _record: Any) -> None:
    """Every connection of every implementation gets the same SQLite settings, set explicitly
    (approvals' engine sets the same again): a durable commit, the same busy timeout."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()


class Approval(Aggregate):
    """The same case events, without approvals' rules around them."""

    @event("Filed")
    def __init__(self, title: str, department: str, fields: dict[str, Any]) -> None:
        self.title, self.department, self.fields = title, department, fields
        self.state = "notified"

    @event("Taken")
    def take(self, *, trigger: str, dest: str, actor: str, role: str, comment: str,
             fields: dict[str, Any], checklist: list[str], attachments: list[Any],
             at: datetime) -> None:  # fmt: skip
        self.state = dest


def _eventsourcing_app(url: str, *, create: bool = False) -> Application[UUID]:
    return Application(env={
        "PERSISTENCE_MODULE": "eventsourcing_sqlalchemy", "SQLALCHEMY_URL": url,
        "CREATE_TABLE": "y" if create else "n",
    })  # fmt: skip


def _plain_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    cases = sa.Table(
        "plain_cases", metadata,
        sa.Column("id", sa.Integer, primary_key=True), sa.Column("title", sa.String(200)),
        sa.Column("state", sa.String(40), nullable=False),
    )  # fmt: skip
    audit = sa.Table(
        "plain_audit", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer, nullable=False, index=True),
        sa.Column("trigger", sa.String(40)), sa.Column("actor", sa.String(80)),
        sa.Column("role", sa.String(40)), sa.Column("dest", sa.String(40)),
        sa.Column("at", sa.DateTime(timezone=True)), sa.Column("comment", sa.Text),
    )  # fmt: skip
    return cases, audit


class Kind:
    """One way of doing the work: prepare cases, then decide them."""

    name = ""

    def prepare(self, url: str, cases: int) -> list[Any]:
        raise NotImplementedError

    @contextmanager
    def deciding(self, url: str) -> Iterator[Callable[[Any, int], None]]:
        raise NotImplementedError
        yield


class ApprovalsKind(Kind):
    name = "approvals"

    def prepare(self, url: str, cases: int) -> list[Any]:
        app = open_approvals(url)
        try:
            appoint_sample_roster(app)
            fields = FILINGS["purpose"]
            return [
                app.file("purpose", actor=STAFF, title=f"bench {n}", department="sales",
                         fields=fields).reference
                for n in range(cases)
            ]  # fmt: skip
        finally:
            app.close()

    @contextmanager
    def deciding(self, url: str) -> Iterator[Callable[[Any, int], None]]:
        app = open_approvals(url, create=False)
        try:
            yield lambda reference, step: app.act(
                reference, STEPS[step][0], actor=STEPS[step][1], comment="bench"
            )
        finally:
            app.close()


class EventsourcingKind(Kind):
    name = "eventsourcing"

    def prepare(self, url: str, cases: int) -> list[Any]:
        app = _eventsourcing_app(url, create=True)
        try:
            found = []
            for n in range(cases):
                approval = Approval(f"bench {n}", "sales", dict(FILINGS["purpose"]))
                app.save(approval)
                found.append(approval.id)
            return found
        finally:
            app.close()

    @contextmanager
    def deciding(self, url: str) -> Iterator[Callable[[Any, int], None]]:
        app = _eventsourcing_app(url)

        def decide(case_id: Any, step: int) -> None:
            trigger, actor, role, dest = STEPS[step]
            approval: Approval = app.repository.get(case_id)
            approval.take(
                trigger=trigger, dest=dest, actor=actor, role=role, comment="bench",
                fields={}, checklist=[], attachments=[], at=datetime.now(UTC),
            )  # fmt: skip
            app.save(approval)

        try:
            yield decide
        finally:
            app.close()


class PlainKind(Kind):
    name = "plain SQLAlchemy"

    def prepare(self, url: str, cases: int) -> list[Any]:
        engine = sa.create_engine(url)
        metadata = sa.MetaData()
        table, _ = _plain_tables(metadata)
        metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(
                sa.insert(table), [{"id": n, "title": f"bench {n}", "state": "notified"}
                                   for n in range(1, cases + 1)]
            )  # fmt: skip
        engine.dispose()
        return list(range(1, cases + 1))

    @contextmanager
    def deciding(self, url: str) -> Iterator[Callable[[Any, int], None]]:
        engine = sa.create_engine(url)
        cases, audit = _plain_tables(sa.MetaData())
        sqlite = engine.dialect.name == "sqlite"

        def decide(case_id: Any, step: int) -> None:
            trigger, actor, role, _ = STEPS[step]
            with engine.connect() as connection:
                if sqlite:
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                query = sa.select(cases.c.state).where(cases.c.id == case_id)
                state = connection.execute(query if sqlite else query.with_for_update()).scalar()
                dest = ALLOWED.get((str(state), trigger))
                if dest is None:
                    raise RuntimeError(f"{trigger} is not allowed from {state}")
                connection.execute(sa.update(cases).where(cases.c.id == case_id).values(state=dest))
                connection.execute(sa.insert(audit).values(
                    case_id=case_id, trigger=trigger, actor=actor, role=role, dest=dest,
                    at=datetime.now(UTC), comment="bench"))  # fmt: skip
                connection.commit()

        try:
            if sqlite:  # the driver's own BEGIN would be deferred: take the write lock first
                engine = engine.execution_options(isolation_level="AUTOCOMMIT")
            yield decide
        finally:
            engine.dispose()


class Queued(Kind):
    """A baseline with approvals' writers' queue on SQLite around each decision: the same lock
    on a file beside the database, held for the write transaction."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self.name = f"{kind.name} + queue"

    def prepare(self, url: str, cases: int) -> list[Any]:
        return self.kind.prepare(url, cases)

    @contextmanager
    def deciding(self, url: str) -> Iterator[Callable[[Any, int], None]]:
        database = sa.engine.make_url(url).database
        with self.kind.deciding(url) as decide, open(f"{database}-writer", "a+b") as turn:

            def queued(case: Any, step: int) -> None:
                fcntl.flock(turn.fileno(), fcntl.LOCK_EX)
                try:
                    decide(case, step)
                finally:
                    fcntl.flock(turn.fileno(), fcntl.LOCK_UN)

            yield queued


_BASELINES = (EventsourcingKind(), PlainKind())
KINDS: dict[str, Kind] = {
    k.name: k for k in (ApprovalsKind(), *_BASELINES, *(Queued(b) for b in _BASELINES))
}
QUEUED = {k for k in KINDS if k.endswith("+ queue")}
"""Run on SQLite only (on PostgreSQL the baselines queue on the server's own locks)."""


# -- running --------------------------------------------------------------------------------------


def _work(kind: str, url: str, cases: list[Any], barrier: Any, answers: Any) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    times: list[float] = []
    with KINDS[kind].deciding(url) as decide:
        barrier.wait()
        started = time.perf_counter()
        for step in range(len(STEPS)):
            for case in cases:
                began = time.perf_counter()
                decide(case, step)
                times.append(time.perf_counter() - began)
        ended = time.perf_counter()
    answers.put((started, ended, times))


@dataclass
class Figure:
    rate: float
    p50: float
    p99: float


def run(kind: str, url: str, decisions: int, processes: int) -> Figure:
    """Prepare decisions/2 cases, then decide each twice (consult, approve)."""
    cases = KINDS[kind].prepare(url, decisions // len(STEPS))
    context = multiprocessing.get_context("spawn")
    barrier, answers = context.Barrier(processes), context.Queue()
    shares = [cases[n::processes] for n in range(processes)]
    workers = [context.Process(target=_work, args=(kind, url, share, barrier, answers))
               for share in shares]  # fmt: skip
    for worker in workers:
        worker.start()
    results = [answers.get(timeout=900) for _ in workers]
    for worker in workers:
        worker.join()
        if worker.exitcode:
            raise RuntimeError(f"a {kind} worker failed on {url}")
    began = min(r[0] for r in results)
    ended = max(r[1] for r in results)
    times = sorted(t for r in results for t in r[2])
    return Figure(
        rate=len(times) / (ended - began),
        p50=statistics.median(times) * 1000,
        p99=times[min(len(times) - 1, int(len(times) * 0.99))] * 1000,
    )


class Stores:
    """Fresh stores: SQLite files in a temporary folder, PostgreSQL schemas dropped at exit."""

    def __init__(self, postgres: str | None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="approvals-bench-"))
        self.postgres = postgres
        self.schemas: list[str] = []

    def new(self, backend: str) -> str:
        if backend == "sqlite":
            return sqlite_url(self.folder / f"{uuid.uuid4().hex[:8]}.db")
        assert self.postgres is not None
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        engine = sa.create_engine(self.postgres)
        with engine.begin() as connection:
            connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
        engine.dispose()
        self.schemas.append(schema)
        return f"{self.postgres}?options=-csearch_path%3D{schema}"

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.postgres and self.schemas:
            engine = sa.create_engine(self.postgres)
            with engine.begin() as connection:
                for schema in self.schemas:
                    connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
            engine.dispose()


def postgres_answers(url: str) -> bool:
    engine = sa.create_engine(url)
    try:
        with engine.connect():
            return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=2000, help="per run (default 2000)")
    parser.add_argument("--postgres", default=POSTGRES, help=f"server URL (default {POSTGRES})")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--summary", help="append the targets measured to this file (bench/run.py)")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    postgres = None if args.skip_postgres or not postgres_answers(args.postgres) else args.postgres
    print(f"approvals decision benchmark — Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}, SQLAlchemy {sa.__version__}, "
          f"{os.cpu_count()} cores, {args.decisions:,} decisions per run")  # fmt: skip
    if postgres is None:
        print(f"(PostgreSQL skipped: {'asked' if args.skip_postgres else 'no answer'})")
    stores = Stores(postgres)
    figures: dict[tuple[str, str, int], Figure] = {}
    try:
        header = f"{'':<26}{'backend':<12}{'procs':>6}{'decisions/s':>13}{'p50 ms':>9}{'p99 ms':>9}"
        print(f"\n{header}")
        for backend in ("sqlite", "postgresql") if postgres else ("sqlite",):
            for processes in (1, 4):
                for kind in KINDS:
                    if kind in QUEUED and (backend != "sqlite" or fcntl is None):
                        continue
                    figure = run(kind, stores.new(backend), args.decisions, processes)
                    figures[kind, backend, processes] = figure
                    print(f"{kind:<26}{backend:<12}{processes:>6}{figure.rate:>13,.0f}"
                          f"{figure.p50:>9.2f}{figure.p99:>9.2f}", flush=True)  # fmt: skip
        print("\nratios (approvals / other, decisions/s)")
        for (kind, backend, processes), figure in figures.items():
            if kind == "approvals":
                others = "   ".join(
                    f"/ {other}: {figure.rate / figures[other, backend, processes].rate:.2f}"
                    for other in KINDS
                    if other != "approvals" and (other, backend, processes) in figures
                )  # fmt: skip
                print(f"  {backend:<12}{processes} proc   {others}")
        print("\ntargets")
        for backend in ("sqlite", "postgresql") if postgres else ("sqlite",):
            for processes in (1, 4):
                ours = figures["approvals", backend, processes].rate
                like = ("eventsourcing + queue" if ("eventsourcing + queue", backend, processes)
                        in figures else "eventsourcing")  # fmt: skip
                theirs = figures[like, backend, processes].rate
                met = "met" if ours >= 0.8 * theirs else "MISSED"
                print(f"  {backend:<11}{processes} proc  {ours:>7,.0f}/s = {ours / theirs:.2f} x "
                      f"{like} ({theirs:,.0f}/s)  target >= 0.80: {met}")  # fmt: skip
                plain = figures["plain SQLAlchemy", backend, processes].rate
                record(args.summary, Target(
                    "decisions", f"decisions, {backend}, {processes} proc / {like}",
                    ours / theirs, 0.8, "x",
                    note=f"{ours:,.0f}/s; {ours / plain:.2f} x plain SQLAlchemy",
                ))  # fmt: skip
        worst = max(f.p99 for (k, _, _), f in figures.items() if k == "approvals")
        print(f"  worst approvals p99     {worst:>8.2f} ms (target < 10)")
        record(args.summary, Target("decisions", "decisions, worst p99", worst, 10, "ms",
                                    higher_is_better=False))  # fmt: skip
    finally:
        stores.close()


if __name__ == "__main__":
    main()
