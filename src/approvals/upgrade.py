"""``approvals upgrade``: bring a store to this release, on its owner's connection.

Three things, each only where needed, in this order:

1. the schema: a store made by 0.1.0 (no version table) is stamped with the baseline
   revision, then every revision up to this release's runs (Alembic, :mod:`approvals.
   migrations`), the append-only triggers are made again where missing and checked, and one
   row of ``approvals_upgrades`` records it (when, by whom, from which release and revision to
   which, what is rebuilt and granted) — all in one transaction, under the schema's lock;
2. the read models stored under another version than this release's are dropped, made again
   and filled from the log (as ``projections rebuild``);
3. the PostgreSQL roles granted least privilege before (those that may append to the log,
   read from the catalog) and those given with ``--grant`` get their rights again, on the
   tables rebuilt too.

Nothing to do is said and changes nothing.  A store of a newer release is refused: a store is
never downgraded.  This module is the one that imports Alembic (every other command only reads
the revision, see :mod:`approvals.schema`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from approvals.audit.keys import CASE_KEYS_TABLE, DISPOSALS_TABLE
from approvals.audit.ledger import INTEGRITY_TABLE
from approvals.audit.signing import SIGNATURES_TABLE
from approvals.domain.clocks import Holiday
from approvals.domain.roster import PERSON, check_name
from approvals.errors import ConcurrencyConflict, Label, StorageError
from approvals.factory import open_approvals
from approvals.projections import all_models
from approvals.schema import (
    BASELINE,
    SCHEMA_REVISION,
    UPGRADES_TABLE,
    VERSION_TABLE,
    Stamp,
    not_owned,
    release,
    stamp_of,
    upgrades_table,
)
from approvals.store import (
    EVENTS_TABLE,
    create_engine,
    ensure_guards,
    grant_least_privilege,
    granted_roles,
    lacking_privileges,
    lock_schema,
    missing_guards,
    reachable,
    shown_url,
)

__all__ = ["Upgrade", "plan_upgrade", "upgrade_store"]

TRACKING_TABLE = "approvals_projections"
_V010_TABLES = (EVENTS_TABLE, INTEGRITY_TABLE, SIGNATURES_TABLE, CASE_KEYS_TABLE, DISPOSALS_TABLE)
"""The tables every store 0.1.0 made has."""


@dataclass(frozen=True, slots=True)
class Upgrade:
    """What an upgrade of one store does (or did)."""

    url: str
    from_release: str
    to_release: str
    from_revision: str | None
    """None: a store made by 0.1.0, which has no version table."""
    to_revision: str
    revisions: tuple[str, ...]
    """The schema revisions to run, oldest first."""
    outdated: tuple[tuple[str, int, int], ...]
    """The read models to rebuild, of another version or missing a table: (name, version
    stored, version of this release)."""
    roles: tuple[str, ...]
    """The PostgreSQL roles granted least privilege again (those granted before, and given)."""
    lacking: tuple[str, ...]
    """Of ``roles``, those missing a right now (given for the first time, or on a table
    rebuilt since)."""
    guards: tuple[str, ...]
    """The append-only triggers missing now."""
    events: int = 0
    """The events read filling the rebuilt read models (once done)."""

    @property
    def needed(self) -> bool:
        """Whether anything is to be done."""
        moved = self.from_revision != self.to_revision or self.from_release != self.to_release
        return moved or bool(self.outdated or self.lacking or self.guards)


def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(Path(__file__).resolve().parent / "migrations"))


def _pending(script: ScriptDirectory, revision: str | None) -> list[str]:
    """The revisions after ``revision`` (after the baseline when None), oldest first."""
    found = script.iterate_revisions("head", revision or BASELINE)
    return [r.revision for r in reversed(list(found)) if r.revision != (revision or BASELINE)]


def _read_tables() -> list[str]:
    """The tables of the read models and their tracking table (a role's read-write tables)."""
    return [TRACKING_TABLE] + [t.name for m in all_models() for t in m.tables]


def _refuse_roles(connection: Connection, url: str, roles: Sequence[str]) -> None:
    """Refuse ``--grant`` on SQLite, and a role that does not exist, before anything is done."""
    if not roles:
        return
    if connection.dialect.name != "postgresql":
        raise StorageError(
            url=url,
            reason=Label(
                "roles and grants are for PostgreSQL; a SQLite file is protected by the "
                "permissions of the file itself",
                "ロールと権限付与は PostgreSQL のためのものです。SQLite はファイル自体の権限で"
                "保護してください",
            ),
        )
    for role in roles:
        found = connection.execute(
            sa.text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
        ).first()
        if found is None:
            raise StorageError(
                url=url,
                reason=Label(
                    f'the role "{role}" does not exist; create it first (CREATE ROLE {role} LOGIN)',
                    f"ロール「{role}」がありません。先に作成してください(CREATE ROLE {role} LOGIN)",
                ),
            )


def _refuse_store(connection: Connection, url: str, stamp: Stamp) -> None:
    """Refuse what no upgrade may touch: no store, a newer release's, a role not its owner's,
    a store without the tables 0.1.0 made."""
    if not stamp.present or not stamp.known:
        refused = stamp.refusal(url)
        if refused is not None:
            raise refused
    if not_owned(connection, [EVENTS_TABLE]):
        user = connection.execute(sa.text("SELECT current_user")).scalar_one()
        raise StorageError(
            url=url,
            reason=Label(
                f"only the owner of its tables may upgrade it, and this is the role {user}; give "
                "--db the owner's URL",
                f"更新できるのはテーブルの所有者だけで、このロールは {user} です。--db に所有者の "
                "URL を指定してください",
            ),
        )
    if stamp.revision is None:
        inspector = sa.inspect(connection)
        missing = [t for t in _V010_TABLES if not inspector.has_table(t)]
        if missing:
            shown = ", ".join(missing)
            raise StorageError(
                url=url,
                reason=Label(
                    f"it lacks tables release 0.1.0 makes ({shown}); open it once with approvals "
                    "0.1.0 (`approvals init`), then upgrade it",
                    f"リリース 0.1.0 が作るテーブル({shown})がありません。一度 approvals 0.1.0 の "
                    "`approvals init` で開いてから更新してください",
                ),
            )


def _last_release(connection: Connection, stamp: Stamp) -> str:
    """The release the store was last upgraded to, else the one its schema is of."""
    if sa.inspect(connection).has_table(UPGRADES_TABLE):
        table = upgrades_table()
        found = connection.execute(
            sa.select(table.c.to_release).order_by(table.c.id.desc()).limit(1)
        ).scalar_one_or_none()
        if found is not None:
            return str(found)
    return stamp.made_by


def _outdated(connection: Connection) -> tuple[tuple[str, int, int], ...]:
    """The read models stored under another version than this release's, or missing a table
    (which a role that may not create tables cannot make)."""
    inspector = sa.inspect(connection)
    if not inspector.has_table(TRACKING_TABLE):
        return ()
    tracking = sa.table(TRACKING_TABLE, sa.column("name"), sa.column("version"))
    stored = {
        str(name): int(version)
        for name, version in connection.execute(sa.select(tracking.c.name, tracking.c.version))
    }
    present = set(inspector.get_table_names())
    return tuple(
        (m.name, stored[m.name], m.version)
        for m in all_models()
        if m.name in stored
        and (stored[m.name] != m.version or any(t.name not in present for t in m.tables))
    )


def _plan(connection: Connection, url: str, given: Sequence[str]) -> Upgrade:
    stamp = stamp_of(connection)
    _refuse_store(connection, url, stamp)
    _refuse_roles(connection, url, given)
    before = granted_roles(connection)
    roles = tuple(sorted({*before, *given}))
    lacking = {*lacking_privileges(connection, roles, _read_tables()), *(set(given) - set(before))}
    return Upgrade(
        url=url,
        from_release=_last_release(connection, stamp),
        to_release=release(),
        from_revision=stamp.revision,
        to_revision=SCHEMA_REVISION,
        revisions=tuple(_pending(_scripts(), stamp.revision)),
        outdated=_outdated(connection),
        roles=roles,
        lacking=tuple(sorted(lacking)),
        guards=tuple(missing_guards(connection)) if stamp.current else (),
    )


def plan_upgrade(engine: Engine, roles: Sequence[str] = ()) -> Upgrade:
    """Return what upgrading the store of ``engine`` would do, granting also ``roles``;
    refuse (:class:`StorageError`) a store no upgrade may touch.  Nothing is written."""
    url = shown_url(engine.url)
    with reachable(engine), engine.connect() as connection:
        return _plan(connection, url, roles)


def _migrate(engine: Engine, plan: Upgrade, actor: str) -> None:
    """Run the schema's revisions, make the triggers again and record the upgrade: one
    transaction, under the schema's lock; refused if another upgrade moved the schema since
    ``plan`` was read."""
    script = _scripts()
    with reachable(engine), engine.begin() as connection:
        lock_schema(connection)
        if stamp_of(connection).revision != plan.from_revision:
            raise ConcurrencyConflict(what=Label("The store's schema", "保存先のスキーマ"))
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        if plan.from_revision is None:
            context.stamp(script, BASELINE)  # a 0.1.0 store: its tables are the baseline's
        with Operations.context(context):
            for revision in plan.revisions:
                script.get_revision(revision).module.upgrade()
                context.stamp(script, revision)
        ensure_guards(connection)
        missing = missing_guards(connection)
        if missing:  # a revision that dropped a guard this release cannot make again
            raise StorageError(
                url=plan.url,
                reason=Label(
                    f"the append-only triggers {', '.join(missing)} are missing after the "
                    "upgrade, which was undone",
                    f"更新後に追記専用トリガー {', '.join(missing)} がないため、"
                    "更新を取り消しました",
                ),
            )
        database_user = (
            connection.execute(sa.text("SELECT current_user")).scalar_one()
            if connection.dialect.name == "postgresql"
            else None
        )
        connection.execute(
            sa.insert(upgrades_table()).values(
                upgraded_at=datetime.now(UTC), upgraded_by=actor, database_user=database_user,
                from_release=plan.from_release, to_release=plan.to_release,
                from_revision=plan.from_revision, to_revision=plan.to_revision,
                rebuilt=" ".join(name for name, _, _ in plan.outdated),
                granted=" ".join(plan.roles),
            )
        )  # fmt: skip


def upgrade_store(
    url: str,
    *,
    actor: str,
    roles: Sequence[str] = (),
    holiday: Holiday | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Upgrade:
    """Upgrade the store at ``url`` (its owner's URL) to this release, granting also
    ``roles``; ``actor`` is recorded as who ran it.  Return what was done (``needed`` is False
    when nothing was to do, and nothing was written)."""
    check_name(actor, PERSON)  # recorded: a name as the roster takes it, refused before anything
    engine = create_engine(url, create=False)
    try:
        plan = plan_upgrade(engine, roles)
        if not plan.needed:
            return plan
        _migrate(engine, plan, actor)
        app = open_approvals(url, create=False, holiday=holiday)
        try:
            projector = app.registers().projector
            projector.ensure()  # the owner drops the models of another version
            rebuilt = [name for name, _, _ in plan.outdated]
            events = projector.rebuild(rebuilt, progress=progress) if rebuilt else 0
        finally:
            app.close()
        read_tables = _read_tables()
        for role in plan.roles:
            grant_least_privilege(engine, role, read_tables)
    finally:
        engine.dispose()
    return replace(plan, events=events)
