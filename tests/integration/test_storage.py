"""The engine on real databases: a SQLite file and PostgreSQL, through one fixture."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import text

from approvals import (
    ApprovalsApplication,
    DefinitionConflict,
    StorageError,
    open_approvals,
)
from approvals.definitions import builtin_workflows_dir, load_directory
from approvals.store import EVENTS_TABLE
from tests.conftest import CHIEF, MANAGER, STAFF, FakeClock, appoint_standard_roster
from tests.scenarios import PATHS, take
from tests.unit.test_cases import file_case


@pytest.fixture
def stored(backend_url: str, clock: FakeClock) -> Iterator[ApprovalsApplication]:
    app = open_approvals(backend_url, clock=clock)
    appoint_standard_roster(app)
    yield app
    app.close()


def test_a_whole_entrustment_is_stored_and_replayed_by_a_new_process(
    stored: ApprovalsApplication, backend_url: str, clock: FakeClock
) -> None:
    ref = file_case(stored, "entrustment").reference
    for move in PATHS["entrustment"]:
        live = take(stored, ref, move)
    reopened = open_approvals(backend_url, clock=clock)
    try:
        replayed = reopened.case(ref)
        assert (replayed.state, replayed.version, replayed.fields) == (
            live.state,
            live.version,
            live.fields,
        )
        assert reopened.history(ref) == stored.history(ref)
        assert reopened.references() == (ref,)
    finally:
        reopened.close()


@pytest.mark.parametrize(
    "statement",
    [
        f"UPDATE {EVENTS_TABLE} SET topic = 'forged'",
        f"DELETE FROM {EVENTS_TABLE}",
        f"DELETE FROM {EVENTS_TABLE} WHERE id = (SELECT max(id) FROM {EVENTS_TABLE})",
    ],
)
def test_the_database_itself_refuses_to_change_or_remove_events(
    stored: ApprovalsApplication, statement: str
) -> None:
    ref = file_case(stored, "purpose").reference
    count = stored.recorder.max_notification_id()
    with (
        pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"),
        stored.engine.begin() as connection,
    ):
        connection.execute(text(statement))
    assert stored.recorder.max_notification_id() == count
    assert stored.case(ref).state == "notified"


@pytest.mark.postgres
def test_postgresql_refuses_to_truncate_the_events(postgres_url: str, clock: FakeClock) -> None:
    app = open_approvals(postgres_url, clock=clock)
    try:
        appoint_standard_roster(app)
        with (
            pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only: TRUNCATE"),
            app.engine.begin() as connection,
        ):
            connection.execute(text(f"TRUNCATE {EVENTS_TABLE}"))
        assert len(app.roster()) == 9
    finally:
        app.close()


def test_opening_twice_keeps_the_schema_and_the_triggers(
    backend_url: str, clock: FakeClock
) -> None:
    for _ in range(2):
        app = open_approvals(backend_url, clock=clock)
        app.close()
    app = open_approvals(backend_url, clock=clock)
    try:
        appoint_standard_roster(app)
        with (
            pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"),
            app.engine.begin() as connection,
        ):
            connection.execute(text(f"DELETE FROM {EVENTS_TABLE}"))
    finally:
        app.close()


def test_a_hosts_engine_is_used_and_left_open(backend_url: str, clock: FakeClock) -> None:
    engine = sqlalchemy.create_engine(backend_url)
    app = open_approvals(engine=engine, clock=clock)
    appoint_standard_roster(app)
    ref = file_case(app, "purpose").reference
    app.close()
    with engine.connect() as connection:
        count = connection.execute(text(f"SELECT count(*) FROM {EVENTS_TABLE}")).scalar_one()
    # Nine roster events, then the reference counter, the case and the definition it runs on.
    assert count == 12
    engine.dispose()
    reopened = open_approvals(backend_url, clock=clock)
    try:
        assert reopened.case(ref).state == "notified"
    finally:
        reopened.close()


def _company_purpose(tmp_path: Path, change: Callable[[str], str] = str) -> Path:
    """A company folder holding the built-in purpose workflow one version up, ``change``d."""
    folder = tmp_path / "company"
    folder.mkdir(exist_ok=True)
    source = (builtin_workflows_dir() / "purpose.toml").read_text(encoding="utf-8")
    version = load_directory()["purpose"].version
    bumped = source.replace(f"version = {version}", f"version = {version + 1}")
    (folder / "purpose.toml").write_text(change(bumped), encoding="utf-8")
    return folder


def test_a_case_keeps_the_definition_version_it_started_with(
    backend_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    app = open_approvals(backend_url, clock=clock)
    appoint_standard_roster(app)
    old = file_case(app, "purpose").reference
    app.close()
    version = load_directory()["purpose"].version

    # The company's next version renames the consultation step.
    folder = _company_purpose(
        tmp_path, lambda text: text.replace('trigger = "consult"', 'trigger = "consult_chief"')
    )
    app = open_approvals(backend_url, clock=clock, workflows=folder)
    try:
        case = app.case(old)
        assert case.workflow_version == version
        assert case.next_steps[0].trigger == "consult"
        assert app.act(old, "consult", actor=MANAGER).state == "consulting"
        assert app.act(old, "approve", actor=CHIEF).workflow_version == version
        new = file_case(app, "purpose")
        assert new.workflow_version == version + 1
        assert "consult_chief" in {s.trigger for s in new.next_steps}
    finally:
        app.close()


def test_a_definition_changed_without_a_new_version_is_refused(
    backend_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    folder = _company_purpose(tmp_path)
    app = open_approvals(backend_url, clock=clock, workflows=folder)
    appoint_standard_roster(app)
    file_case(app, "purpose")
    app.close()
    path = folder / "purpose.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('within = "immediately"',
                                                             "within = { business_days = 9 }"),
                    encoding="utf-8")  # fmt: skip
    app = open_approvals(backend_url, clock=clock, workflows=folder)
    try:
        before = app.recorder.max_notification_id()
        with pytest.raises(DefinitionConflict, match="Raise `version`"):
            file_case(app, "purpose")
        assert app.recorder.max_notification_id() == before
    finally:
        app.close()


def test_an_unreachable_database_is_one_sentence() -> None:
    with pytest.raises(StorageError, match=r"Cannot use the database postgresql\+psycopg://") as e:
        open_approvals("postgresql+psycopg://postgres@127.0.0.1:1/none")
    assert "\n" not in str(e.value)
    with pytest.raises(StorageError, match="not a database URL"):
        open_approvals("no such thing")


def test_a_sqlite_file_where_none_can_be_made_is_one_sentence(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError, match="Cannot use the database sqlite"):
        open_approvals(f"sqlite:///{blocker / 'approvals.db'}")


def test_staff_filing_is_the_first_event_of_a_case(stored: ApprovalsApplication) -> None:
    ref = file_case(stored, "joint_use").reference
    (entry,) = stored.history(ref)
    assert (entry.actor, entry.role, entry.trigger) == (STAFF, "staff", "file")


def test_connections_the_server_dropped_cost_no_command(
    postgres_url: str, clock: FakeClock
) -> None:
    app = open_approvals(postgres_url, clock=clock)
    admin = sqlalchemy.create_engine(postgres_url)
    try:
        appoint_standard_roster(app)
        reference = file_case(app, "purpose").reference
        assert app.inbox(MANAGER)  # the read models' connections are pooled too
        with app.engine.connect() as a, app.engine.connect() as b, app.engine.connect() as c:
            pids = {x.execute(text("SELECT pg_backend_pid()")).scalar_one() for x in (a, b, c)}
        with admin.connect() as connection:  # as a server restart would
            for pid in pids:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert app.act(reference, "consult", actor=MANAGER).state == "consulting"
        assert {item.reference for item in app.inbox(CHIEF)} == {reference}
    finally:
        admin.dispose()
        app.close()
