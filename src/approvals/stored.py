"""The eventsourcing application approvals is built on: its storage, logging and errors."""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, cast
from uuid import UUID

import sqlalchemy.exc
from eventsourcing.application import Application
from eventsourcing.persistence import (
    ApplicationRecorder,
    InfrastructureFactory,
    IntegrityError,
    Mapper,
    PersistenceError,
    StoredEvent,
    TrackingRecorder,
)
from eventsourcing.utils import Environment
from sqlalchemy import Connection, Engine, and_, bindparam, or_, select

from approvals.audit.keys import CaseKeyMapper, CaseKeys
from approvals.errors import ApprovalsError, ConcurrencyConflict, Label, StorageError
from approvals.joined import HostTransactions
from approvals.logging import get_logger
from approvals.schema import ANY_RIGHT, permission_refusal
from approvals.store import Factory, in_autocommit, persistence_env, shown_url

__all__ = ["StoredApplication", "reading", "sharing_cores"]

log = get_logger(__name__)
T = TypeVar("T")

_PAGE = 5000
CACHED_AGGREGATES = 2048
"""How many aggregates each thread keeps in memory between commands."""


def _after_fork_in_child(app: StoredApplication) -> None:
    """Call ``app.after_fork()`` in every child forked while ``app`` lives."""
    alive = weakref.ref(app)

    def after_fork() -> None:
        found = alive()
        if found is not None:
            found.after_fork()

    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=after_fork)


def sharing_cores(engine: Engine) -> int:
    """How many processes may share a long read of ``engine``'s store: the processors this
    process may use, or 1 where forked processes cannot share it (no ``fork``, macOS, an
    in-memory SQLite database) or where forking is not safe: from any thread but the main one
    (a web server's request threads), since a child gets a copy of every lock another thread
    held at that moment, and one it then needs would never be released."""
    if "fork" not in multiprocessing.get_all_start_methods() or sys.platform == "darwin":
        return 1
    if threading.current_thread() is not threading.main_thread():
        return 1
    database = engine.url.database if engine.dialect.name == "sqlite" else "server"
    if not database or database == ":memory:":
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(cpus or 1, 1)


def reading(engine: Engine, read: Callable[[Connection], T]) -> T:
    """Run ``read`` (one statement) on a connection of ``engine``, once more if the server had
    dropped the connection (a restart): reading twice changes nothing.

    On PostgreSQL the statement runs outside a transaction block: one statement sees one
    snapshot either way, and no BEGIN and ROLLBACK travel to the server and back around it.
    """
    try:
        with engine.connect() as connection:
            return read(single_statement(connection))
    except sqlalchemy.exc.DBAPIError as error:
        if not error.connection_invalidated:
            raise
    with engine.connect() as connection:
        return read(single_statement(connection))


def single_statement(connection: Connection) -> Connection:
    """Return ``connection`` set to run each statement in a transaction of its own on
    PostgreSQL (the pool restores its setting when it is given back); on SQLite as it is (the
    driver begins no transaction for a SELECT)."""
    if connection.dialect.name == "postgresql":
        return connection.execution_options(isolation_level="AUTOCOMMIT")
    return connection


class StoredApplication(Application[UUID]):
    """An eventsourcing Application on a SQLAlchemy Engine, with one-sentence storage errors."""

    name = "approvals"

    def __init__(self, *, engine: Engine, owns_engine: bool = False) -> None:
        self._engine = engine
        self._owns_engine = owns_engine
        self._local = threading.local()
        self._queries: dict[int, Any] = {}
        self.host = HostTransactions()
        super().__init__(env=persistence_env())
        _after_fork_in_child(self)

    def after_fork(self) -> None:
        """In a child process just forked (a server's worker forked after the application was
        opened): connections, the writers' queue file and locks of its own, none shared with
        the parent.  Only the forking thread lives on in the child, so no lock is held."""
        self._engine.dispose(close=False)  # the parent's connections stay the parent's
        self.case_keys.after_fork()
        self.recorder.after_fork()  # type: ignore[attr-defined]

    def construct_env(self, name: str, env: Mapping[str, str] | None = None) -> Environment:
        """Use only the settings approvals passes: a host's os.environ must not leak in."""
        return Environment(name, dict(env or {}))

    def construct_mapper(self) -> Mapper[UUID]:
        """Encrypt each case's events under a key of its own (see approvals.audit.keys)."""
        self.case_keys = CaseKeys(self._engine, self.host)
        return CaseKeyMapper(self.construct_transcoder(), self.case_keys)

    def construct_recorder(self) -> ApplicationRecorder:
        """The integrity recorder, which also writes new case keys with their first event."""
        recorder = super().construct_recorder()
        recorder.case_keys = self.case_keys  # type: ignore[attr-defined]
        recorder.host = self.host  # type: ignore[attr-defined]
        recorder.tables.append(self.case_keys.table)  # type: ignore[attr-defined]
        recorder.signer = lambda: getattr(self._local, "signing", None)  # type: ignore[attr-defined]
        recorder.roster_seen = lambda: getattr(self._local, "roster_seen", None)  # type: ignore[attr-defined]
        return recorder

    def signing_for(self, aggregates: Sequence[Any], writer: str | None) -> Any:
        """Return the key that signs the events of ``aggregates`` and the writer it signs for,
        or None to write them unsigned; refuse (raise) when they may not be written."""
        return None

    def construct_factory(self, env: Environment) -> InfrastructureFactory[TrackingRecorder]:
        """Persist through the Engine approvals was opened with."""
        return cast("InfrastructureFactory[TrackingRecorder]", Factory(env, self._engine))

    def close(self) -> None:
        """Release the database connections approvals opened (a host's Engine stays open)."""
        super().close()
        self.recorder.close_turns()  # type: ignore[attr-defined]
        if self._owns_engine:
            self._engine.dispose()

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy Engine the events are stored through."""
        return self._engine

    def notifications(self, topics: Sequence[str] = ()) -> Iterator[Any]:
        """Yield the stored events with ``topics`` (all when none), in the order of the log,
        a page at a time."""
        start = 1
        while True:
            page = self.recorder.select_notifications(start, _PAGE, topics=topics)
            yield from page
            if len(page) < _PAGE:
                return
            start = page[-1].id + 1

    def current(self, *originators: UUID) -> list[Any]:
        """Return each aggregate as the log has it now (None for one without events).

        Aggregates this thread loaded before are kept in memory and brought up to date with
        the events written since (by any process) — one query for all of them.  A command
        that fails forgets them all (see :meth:`command`), so that a half-applied change is
        never used again.
        """
        cache = self._aggregates()
        versions = {o: cache[o].version if o in cache else 0 for o in originators}
        params: dict[str, Any] = {}
        for n, (originator, version) in enumerate(versions.items()):
            params[f"o{n}"], params[f"v{n}"] = originator, version
        query = self._newer_events(len(versions))
        joined = self.host.connection()
        with self._storage():
            if joined is not None:
                rows = joined.execute(query, params).all()
            else:
                rows = reading(self._engine, lambda c: c.execute(query, params).all())
        fresh: set[UUID] | None = getattr(self._local, "fresh", None)
        if fresh is not None:
            fresh.update(originators)
        for row in rows:
            originator = row.originator_id
            aggregate = cache.get(originator)
            if aggregate is not None and aggregate.version != row.originator_version - 1:
                raise RuntimeError(f"the events of {originator} are not in sequence")
            try:
                event = self.mapper.to_domain_event(
                    StoredEvent(originator, row.originator_version, row.topic, bytes(row.state))
                )
            except BaseException:
                cache.pop(originator, None)
                raise
            cache[originator] = event.mutate(aggregate)  # type: ignore[attr-defined]
        found = []
        for originator in originators:
            aggregate = cache.get(originator)
            if aggregate is not None:
                cache.move_to_end(originator)
            found.append(aggregate)
        while len(cache) > CACHED_AGGREGATES:
            cache.popitem(last=False)
        return found

    def _newer_events(self, count: int) -> Any:
        """The query for the events of ``count`` aggregates past given versions (built once)."""
        found = self._queries.get(count)
        if found is None:  # two threads may both build it: the same query either way
            events = self._events_table
            kind = events.c.originator_id.type
            found = self._queries[count] = (
                select(events.c.originator_id, events.c.originator_version, events.c.topic,
                       events.c.state)
                .where(or_(*[and_(events.c.originator_id == bindparam(f"o{n}", type_=kind),
                                  events.c.originator_version > bindparam(f"v{n}"))
                             for n in range(count)]))
                .order_by(events.c.originator_id, events.c.originator_version)
            )  # fmt: skip
        return found

    def fresh(self, originator: UUID) -> Any:
        """Return the aggregate as this command last read it with :meth:`current` (None when
        it did not, or when it was forgotten since): what a decision of the command rests on."""
        fresh: set[UUID] | None = getattr(self._local, "fresh", None)
        if fresh is None or originator not in fresh:
            return None
        return self._aggregates().get(originator)

    def forget_aggregates(self) -> None:
        """Drop the aggregates this thread keeps in memory."""
        self._aggregates().clear()

    def _aggregates(self) -> OrderedDict[UUID, Any]:
        """This thread's aggregates: its own cache, or the unit of work's while in one."""
        unit: OrderedDict[UUID, Any] | None = getattr(self._local, "unit", None)
        if unit is not None:
            return unit
        cache: OrderedDict[UUID, Any] | None = getattr(self._local, "aggregates", None)
        if cache is None:
            cache = self._local.aggregates = OrderedDict()
        return cache

    @property
    def _events_table(self) -> Any:
        return self.recorder.events_record_cls.__table__  # type: ignore[attr-defined]

    def position_of(self, originator_id: UUID, version: int) -> int | None:
        """Return the position in the global sequence of an aggregate's event, if recorded."""
        ledger = self.recorder.ledger  # type: ignore[attr-defined]
        with self._storage(), self._engine.connect() as connection:
            found = connection.execute(
                select(ledger.c.position).where(
                    ledger.c.originator_id == str(originator_id),
                    ledger.c.originator_version == version,
                )
            ).scalar_one_or_none()
        return None if found is None else int(found)

    @contextmanager
    def _storage(self) -> Iterator[None]:
        try:
            yield
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as error:
            raise self._storage_error(error) from None
        except sqlalchemy.exc.ProgrammingError as error:
            refused = permission_refusal(shown_url(self._engine.url), error, ANY_RIGHT)
            if refused is None:
                raise
            raise refused from None
        except PersistenceError as error:
            if isinstance(error, IntegrityError):
                raise
            raise self._storage_error(error) from None

    def _storage_error(self, error: Exception) -> StorageError:
        cause = error.__cause__ or error
        refused = permission_refusal(shown_url(self._engine.url), cause, ANY_RIGHT)
        if refused is not None:  # a right the role lacks: the owner's upgrade grants it again
            return refused
        original = getattr(cause, "orig", None) or cause
        reason = (
            str(original).strip().splitlines()[0]
            if str(original).strip()
            else type(original).__name__
        )
        return StorageError(url=shown_url(self._engine.url), reason=Label(reason, reason))

    @contextmanager
    def command(self, command: str, **fields: Any) -> Iterator[dict[str, Any]]:
        """Run one command: one structured log line (recorded or refused), storage errors as
        one sentence. The body may add fields to the yielded mapping for the log line."""
        logged: dict[str, Any] = dict(fields)
        outer = getattr(self._local, "writer", None)
        outer_fresh = getattr(self._local, "fresh", None)
        self._local.writer = fields.get("actor")  # who signs what this command writes
        self._local.fresh = set()  # the aggregates this command brought up to date
        try:
            with self._storage():
                yield logged
        except ApprovalsError as error:
            self.forget_aggregates()
            log.info(command, outcome="refused", code=error.code, reason=str(error), **logged)
            raise
        except BaseException:
            self.forget_aggregates()
            raise
        finally:
            self._local.writer = outer
            self._local.fresh = outer_fresh
        log.info(command, outcome="recorded", **logged)

    @contextmanager
    def joined(self, connection: Connection) -> Iterator[Connection]:
        """Work inside the host's transaction on ``connection`` until the block ends.

        Every command this thread runs in the block reads through ``connection`` (so it sees
        what the block wrote so far) and writes its events, ledger rows and case keys in a
        savepoint of the host's transaction: they commit or roll back with the host's own
        rows.  ``connection`` must come from the Engine approvals was opened on::

            with engine.begin() as connection, app.joined(connection):
                connection.execute(insert(requests).values(...))
                app.file("purpose", actor=..., title=..., department=..., fields=...)

        On PostgreSQL the writers' lock is then held until the host commits: keep the host's
        transaction short.
        """
        if connection.engine.pool is not self._engine.pool:
            raise ValueError(
                "approvals can join only a transaction on the Engine it was opened on: "
                "open it with open_approvals(engine=...) and pass a connection of that Engine"
            )
        if in_autocommit(connection) or not connection.in_transaction():
            raise ValueError(
                "approvals can join only a transaction the host has begun: this connection "
                "commits each statement on its own or has no transaction open; use "
                "`with engine.begin() as connection` (not AUTOCOMMIT)"
            )
        outer = getattr(self._local, "unit", None)
        self._local.unit = OrderedDict()  # what the block reads is not yet committed
        try:
            with self.host.join(connection):
                yield connection
        finally:
            self._local.unit = outer

    def commit(self, what: str, *aggregates: Any, **kwargs: Any) -> None:
        """Save the aggregates' new events in one transaction; a lost race is a conflict."""
        self.case_keys.settle(committed=False)  # nothing of an earlier attempt is left over
        try:
            self._local.roster_seen = None  # set by signing_for: the roster it decided on
            self._local.signing = self.signing_for(
                [a for a in aggregates if a is not None], getattr(self._local, "writer", None)
            )
            with self._storage():
                self.save(*aggregates, **kwargs)
        except IntegrityError:
            self.forget_aggregates()
            raise ConcurrencyConflict(what=Label(what, what)) from None
        except BaseException:
            self.forget_aggregates()
            raise
        finally:
            self._local.signing = self._local.roster_seen = None
        cache = self._aggregates()
        for aggregate in aggregates:
            if aggregate is not None:
                cache[aggregate.id] = aggregate
