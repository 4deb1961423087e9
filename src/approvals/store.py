"""Where events live: a SQLAlchemy URL or a host's Engine, made into eventsourcing persistence.

Events are written by eventsourcing-sqlalchemy into one table, ``approvals_events``, with a row
of the integrity ledger (``approvals_integrity``) beside each. Both tables are append-only
inside the database too: triggers abort every UPDATE and DELETE (and on PostgreSQL every
TRUNCATE), whoever sends them. So is ``approvals_disposals``, the cases disposed of; a case
key (``approvals_case_keys``) is never updated, and deleted only once its case is named there,
which disposal does in the transaction that records it.

A store names its schema's revision (:mod:`approvals.schema`): a new store is made at this
release's; one of another release is refused until its owner runs ``approvals upgrade``.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from eventsourcing_sqlalchemy.factory import SQLAlchemyFactory
from sqlalchemy import Connection, Engine, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool

from approvals.audit.keys import CASE_KEYS_TABLE, DISPOSALS_TABLE, disposals_table
from approvals.audit.ledger import INTEGRITY_TABLE, IntegrityRecorder
from approvals.audit.signing import SIGNATURES_TABLE
from approvals.errors import Label, StorageError
from approvals.schema import (
    SCHEMA_REVISION,
    UPGRADES_TABLE,
    VERSION_TABLE,
    permission_refusal,
    stamp_of,
    upgrades_table,
    version_table,
)
from approvals.urls import default_url, sqlite_url

__all__ = [
    "APPLICATION_NAME",
    "EVENTS_TABLE",
    "adopt_engine",
    "check_schema",
    "create_engine",
    "default_url",
    "ensure_guards",
    "ensure_schema",
    "grant_least_privilege",
    "granted_roles",
    "guard_names",
    "in_autocommit",
    "lacking_privileges",
    "least_privilege_grants",
    "least_privileges",
    "lock_schema",
    "missing_guards",
    "persistence_env",
    "shown_url",
    "sqlite_url",
]

APPLICATION_NAME = "approvals"
EVENTS_TABLE = f"{APPLICATION_NAME}_events"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def shown_url(url: str | URL) -> str:
    """Return ``url`` with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (sqlalchemy.exc.ArgumentError, ValueError):
        return str(url)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer (a store keeps it in its file once set);
    # the busy timeout makes a second writer wait instead of failing with "database is
    # locked"; FULL makes every commit durable.
    _on_sqlite_store_connect(dbapi_connection, _record)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


def _on_sqlite_store_connect(dbapi_connection: Any, _record: Any) -> None:
    # A store that exists is in WAL mode already (init set it, and the file keeps it): setting
    # it again would write to a file that may turn out not to be a store at all.
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.close()


_SQLITE_HEADER = b"SQLite format 3\x00"


def _probe_sqlite_file(url: str, file: Path, *, create: bool) -> None:
    """Refuse a file that is not an approvals store, before anything could write to it.

    Opening a new store sets WAL mode, which writes a header into an empty file and switches
    another application's database to WAL: so the file's header is read first (an existing
    store is then opened without setting WAL again, and its tables checked, see
    :func:`check_schema`).  With ``create`` an empty file may become a store; a file of
    another kind never does.
    """
    try:
        with file.open("rb") as handle:
            page = handle.read(100)  # the database header
    except OSError as error:
        reason = f"it cannot be read ({error.strerror})"
        raise StorageError(
            url=url, reason=Label(reason, f"読み取れません({error.strerror})")
        ) from None
    header = page[: len(_SQLITE_HEADER)]
    if not header and create:
        return
    if header != _SQLITE_HEADER:
        what = "it is empty" if not header else "it is not a SQLite database"
        what_ja = "空のファイルです" if not header else "SQLite データベースではありません"
        raise StorageError(
            url=url,
            reason=Label(
                f"{what}, so not an approvals store; give the store's file, or create one "
                "with `approvals init` in a new file",
                f"{what_ja}。approvals の保存先ではありません。保存先のファイルを指定するか、"
                "新しいファイルに `approvals init` で作成してください",
            ),
        )
    if create:
        others = _foreign_tables(file, wal=page[18:20] == b"\x02\x02")
        if others:
            shown = ", ".join(others[:5]) + (", …" if len(others) > 5 else "")
            raise StorageError(
                url=url,
                reason=Label(
                    f"it is another application's SQLite database (its tables: {shown}), so "
                    "no approvals store is made in it; give a new file to `approvals init`",
                    f"別のアプリケーションの SQLite データベースです(テーブル: {shown})。"
                    "ここには保存先を作りません。`approvals init` には新しいファイルを指定して"
                    "ください",
                ),
            )


def _foreign_tables(file: Path, *, wal: bool) -> list[str]:
    """The tables of the SQLite file ``file`` when it holds tables and none of them is ours
    (``approvals_…``): an approvals store, even one made by an older version, or a database
    with no tables yet, gives none.

    Read before the engine opens the file, on a read-only connection closed at once: on a
    file in rollback mode reading writes nothing; on a file in WAL mode without a ``-wal``
    file beside it (closed cleanly: everything is in the file) it is read as immutable, so
    that no ``-wal`` or ``-shm`` file is made.  A file that cannot be read this way is left
    to the engine, which names the problem.
    """
    live_wal = wal and Path(f"{file}-wal").exists()
    uri = f"{file.resolve().as_uri()}?mode=ro" + ("" if live_wal or not wal else "&immutable=1")
    try:
        with closing(sqlite3.connect(uri, uri=True)) as connection:
            rows = connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                " ORDER BY name"
            ).fetchall()
    except sqlite3.Error:
        return []
    names = [str(name) for (name,) in rows]
    ours = any(name.startswith(f"{APPLICATION_NAME}_") for name in names)
    return [] if ours else names


def create_engine(url: str, *, create: bool = True) -> Engine:
    """Return an Engine for ``url``; SQLite files get WAL and a busy timeout.

    With ``create`` a SQLite file's folder is made when missing; without it a SQLite file that
    does not exist is refused, so that nothing is created by mistake.
    """
    try:
        parsed = make_url(url)
    except (sqlalchemy.exc.ArgumentError, ValueError):  # ValueError: a port that is no number
        raise StorageError(
            url=url,
            reason=Label(
                "it is not a database URL (examples: sqlite:///approvals.db, "
                "postgresql+psycopg://user@host/db)",
                "データベース URL ではありません(例: sqlite:///approvals.db、"
                "postgresql+psycopg://user@host/db)",
            ),
        ) from None
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        file = Path(parsed.database or "").expanduser()
        folder = file.parent
        if not create and not file.is_file():
            raise StorageError(
                url=shown_url(parsed),
                reason=Label(
                    "no store is there yet; create one with `approvals init`",
                    "まだ保存先がありません。`approvals init` で作成してください",
                ),
            )
        if file.is_file():
            _probe_sqlite_file(shown_url(parsed), file, create=create)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            reason = f"its folder {folder} cannot be made ({error.strerror})"
            raise StorageError(
                url=shown_url(parsed),
                reason=Label(reason, f"フォルダ {folder} を作れません({error.strerror})"),
            ) from None
    # No ping before each use (it costs a round trip per command on PostgreSQL): a connection
    # the server dropped fails once, SQLAlchemy then renews the whole pool, and the first
    # query of every command is retried once on that (see StoredApplication.current).
    options: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        # One in-memory database shared by every connection of this process.
        options = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    try:
        engine = sqlalchemy.create_engine(parsed, **options)
    except (sqlalchemy.exc.ArgumentError, ImportError) as error:
        raise StorageError(url=shown_url(parsed), reason=Label(str(error), str(error))) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _on_sqlite_connect if create else _on_sqlite_store_connect)
    return engine


TRANSACTIONAL = {"sqlite": "SERIALIZABLE", "postgresql": "READ COMMITTED"}
"""The isolation approvals' own transactions run at: the drivers' defaults, which the writers'
lock and the retries are built on (never AUTOCOMMIT, which would commit an event without its
ledger row)."""


def adopt_engine(engine: Engine) -> Engine:
    """Return the Engine approvals works through on a host's ``engine``: the same pool, with
    what approvals gives its own.

    On a SQLite file every connection gets WAL, ``synchronous=FULL`` and the busy timeout (the
    writers' queue goes by the file's name); connections the pool holds already were made
    without them, so the pool is renewed (connections checked out now stay with their holder,
    as ``Engine.dispose(close=False)`` does).  An in-memory database is left as it is: a new
    pool would be a new, empty database.  Whatever isolation the host chose for its own work
    (AUTOCOMMIT, say), approvals' transactions run at the driver's default
    (:data:`TRANSACTIONAL`).
    """
    sqlite_file = engine.dialect.name == "sqlite" and engine.url.database not in (
        None,
        "",
        ":memory:",
    )
    if sqlite_file and not event.contains(engine, "connect", _on_sqlite_connect):
        event.listen(engine, "connect", _on_sqlite_connect)
        engine.dispose(close=False)
    level = TRANSACTIONAL.get(engine.dialect.name)
    return engine.execution_options(isolation_level=level) if level else engine


def in_autocommit(connection: Connection) -> bool:
    """Whether ``connection`` commits each statement on its own (no transaction to join)."""
    if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return True
    raw = connection.connection.driver_connection
    if connection.dialect.name == "sqlite":
        return getattr(raw, "isolation_level", "") is None or getattr(raw, "autocommit", 0) is True
    return bool(getattr(raw, "autocommit", False))


@contextmanager
def reachable(engine: Engine) -> Iterator[None]:
    """Turn a database that cannot be reached into a StorageError naming it."""
    try:
        yield
    except sqlalchemy.exc.DBAPIError as error:  # unreachable, no such schema, no right to create
        refused = permission_refusal(shown_url(engine.url), error)
        if refused is not None:
            raise refused from None
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise StorageError(url=shown_url(engine.url), reason=Label(reason, reason)) from None


class Factory(SQLAlchemyFactory):
    """eventsourcing-sqlalchemy's factory, on an Engine made (or lent) by approvals."""

    application_recorder_class = IntegrityRecorder

    def __init__(self, env: Environment, engine: Engine) -> None:
        InfrastructureFactory.__init__(self, env)
        self._schema_name = None
        self.datastore = SQLAlchemyDatastore(session_maker=sessionmaker(bind=engine))


def persistence_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the eventsourcing settings approvals uses; nothing comes from os.environ."""
    env = {
        "PERSISTENCE_MODULE": "eventsourcing_sqlalchemy",
        "CREATE_TABLE": "n",  # approvals creates its schema itself, see ensure_schema()
        "IS_SNAPSHOTTING_ENABLED": "no",
    }
    env.update(extra or {})
    return env


APPEND_ONLY_TABLES = (EVENTS_TABLE, INTEGRITY_TABLE, SIGNATURES_TABLE, DISPOSALS_TABLE)
"""Never updated, never deleted. Case keys are never updated, and deleted only at disposal."""

GUARDED_TABLES = (*APPEND_ONLY_TABLES, UPGRADES_TABLE)
"""The tables whose triggers refuse every UPDATE and DELETE: the log's, and the upgrades'."""

_SQLITE_KEY_DELETE = f"""CREATE TRIGGER IF NOT EXISTS {CASE_KEYS_TABLE}_no_delete
    BEFORE DELETE ON {CASE_KEYS_TABLE}
    WHEN NOT EXISTS (SELECT 1 FROM {DISPOSALS_TABLE} WHERE originator_id = OLD.originator_id)
    BEGIN SELECT RAISE(ABORT, '{CASE_KEYS_TABLE}: a key is deleted only at its disposal'); END"""


def _sqlite_triggers(table: str) -> list[str]:
    return [
        f"""CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END""",
        f"""CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END""",
    ]


_POSTGRES_FUNCTION = """CREATE OR REPLACE FUNCTION approvals_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$"""


_POSTGRES_NO_KEY_UPDATE = f"""CREATE OR REPLACE TRIGGER {CASE_KEYS_TABLE}_no_update
    BEFORE UPDATE ON {CASE_KEYS_TABLE}
    FOR EACH ROW EXECUTE FUNCTION approvals_refuse_change()"""

_POSTGRES_KEY_DELETE = [
    f"""CREATE OR REPLACE FUNCTION approvals_refuse_key_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM {DISPOSALS_TABLE} WHERE originator_id = OLD.originator_id)
        THEN
            RAISE EXCEPTION '%: a key is deleted only at its disposal', TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN OLD;
    END $$""",
    f"""CREATE OR REPLACE TRIGGER {CASE_KEYS_TABLE}_no_delete
    BEFORE DELETE ON {CASE_KEYS_TABLE}
    FOR EACH ROW EXECUTE FUNCTION approvals_refuse_key_delete()""",
    f"""CREATE OR REPLACE TRIGGER {CASE_KEYS_TABLE}_no_truncate
    BEFORE TRUNCATE ON {CASE_KEYS_TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION approvals_refuse_change()""",
]


def _postgres_triggers(table: str) -> list[str]:
    return [
        f"""CREATE OR REPLACE TRIGGER {table}_append_only
        BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION approvals_refuse_change()""",
        f"""CREATE OR REPLACE TRIGGER {table}_no_truncate
        BEFORE TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION approvals_refuse_change()""",
    ]


_LOCK_KEY = int.from_bytes(hashlib.sha256(b"approvals schema").digest()[:4], "big")


def lock_schema(connection: Connection) -> None:
    """Hold the schema for ``connection``'s transaction, which must not have written yet: on
    PostgreSQL the lock :func:`ensure_schema` takes (released at commit); on SQLite the write
    lock (BEGIN IMMEDIATE), taken before the first read so that what is read stays true."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def check_schema(engine: Engine) -> None:
    """Refuse a database that holds no approvals store, or a store of another release's schema
    (:meth:`approvals.schema.Stamp.refusal`)."""
    with reachable(engine), engine.connect() as connection:
        stamp = stamp_of(connection)
    refused = stamp.refusal(shown_url(engine.url))
    if refused is not None:
        raise refused


def ensure_schema(engine: Engine, tables: list[sqlalchemy.Table]) -> None:
    """Create the event tables and their append-only triggers if missing; safe to repeat.

    On PostgreSQL an advisory lock serialises processes that start at the same moment.  The
    table of disposals is made here too: without a row in it for the case, the database
    refuses to delete a case key (see :meth:`approvals.audit.keys.CaseKeys.destroy`).  A new
    store is stamped with this release's schema revision; a store of another release's is
    refused, untouched (``approvals upgrade`` is for that).
    """
    if all(t.name != DISPOSALS_TABLE for t in tables):
        tables = [*tables, disposals_table()]
    with reachable(engine), engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        stamp = stamp_of(connection)
        if stamp.present:
            refused = stamp.refusal(shown_url(engine.url))
            if refused is not None:
                raise refused
        for table in [*tables, upgrades_table()]:
            table.create(connection, checkfirst=True)
        ensure_guards(connection)
        if stamp.revision is None:
            stamped = version_table()
            stamped.create(connection, checkfirst=True)
            connection.execute(sqlalchemy.insert(stamped).values(version_num=SCHEMA_REVISION))


def _guard_statements(dialect: str) -> list[str]:
    """The statements that make the append-only triggers (and what they call), for ``dialect``."""
    if dialect == "sqlite":
        statements = [s for t in GUARDED_TABLES for s in _sqlite_triggers(t)]
        return [*statements, _sqlite_triggers(CASE_KEYS_TABLE)[0], _SQLITE_KEY_DELETE]
    statements = [_POSTGRES_FUNCTION, _POSTGRES_NO_KEY_UPDATE, *_POSTGRES_KEY_DELETE]
    return statements + [s for t in GUARDED_TABLES for s in _postgres_triggers(t)]


def guard_names(dialect: str) -> list[str]:
    """The names of the append-only triggers a store holds on ``dialect``."""
    if dialect == "sqlite":
        names = [f"{t}_{what}" for t in GUARDED_TABLES for what in ("no_update", "no_delete")]
    else:
        names = [f"{t}_{what}" for t in GUARDED_TABLES for what in ("append_only", "no_truncate")]
        names.append(f"{CASE_KEYS_TABLE}_no_truncate")
    return [*names, f"{CASE_KEYS_TABLE}_no_update", f"{CASE_KEYS_TABLE}_no_delete"]


def ensure_guards(connection: Connection) -> None:
    """Make the append-only triggers where missing (as they are in this release), in the
    transaction of ``connection``: a store's own, and after each upgrade, which may have made
    a table anew."""
    dialect = connection.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise StorageError(
            url=shown_url(connection.engine.url),
            reason=Label(
                f"{dialect} is not supported; use SQLite or PostgreSQL",
                f"{dialect} には対応していません。SQLite か PostgreSQL を使ってください",
            ),
        )
    for statement in _guard_statements(dialect):
        connection.execute(text(statement))


def missing_guards(connection: Connection) -> list[str]:
    """The append-only triggers the store of ``connection`` lacks (none when all are there)."""
    if connection.dialect.name == "sqlite":
        query = text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    else:
        query = text(
            "SELECT t.tgname FROM pg_catalog.pg_trigger t"
            " JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid"
            " WHERE c.relnamespace = CAST(current_schema() AS regnamespace)"
            " AND NOT t.tgisinternal AND t.tgenabled <> 'D'"
        )
    present = {str(name) for name in connection.execute(query).scalars()}
    return [name for name in guard_names(connection.dialect.name) if name not in present]


def least_privilege_grants(engine: Engine, role: str, read_tables: Sequence[str] = ()) -> list[str]:
    """Return the statements that let PostgreSQL ``role`` run approvals and nothing more.

    The role may SELECT and INSERT on the event table and the integrity ledger (no UPDATE,
    DELETE or TRUNCATE, even without the triggers), INSERT and DELETE case keys (a key is deleted
    when its case is disposed of), read the schema's revision and the upgrades, and read and
    write the disposable read-model tables ``read_tables``.  Creating, dropping or altering any
    table stays with their owner (so does ``approvals upgrade``, which grants the roles
    :func:`granted_roles` names again).
    """
    quote = engine.dialect.identifier_preparer.quote
    who = quote(role)
    with reachable(engine), engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
        sequence = connection.execute(
            text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": EVENTS_TABLE}
        ).scalar_one()
    log_tables = ", ".join(quote(t) for t in APPEND_ONLY_TABLES)
    schema_tables = f"{quote(VERSION_TABLE)}, {quote(UPGRADES_TABLE)}"
    statements = [
        f"REVOKE ALL ON {log_tables}, {quote(CASE_KEYS_TABLE)}, {schema_tables} FROM {who}",
        f"GRANT USAGE ON SCHEMA {quote(schema)} TO {who}",
        f"GRANT SELECT, INSERT ON {log_tables} TO {who}",
        f"GRANT SELECT, INSERT, DELETE ON {quote(CASE_KEYS_TABLE)} TO {who}",
        f"GRANT SELECT ON {schema_tables} TO {who}",  # which release the store is for
    ]
    if sequence:
        statements.append(f"GRANT USAGE ON SEQUENCE {sequence} TO {who}")
    if read_tables:
        tables = ", ".join(quote(t) for t in read_tables)
        statements.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {tables} TO {who}")
    return statements


def least_privileges(read_tables: Sequence[str] = ()) -> list[tuple[str, str]]:
    """The (table, privilege) pairs :func:`least_privilege_grants` gives a role."""
    pairs = [(t, p) for t in APPEND_ONLY_TABLES for p in ("SELECT", "INSERT")]
    pairs += [(CASE_KEYS_TABLE, p) for p in ("SELECT", "INSERT", "DELETE")]
    pairs += [(VERSION_TABLE, "SELECT"), (UPGRADES_TABLE, "SELECT")]
    return pairs + [(t, p) for t in read_tables for p in ("SELECT", "INSERT", "UPDATE", "DELETE")]


def lacking_privileges(
    connection: Connection, roles: Sequence[str], read_tables: Sequence[str] = ()
) -> list[str]:
    """Those of the PostgreSQL ``roles`` that lack a right :func:`least_privilege_grants` gives
    on a table that exists (one rebuilt since it was granted, say)."""
    if connection.dialect.name != "postgresql" or not roles:
        return []
    pairs = least_privileges(read_tables)
    query = text(
        "SELECT DISTINCT g.role FROM unnest(CAST(:roles AS text[])) AS g(role)"
        " CROSS JOIN unnest(CAST(:tables AS text[]), CAST(:privileges AS text[])) AS n(t, p)"
        " WHERE to_regclass(n.t) IS NOT NULL AND NOT has_table_privilege(g.role, n.t, n.p)"
        " ORDER BY g.role"
    )
    tables, privileges = [t for t, _ in pairs], [p for _, p in pairs]
    found = connection.execute(
        query, {"roles": list(roles), "tables": tables, "privileges": privileges}
    )
    return [str(role) for role in found.scalars()]


def grant_least_privilege(engine: Engine, role: str, read_tables: Sequence[str] = ()) -> None:
    """Give PostgreSQL ``role`` the rights of :func:`least_privilege_grants`; refuse on SQLite
    and for a role that does not exist."""
    if engine.dialect.name != "postgresql":
        raise StorageError(
            url=shown_url(engine.url),
            reason=Label(
                "roles and grants are for PostgreSQL; a SQLite file is protected by the "
                "permissions of the file itself",
                "ロールと権限付与は PostgreSQL のためのものです。SQLite はファイル自体の権限で"
                "保護してください",
            ),
        )
    with reachable(engine), engine.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
        ).first()
    if exists is None:
        raise StorageError(
            url=shown_url(engine.url),
            reason=Label(
                f'the role "{role}" does not exist; create it first (CREATE ROLE {role} LOGIN)',
                f"ロール「{role}」がありません。先に作成してください(CREATE ROLE {role} LOGIN)",
            ),
        )
    statements = least_privilege_grants(engine, role, read_tables)
    with reachable(engine), engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


def granted_roles(connection: Connection) -> list[str]:
    """The PostgreSQL roles that may append to the log of the current schema: those granted
    least privilege (the table's owner and superusers aside), by name; none on SQLite."""
    if connection.dialect.name != "postgresql":
        return []
    query = text(
        "SELECT DISTINCT r.rolname FROM pg_catalog.pg_class c"
        " CROSS JOIN LATERAL aclexplode(c.relacl) AS a"
        " JOIN pg_catalog.pg_roles r ON r.oid = a.grantee"
        " WHERE c.oid = to_regclass(:table) AND a.privilege_type = 'INSERT'"
        " AND a.grantee <> c.relowner ORDER BY r.rolname"
    )
    return [str(name) for name in connection.execute(query, {"table": EVENTS_TABLE}).scalars()]
