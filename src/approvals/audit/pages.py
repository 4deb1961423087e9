"""Read the log for verification: whole tables in key order, with the driver's own cursor.

What verification walks is every row of the log: SQLAlchemy's result rows and type
processing cost more than the hashing, so the walks read plain tuples from the DBAPI cursor
(sqlite3, psycopg), a page of :data:`PAGE` rows at a time by keyset (``WHERE key > last``):
memory stays bounded whatever the size of the log, on every backend.  Events and ledger rows
are then put side by side (:func:`paired`) as the verifier compares them, nothing in them
taken for granted: they may have been edited by hand.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import Connection, Table, func, inspect, select

from approvals.audit.signing import SIGNATURES_TABLE

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication

__all__ = [
    "PAGE",
    "Positions",
    "as_bytes",
    "as_uuid",
    "columns_of",
    "event_rows",
    "ledger_hash",
    "ledger_rows",
    "paged",
    "paired",
    "signed_ledger_rows",
    "table_of",
    "text_id",
]

PAGE = 10_000
"""Rows read per query."""


def columns_of(connection: Connection, table: Table, names: Sequence[str], alias: str = "") -> str:
    """``names`` of ``table``, quoted for the connection's database (``alias.`` before each)."""
    quote = connection.dialect.identifier_preparer.quote
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + quote(table.c[name].name) for name in names)


def table_of(connection: Connection, table: Table) -> str:
    """``table``'s name (with its schema), quoted for the connection's database."""
    return str(connection.dialect.identifier_preparer.format_table(table))


def paged(
    connection: Connection,
    query: str,
    key: str,
    index: int,
    *,
    after: int | None = None,
    page: int = PAGE,
    where: str = "",
) -> Iterator[tuple[Any, ...]]:
    """Yield every row of ``query`` (a SELECT … FROM … without WHERE or ORDER BY) in the
    order of ``key`` (a column expression, unique), the ``index``-th of each row; from the
    first row when ``after`` is None, else from those whose key is greater; only those
    ``where`` holds (a condition without parameters), if given."""
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    tail = f" ORDER BY {key} LIMIT {int(page)}"
    also = f" AND ({where})" if where else ""
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        while True:
            if after is None:
                cursor.execute(f"{query} WHERE ({where}){tail}" if where else query + tail)
            else:
                cursor.execute(f"{query} WHERE {key} > {mark}{also}{tail}", (after,))
            rows = cursor.fetchall()
            yield from rows
            if len(rows) < page:
                return
            after = rows[-1][index]
    finally:
        cursor.close()


_EVENT_COLUMNS = ("id", "originator_id", "originator_version", "topic", "state")
_LEDGER_COLUMNS = (
    "position", "event_id", "originator_id", "originator_version", "leaf_hash", "chain_hash",
    "case_chain_hash",
)  # fmt: skip


def event_rows(connection: Connection, app: ApprovalsApplication) -> Iterator[tuple[Any, ...]]:
    """Every stored event as (id, originator_id, originator_version, topic, state), by id."""
    table = app.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
    query = (
        f"SELECT {columns_of(connection, table, _EVENT_COLUMNS)} FROM {table_of(connection, table)}"
    )
    return paged(connection, query, columns_of(connection, table, ["id"]), 0, after=0)


def ledger_rows(connection: Connection, app: ApprovalsApplication) -> Iterator[tuple[Any, ...]]:
    """The whole ledger in position order, taking nothing in it for granted (it may have
    been edited by hand: negative positions are read too)."""
    table = app.recorder.ledger  # type: ignore[attr-defined]
    query = f"SELECT {columns_of(connection, table, _LEDGER_COLUMNS)} FROM {table_of(connection, table)}"
    return paged(connection, query, columns_of(connection, table, ["position"]), 0)


def signed_ledger_rows(
    connection: Connection, app: ApprovalsApplication
) -> Iterator[tuple[Any, ...]]:
    """The ledger's (position, event_id, originator_id, writer of its signature or None)."""
    ledger = app.recorder.ledger  # type: ignore[attr-defined]
    signatures = app.recorder.signatures  # type: ignore[attr-defined]
    position = columns_of(connection, ledger, ["position"], "l")
    head = columns_of(connection, ledger, ["position", "event_id", "originator_id"], "l")
    if not inspect(connection).has_table(SIGNATURES_TABLE, schema=signatures.schema):
        query = f"SELECT {head}, NULL FROM {table_of(connection, ledger)} l"
    else:
        query = (
            f"SELECT {head}, {columns_of(connection, signatures, ['writer'], 's')} "
            f"FROM {table_of(connection, ledger)} l LEFT OUTER JOIN "
            f"{table_of(connection, signatures)} s ON s.{signatures.c.position.name} = {position}"
        )
    return paged(connection, query, position, 0)


class Positions:
    """Where each event of each aggregate is in the ledger: what ``app.position_of`` answers
    for an (aggregate, version), read an aggregate at a time (one query gives all of its
    positions, kept for the :data:`CACHED` aggregates asked about last), so that memory does
    not grow with the log.  An (aggregate, version) the ledger holds twice (rows forged by
    hand; one query finds them all, the first time it is asked) is asked of
    ``app.position_of``, which says so as it always did."""

    CACHED = 4096
    """Aggregates whose positions are kept."""

    def __init__(self, app: ApprovalsApplication) -> None:
        self.app = app
        self._cache: OrderedDict[str, dict[Any, int]] = OrderedDict()
        self._twice: set[tuple[str, Any]] | None = None
        self._query: str | None = None

    def __call__(self, originator_id: UUID, version: int) -> int | None:
        if self.twice(originator_id, version):
            return self.app.position_of(originator_id, version)
        return self._of(str(originator_id)).get(version)

    def twice(self, originator_id: UUID, version: int) -> bool:
        """Whether the ledger holds (``originator_id``, ``version``) more than once."""
        if self._twice is None:
            self._twice = self._duplicates()
        return bool(self._twice) and (str(originator_id), version) in self._twice

    def _of(self, originator: str) -> dict[Any, int]:
        found = self._cache.get(originator)
        if found is not None:
            self._cache.move_to_end(originator)
            return found
        table = self.app.recorder.ledger  # type: ignore[attr-defined]
        with self.app.engine.connect() as connection:
            if self._query is None:
                mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
                names = ["originator_version", "position"]
                self._query = (
                    f"SELECT {columns_of(connection, table, names)} FROM "
                    f"{table_of(connection, table)} WHERE "
                    f"{columns_of(connection, table, ['originator_id'])} = {mark} "
                    f"ORDER BY {columns_of(connection, table, ['position'])}"
                )
            cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(self._query, (originator,))
                found = {version: int(position) for version, position in cursor.fetchall()}
            finally:
                cursor.close()
        self._cache[originator] = found
        if len(self._cache) > self.CACHED:
            self._cache.popitem(last=False)
        return found

    def _duplicates(self) -> set[tuple[str, Any]]:
        return ledger_duplicates(self.app)


def ledger_duplicates(app: ApprovalsApplication) -> set[tuple[str, Any]]:
    """The (originator id as text, version) pairs the ledger holds more than once (none, unless
    it was tampered with)."""
    table = app.recorder.ledger  # type: ignore[attr-defined]
    columns = (table.c.originator_id, table.c.originator_version)
    query = select(*columns).group_by(*columns).having(func.count() > 1)
    with app.engine.connect() as connection:
        return {(str(originator), version) for originator, version in connection.execute(query)}


def paired(
    events: Iterator[tuple[Any, ...]], rows: Iterator[tuple[Any, ...]]
) -> Iterator[tuple[tuple[Any, ...] | None, tuple[Any, ...] | None]]:
    """Events (by id) beside ledger rows (by position): (event, row) when the row records the
    event, (None, row) for a row whose event is gone, (event, None) for an unrecorded one."""
    event = next(events, None)
    row = next(rows, None)
    while event is not None or row is not None:
        if row is not None and (event is None or row[1] < event[0]):
            yield None, row
            row = next(rows, None)
        elif event is not None and (row is None or event[0] < row[1]):
            yield event, None
            event = next(events, None)
        else:
            yield event, row
            event, row = next(events, None), next(rows, None)


def text_id(value: Any) -> str:
    """An event's originator id as text, however the driver gives it (SQLite: 16 bytes)."""
    if type(value) is bytes and len(value) == 16:
        h = value.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return str(value)


def as_bytes(state: Any) -> bytes:
    """Bytes as written; a value changed behind the engine may come back as text."""
    if type(state) is bytes:
        return state
    if isinstance(state, bytes | bytearray | memoryview):
        return bytes(state)
    return str(state).encode("utf-8")


def ledger_hash(value: object) -> bytes:
    """A ledger hash as bytes; one that is not what the engine writes (64 lowercase hex digits)
    reads as nothing, which matches no hash (the row is then named as altered or forged)."""
    try:
        raw = bytes.fromhex(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return b""
    return raw if len(raw) == 32 and raw.hex() == value else b""


def as_uuid(value: Any) -> UUID:
    """An event's originator id as a UUID (a value that is none fails decoding: reported)."""
    if isinstance(value, UUID):
        return value
    if type(value) is bytes and len(value) == 16:
        return UUID(bytes=value)
    return UUID(str(value))
