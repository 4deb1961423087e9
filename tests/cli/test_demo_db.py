"""`approvals --db URL demo` runs the demo in that store, SQLite or PostgreSQL, and refuses a
store that holds events already with one sentence, writing nothing; without --db the demo keeps
to ./approvals-demo.db. The sample people's keys go to ./approvals-demo.keys either way."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import sqlalchemy
from click.testing import CliRunner, Result

from approvals.audit.signing import key_file
from approvals.cli import cli
from approvals.demo import CHIEF
from approvals.factory import open_approvals
from approvals.store import EVENTS_TABLE
from tests.cli.conftest import HERMETIC_ENV


def demo(*args: str, env: dict[str, str | None] | None = None) -> Result:
    """Run ``approvals ARGS demo`` in-process, with no APPROVALS_* setting from the shell."""
    environment = {**HERMETIC_ENV, **(env or {})}
    return CliRunner().invoke(cli, [*args, "demo"], env=environment, prog_name="approvals")


def describe(result: Result) -> str:
    """What a run printed, for an assertion's message."""
    return f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def events(url: str) -> int:
    """How many events the store at ``url`` holds."""
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            table = sqlalchemy.table(EVENTS_TABLE)
            query = sqlalchemy.select(sqlalchemy.func.count()).select_from(table)
            return int(connection.execute(query).scalar_one())
    finally:
        engine.dispose()


def cases(url: str) -> list[str]:
    """The references of the cases in the store at ``url``."""
    app = open_approvals(url, create=False)
    try:
        return sorted(case.reference for case in app.registers().cases())
    finally:
        app.close()


def test_demo_runs_in_the_store_db_names_on_either_backend(
    backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = demo("--db", backend_url)
    assert result.exit_code == 0, describe(result)
    assert len(cases(backend_url)) == 7
    assert not (tmp_path / "approvals-demo.db").exists(), "--db was ignored"
    assert key_file(tmp_path / "approvals-demo.keys", CHIEF).is_file()
    shown = result.stdout
    assert "== Inbox of sato (chief)" in shown
    hint = f"approvals --db {shlex.quote(backend_url)} --keys approvals-demo.keys --user sato inbox"
    assert hint in shown
    # The hint works as printed: the chief acts with the key the demo made.
    inbox = CliRunner().invoke(cli, shlex.split(hint)[1:], env=HERMETIC_ENV, prog_name="approvals")
    assert inbox.exit_code == 0, describe(inbox)
    assert "JU-2026-0002" in inbox.stdout


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_demo_refuses_a_store_that_holds_events_and_writes_nothing(
    backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    monkeypatch.chdir(tmp_path)
    assert demo("--db", backend_url).exit_code == 0
    before = (events(backend_url), cases(backend_url))
    keys_before = sorted(p.name for p in (tmp_path / "approvals-demo.keys").iterdir())
    result = demo("--lang", lang, "--db", backend_url)
    assert result.exit_code == 1, describe(result)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, describe(result)
    assert "Traceback" not in result.stderr
    if lang == "en":
        assert "holds events already, so the demo writes nothing there" in lines[0]
        assert "leave --db (and APPROVALS_DB) out to use ./approvals-demo.db" in lines[0]
    else:
        assert "すでにイベントがあるため、デモは何も書き込みません" in lines[0]
    assert (events(backend_url), cases(backend_url)) == before
    assert sorted(p.name for p in (tmp_path / "approvals-demo.keys").iterdir()) == keys_before
    assert not (tmp_path / "approvals-demo.db").exists()


def test_demo_follows_approvals_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "stores").mkdir()
    result = demo(env={"APPROVALS_DB": "stores/mine.db"})
    assert result.exit_code == 0, describe(result)
    assert not (tmp_path / "approvals-demo.db").exists()
    assert f"Demo store: sqlite:///{tmp_path / 'stores' / 'mine.db'}" in result.stdout
    # A plain path is given back as it was typed.
    assert "approvals --db stores/mine.db --keys approvals-demo.keys" in result.stdout
    assert len(cases(f"sqlite:///{tmp_path / 'stores' / 'mine.db'}")) == 7


def test_demo_fills_an_empty_file_or_a_store_made_by_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.db").touch()
    assert demo("--db", "empty.db").exit_code == 0
    assert len(cases(f"sqlite:///{tmp_path / 'empty.db'}")) == 7
    made = CliRunner().invoke(cli, ["--db", "made.db", "--user", "root", "init"],
                              env=HERMETIC_ENV, prog_name="approvals")  # fmt: skip
    assert made.exit_code == 0, describe(made)
    assert events(f"sqlite:///{tmp_path / 'made.db'}") == 0
    result = demo("--db", "made.db")
    assert result.exit_code == 0, describe(result)
    assert len(cases(f"sqlite:///{tmp_path / 'made.db'}")) == 7


def test_demo_refuses_a_file_that_is_no_database_without_touching_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.db").write_bytes(b"my notes, not a database")
    result = demo("--db", "notes.db")
    assert result.exit_code == 1, describe(result)
    assert "it is not a SQLite database" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert (tmp_path / "notes.db").read_bytes() == b"my notes, not a database"


def test_demo_given_its_own_file_replaces_it_as_without_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert demo().exit_code == 0
    again = demo("--db", "approvals-demo.db")
    assert again.exit_code == 0, describe(again)
    assert len(cases(f"sqlite:///{tmp_path / 'approvals-demo.db'}")) == 7
