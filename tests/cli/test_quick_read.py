"""The quick read path (approvals.reading): when the read models are current, `inbox`, `list`
and `register cases` answer from their tables alone — the same answer as the full path, for
every person, on both backends — without loading eventsourcing; when they are behind, the full
path answers and catches them up.

Whether eventsourcing was loaded is seen in a fresh interpreter's ``sys.modules``; nothing is
timed here (bench/cold_start.py measures).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from approvals import ApprovalsApplication, open_approvals
from approvals.calendar import JapaneseCalendar
from approvals.cli import cli
from approvals.definitions import builtin_workflows_dir, load_directory
from approvals.demo import (
    CHIEF,
    MANAGER,
    OTHER_MANAGER,
    STAFF,
    appoint_sample_roster,
)
from approvals.projections import all_models
from approvals.reading import CALENDAR_MODELS, MODELS, ReadModels, answer, read_labels
from approvals.readmodel import calendar_fingerprint
from approvals.store import default_url, sqlite_url
from approvals.urls import store_url
from tests.cli.conftest import HERMETIC_ENV
from tests.scenarios import FILINGS

EVERYONE = ("daihyo", "sato", "kansa", "suzuki", "takahashi", "tanaka", "ito", "watanabe",
            "yamamoto")  # fmt: skip
COMMANDS = (("inbox",), ("list",), ("list", "--workflow", "purpose"), ("register", "cases"),
            ("register", "cases", "--state", "consulting", "--limit", "1"))  # fmt: skip
HEAVY = ("eventsourcing", "eventsourcing_sqlalchemy", "cryptography", "structlog")


@pytest.fixture
def url(backend_url: str) -> str:
    """A store with the sample roster and cases waiting at several steps, read models behind."""
    app = open_approvals(backend_url)
    try:
        appoint_sample_roster(app)
        for workflow in ("purpose", "method", "provision"):
            app.file(workflow, actor=STAFF, title=f"A {workflow}", department="sales",
                     fields=FILINGS[workflow])  # fmt: skip
        consulted = app.file("purpose", actor=STAFF, title="Consulted", department="sales",
                             fields=FILINGS["purpose"]).reference  # fmt: skip
        app.act(consulted, "consult", actor=MANAGER)
        returned = app.file("joint_use", actor=STAFF, title="Returned", department="sales",
                            fields=FILINGS["joint_use"]).reference  # fmt: skip
        app.act(returned, "return", actor=MANAGER, comment="Say more.")
    finally:
        app.close()
    return backend_url


def quick(url: str, person: str) -> object:
    return answer(
        url,
        JapaneseCalendar(),
        lambda models: (models.inbox(person), models.cases(person), models.notices()),
    )


def full(app: ApprovalsApplication, person: str) -> object:
    registers = app.registers()
    return app.inbox(person), registers.cases(), registers.notices()


def test_the_quick_path_answers_as_the_full_path_for_everyone_once_the_models_are_current(
    url: str,
) -> None:
    assert quick(url, CHIEF) is None  # behind: left to the full path
    app = open_approvals(url, create=False)
    try:
        app.registers().refresh()
        for person in EVERYONE:
            found = quick(url, person)
            expected = full(app, person)
            assert found is not None, person
            assert repr(found) == repr(expected), person
        assert any(quick(url, person)[0] for person in EVERYONE)  # type: ignore[index]
        for workflow, state in (("purpose", None), ("method", "notified"), (None, "returned")):
            got = answer(url, JapaneseCalendar(),
                         lambda models: models.cases(CHIEF, workflow=workflow, state=state))  # noqa: B023  # fmt: skip
            assert got == app.registers().cases(workflow=workflow, state=state)
        app.file("purpose", actor=STAFF, title="New", department="sales",
                 fields=FILINGS["purpose"])  # fmt: skip
        assert quick(url, CHIEF) is None  # the log moved on: behind again
    finally:
        app.close()


def run(url: str, *args: str, user: str = CHIEF) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--db", url, "--user", user, *args], env=HERMETIC_ENV,
                                prog_name="approvals")  # fmt: skip
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("json_flag", [(), ("--json",)], ids=["table", "json"])
def test_a_command_prints_the_same_whether_the_models_were_behind_or_current(
    url: str, args: tuple[str, ...], json_flag: tuple[str, ...]
) -> None:
    behind = run(url, *json_flag, *args)  # the full path: catches the models up
    assert behind[0] == 0, behind
    current = run(url, *json_flag, *args)  # the quick path
    assert current == behind
    for person in (STAFF, MANAGER, OTHER_MANAGER):
        assert run(url, *json_flag, *args, user=person)[0] == 0


def test_someone_not_on_the_roster_is_refused_as_before(url: str) -> None:
    run(url, "inbox")  # current from here on
    assert quick(url, "stranger") is None
    for command in (("inbox",), ("list",), ("register", "cases")):
        code, out, err = run(url, *command, user="stranger")
        assert code == 1, command
        assert out == ""
        assert "stranger" in err


def test_an_unknown_workflow_is_refused_as_before(url: str) -> None:
    run(url, "inbox")
    code, _, err = run(url, "list", "--workflow", "nosuch")
    assert code == 1
    assert "nosuch" in err


def test_models_on_another_calendar_are_left_to_the_full_path(url: str, tmp_path: Path) -> None:
    run(url, "inbox")
    other = JapaneseCalendar.with_company_days(closed_every_year=[(12, 29)])
    assert answer(url, JapaneseCalendar(), lambda models: models.inbox(CHIEF)) is not None
    assert answer(url, other, lambda models: models.inbox(CHIEF)) is None


def test_a_store_that_is_not_there_is_left_to_the_full_path(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    assert answer(f"sqlite:///{missing}", JapaneseCalendar(), lambda m: m.inbox(CHIEF)) is None
    assert not missing.exists()  # nothing was made


CHILD = """
import json, sys
import approvals.cli
try:
    approvals.cli.cli.main(json.loads(sys.argv[1]), prog_name="approvals")
except SystemExit as done:
    code = done.code
print(json.dumps([code, sorted(sys.modules)]), file=sys.stderr)
"""


def loaded_by(*args: str) -> tuple[int, set[str]]:
    """The exit code and the modules of a fresh interpreter that ran `approvals ARGS`."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(list(args))],
        capture_output=True, text=True, check=True, timeout=120,
        env={k: v for k, v in __import__("os").environ.items() if not k.startswith("APPROVALS_")},
    )  # fmt: skip
    code, modules = json.loads(done.stderr.strip().splitlines()[-1])
    return code, set(modules)


def heavy(modules: set[str]) -> list[str]:
    return sorted({m.split(".")[0] for m in modules if m.split(".")[0] in HEAVY})


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_read_of_current_models_loads_no_write_side(url: str, args: tuple[str, ...]) -> None:
    code, modules = loaded_by("--db", url, "--user", CHIEF, *args)  # behind: the full path
    assert code == 0
    assert "eventsourcing" in heavy(modules)  # the check can fail
    code, modules = loaded_by("--db", url, "--user", CHIEF, *args)
    assert code == 0
    assert heavy(modules) == []
    assert "approvals.application" not in modules
    assert "approvals.definitions" not in modules  # no definition parsed, only labels read
    if url.startswith("sqlite"):  # the stdlib reads a SQLite file; SQLAlchemy another database
        assert "sqlalchemy" not in {m.split(".")[0] for m in modules}


# -- what the quick path assumes of the read models, checked against them ---------------------


def test_the_versions_and_calendars_read_are_those_of_the_models() -> None:
    models = all_models()
    assert {m.name: m.version for m in models} == MODELS
    assert {m.name for m in models if m.uses_calendar} == CALENDAR_MODELS


def test_the_columns_read_are_columns_of_the_models() -> None:
    from approvals import reading

    real = {t.name: set(t.c.keys()) for m in all_models() for t in m.tables}
    assert (
        set(reading._INBOX_COLUMNS) | {"department", "filer", "filer_only", "not_filer"}
        <= (real["rm_inbox"])
    )
    assert {"user", "role", "department"} <= real["rm_roster"]
    assert {*reading._CASE_COLUMNS, "listed_at"} <= real["rm_cases"]
    assert {"reference", "code"} <= real["rm_unreadable"]
    assert {"reference", "position", "en", "ja"} <= real["rm_flawed"]
    assert reading._MOMENTS | reading._DAYS | {"terminal"} <= set(reading._CASE_COLUMNS)
    lengths = {c.name: getattr(c.type, "length", None) for m in all_models() for t in m.tables
               if t.name in ("rm_roster", "rm_cases") for c in t.c}  # fmt: skip
    assert {name: lengths[name] for name in reading._WIDTHS} == reading._WIDTHS
    assert reading.workflows_dir() == builtin_workflows_dir()


def test_the_labels_read_are_those_the_definitions_give() -> None:
    folder = builtin_workflows_dir()
    for workflow in load_directory(folder).values():
        labels = read_labels(folder, workflow.id, workflow.version)
        assert labels.title == workflow.title
        assert labels.states == {name: state.label for name, state in workflow.states.items()}
        for (state, trigger), step in workflow.steps.items():
            assert labels.step(state, trigger) == step.label
            assert labels.step("nowhere", trigger) == workflow.trigger_label(trigger)


def test_the_store_and_the_calendar_are_named_as_the_full_path_names_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert store_url(None) == default_url()
    assert store_url("some/file.db") == sqlite_url("some/file.db")
    assert store_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    from approvals import reading

    for calendar in (JapaneseCalendar(), JapaneseCalendar.with_company_days([], [(1, 2)])):
        assert reading._fingerprint(calendar) == calendar_fingerprint(calendar)


def test_a_definition_version_no_file_holds_is_left_to_the_full_path(url: str) -> None:
    run(url, "inbox")
    with ReadModels(url, holiday=JapaneseCalendar()) as models:
        models.check()
        from approvals.reading import NotCurrent

        with pytest.raises(NotCurrent):
            models._labels_of("purpose", 1)
