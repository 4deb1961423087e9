"""What shell completion offers: the cases a person can take a step on now, and every case,
read from the read-model tables as they stand, at each TAB.

Completion must answer in a blink, so this module loads neither the application nor (for a
SQLite store) SQLAlchemy: the stdlib's ``sqlite3`` reads the file; another database is read
through SQLAlchemy Core.  The models need not be current, but nothing out of date is offered:
a case with events in the log past the position the inbox model has taken in is left out
until the models catch up (any ``inbox``, ``list`` or register does), and when the roster
moved since, when a model is missing or of another version, or when the person is not on the
roster's table, nothing is offered — as for anything else unsure (:class:`NotCurrent`).

The table shapes and versions here are those of ``projections/``, and the ids those of
:mod:`approvals.domain.case` and :mod:`approvals.domain.roster`; a test compares them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID, uuid5

from approvals.labels import NotCurrent

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = ["MODELS", "WAITING", "Offers", "Step", "open_tables", "sqlite_file"]

MODELS: dict[str, int] = {"cases": 3, "inbox": 2}
"""The read models offers come from, with the version of their rows read here."""

_NAMESPACE = UUID("6f1b2a0e-5d4c-4f7a-9b1e-3c8d2e7f4a10")  # approvals.domain.case.NAMESPACE
_ROSTER = uuid5(_NAMESPACE, "roster")

WAITING = """
FROM rm_inbox AS i JOIN rm_roster AS r
  ON r."role" = i."role" AND (i."department" = '' OR r."department" = i."department")
WHERE r."user" = :person
  AND NOT (i."filer_only" AND i."filer" <> r."user")
  AND NOT (i."not_filer" AND i."filer" = r."user")
ORDER BY i."since", i."reference", i."trigger"
"""
"""The rows of the inbox model waiting for ``:person`` (as ``Registers.inbox`` selects them),
oldest first: what both completion and the quick read path select from (as ``i``)."""
_STEPS = f"""
SELECT DISTINCT i.reference, i."trigger", i.workflow, i.workflow_version, i.state, i.since
{WAITING}"""
_CASES = """
SELECT reference FROM rm_cases WHERE state <> 'disposed' ORDER BY listed_at, reference
"""


@dataclass(frozen=True, slots=True)
class Step:
    """A step waiting for the person on a case: its trigger, and the case's workflow version
    and state (for the step's label)."""

    reference: str
    trigger: str
    workflow: str
    workflow_version: int
    state: str


class _Tables(Protocol):
    def rows(self, sql: str, **params: Any) -> Sequence[Sequence[Any]]: ...

    def close(self) -> None: ...


def sqlite_file(url: str) -> Path | None:
    """The file a ``sqlite`` URL names (as SQLAlchemy reads it), None for another database.
    NotCurrent for no file: nothing is made here."""
    scheme, _, rest = url.partition("://")
    if scheme.split("+")[0] != "sqlite":
        return None
    name = rest.removeprefix("/").partition("?")[0]
    if not name or name == ":memory:" or not Path(name).expanduser().is_file():
        raise NotCurrent("no store file")
    return Path(name).expanduser()


class _SQLiteFile:
    """A SQLite store read with the stdlib alone; what the file cannot answer is NotCurrent."""

    def __init__(self, path: Path) -> None:
        uri = path.resolve().as_uri()
        try:  # read-write when allowed, so the last reader out tidies the WAL files away
            self._connection = sqlite3.connect(f"{uri}?mode=rw", uri=True, timeout=2)
        except sqlite3.OperationalError:
            try:
                self._connection = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=2)
            except sqlite3.Error as error:
                raise NotCurrent(str(error)) from error

    def rows(self, sql: str, **params: Any) -> Sequence[Sequence[Any]]:
        try:
            return self._connection.execute(sql, params).fetchall()
        except sqlite3.Error as error:  # not a store of ours, or not of this release
            raise NotCurrent(str(error)) from error

    def close(self) -> None:
        self._connection.close()


class _Database:
    """Another database, read through SQLAlchemy Core; what it cannot answer is NotCurrent."""

    def __init__(self, url: str) -> None:
        import sqlalchemy as sa  # noqa: PLC0415 - SQLite stores need none of it

        self._text = sa.text
        self._errors = sa.exc.SQLAlchemyError
        try:
            parsed = sa.make_url(url)
            if parsed.drivername == "postgresql":
                parsed = parsed.set(drivername="postgresql+psycopg")
            self._engine = sa.create_engine(parsed, poolclass=sa.NullPool)
            self._connection: sa.Connection = self._engine.connect()
        except self._errors as error:  # unreachable, refused: the full path says why
            raise NotCurrent(str(error)) from error

    def rows(self, sql: str, **params: Any) -> Sequence[Sequence[Any]]:
        try:
            return self._connection.execute(self._text(sql), params).all()
        except self._errors as error:
            raise NotCurrent(str(error)) from error

    def close(self) -> None:
        self._connection.close()
        self._engine.dispose()


def _uuid(value: Any) -> UUID:
    """An aggregate id as the events table keeps it: 16 bytes on SQLite, a UUID elsewhere."""
    if isinstance(value, bytes | bytearray | memoryview):
        return UUID(bytes=bytes(value))
    return value if isinstance(value, UUID) else UUID(str(value))


def open_tables(url: str) -> _Tables:
    """The tables of the store at ``url``, to read with SQL text and ``:name`` parameters: a
    SQLite file through the stdlib's ``sqlite3``, another database through SQLAlchemy Core.
    Whatever the database cannot answer (a SQLite file that is not there: nothing is made
    here; a table missing; a server that does not answer) is :class:`NotCurrent`."""
    path = sqlite_file(url)
    return _SQLiteFile(path) if path is not None else _Database(url)


class Offers:
    """The read-model tables of the store at ``url``, asked what completion may offer."""

    def __init__(self, url: str) -> None:
        self._tables = open_tables(url)
        self._moved: frozenset[UUID] | None = None

    def __enter__(self) -> Offers:
        return self

    def __exit__(self, *_: object) -> None:
        self._tables.close()

    def steps(self, person: str) -> tuple[Step, ...]:
        """The steps waiting for ``person`` on cases that have not moved since the inbox model
        took them in, oldest first (as ``approvals inbox`` lists them)."""
        moved = self._settled(person)
        found = (Step(*row[:5]) for row in self._tables.rows(_STEPS, person=person))
        return tuple(
            step for step in found if uuid5(_NAMESPACE, f"case:{step.reference}") not in moved
        )

    def cases(self, person: str) -> tuple[str, ...]:
        """The reference of every case the register holds, not disposed of, in the order
        filed (cases filed since the models last caught up are not there yet)."""
        self._settled(person)
        return tuple(str(row[0]) for row in self._tables.rows(_CASES))

    def _settled(self, person: str) -> frozenset[UUID]:
        """Check that the models are of the versions read here, that the roster has not moved
        since the inbox model took it in and holds ``person``; return the aggregates that
        moved since (NotCurrent otherwise)."""
        if self._moved is None:
            tracked = {
                str(name): (int(version), int(position))
                for name, version, position in self._tables.rows(
                    "SELECT name, version, position FROM approvals_projections"
                )
            }
            if any(tracked.get(name, (None, 0))[0] != version for name, version in MODELS.items()):
                raise NotCurrent("models")
            after = tracked["inbox"][1]
            self._moved = frozenset(
                _uuid(row[0])
                for row in self._tables.rows(
                    "SELECT DISTINCT originator_id FROM approvals_events WHERE id > :after",
                    after=after,
                )
            )
        if _ROSTER in self._moved:
            raise NotCurrent("roster")
        held = self._tables.rows('SELECT 1 FROM rm_roster WHERE "user" = :person', person=person)
        if not held:
            raise NotCurrent("person")
        return self._moved
