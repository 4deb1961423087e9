"""Which release a store's tables are for, read without the migration tool.

A store names the revision of its schema in ``approvals_schema_version``: Alembic's version
table under a name of its own, so that a host's own Alembic migrations in the same database
keep ``alembic_version`` to themselves.  The row is written when a store is made
(:func:`approvals.store.ensure_schema`) and moved only by ``approvals upgrade``
(:mod:`approvals.upgrade`, the one importer of Alembic).  A store made by 0.1.0 has no such
table.  Every command reads the revision when it opens a store, and refuses, in one sentence
naming what to run, a store whose revision is not this release's: older (its owner upgrades
it) or newer (never downgraded).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Column, Connection, DateTime, Integer, MetaData, String, Table, Text

from approvals.errors import Label, StorageError
from approvals.revisions import BASELINE, REVISIONS, SCHEMA_REVISION, VERSION_TABLE

__all__ = [
    "ANY_RIGHT",
    "BASELINE",
    "REVISIONS",
    "SCHEMA_REVISION",
    "TABLE_RIGHTS",
    "UPGRADES_TABLE",
    "VERSION_TABLE",
    "Stamp",
    "needs_upgrade",
    "not_owned",
    "permission_refusal",
    "release",
    "stamp_of",
    "upgrades_table",
    "version_table",
]

UPGRADES_TABLE = "approvals_upgrades"

_OWNER = Label("OWNER_URL", "所有者のURL")
TABLE_RIGHTS = ("permission denied for table", "permission denied for sequence", "must be owner of")
"""How PostgreSQL refuses a role a table's rights (opening a store: a schema's refusal is about
creating one, said as the database says it)."""
ANY_RIGHT = ("permission denied", "must be owner of")
"""How PostgreSQL refuses a role any right (working in a store that exists: a table a newer
release adds is the owner's to make, too)."""


def release() -> str:
    """This release of approvals (the installed distribution's version)."""
    # Loaded only here (14 ms): the quick read path never needs it.
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("approvals-engine")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return REVISIONS[SCHEMA_REVISION]


def version_table(metadata: MetaData | None = None) -> Table:
    """Return the version table as Alembic makes it (one row: the schema's revision)."""
    table = Table(
        VERSION_TABLE, metadata or MetaData(), Column("version_num", String(32), nullable=False)
    )
    table.append_constraint(sa.PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"))
    return table


def upgrades_table(metadata: MetaData | None = None) -> Table:
    """Return the table of upgrades: one row for each ``approvals upgrade`` that changed
    anything (append-only, as the log)."""
    return Table(
        UPGRADES_TABLE,
        metadata or MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("upgraded_at", DateTime(timezone=True), nullable=False),
        Column("upgraded_by", String(200), nullable=False),  # who ran it (--user or login)
        Column("database_user", String(200), nullable=True),  # PostgreSQL's current_user
        Column("from_release", String(32), nullable=False),
        Column("to_release", String(32), nullable=False),
        Column("from_revision", String(32), nullable=True),  # NULL: a 0.1.0 store
        Column("to_revision", String(32), nullable=False),
        Column("rebuilt", Text, nullable=False),  # the read models rebuilt, space-separated
        Column("granted", Text, nullable=False),  # the roles granted again, space-separated
    )


@dataclass(frozen=True, slots=True)
class Stamp:
    """What a database says of its approvals schema."""

    present: bool
    """The event table is there: an approvals store (of some release)."""
    revision: str | None
    """The schema's revision; None when the store has no version table (0.1.0) or no store
    is there."""

    @property
    def current(self) -> bool:
        """The schema is this release's."""
        return self.present and self.revision == SCHEMA_REVISION

    @property
    def known(self) -> bool:
        """The revision is this release's or an earlier one (not a newer release's)."""
        return self.revision is None or self.revision in REVISIONS

    @property
    def made_by(self) -> str:
        """The release whose schema the store has ("?" for a newer one)."""
        if self.revision is None:
            return REVISIONS[BASELINE]
        return REVISIONS.get(self.revision, "?")

    def refusal(self, url: str) -> StorageError | None:
        """The refusal of a store that this release may not use as it is, else None."""
        if not self.present:
            return StorageError(
                url=url,
                reason=Label(
                    "it is not set up for approvals; create the store with `approvals init`",
                    "approvals 用に準備されていません。`approvals init` で作成してください",
                ),
            )
        if not self.known:
            return StorageError(
                "storage.newer", url=url, revision=str(self.revision), release=release()
            )
        if self.revision == SCHEMA_REVISION:
            return None
        made = self.made_by
        return needs_upgrade(
            url,
            Label(
                f"its tables are those of approvals {made}, and this is {release()}",
                f"テーブルが approvals {made} のもので、このリリースは {release()} です",
            ),
        )


def stamp_of(connection: Connection) -> Stamp:
    """Read what ``connection``'s database says of its schema (two queries; nothing written)."""
    inspector = sa.inspect(connection)
    if inspector.has_table(VERSION_TABLE):
        rows = connection.execute(sa.select(version_table().c.version_num)).scalars().all()
        revision = rows[0] if len(rows) == 1 else "?" if rows else None
        return Stamp(present=inspector.has_table("approvals_events"), revision=revision)
    return Stamp(present=inspector.has_table("approvals_events"), revision=None)


def needs_upgrade(url: str, reason: Label) -> StorageError:
    """The refusal of a store only its owner's ``approvals upgrade`` makes usable again."""
    owner = url if url.startswith("sqlite") else _OWNER
    return StorageError("storage.needs_upgrade", url=url, reason=reason, owner=owner)


def permission_refusal(
    url: str, error: BaseException, refusals: tuple[str, ...] = TABLE_RIGHTS
) -> StorageError | None:
    """The refusal of a statement the database refused for want of a right (PostgreSQL's
    ``insufficient_privilege`` whose message begins with one of ``refusals``; not the
    append-only triggers' own refusals), else None: the role lost its rights when the owner
    rebuilt tables, or never had them on tables a newer release made; the owner's
    ``approvals upgrade`` makes and grants them again."""
    original: Any = getattr(error, "orig", None) or error
    if getattr(original, "sqlstate", None) != "42501":
        return None
    diag = getattr(original, "diag", None)
    message = str(getattr(diag, "message_primary", None) or original).strip().splitlines()[0]
    if not message.startswith(refusals):
        return None
    user = sa.make_url(url).username if "://" in url else None
    who = f" (role {user})" if user else ""
    who_ja = f"(ロール {user})" if user else ""
    return needs_upgrade(url, Label(f"{message}{who}", f"{message}{who_ja}"))


def not_owned(connection: Connection, tables: Sequence[str]) -> list[str]:
    """Those of ``tables`` (of the current schema) that the connected PostgreSQL role may not
    drop or alter: it neither owns them nor is a member of their owner (none on SQLite)."""
    if connection.dialect.name != "postgresql" or not tables:
        return []
    query = sa.text(
        "SELECT c.relname FROM pg_catalog.pg_class c"
        " WHERE c.oid = ANY(SELECT to_regclass(t) FROM unnest(CAST(:tables AS text[])) AS t)"
        " AND NOT pg_has_role(current_user, c.relowner, 'USAGE') ORDER BY c.relname"
    )
    return [str(name) for name in connection.execute(query, {"tables": list(tables)}).scalars()]
