"""The eventsourcing application approvals is built on: its storage, logging and errors."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast
from uuid import UUID

import sqlalchemy.exc
import structlog
from eventsourcing.application import Application
from eventsourcing.persistence import (
    ApplicationRecorder,
    InfrastructureFactory,
    IntegrityError,
    Mapper,
    PersistenceError,
    TrackingRecorder,
)
from eventsourcing.utils import Environment
from sqlalchemy import Engine, select

from approvals.audit.keys import CaseKeyMapper, CaseKeys
from approvals.errors import ApprovalsError, ConcurrencyConflict, Label, StorageError
from approvals.store import Factory, persistence_env, shown_url

__all__ = ["StoredApplication"]

log = structlog.get_logger("approvals")


class StoredApplication(Application[UUID]):
    """An eventsourcing Application on a SQLAlchemy Engine, with one-sentence storage errors."""

    name = "approvals"

    def __init__(self, *, engine: Engine, owns_engine: bool = False) -> None:
        self._engine = engine
        self._owns_engine = owns_engine
        super().__init__(env=persistence_env())

    def construct_env(self, name: str, env: Mapping[str, str] | None = None) -> Environment:
        """Use only the settings approvals passes: a host's os.environ must not leak in."""
        return Environment(name, dict(env or {}))

    def construct_mapper(self) -> Mapper[UUID]:
        """Encrypt each case's events under a key of its own (see approvals.audit.keys)."""
        self.case_keys = CaseKeys(self._engine)
        return CaseKeyMapper(self.construct_transcoder(), self.case_keys)

    def construct_recorder(self) -> ApplicationRecorder:
        """The integrity recorder, which also writes new case keys with their first event."""
        recorder = super().construct_recorder()
        recorder.case_keys = self.case_keys  # type: ignore[attr-defined]
        recorder.tables.append(self.case_keys.table)  # type: ignore[attr-defined]
        return recorder

    def construct_factory(self, env: Environment) -> InfrastructureFactory[TrackingRecorder]:
        """Persist through the Engine approvals was opened with."""
        return cast("InfrastructureFactory[TrackingRecorder]", Factory(env, self._engine))

    def close(self) -> None:
        """Release the database connections approvals opened (a host's Engine stays open)."""
        super().close()
        if self._owns_engine:
            self._engine.dispose()

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy Engine the events are stored through."""
        return self._engine

    def _notifications(self, topics: Sequence[str] = ()) -> Iterator[Any]:
        start = 1
        while True:
            page = self.recorder.select_notifications(start, 1000, topics=topics)
            yield from page
            if len(page) < 1000:
                return
            start = page[-1].id + 1

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
        except PersistenceError as error:
            if isinstance(error, IntegrityError):
                raise
            raise self._storage_error(error) from None

    def _storage_error(self, error: Exception) -> StorageError:
        cause = error.__cause__ or error
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
        try:
            with self._storage():
                yield logged
        except ApprovalsError as error:
            log.info(command, outcome="refused", code=error.code, reason=str(error), **logged)
            raise
        log.info(command, outcome="recorded", **logged)

    def commit(self, what: str, *aggregates: Any, **kwargs: Any) -> None:
        """Save the aggregates' new events in one transaction; a lost race is a conflict."""
        try:
            with self._storage():
                self.save(*aggregates, **kwargs)
        except IntegrityError:
            raise ConcurrencyConflict(what=Label(what, what)) from None
