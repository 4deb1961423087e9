"""Shell completion: `file` offers the workflows, each step command the cases on which the
person can take that step now, `show` and `history` every case — from the read models, without
the write side, and nothing at all (no sentence, no traceback) when the store cannot say.

Completion is asked through click's own API (:class:`click.shell_completion.ShellComplete`,
and the ``_APPROVALS_COMPLETE`` variable a shell sets); which modules it loads is seen in a
fresh interpreter's ``sys.modules``.  Nothing is timed here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pytest
import sqlalchemy as sa
from click.shell_completion import ShellComplete
from click.testing import CliRunner

from approvals import open_approvals
from approvals.cli import cli
from approvals.definitions import builtin_workflows_dir, load_directory
from approvals.demo import CHIEF, MANAGER, OTHER_MANAGER, STAFF, appoint_sample_roster
from approvals.domain.case import NAMESPACE, case_id
from approvals.domain.roster import ROSTER_ID
from approvals.errors import Label
from approvals.labels import workflow_titles, workflows_dir
from approvals.offers import MODELS, sqlite_file
from approvals.projections import all_models
from tests.cli.conftest import HERMETIC_ENV
from tests.scenarios import FILINGS


@pytest.fixture
def cases(backend_url: str) -> dict[str, str]:
    """A store with the sample roster and purpose cases in sales: one waiting for the chief's
    decision, one rejected (ended), one just filed; one in hr waiting for its manager.  The
    read models are caught up."""
    app = open_approvals(backend_url)
    try:
        appoint_sample_roster(app)

        def filed(title: str, department: str = "sales") -> str:
            return app.file("purpose", actor=STAFF if department == "sales" else "watanabe",
                            title=title, department=department,
                            fields=FILINGS["purpose"]).reference  # fmt: skip

        waiting, ended, new, hr = filed("Waiting"), filed("Ended"), filed("New"), filed("HR", "hr")
        app.act(waiting, "consult", actor=MANAGER)
        app.act(ended, "consult", actor=MANAGER)
        app.act(ended, "reject", actor=CHIEF, comment="No.")
        app.registers().refresh()
    finally:
        app.close()
    return {"url": backend_url, "waiting": waiting, "ended": ended, "new": new, "hr": hr}


def offered(*args: str, incomplete: str = "") -> list[str]:
    """What completing `approvals ARGS INCOMPLETE` offers (the values, in order)."""
    return [value for value, _help in items(*args, incomplete=incomplete)]


def items(*args: str, incomplete: str = "") -> list[tuple[str, str | None]]:
    completion = ShellComplete(cli, {}, "approvals", "_APPROVALS_COMPLETE")
    return [(i.value, i.help) for i in completion.get_completions(list(args), incomplete)]


@pytest.fixture(autouse=True)
def hermetic(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in HERMETIC_ENV:
        monkeypatch.delenv(name, raising=False)


def as_(cases: dict[str, str], person: str, *args: str) -> list[str]:
    return offered("--db", cases["url"], "--user", person, *args)


def test_file_offers_the_twelve_workflows_with_their_titles_in_the_language_asked() -> None:
    workflows = load_directory(builtin_workflows_dir())
    assert len(workflows) == 12
    assert offered("file") == sorted(workflows)
    japanese = dict(items("--lang", "ja", "file"))
    assert japanese == {w.id: w.title.ja for w in workflows.values()}
    assert dict(items("file"))["purpose"] == workflows["purpose"].title.en
    assert offered("file", incomplete="pro") == ["provision"]


def test_the_company_workflows_are_offered_beside_the_built_ins(tmp_path: Path) -> None:
    company = tmp_path / "company"
    company.mkdir()
    (company / "ours.toml").write_text(  # the title as a table, after the first table's bracket
        'id = "ours"\nversion = 1\n[title]\nen = "Our own"\nja = "自社"\n', encoding="utf-8"
    )
    (company / "purpose.toml").write_text(
        'id = "purpose"\nversion = 9\ntitle = { en = "Our purpose", ja = "目的" }\n',
        encoding="utf-8",
    )
    (company / "broken.toml").write_text("id = [", encoding="utf-8")
    titles = workflow_titles(workflows_dir(), company)
    assert len(titles) == 13
    assert titles["ours"] == Label("Our own", "自社")
    assert titles["purpose"] == Label("Our purpose", "目的")  # the company's replaces the built-in
    assert "broken" not in titles
    assert workflow_titles(tmp_path / "nowhere") == {}


def test_approve_offers_exactly_the_cases_awaiting_the_persons_approval(
    cases: dict[str, str],
) -> None:
    assert as_(cases, CHIEF, "approve") == [cases["waiting"]]  # not the ended one, nor the new
    assert as_(cases, CHIEF, "reject") == [cases["waiting"]]
    assert as_(cases, MANAGER, "approve") == []  # the chief's step, not the manager's
    assert as_(cases, STAFF, "approve") == []


def test_each_step_command_offers_the_cases_where_the_person_can_take_it(
    cases: dict[str, str],
) -> None:
    assert as_(cases, MANAGER, "consult") == [cases["new"]]  # sales only: not hr's case
    assert as_(cases, OTHER_MANAGER, "consult") == [cases["hr"]]
    assert sorted(as_(cases, STAFF, "withdraw")) == sorted([cases["waiting"], cases["new"]])
    assert as_(cases, "ito", "withdraw") == []  # another staff member did not file them
    assert as_(cases, STAFF, "resubmit") == []
    assert as_(cases, MANAGER, "act") == [cases["new"]]  # consult or return it; not decide
    assert as_(cases, CHIEF, "act") == [cases["waiting"]]


def test_show_and_history_offer_every_case_and_typing_narrows_them(
    cases: dict[str, str],
) -> None:
    every = [cases[key] for key in ("waiting", "ended", "new", "hr")]
    assert as_(cases, CHIEF, "show") == every
    assert as_(cases, "watanabe", "history") == every
    first = cases["waiting"]
    assert offered("--db", cases["url"], "--user", CHIEF, "show",
                   incomplete=first.lower()) == [first]  # fmt: skip


def test_act_offers_the_steps_the_person_can_take_on_the_case_with_their_labels(
    cases: dict[str, str],
) -> None:
    waiting = cases["waiting"]
    steps = items("--db", cases["url"], "--user", CHIEF, "--lang", "ja", "act", waiting)
    assert steps == [("approve", "承認"), ("reject", "却下"), ("return", "差し戻し")]
    assert as_(cases, CHIEF, "act", waiting, "--comment", "x") == ["approve", "reject", "return"]
    assert as_(cases, MANAGER, "act", waiting) == []  # the decision is not the manager's
    assert as_(cases, CHIEF, "act", cases["ended"]) == []


def test_nothing_is_offered_to_someone_not_on_the_roster(cases: dict[str, str]) -> None:
    assert as_(cases, "stranger", "show") == []
    assert as_(cases, "stranger", "withdraw") == []


def test_a_case_that_moved_since_the_models_caught_up_is_left_out_until_they_do(
    cases: dict[str, str],
) -> None:
    app = open_approvals(cases["url"], create=False)
    try:
        app.act(cases["new"], "consult", actor=MANAGER)  # the models are behind now
        assert as_(cases, CHIEF, "approve") == [cases["waiting"]]  # `new` awaits it, unseen
        assert as_(cases, MANAGER, "consult") == []  # nor offered for the step it left
        app.act(cases["waiting"], "approve", actor=CHIEF)
        assert as_(cases, CHIEF, "approve") == []
        app.registers().refresh()
        assert as_(cases, CHIEF, "approve") == [cases["new"]]
        # the measures to record on one, the decision on the other
        assert sorted(as_(cases, CHIEF, "act")) == sorted([cases["waiting"], cases["new"]])
    finally:
        app.close()


def test_a_step_taken_on_the_command_line_is_offered_to_the_next_person_at_once(
    cases: dict[str, str],
) -> None:
    """A command that appends to the log brings the read models up to date before it ends:
    the chief's next TAB offers the case the manager has just sent on, with no read between."""
    assert as_(cases, CHIEF, "approve") == [cases["waiting"]]
    took = CliRunner().invoke(
        cli, ["--db", cases["url"], "--user", MANAGER, "consult", cases["new"]], env=HERMETIC_ENV
    )
    assert took.exit_code == 0, took.output
    assert sorted(as_(cases, CHIEF, "approve")) == sorted([cases["waiting"], cases["new"]])
    refused = CliRunner().invoke(
        cli, ["--db", cases["url"], "--user", MANAGER, "consult", cases["ended"]], env=HERMETIC_ENV
    )
    assert refused.exit_code == 1  # a refusal writes nothing, and nothing is caught up
    assert sorted(as_(cases, CHIEF, "approve")) == sorted([cases["waiting"], cases["new"]])


def test_nothing_is_offered_once_the_roster_moved_or_the_models_are_of_another_version(
    cases: dict[str, str],
) -> None:
    app = open_approvals(cases["url"], create=False)
    try:
        app.appoint(actor=MANAGER, user="newcomer", role="staff", department="sales")
        assert as_(cases, STAFF, "withdraw") == []  # who holds which role may have changed
        assert as_(cases, CHIEF, "show") == []
        app.registers().refresh()
        assert sorted(as_(cases, STAFF, "withdraw")) == sorted([cases["waiting"], cases["new"]])
    finally:
        app.close()
    engine = sa.create_engine(cases["url"], poolclass=sa.NullPool)
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE approvals_projections SET version = 99 WHERE name = 'inbox'")
        )
    engine.dispose()
    assert as_(cases, STAFF, "withdraw") == []


def test_a_store_that_is_not_there_offers_nothing_and_is_not_made(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    assert offered("--db", str(missing), "--user", CHIEF, "approve") == []
    assert offered("--db", str(missing), "--user", CHIEF, "show") == []
    assert offered("--db", "postgresql+psycopg://nobody@127.0.0.1:1/none", "approve") == []
    assert not missing.exists()


@pytest.mark.parametrize("content", [b"", b"not a database at all" * 100])
def test_a_store_that_cannot_be_read_prints_nothing_from_the_shell_hook(
    tmp_path: Path, content: bytes
) -> None:
    broken = tmp_path / "broken.db"
    broken.write_bytes(content)
    env = {**HERMETIC_ENV, "_APPROVALS_COMPLETE": "bash_complete",
           "COMP_WORDS": f"approvals --db {broken} approve ", "COMP_CWORD": "4"}  # fmt: skip
    result = CliRunner().invoke(cli, [], env=env, prog_name="approvals")
    assert (result.exit_code, result.stdout.strip(), result.stderr) == (0, "", "")
    assert broken.read_bytes() == content


def test_the_shell_hook_prints_the_offers_one_a_line(cases: dict[str, str]) -> None:
    env = {**HERMETIC_ENV, "_APPROVALS_COMPLETE": "bash_complete", "APPROVALS_USER": CHIEF,
           "APPROVALS_DB": cases["url"], "COMP_WORDS": "approvals approve ",
           "COMP_CWORD": "2"}  # fmt: skip
    result = CliRunner().invoke(cli, [], env=env, prog_name="approvals")
    assert (result.exit_code, result.stdout) == (0, f"plain,{cases['waiting']}\n")


# -- what completion assumes, checked against the models and the domain ---------------------


def test_the_versions_and_ids_read_are_those_of_the_models_and_the_domain() -> None:
    versions = {model.name: model.version for model in all_models()}
    assert {name: versions[name] for name in MODELS} == MODELS
    from approvals import offers

    assert offers._NAMESPACE == NAMESPACE
    assert offers._ROSTER == ROSTER_ID
    assert offers._uuid(case_id("NP-2026-0001").bytes) == case_id("NP-2026-0001")
    assert offers._uuid(str(case_id("X"))) == offers._uuid(case_id("X")) == case_id("X")
    assert isinstance(offers._uuid(b"\x00" * 16), UUID)


def test_a_sqlite_url_names_its_file_as_sqlalchemy_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    path.touch()
    for url in (f"sqlite:///{path}", f"sqlite+pysqlite:///{path}?timeout=5"):
        assert sqlite_file(url) == Path(str(sa.make_url(url).database))
    assert sqlite_file("postgresql+psycopg://u@h/db") is None


# -- the completion path loads no write side ---------------------------------------------------

CHILD = """
import json, sys
import approvals.cli
try:
    approvals.cli.cli.main([], prog_name="approvals")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""
WRITE_SIDE = ("eventsourcing", "eventsourcing_sqlalchemy", "cryptography", "structlog",
              "transitions")  # fmt: skip
APPROVALS_WRITE_SIDE = ("approvals.application", "approvals.factory", "approvals.store",
                        "approvals.readmodel", "approvals.registers", "approvals.definitions",
                        "approvals.domain.case", "approvals.audit")  # fmt: skip


def completed_in_a_fresh_interpreter(url: str, words: str) -> tuple[str, set[str]]:
    """What a shell's TAB prints, and the modules the interpreter answering it loaded."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPROVALS_")}
    env.update({"_APPROVALS_COMPLETE": "bash_complete", "COMP_WORDS": words,
                "COMP_CWORD": str(len(words.split(" ")) - 1), "APPROVALS_DB": url,
                "APPROVALS_USER": CHIEF})  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, timeout=120,
        env=env,
    )  # fmt: skip
    modules: list[str] = json.loads(done.stderr.strip().splitlines()[-1])
    return done.stdout, set(modules)


def loaded_of(modules: set[str]) -> list[str]:
    return sorted(
        m for m in modules
        if m.split(".")[0] in WRITE_SIDE or m.startswith(APPROVALS_WRITE_SIDE)
    )  # fmt: skip


@pytest.mark.parametrize(
    "words", ["approvals approve ", "approvals act ", "approvals show ", "approvals file "]
)
def test_completion_loads_no_write_side_module(cases: dict[str, str], words: str) -> None:
    out, modules = completed_in_a_fresh_interpreter(cases["url"], words)
    assert out.strip()  # it did answer
    assert loaded_of(modules) == []
    if sqlite_file(cases["url"]) is not None:
        assert "sqlalchemy" not in modules  # a SQLite store is read with the stdlib


def test_the_check_sees_the_write_side_when_a_command_loads_it(cases: dict[str, str]) -> None:
    """The check can fail: a command that opens the application loads it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPROVALS_")}
    child = CHILD.replace("[]", json.dumps(["--db", cases["url"], "--user", CHIEF, "show",
                                            cases["waiting"]]))  # fmt: skip
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                          check=True, timeout=120, env=env)  # fmt: skip
    modules = set(json.loads(done.stderr.strip().splitlines()[-1]))
    assert "approvals.application" in loaded_of(modules)
