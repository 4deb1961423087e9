"""The integrity ledger: one row per stored event, written in the same transaction.

Each row holds the event's position in the global sequence (0, 1, 2… without gaps, unlike
database ids), its leaf hash, the global chain value and the chain value of its own case.
The table is append-only like the events.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy.exc
from eventsourcing.persistence import (
    IntegrityError,
    OperationalError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing_sqlalchemy.recorders import SQLAlchemyApplicationRecorder
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from approvals.audit.hashing import GENESIS, chain_hash, leaf_data, leaf_hash
from approvals.audit.signing import WriterKey, signatures_table
from approvals.domain.roster import ROSTER_ID, Roster
from approvals.joined import HostTransactions

try:
    import fcntl
except ImportError:  # Windows: SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

__all__ = ["INTEGRITY_TABLE", "IntegrityRecorder", "LedgerRow", "ledger_rows", "ledger_table"]

INTEGRITY_TABLE = "approvals_integrity"
_CACHED_CHAINS = 4096
_CHAINS_LOCK = threading.Lock()
WRITER_LOCK = int.from_bytes(hashlib.sha256(b"approvals writer").digest()[:4], "big")
"""The PostgreSQL advisory lock every writer of the log holds until its transaction ends."""
_ID = BigInteger().with_variant(Integer(), "sqlite")
_KEY_TOPICS = (Roster.KeyRegistered.TOPIC, Roster.KeyRevoked.TOPIC)
"""The roster's events that change who may sign: a write decided before one is decided again."""


@dataclass(frozen=True, slots=True)
class _Written:
    """The ids of the events just inserted, and what the ledger held when they were."""

    ids: list[int]
    last_position: int | None
    last_chain: str | None
    roster: int | None
    chains: dict[tuple[str, int], bytes]


def ledger_table(metadata: MetaData | None = None) -> Table:
    """Return the integrity table's definition."""
    return Table(
        INTEGRITY_TABLE,
        metadata or MetaData(),
        Column("position", _ID, primary_key=True, autoincrement=False),
        Column("event_id", _ID, nullable=False, unique=True),
        Column("originator_id", String(36), nullable=False),
        Column("originator_version", _ID, nullable=False),
        Column("leaf_hash", String(64), nullable=False),
        Column("chain_hash", String(64), nullable=False),
        Column("case_chain_hash", String(64), nullable=False),
        Index(f"{INTEGRITY_TABLE}_case_idx", "originator_id", "originator_version", unique=True),
    )


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One row of the integrity ledger."""

    position: int
    event_id: int
    originator_id: str
    originator_version: int
    leaf_hash: bytes
    chain_hash: bytes
    case_chain_hash: bytes


def ledger_rows(connection: Connection, table: Table, page: int = 5000) -> Iterator[LedgerRow]:
    """Read the whole ledger in position order."""
    start = -1
    while True:
        result = connection.execute(
            select(table).where(table.c.position > start).order_by(table.c.position).limit(page)
        ).all()
        for row in result:
            yield LedgerRow(
                position=row.position,
                event_id=row.event_id,
                originator_id=row.originator_id,
                originator_version=row.originator_version,
                leaf_hash=bytes.fromhex(row.leaf_hash),
                chain_hash=bytes.fromhex(row.chain_hash),
                case_chain_hash=bytes.fromhex(row.case_chain_hash),
            )
        if len(result) < page:
            return
        start = result[-1].position


@contextmanager
def _persistence_errors() -> Iterator[None]:
    """SQLAlchemy's errors as eventsourcing's, which the application turns into sentences."""
    try:
        yield
    except sqlalchemy.exc.IntegrityError as error:
        raise IntegrityError(error) from error
    except sqlalchemy.exc.OperationalError as error:
        raise OperationalError(error) from error
    except sqlalchemy.exc.SQLAlchemyError as error:
        raise PersistenceError(error) from error


def _begin_sqlite(connection: Connection) -> None:
    """Make sure a SQLite connection is inside a real transaction before a savepoint.

    Python's sqlite3 begins a transaction only before its first INSERT, UPDATE or DELETE; a
    SAVEPOINT issued first would start one of its own, and releasing it would commit at once,
    out of the host's hands.  BEGIN IMMEDIATE also takes the write lock now, so that a read
    made earlier in the same transaction cannot fail to upgrade to a write later.
    """
    raw = connection.connection.driver_connection
    if raw is not None and not raw.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class IntegrityRecorder(SQLAlchemyApplicationRecorder):
    """eventsourcing-sqlalchemy's recorder, writing a ledger row beside every event."""

    def __init__(self, datastore: Any, *, events_table_name: str, schema_name: str | None = None):
        super().__init__(datastore, events_table_name=events_table_name, schema_name=schema_name)
        self.ledger = ledger_table()
        self.signatures = signatures_table()
        self.tables.extend([self.ledger, self.signatures])
        # Set by the application: who signs the events this thread writes now, and as whom
        # (None: unsigned, before signing began).
        self.signer: Callable[[], tuple[WriterKey, str] | None] | None = None
        # The roster's version the signing was decided on (None: not checked): a roster that
        # changed before our turn to write (a key registered or revoked) means deciding again.
        self.roster_seen: Callable[[], int | None] | None = None
        self.case_keys: Any = None  # set by the application: new case keys go in with events
        self.host: HostTransactions | None = None  # set by the application: joined units
        # The chain value of each case's last event, as committed: a row of the ledger never
        # changes, so a value read or written once is kept (only after its commit).
        self._case_chains: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._writing = threading.local()
        self._turn_lock = threading.Lock()
        self._turn_file: Any = None
        # Statements built once (two threads may both build one: the same either way).
        self._statements: dict[tuple[bool, bool, int], tuple[Any, Any]] = {}
        self._one_row: dict[tuple[bool, bool], Any] = {}
        self._many_rows = insert(self.ledger)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Write the events, their ledger rows and new case keys in one transaction: the
        host's when the thread works in one (the host commits), else one of our own."""
        joined = self.host.connection() if self.host is not None else None
        committed = False  # by our own transaction: only then are new keys kept
        try:
            if kwargs.get("session") is not None:
                self._writing.chains = None
                return super().insert_events(stored_events, **kwargs)
            if joined is not None:
                return self._insert_joined(joined, stored_events, **kwargs)
            ids = self._insert_own(stored_events, **kwargs)
            committed = True
            return ids
        finally:
            # New case keys are kept for everyone's use only once our own transaction has
            # committed them; a host's transaction may still roll back.
            if self.case_keys is not None:
                self.case_keys.settle(committed=committed)

    def _insert_own(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:
        self._writing.chains = {}
        engine = cast("Engine", self.datastore.engine)
        try:
            with _persistence_errors(), self._turn(engine), engine.begin() as connection:
                ids = self._write(connection, stored_events, **kwargs)
        finally:
            chains, self._writing.chains = self._writing.chains, {}
        with _CHAINS_LOCK:  # committed: these are the ledger's values now
            self._case_chains.update(chains)
            while len(self._case_chains) > _CACHED_CHAINS:
                self._case_chains.popitem(last=False)
        return ids

    def _insert_joined(
        self, connection: Connection, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> list[int]:
        """Write inside the host's transaction, in a savepoint: a lost race rolls back our
        rows only, and the host's transaction goes on.  Nothing is kept in memory as
        committed (case keys, chain values): the host may still roll back."""
        self._writing.chains = None
        with _persistence_errors():
            if connection.dialect.name == "sqlite":
                _begin_sqlite(connection)
            with connection.begin_nested():
                return self._write(connection, stored_events, **kwargs)

    @contextmanager
    def _turn(self, engine: Engine) -> Iterator[None]:
        """On a SQLite file, wait for our turn to write in a queue the kernel keeps (a lock on
        a file beside the database): SQLite's own busy handler polls with growing sleeps, so
        a writer among several could wait tens of milliseconds after the lock was free."""
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        if not database or database == ":memory:" or fcntl is None:
            yield
            return
        with self._turn_lock:
            if self._turn_file is None:
                self._turn_file = open(f"{database}-writer", "a+b")  # noqa: SIM115
            fcntl.flock(self._turn_file.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._turn_file.fileno(), fcntl.LOCK_UN)

    def after_fork(self) -> None:
        """In a forked child: a queue file of its own (a lock on the parent's open file would
        be shared with the parent, which would then not wait for it) and fresh locks."""
        global _CHAINS_LOCK  # noqa: PLW0603 - the parent's may have been held at the fork
        _CHAINS_LOCK = threading.Lock()
        self._turn_lock = threading.Lock()
        if self._turn_file is not None:
            self._turn_file.close()  # the child's copy only: the parent's stays open
            self._turn_file = None

    def close_turns(self) -> None:
        """Close the file writers queue on (when one was opened)."""
        with self._turn_lock:
            if self._turn_file is not None:
                self._turn_file.close()
                self._turn_file = None

    def _lock(self, connection: Connection) -> None:
        # Writers take turns so that ids are committed in the order they are given (readers
        # that follow "id > position" then miss nothing).  On PostgreSQL eventsourcing-sqlalchemy
        # takes LOCK TABLE … IN EXCLUSIVE MODE, which needs UPDATE, DELETE or TRUNCATE rights;
        # a transaction-scoped advisory lock, taken by every approvals writer, serialises them
        # the same way for a role that may only SELECT and INSERT.  The same statement wakes
        # eventsourcing's subscribers (NOTIFY is delivered only when the transaction commits,
        # wherever in it it is sent).  On SQLite the first INSERT takes the database's single
        # write lock.
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key), pg_notify(:channel, '')"),
                {"key": WRITER_LOCK, "channel": self._channel},
            )

    @property
    def _channel(self) -> str:
        """The channel eventsourcing's subscribers LISTEN on (an unquoted name, so folded to
        lower case as PostgreSQL folds it)."""
        return str(self.channel_name).lower()

    def _insert_stored_events(
        self, session: Session, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int]:
        return self._write(session.connection(), stored_events, **kwargs)

    def _write(
        self, connection: Connection, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> list[int]:
        """Write the events, then their ledger rows (with their signatures and new case keys).

        Two statements after the writers' lock: the events' INSERT, whose RETURNING clause
        also reads what the ledger rows are chained on (its last row, the chain value of each
        case's previous event not kept in memory, the roster's last key event) — read under
        the lock, so nothing can move under us — then the ledger rows, in one statement with
        the signatures and new case keys on PostgreSQL (data-modifying WITH clauses).
        """
        if not stored_events:
            for originator in kwargs.get("destroy_case_keys", ()):
                self.case_keys.destroy(connection, originator)
            return []
        self._lock(connection)
        seen = self.roster_seen() if self.roster_seen is not None else None
        originators = [str(event.originator_id) for event in stored_events]
        wanted: list[tuple[str, int]] = []  # previous case chain values to read
        firsts: set[str] = set()
        for originator, event in zip(originators, stored_events, strict=True):
            if originator in firsts:
                continue
            firsts.add(originator)
            before = event.originator_version - 1
            if before >= 1 and self._known_chain(originator, before) is None:
                wanted.append((originator, before))
        written = self._insert_events_table(
            connection, stored_events, wanted=wanted, roster=seen is not None
        )
        if seen is not None and (written.roster or 0) > seen:
            raise IntegrityError("the roster changed since the signing key was chosen")
        position = written.last_position + 1 if written.last_position is not None else 0
        chain = bytes.fromhex(written.last_chain) if written.last_chain else GENESIS
        case_chains: dict[str, bytes] = {}
        pending = getattr(self._writing, "chains", None)
        rows: list[dict[str, Any]] = []
        for event_id, originator, event in zip(
            written.ids, originators, stored_events, strict=True
        ):
            leaf = leaf_hash(
                leaf_data(originator, event.originator_version, event.topic, event.state)
            )
            chain = chain_hash(chain, leaf)
            previous = case_chains.get(originator)
            if previous is None:
                previous = self._previous_chain(
                    originator, event.originator_version - 1, written.chains
                )
            case_chain = chain_hash(previous, leaf)
            case_chains[originator] = case_chain
            if pending is not None:
                pending[originator, event.originator_version] = case_chain
            rows.append(
                {
                    "position": position,
                    "event_id": event_id,
                    "originator_id": originator,
                    "originator_version": event.originator_version,
                    "leaf_hash": leaf.hex(),
                    "chain_hash": chain.hex(),
                    "case_chain_hash": case_chain.hex(),
                }
            )
            position += 1
        signing = self.signer() if self.signer is not None else None
        signatures = []
        if signing is not None:
            key, writer = signing
            signatures = [
                {
                    "position": row["position"],
                    "writer": writer,
                    "key_id": key.key_id,
                    "signature": key.sign(
                        int(row["position"]), bytes.fromhex(str(row["leaf_hash"])), writer
                    ),
                }
                for row in rows
            ]
        new_keys = self.case_keys.new_rows(originators) if self.case_keys is not None else []
        self._insert_ledger(connection, rows, signatures, new_keys)
        if self.case_keys is not None:
            # Disposal: the case's key goes in the same transaction as the disposal record.
            for originator in kwargs.get("destroy_case_keys", ()):
                self.case_keys.destroy(connection, originator)
        return written.ids

    def _insert_ledger(
        self,
        connection: Connection,
        rows: list[dict[str, Any]],
        signatures: list[dict[str, Any]],
        new_keys: list[dict[str, Any]],
    ) -> None:
        """Insert the ledger rows, their signatures and the new case keys: one statement on
        PostgreSQL (a commit of a few events), else one each."""
        if connection.dialect.name == "postgresql" and len(rows) == 1:
            connection.execute(
                self._one_row_statement(signed=bool(signatures), new_key=bool(new_keys)),
                {
                    **rows[0],
                    **(signatures[0] if signatures else {}),
                    **(new_keys[0] if new_keys else {}),
                },
            )
            return
        connection.execute(self._many_rows, rows)
        if signatures:
            connection.execute(insert(self.signatures), signatures)
        if new_keys:
            connection.execute(insert(self.case_keys.table), new_keys)

    def _one_row_statement(self, *, signed: bool, new_key: bool) -> Any:
        """One ledger row, with its signature and its case's new key when ``signed`` and
        ``new_key``, in one INSERT (data-modifying WITH clauses) whose bound values share their
        names: the same statement each time, which SQLAlchemy compiles once."""
        found = self._one_row.get((signed, new_key))
        if found is not None:
            return found
        statement = insert(self.ledger).values(
            {column.name: bindparam(column.name) for column in self.ledger.columns}
        )
        if signed:
            statement = statement.add_cte(
                insert(self.signatures)
                .values({c.name: bindparam(c.name) for c in self.signatures.columns})
                .cte("new_signature")
            )
        if new_key:
            statement = statement.add_cte(
                insert(self.case_keys.table)
                .values({c.name: bindparam(c.name) for c in self.case_keys.table.columns})
                .cte("new_case_key")
            )
        self._one_row[signed, new_key] = statement
        return statement

    def _insert_events_table(
        self,
        connection: Connection,
        stored_events: Sequence[StoredEvent],
        *,
        wanted: Sequence[tuple[str, int]] = (),
        roster: bool = False,
    ) -> _Written:
        """Insert the events (the writers' lock held) and return their ids, with what the
        ledger holds now: its last row, the chain values ``wanted`` ((case, version) pairs)
        and, when ``roster``, the version of the roster's last key event.

        What eventsourcing-sqlalchemy does, through SQLAlchemy Core (INSERT … RETURNING)
        rather than the ORM's unit of work; the reads ride in the first statement's RETURNING
        clause, which sees the ledger as it stood when the statement began (under the lock).
        """
        # SQLAlchemy writes SQLite's RETURNING columns without their tables' names, which
        # would make the reads ambiguous: there they follow in a SELECT of their own (the
        # INSERT took the database's write lock).
        apart = connection.dialect.name != "postgresql"
        statement, reads = self._events_statements(apart=apart, roster=roster, wanted=len(wanted))
        given: dict[str, Any] = {"roster_id": str(ROSTER_ID)} if roster else {}
        for n, (originator, version) in enumerate(wanted):
            given[f"case_o{n}"], given[f"case_v{n}"] = originator, version
        values = [
            {
                "originator_id": event.originator_id,
                "originator_version": event.originator_version,
                "topic": event.topic,
                "state": event.state,
                **({} if apart else given),
            }
            for event in stored_events
        ]
        returned = connection.execute(statement, values).all()
        ids = {
            (str(row.originator_id), int(row.originator_version)): int(row.id) for row in returned
        }
        first: Any = returned[0]
        if apart:
            first = connection.execute(reads, given).one()
        return _Written(
            ids=[ids[str(e.originator_id), e.originator_version] for e in stored_events],
            last_position=None if first.last_p is None else int(first.last_p),
            last_chain=first.last_c,
            roster=None if not roster or first.roster is None else int(first.roster),
            chains={
                pair: bytes.fromhex(found) if found else GENESIS
                for pair, found in zip(
                    wanted, (first._mapping[f"case_{n}"] for n in range(len(wanted))), strict=True
                )
            },
        )

    def _events_statements(self, *, apart: bool, roster: bool, wanted: int) -> tuple[Any, Any]:
        """The events' INSERT … RETURNING and the ledger's reads (a SELECT, or inside the
        RETURNING clause unless ``apart``), built once for each shape: SQLAlchemy then finds
        them compiled already without working out their cache keys again."""
        shape = (apart, roster, wanted)
        found = self._statements.get(shape)
        if found is not None:
            return found
        table = self.events_record_cls.__table__
        # Aliases: inside RETURNING the inserted table's own columns are in scope as well.
        ledger = self.ledger.alias("ledger").c
        events = table.alias("events")
        last = select(ledger.position, ledger.chain_hash).order_by(ledger.position.desc())
        reads = [
            last.with_only_columns(ledger.position).limit(1).scalar_subquery().label("last_p"),
            last.with_only_columns(ledger.chain_hash).limit(1).scalar_subquery().label("last_c"),
        ]
        if roster:
            reads.append(
                select(func.max(ledger.originator_version))
                .join(events, events.c.id == ledger.event_id)
                .where(
                    ledger.originator_id == bindparam("roster_id"),
                    or_(*(events.c.topic == t for t in _KEY_TOPICS)),
                )
                .scalar_subquery()
                .label("roster")
            )
        for n in range(wanted):
            reads.append(
                select(ledger.case_chain_hash)
                .where(
                    ledger.originator_id == bindparam(f"case_o{n}"),
                    ledger.originator_version == bindparam(f"case_v{n}"),
                )
                .scalar_subquery()
                .label(f"case_{n}")
            )
        statement = insert(table).returning(
            table.c.id,
            table.c.originator_id,
            table.c.originator_version,
            *(() if apart else reads),
        )
        found = self._statements[shape] = (statement, select(*reads) if apart else None)
        return found

    def _known_chain(self, originator: str, version: int) -> bytes | None:
        """The committed chain value of a case's event, when kept in memory."""
        with _CHAINS_LOCK:
            return self._case_chains.get((originator, version))

    def _previous_chain(
        self, originator: str, version: int, read: dict[tuple[str, int], bytes]
    ) -> bytes:
        """The chain value of a case's event before this commit's first: none before its first
        event, else kept in memory or read with the events' INSERT (none when the ledger has
        no row for it: a case begun before the ledger, chained afresh as ever)."""
        if version < 1:
            return GENESIS
        found = read.get((originator, version))
        if found is not None:
            return found
        known = self._known_chain(originator, version)
        return known if known is not None else GENESIS
