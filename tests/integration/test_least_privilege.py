"""A PostgreSQL role that may only read the log and append to it runs every command; the
database refuses it everything else, triggers or not."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy
from click.testing import CliRunner
from sqlalchemy import make_url

from approvals import StorageError, open_approvals
from approvals.calendar import JapaneseCalendar
from approvals.cli import cli
from tests.conftest import CHIEF, MANAGER, FakeClock, appoint_standard_roster
from tests.unit.test_cases import file_case


def init(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--db", url, "--lang", "en", "init", *args])
    return result.exit_code, result.output


@pytest.fixture
def role(backend_url: str) -> Iterator[str]:
    """A new login role (PostgreSQL), dropped with everything granted to it after the test."""
    name = f"approvals_app_{uuid.uuid4().hex[:8]}"
    if not backend_url.startswith("postgresql"):
        yield name
        return
    admin = sqlalchemy.create_engine(backend_url)
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f"CREATE ROLE {name} LOGIN"))
    yield name
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f"DROP OWNED BY {name}"))
        connection.execute(sqlalchemy.text(f"DROP ROLE {name}"))
    admin.dispose()


def test_a_least_privilege_role_runs_approvals_and_can_change_nothing(
    backend_url: str, role: str, clock: FakeClock
) -> None:
    if backend_url.startswith("sqlite"):
        code, output = init(backend_url, "--grant", role)
        assert code == 1
        assert "roles and grants are for PostgreSQL" in output
        assert "Traceback" not in output
        return
    code, output = init(backend_url, "--grant", role)
    assert code == 0, output
    assert f"{role} may now read the log and append to it, and nothing more." in output

    as_role = make_url(backend_url).set(username=role).render_as_string(hide_password=False)
    app = open_approvals(as_role, clock=clock, create=False)
    try:
        appoint_standard_roster(app)
        reference = file_case(app, "purpose").reference
        app.act(reference, "consult", actor=MANAGER)
        assert {item.reference for item in app.inbox(CHIEF)} == {reference}
        app.act(reference, "approve", actor=CHIEF)
        assert app.registers().cases()[0].state == "approved"
    finally:
        app.close()
    # Another calendar: the read models holding due dates are emptied and filled again, which
    # the role may do without dropping a table.
    company = JapaneseCalendar.with_company_days(closed_every_year=[(4, 2)])
    app = open_approvals(as_role, clock=clock, create=False, holiday=company)
    try:
        assert {item.reference for item in app.inbox(MANAGER)} == set()
        assert app.registers().cases()[0].state == "approved"
    finally:
        app.close()

    engine = sqlalchemy.create_engine(as_role)
    refused = {
        "UPDATE approvals_events SET topic = 'x'": "permission denied",
        "DELETE FROM approvals_integrity": "permission denied",
        "TRUNCATE approvals_events": "permission denied",
        "UPDATE approvals_case_keys SET originator_id = 'x'": "permission denied",
        "ALTER TABLE approvals_events DISABLE TRIGGER ALL": "must be owner",
        "DROP TRIGGER approvals_events_append_only ON approvals_events": "must be owner",
        "DROP TABLE approvals_integrity": "must be owner",
    }
    try:
        for statement, reason in refused.items():
            with (
                pytest.raises(sqlalchemy.exc.ProgrammingError, match=reason),
                engine.begin() as connection,
            ):
                connection.execute(sqlalchemy.text(statement))
    finally:
        engine.dispose()
    owner = open_approvals(backend_url, create=False)
    try:
        assert [entry.trigger for entry in owner.history(reference)] == [
            "file",
            "consult",
            "approve",
        ]
    finally:
        owner.close()


def test_granting_to_a_role_that_does_not_exist_is_one_sentence(postgres_url: str) -> None:
    code, output = init(postgres_url, "--grant", "nobody_here")
    assert code == 1
    assert 'the role "nobody_here" does not exist; create it first' in output
    assert "Traceback" not in output


@pytest.mark.postgres
def test_a_role_that_may_not_create_tables_is_told_so_in_one_sentence(postgres_url: str) -> None:
    role = f"approvals_reader_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(postgres_url)
    with admin.begin() as connection:
        schema = connection.execute(sqlalchemy.text("SELECT current_schema()")).scalar_one()
        connection.execute(sqlalchemy.text(f"CREATE ROLE {role} LOGIN"))
        connection.execute(sqlalchemy.text(f"GRANT USAGE ON SCHEMA {schema} TO {role}"))
    as_role = make_url(postgres_url).set(username=role).render_as_string(hide_password=False)
    try:
        with pytest.raises(StorageError, match="permission denied"):
            open_approvals(as_role, create=True)
    finally:
        with admin.begin() as connection:
            connection.execute(sqlalchemy.text(f"DROP OWNED BY {role}"))
            connection.execute(sqlalchemy.text(f"DROP ROLE {role}"))
        admin.dispose()


@pytest.mark.postgres
def test_init_in_a_schema_that_does_not_exist_is_one_sentence(postgres_server: str) -> None:
    url = f"{postgres_server}?options=-csearch_path%3Dno_such_schema_{uuid.uuid4().hex[:8]}"
    code, output = init(url)
    assert code == 1
    assert "Traceback" not in output
    assert "no schema has been selected to create in" in output
    assert len(output.strip().splitlines()) == 1
