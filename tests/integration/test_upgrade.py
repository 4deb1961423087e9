"""A store made by release 0.1.0 is upgraded by its owner's `approvals upgrade`, and until then
refused in one sentence, on SQLite and PostgreSQL.

The stores are tests/fixtures/v0.1.0 (0.1.0's demo, with the demo's keys and an auditor's
checkpoint), made by tests/fixtures/make_v010.py with release 0.1.0 itself: each test loads
one into a new SQLite file or a new PostgreSQL database (dropped after the test).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy
from click.testing import CliRunner, Result
from sqlalchemy import make_url

from approvals.cli import cli
from approvals.schema import REVISIONS, SCHEMA_REVISION, VERSION_TABLE
from approvals.store import guard_names
from tests.cli.test_cold_start import loaded_by

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "v0.1.0"
WAITING = "JU-2026-0002"  # the demo's case waiting for the chief
CHIEF = "sato"
REFUSED_010 = "its tables are those of approvals 0.1.0, and this is 0.2.0"
OWNER_RUNS = "upgrade` first."


@dataclass(frozen=True)
class Store:
    """A store 0.1.0 made, loaded for one test."""

    url: str
    backend: str
    keys: Path
    checkpoints: Path

    def as_role(self, role: str) -> str:
        """The store's URL for PostgreSQL ``role`` (no password: the test server trusts)."""
        return make_url(self.url).set(username=role).render_as_string(hide_password=False)


def approvals(*args: str, db: str, user: str | None = None, keys: Path | None = None) -> Result:
    """Run `approvals --db DB [--user USER] [--keys KEYS] ARGS...` in English, hermetically."""
    argv = ["--db", db, "--lang", "en"]
    argv += ["--user", user] if user else []
    argv += ["--keys", str(keys)] if keys else []
    environment: dict[str, str | None] = {k: None for k in os.environ if k.startswith("APPROVALS")}
    return CliRunner().invoke(cli, [*argv, *args], env=environment, prog_name="approvals")


def one_sentence(result: Result, *expected: str) -> str:
    """The refusal of ``result``: exit 1, one line, no traceback, holding ``expected``."""
    said = result.stderr.strip()
    assert result.exit_code == 1, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert len(said.splitlines()) == 1, said
    for text in expected:
        assert text in said, said
    return said


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
    return result.stdout


def snapshot(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of the store at ``url``, read as its owner."""
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            found: dict[str, list[tuple[object, ...]]] = {}
            for name in sqlalchemy.inspect(connection).get_table_names():
                rows = connection.exec_driver_sql(f'SELECT * FROM "{name}"').all()
                found[name] = sorted((tuple(row) for row in rows), key=repr)
            return found
    finally:
        engine.dispose()


def execute(url: str, *statements: str) -> None:
    """Run ``statements`` on the store at ``url``, as the user of ``url``, in one transaction."""
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(sqlalchemy.text(statement))
    finally:
        engine.dispose()


def _load_postgres(server: str) -> Iterator[str]:
    """A new database holding 0.1.0's dump; dropped (with its connections) after the test."""
    import psycopg

    name = f"t_v010_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    url = make_url(server).set(database=name)
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as loading:
        loading.execute((FIXTURES / "postgres.sql").read_text(encoding="utf-8"))  # type: ignore[call-overload]
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


def _old_store(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    keys = tmp_path / "keys"
    shutil.copytree(FIXTURES / backend / "keys", keys)
    for key in keys.glob("*.key"):
        key.chmod(0o600)
    checkpoints = FIXTURES / backend / "checkpoints"
    if backend == "sqlite":
        shutil.copyfile(FIXTURES / "approvals.db", tmp_path / "approvals.db")
        yield Store(f"sqlite:///{tmp_path / 'approvals.db'}", backend, keys, checkpoints)
        return
    for url in _load_postgres(request.getfixturevalue("postgres_server")):
        yield Store(url, backend, keys, checkpoints)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store made by release 0.1.0, with the demo's keys (0600) and the auditor's
    checkpoint: a SQLite file, then a PostgreSQL database."""
    yield from _old_store(request.param, request, tmp_path)


@pytest.fixture
def old_postgres(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A PostgreSQL database made by release 0.1.0 (as ``old_store``)."""
    yield from _old_store("postgres", request, tmp_path)


@pytest.fixture
def app_role(old_postgres: Store) -> Iterator[str]:
    """A PostgreSQL login role granted least privilege as 0.1.0's `init --grant` granted it."""
    role = f"approvals_app_{uuid.uuid4().hex[:8]}"
    engine = sqlalchemy.create_engine(old_postgres.url)
    with engine.begin() as connection:
        read = connection.execute(
            sqlalchemy.text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND (tablename LIKE 'rm\\_%' OR tablename = 'approvals_projections')"
            )
        ).scalars()
        read_tables = ", ".join(read)
        for statement in (
            f"CREATE ROLE {role} LOGIN",
            f"GRANT USAGE ON SCHEMA public TO {role}",
            "GRANT SELECT, INSERT ON approvals_events, approvals_integrity, approvals_signatures,"
            f" approvals_disposals TO {role}",
            f"GRANT SELECT, INSERT, DELETE ON approvals_case_keys TO {role}",
            f"GRANT USAGE ON SEQUENCE public.approvals_events_id_seq TO {role}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON {read_tables} TO {role}",
        ):
            connection.execute(sqlalchemy.text(statement))
    yield role
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(f"DROP OWNED BY {role}"))
        connection.execute(sqlalchemy.text(f"DROP ROLE {role}"))
    engine.dispose()


def test_an_upgraded_0_1_0_store_verifies_decides_and_lists(old_store: Store) -> None:
    url, keys = old_store.url, old_store.keys
    said = ok(approvals("upgrade", db=url))
    assert f"from approvals 0.1.0 to {REVISIONS[SCHEMA_REVISION]}" in said

    verified = approvals(
        "audit", "verify", "--checkpoint", str(old_store.checkpoints),
        "--key", str(FIXTURES / "auditor.pub"), db=url,
    )  # fmt: skip
    assert "OK: every event is what the engine recorded" in ok(verified)

    assert WAITING in ok(approvals("inbox", db=url, user=CHIEF, keys=keys))
    ok(approvals("approve", WAITING, db=url, user=CHIEF, keys=keys))
    inbox = ok(approvals("inbox", db=url, user=CHIEF, keys=keys))
    assert "record_measures" in inbox
    assert "return for revision" not in inbox  # the approval's step is taken
    history = ok(approvals("history", WAITING, db=url, user=CHIEF, keys=keys))
    assert "approve" in history

    # The log's guards came through: the database still refuses to change an event.
    engine = sqlalchemy.create_engine(url)
    try:
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"), engine.begin() as c:
            c.execute(sqlalchemy.text("UPDATE approvals_events SET topic = 'x'"))
    finally:
        engine.dispose()
    # The upgrade is recorded: from which release to which, when, by whom.
    rows = snapshot(url)["approvals_upgrades"]
    assert len(rows) == 1
    _, at, by, _, old, new, old_revision, new_revision, _, _ = rows[0]
    assert (old, new, old_revision, new_revision) == ("0.1.0", "0.2.0", None, SCHEMA_REVISION)
    assert by
    assert at is not None


def test_a_0_1_0_store_is_refused_in_one_sentence_and_left_as_it_was(old_store: Store) -> None:
    url, keys = old_store.url, old_store.keys
    before = snapshot(url)
    for args in (("inbox",), ("approve", WAITING), ("list",), ("projections", "status")):
        one_sentence(approvals(*args, db=url, user=CHIEF, keys=keys), REFUSED_010, OWNER_RUNS)
    one_sentence(approvals("init", db=url), REFUSED_010)
    assert snapshot(url) == before


def test_upgrade_check_says_what_it_would_do_and_writes_nothing(old_store: Store) -> None:
    before = snapshot(old_store.url)
    result = approvals("upgrade", "--check", db=old_store.url)
    assert result.exit_code == 1, result.output
    assert "needs upgrading" in result.stdout
    assert "Its tables go from approvals 0.1.0 to 0.2.0." in result.stdout
    assert snapshot(old_store.url) == before
    ok(approvals("upgrade", db=old_store.url))
    assert "is up to date" in ok(approvals("upgrade", "--check", db=old_store.url))


def test_upgrading_twice_does_nothing_the_second_time_and_says_so(old_store: Store) -> None:
    ok(approvals("upgrade", db=old_store.url))
    before = snapshot(old_store.url)
    said = ok(approvals("upgrade", db=old_store.url))
    assert said.strip() == (
        f"The store {make_url(old_store.url).render_as_string(hide_password=True)} is up to date "
        "for approvals 0.2.0: nothing to upgrade, nothing written."
    )
    assert snapshot(old_store.url) == before


def test_a_store_of_a_newer_release_is_refused_by_every_command_and_by_upgrade(
    old_store: Store,
) -> None:
    url = old_store.url
    ok(approvals("upgrade", db=url))
    execute(url, f"UPDATE {VERSION_TABLE} SET version_num = 'v990_future'")
    before = snapshot(url)
    for args in (("inbox",), ("upgrade",), ("init",), ("audit", "verify")):
        said = one_sentence(
            approvals(*args, db=url, user=CHIEF), "a newer release of approvals than this one"
        )
        assert "v990_future" in said
        assert "no store is ever downgraded" in said
    ja = approvals("--lang", "ja", "inbox", db=url, user=CHIEF)
    assert "新しい approvals" in ja.stderr
    assert snapshot(url) == before


def test_a_read_model_of_another_version_is_rebuilt_by_the_upgrade(old_store: Store) -> None:
    url = old_store.url
    ok(approvals("upgrade", db=url))
    execute(url, "UPDATE approvals_projections SET version = 1 WHERE name = 'inbox'")
    check = approvals("upgrade", "--check", db=url)
    assert "These read models are rebuilt from the log: inbox." in check.stdout
    said = ok(approvals("upgrade", db=url))
    assert re.search(r"Rebuilt from the log \([0-9,]+ events read\): inbox\.", said), said
    assert "0.2.0" in said
    assert WAITING in ok(approvals("inbox", db=url, user=CHIEF))


@pytest.mark.postgres
def test_the_application_role_is_refused_before_the_upgrade_and_works_after(
    old_postgres: Store, app_role: str
) -> None:
    old_store = old_postgres
    as_role, keys = old_store.as_role(app_role), old_store.keys
    before = snapshot(old_store.url)
    for args in (("inbox",), ("approve", WAITING), ("audit", "verify")):
        one_sentence(approvals(*args, db=as_role, user=CHIEF, keys=keys), REFUSED_010, OWNER_RUNS)
    # Only the owner upgrades.
    said = one_sentence(approvals("upgrade", db=as_role), "only the owner of its tables")
    assert f"this is the role {app_role}" in said
    assert snapshot(old_store.url) == before

    done = ok(approvals("upgrade", db=old_store.url))  # no --grant: the role is remembered
    assert f"{app_role} may again read the log and append to it" in done
    assert WAITING in ok(approvals("inbox", db=as_role, user=CHIEF, keys=keys))
    ok(approvals("approve", WAITING, db=as_role, user=CHIEF, keys=keys))
    assert "record_measures" in ok(approvals("inbox", db=as_role, user=CHIEF, keys=keys))
    # Still least privilege: the role may append, not change.
    with pytest.raises(sqlalchemy.exc.ProgrammingError, match="permission denied"):
        execute(as_role, "UPDATE approvals_upgrades SET upgraded_by = 'x'")


@pytest.mark.postgres
def test_a_read_model_the_role_may_not_rebuild_is_one_sentence_until_the_owner_upgrades(
    old_postgres: Store, app_role: str
) -> None:
    old_store = old_postgres
    as_role = old_store.as_role(app_role)
    ok(approvals("upgrade", db=old_store.url))
    execute(old_store.url, "UPDATE approvals_projections SET version = 1 WHERE name = 'inbox'")
    before = snapshot(old_store.url)
    said = one_sentence(
        approvals("inbox", db=as_role, user=CHIEF),
        "the read model inbox is stored at version 1 and this release writes version",
        "only the owner of its tables may rebuild",
        OWNER_RUNS,
    )
    assert "must be owner" not in said
    assert snapshot(old_store.url) == before

    done = ok(approvals("upgrade", db=old_store.url))
    assert re.search(r"Rebuilt from the log \([0-9,]+ events read\): inbox\.", done), done
    assert f"{app_role} may again read the log" in done
    assert WAITING in ok(approvals("inbox", db=as_role, user=CHIEF))


@pytest.mark.postgres
def test_tables_rebuilt_without_granting_again_are_one_sentence_until_the_owner_upgrades(
    old_postgres: Store, app_role: str
) -> None:
    old_store = old_postgres
    as_role = old_store.as_role(app_role)
    ok(approvals("upgrade", db=old_store.url))
    ok(approvals("projections", "rebuild", "inbox", db=old_store.url, user=CHIEF))
    before = snapshot(old_store.url)
    said = one_sentence(
        approvals("inbox", db=as_role, user=CHIEF), "permission denied for table rm_inbox"
    )
    assert f"(role {app_role})" in said
    assert OWNER_RUNS in said
    ja = approvals("--lang", "ja", "inbox", db=as_role, user=CHIEF)
    assert "所有者が `approvals --db 所有者のURL upgrade`" in ja.stderr
    assert snapshot(old_store.url) == before

    check = approvals("upgrade", "--check", db=old_store.url)
    assert f"{app_role} get their rights again." in check.stdout
    assert f"{app_role} may again read the log" in ok(approvals("upgrade", db=old_store.url))
    assert WAITING in ok(approvals("inbox", db=as_role, user=CHIEF))
    assert "is up to date" in ok(approvals("upgrade", db=old_store.url))


@pytest.mark.postgres
def test_a_read_model_table_the_role_may_not_create_is_one_sentence_until_the_owner_upgrades(
    old_postgres: Store, app_role: str
) -> None:
    """As when a release adds a read model: only the owner may create its table."""
    as_role = old_postgres.as_role(app_role)
    ok(approvals("upgrade", db=old_postgres.url))
    execute(old_postgres.url, "DROP TABLE rm_inbox")
    before = snapshot(old_postgres.url)
    said = one_sentence(approvals("inbox", db=as_role, user=CHIEF), "permission denied for schema")
    assert OWNER_RUNS in said
    assert snapshot(old_postgres.url) == before

    done = ok(approvals("upgrade", db=old_postgres.url))
    assert re.search(r"Rebuilt from the log \([0-9,]+ events read\): inbox\.", done), done
    assert WAITING in ok(approvals("inbox", db=as_role, user=CHIEF))


def test_an_upgraded_store_has_the_tables_and_guards_of_a_new_one(
    old_store: Store, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    ok(approvals("upgrade", db=old_store.url))
    if old_store.backend == "sqlite":
        new = f"sqlite:///{tmp_path / 'new.db'}"
    else:
        new = request.getfixturevalue("postgres_url")  # a new schema on the same server
    ok(approvals("init", db=new))
    assert _shape(old_store.url) == _shape(new)


def _shape(url: str) -> dict[str, object]:
    """The approvals tables of a store (columns, their types and nullability), its triggers
    and its revision."""
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            inspector = sqlalchemy.inspect(connection)
            tables = {
                name: sorted(
                    (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)
                )
                for name in inspector.get_table_names()
                if name.startswith("approvals_")
            }
            if engine.dialect.name == "sqlite":
                query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
            else:
                query = (
                    "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                    " WHERE c.relnamespace = CAST(current_schema() AS regnamespace)"
                    " AND NOT tgisinternal"
                )
            triggers = sorted(connection.execute(sqlalchemy.text(query)).scalars())
            revision = connection.execute(
                sqlalchemy.text(f"SELECT version_num FROM {VERSION_TABLE}")
            ).scalar_one()
    finally:
        engine.dispose()
    assert set(guard_names(engine.dialect.name)) <= set(triggers)
    return {"tables": tables, "triggers": triggers, "revision": revision}


def test_the_revisions_shipped_are_those_the_schema_names() -> None:
    from approvals.upgrade import _scripts

    script = _scripts()
    shipped = [r.revision for r in reversed(list(script.walk_revisions()))]
    assert shipped == list(REVISIONS)
    assert script.get_current_head() == SCHEMA_REVISION


def test_reading_an_upgraded_store_loads_no_migration_tool(tmp_path: Path) -> None:
    store = tmp_path / "approvals.db"
    shutil.copyfile(FIXTURES / "approvals.db", store)
    ok(approvals("upgrade", db=str(store)))
    for args in (("inbox",), ("show", WAITING)):  # the quick path, the full path
        modules = loaded_by("--db", str(store), "--user", CHIEF, *args)
        assert "approvals.revisions" in modules  # the check ran
        assert not [m for m in modules if m.split(".")[0] == "alembic"], args
        assert "approvals.upgrade" not in modules
