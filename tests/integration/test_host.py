"""A host's own Engine and transaction: used as approvals uses its own, one unit with the host.

The host is an intranet backend with a table of its own (``requests``); it opens approvals on
its Engine and, when it wants its row and an approval to stand or fall together, works inside
``app.joined(connection)``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, insert, select
from sqlalchemy.pool import StaticPool

from approvals import ApprovalsApplication, ConcurrencyConflict, StorageError, open_approvals
from approvals.audit.service import verify_with_keys
from tests.conftest import CHIEF, MANAGER, STAFF, FakeClock, appoint_standard_roster
from tests.integration.test_concurrency import RacingClock
from tests.unit.test_cases import file_case

requests = Table(
    "host_requests",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("reference", String(32), nullable=False),
)


@pytest.fixture
def host_engine(backend_url: str) -> Iterator[Engine]:
    """The host's own Engine, made with plain SQLAlchemy, with a table of the host's."""
    engine = sqlalchemy.create_engine(backend_url.replace("postgresql://", "postgresql+psycopg://"))
    requests.create(engine, checkfirst=True)
    yield engine
    engine.dispose()


@pytest.fixture
def host_app(host_engine: Engine) -> Iterator[ApprovalsApplication]:
    app = open_approvals(engine=host_engine)
    appoint_standard_roster(app)
    yield app
    app.close()


def _host_rows(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(select(requests.c.reference)).scalars())


def _log_is_sound(engine: Engine) -> None:
    """A fresh application reads every case back and the log verifies."""
    fresh = open_approvals(engine=engine)
    try:
        for reference in fresh.references():
            assert fresh.history(reference)
        report = verify_with_keys(fresh, (), ())
        assert report.ok, [str(f.message) for f in report.findings]
    finally:
        fresh.close()


def test_a_host_sqlite_engine_gets_wal_full_sync_and_the_busy_timeout(tmp_path: Path) -> None:
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'host.db'}")
    with engine.connect() as before:  # a connection the host's pool made before approvals
        before.exec_driver_sql("SELECT 1")
    app = open_approvals(engine=engine)
    try:
        with engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA synchronous").scalar() == 2  # FULL
            assert pragma("PRAGMA busy_timeout").scalar() == 30_000
    finally:
        app.close()
        engine.dispose()


def test_a_filing_through_a_host_sqlite_engine_waits_for_the_host_writer(tmp_path: Path) -> None:
    # The host's driver would give up after 0.1 s; approvals waits for the lock to be free.
    engine = sqlalchemy.create_engine(
        f"sqlite:///{tmp_path / 'host.db'}", connect_args={"timeout": 0.1}
    )
    requests.create(engine)
    app = open_approvals(engine=engine)
    try:
        appoint_standard_roster(app)
        holding = threading.Event()
        release = threading.Event()

        def host_writer() -> None:  # another thread of the host, in a long write
            with engine.begin() as connection:
                connection.execute(insert(requests).values(reference="held"))
                holding.set()
                release.wait(timeout=120)

        writer = threading.Thread(target=host_writer)
        writer.start()
        assert holding.wait(timeout=120)
        threading.Timer(0.5, release.set).start()
        started = time.monotonic()
        reference = file_case(app, "purpose").reference
        assert time.monotonic() - started >= 0.3  # it did wait for the host's writer
        writer.join(timeout=120)
        assert _host_rows(engine) == ["held"]
        assert app.case(reference).state == "notified"
    finally:
        app.close()
        engine.dispose()


def test_the_host_row_and_the_filing_commit_together(
    host_engine: Engine, host_app: ApprovalsApplication
) -> None:
    with host_engine.begin() as connection, host_app.joined(connection):
        case = file_case(host_app, "purpose")
        host_app.act(case.reference, "consult", actor=MANAGER)  # sees the unit's own filing
        connection.execute(insert(requests).values(reference=case.reference))
    assert _host_rows(host_engine) == [case.reference]
    assert host_app.case(case.reference).state == "consulting"
    host_app.act(case.reference, "approve", actor=CHIEF)
    _log_is_sound(host_engine)


def test_a_host_rollback_takes_the_filing_and_its_key_with_it(
    host_engine: Engine, host_app: ApprovalsApplication
) -> None:
    kept = file_case(host_app, "purpose").reference
    with (  # noqa: PT012
        pytest.raises(RuntimeError, match="host failed"),
        host_engine.begin() as connection,
        host_app.joined(connection),
    ):
        undone = file_case(host_app, "purpose").reference
        host_app.act(undone, "consult", actor=MANAGER)
        connection.execute(insert(requests).values(reference=undone))
        raise RuntimeError("host failed after the filing")
    assert _host_rows(host_engine) == []
    assert host_app.references() == (kept,)
    # The number, the case and its key went back: the next filing takes the same number,
    # under a key of its own, and reads back in a fresh application.
    again = file_case(host_app, "purpose").reference
    assert again == undone
    assert [e.trigger for e in host_app.history(again)] == ["file"]
    _log_is_sound(host_engine)


def test_a_refusal_inside_the_unit_leaves_the_host_transaction_usable(
    host_engine: Engine, host_app: ApprovalsApplication
) -> None:
    with host_engine.begin() as connection, host_app.joined(connection):
        case = file_case(host_app, "purpose")
        with pytest.raises(Exception, match="approve"):
            host_app.act(case.reference, "approve", actor=STAFF)
        connection.execute(insert(requests).values(reference=case.reference))
    assert _host_rows(host_engine) == [case.reference]
    _log_is_sound(host_engine)


@pytest.mark.postgres
def test_a_lost_race_inside_a_unit_is_retried_in_a_savepoint(postgres_url: str) -> None:
    engine = sqlalchemy.create_engine(postgres_url)
    requests.create(engine)
    app = open_approvals(engine=engine)
    try:
        appoint_standard_roster(app)
        second: list[str] = []
        failed: list[BaseException] = []
        first_connection = engine.connect()
        transaction = first_connection.begin()
        with app.joined(first_connection):
            first = file_case(app, "purpose").reference  # holds the writers' lock till commit

        def other_host_thread() -> None:
            try:
                with engine.begin() as connection, app.joined(connection):
                    reference = file_case(app, "purpose").reference
                    connection.execute(insert(requests).values(reference=reference))
                    second.append(reference)
            except Exception as error:  # noqa: BLE001 - the test fails with it below
                failed.append(error)

        thread = threading.Thread(target=other_host_thread)
        thread.start()
        _wait_for_a_lock_waiter(engine)  # it read the same counter and waits to write
        first_connection.execute(insert(requests).values(reference=first))
        transaction.commit()
        first_connection.close()
        thread.join(timeout=120)
        assert not failed, failed
        assert sorted(_host_rows(engine)) == sorted([first, *second])
        assert second != [first]
        assert sorted(app.references()) == sorted([first, *second])
    finally:
        app.close()
    _log_is_sound(engine)
    engine.dispose()


def _wait_for_a_lock_waiter(engine: Engine) -> None:
    query = sqlalchemy.text("SELECT count(*) FROM pg_locks WHERE NOT granted")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            if connection.execute(query).scalar():
                return
        time.sleep(0.05)
    pytest.fail("the second filer never waited for the first one's lock")


def test_only_a_connection_of_the_application_engine_may_be_joined(
    host_app: ApprovalsApplication, tmp_path: Path
) -> None:
    other = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'other.db'}")
    with other.connect() as connection, pytest.raises(ValueError, match="Engine it was opened"):  # noqa: SIM117
        with host_app.joined(connection):
            pass
    other.dispose()


def test_a_decision_lost_inside_a_unit_undoes_only_its_own_part(
    host_engine: Engine, clock: FakeClock
) -> None:
    racing = RacingClock(clock)
    app = open_approvals(engine=host_engine, clock=racing)
    other = open_approvals(engine=host_engine, clock=clock)
    try:
        appoint_standard_roster(app)
        reference = file_case(app, "purpose").reference
        app.act(reference, "consult", actor=MANAGER)
        with host_engine.begin() as connection, app.joined(connection):
            # Another process decides between this unit's read of the case and its write.
            racing.interleave = lambda: other.act(reference, "reject", actor=CHIEF, comment="No")
            with pytest.raises(ConcurrencyConflict):
                app.act(reference, "approve", actor=CHIEF)
            connection.execute(insert(requests).values(reference=reference))  # still usable
        assert _host_rows(host_engine) == [reference]
        assert [e.trigger for e in app.history(reference)] == ["file", "consult", "reject"]
    finally:
        app.close()
        other.close()
    _log_is_sound(host_engine)


def test_a_host_in_memory_engine_keeps_the_host_tables(workflows: dict[str, object]) -> None:
    engine = sqlalchemy.create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    requests.create(engine)
    with engine.begin() as connection:
        connection.execute(insert(requests).values(reference="before approvals"))
    app = open_approvals(engine=engine)
    try:
        appoint_standard_roster(app)
        reference = file_case(app, "purpose").reference
        assert _host_rows(engine) == ["before approvals"]  # the same database, not a new one
        assert app.case(reference).state == "notified"
    finally:
        app.close()
        engine.dispose()


def _ledger_refuses_second_events(engine: Engine) -> None:
    """Make the ledger refuse every row of a case's second event, as a failure half-way
    through a write would: the event row is written first, its ledger row after it."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql(
                "CREATE TRIGGER fail_second BEFORE INSERT ON approvals_integrity "
                "WHEN NEW.originator_version = 2 BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
        else:
            connection.exec_driver_sql(
                "CREATE FUNCTION fail_second() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.originator_version = 2 THEN RAISE EXCEPTION 'disk full'; END IF; "
                "RETURN NEW; END $$"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER fail_second BEFORE INSERT ON approvals_integrity "
                "FOR EACH ROW EXECUTE FUNCTION fail_second()"
            )


@pytest.mark.parametrize("isolation", ["AUTOCOMMIT", None])
def test_an_event_and_its_ledger_row_stand_or_fall_together_whatever_the_host_isolation(
    backend_url: str, isolation: str | None
) -> None:
    options = {"isolation_level": isolation} if isolation else {}
    engine = sqlalchemy.create_engine(backend_url, **options)
    app = open_approvals(engine=engine)
    try:
        appoint_standard_roster(app)
        reference = file_case(app, "purpose").reference
        _ledger_refuses_second_events(engine)
        # (SQLite reports a trigger's refusal as a constraint, hence a conflict)
        with pytest.raises((StorageError, ConcurrencyConflict)):
            app.act(reference, "consult", actor=MANAGER)
    finally:
        app.close()
    _log_is_sound(engine)  # no event without its ledger row
    fresh = open_approvals(engine=engine)
    try:
        assert [e.trigger for e in fresh.history(reference)] == ["file"]
    finally:
        fresh.close()
        engine.dispose()


def test_a_connection_outside_a_transaction_or_in_autocommit_is_not_joined(
    host_engine: Engine, host_app: ApprovalsApplication
) -> None:
    with host_engine.connect() as connection:
        with pytest.raises(ValueError, match="transaction the host has begun"):  # noqa: SIM117
            with host_app.joined(connection):
                pass
        connection.execution_options(isolation_level="AUTOCOMMIT")
        with connection.begin(), pytest.raises(ValueError, match="not AUTOCOMMIT"):  # noqa: SIM117
            with host_app.joined(connection):
                pass
    assert host_app.references() == ()


def test_the_registers_read_inside_a_hosts_unit_never_wait_on_the_units_own_lock(
    host_engine: Engine, host_app: ApprovalsApplication
) -> None:
    """On SQLite the unit holds the only write lock, so the read models cannot catch up inside
    it: current, they answer at once; behind, they refuse in one sentence (the unit's rows roll
    back with the host's) instead of waiting on the lock the same thread holds.  On PostgreSQL
    they catch up on committed events as anywhere else."""
    file_case(host_app, "purpose")  # committed; the read models have not taken it in yet
    sqlite = host_engine.dialect.name == "sqlite"
    began = time.monotonic()
    if sqlite:

        def read_in_a_unit() -> None:
            with host_engine.begin() as connection, host_app.joined(connection):
                connection.execute(insert(requests).values(reference="R-1"))
                host_app.registers().cases()

        with pytest.raises(StorageError) as caught:
            read_in_a_unit()
        assert "registers().refresh()" in str(caught.value)
        assert "トランザクションを始める前に" in caught.value.render("ja")
        assert _host_rows(host_engine) == []
        host_app.registers().refresh()
    # A generous bound: the busy timeout this replaced waited 30 s before failing.
    assert time.monotonic() - began < 20
    with host_engine.begin() as connection, host_app.joined(connection):
        connection.execute(insert(requests).values(reference="R-2"))
        assert len(host_app.registers().cases()) == 1
        file_case(host_app, "purpose")
    assert _host_rows(host_engine) == ["R-2"]
    assert len(host_app.registers().cases()) == 2
    _log_is_sound(host_engine)
