"""A company's own workflows on the command line: `--workflows DIR` (or APPROVALS_WORKFLOWS)
adds the folder's definitions beside the built-ins, on every command that reads definitions;
a file with a built-in's id replaces it only with a higher version; a broken folder is
refused in one sentence naming the file, with nothing written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import Result

from approvals import open_approvals
from approvals.calendar import JapaneseCalendar
from approvals.definitions import builtin_workflows_dir, load_directory
from approvals.demo import AUDITOR, CHIEF, MANAGER, STAFF, appoint_sample_roster
from approvals.reading import answer
from tests.cli.conftest import Run
from tests.scenarios import FILINGS
from tests.unit.test_workflows_doc import marked

MINE = marked("example")["mine.toml"]
FILING = ("--title", "Sales data for support", "--department", "sales",
          "--set", "receiving_department=support", "--set", "data_items=name, e-mail address",
          "--set", "purpose=Answering customers' questions")  # fmt: skip
CONSULT = ("--set", "channel=database_view", "--check", "need_to_know", "--check", "access_logged")
BUILTIN_PURPOSE = load_directory()["purpose"].version


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A company folder holding the reference's worked example, mine.toml."""
    path = tmp_path / "company"
    path.mkdir()
    (path / "mine.toml").write_text(MINE, encoding="utf-8")
    return path


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def refused(result: Result, code: int = 1) -> str:
    """The one line a refusal prints on stderr (nothing on stdout, no traceback)."""
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def filed(result: Result) -> str:
    found = re.search(r"Filed ([A-Z]+-\d{4}-\d{4})", ok(result).stdout)
    assert found is not None, result.stdout
    return found.group(1)


def events(url: str) -> int:
    app = open_approvals(url, create=False)
    try:
        return int(app.recorder.max_notification_id() or 0)
    finally:
        app.close()


def with_roster(url: str) -> str:
    """``url`` with the sample roster (the SQLite store of the ``run`` fixture has it)."""
    app = open_approvals(url)
    try:
        if not any(term.user == CHIEF for term in app.roster()):
            appoint_sample_roster(app)
    finally:
        app.close()
    return url


def company_purpose(folder: Path, version: int) -> Path:
    """The built-in purpose workflow at ``version`` in the company folder, its consultation
    renamed ``consult_chief``."""
    source = (builtin_workflows_dir() / "purpose.toml").read_text(encoding="utf-8")
    changed = source.replace(f"version = {BUILTIN_PURPOSE}", f"version = {version}").replace(
        'trigger = "consult"', 'trigger = "consult_chief"'
    )
    path = folder / "purpose.toml"
    path.write_text(changed, encoding="utf-8")
    return path


def test_a_company_workflow_is_filed_consulted_and_approved_on_every_backend(
    run: Run, folder: Path, backend_url: str
) -> None:
    url = with_roster(backend_url)
    mine = ("--workflows", str(folder))
    reference = filed(run(*mine, "file", "mine", *FILING, user=STAFF, db=url))
    assert reference.startswith("DS-")
    ok(run(*mine, "act", reference, "consult", *CONSULT, user=MANAGER, db=url))
    said = ok(run(*mine, "approve", reference, user=CHIEF, db=url)).stdout
    assert said == f"{reference}: approve recorded; now 'approved, not yet shared'.\n"
    shown = ok(run(*mine, "show", reference, user=CHIEF, lang="ja", db=url)).stdout
    assert "mine v1 — 社内でのデータ共有" in shown
    assert "承認済み(共有前) (approved)" in shown
    for _ in range(2):  # the full path catches the read models up; then the quick path
        listed = ok(run(*mine, "--json", "list", "--workflow", "mine", user=CHIEF, db=url))
        assert [(row["reference"], row["state_label"]) for row in json.loads(listed.stdout)] == [
            (reference, "approved, not yet shared")
        ]
    # A reader without the folder still reads the case: its definition is in the log.
    assert "approved, not yet shared" in ok(run("show", reference, user=CHIEF, db=url)).stdout


def test_the_folder_may_be_given_in_approvals_workflows(run: Run, folder: Path) -> None:
    env: dict[str, str | None] = {"APPROVALS_WORKFLOWS": str(folder)}
    reference = filed(run("file", "mine", *FILING, user=STAFF, env=env))
    ok(run("act", reference, "consult", *CONSULT, user=MANAGER, env=env))
    shown = ok(run("show", reference, user=CHIEF, env=env)).stdout
    assert "in consultation with the chief (consulting)" in shown
    shown = ok(run("workflows", "show", "mine", env=env)).stdout
    assert shown.startswith("mine v1 — In-house data sharing (Rule 12)\n")


def test_the_built_ins_are_listed_beside_the_company_workflow(run: Run, folder: Path) -> None:
    listed = json.loads(ok(run("--workflows", str(folder), "--json", "workflows", "list")).stdout)
    ids = [workflow["id"] for workflow in listed]
    assert len(ids) == 13
    assert set(ids) == {*load_directory(), "mine"}
    assert len(json.loads(ok(run("--json", "workflows", "list")).stdout)) == 12
    checked = ok(run("--workflows", str(folder), "workflows", "validate")).stdout.splitlines()
    assert len(checked) == 13
    assert checked[-1] == f"ok  {folder / 'mine.toml'}  (mine v1)"
    diagram = ok(run("--workflows", str(folder), "workflows", "diagram", "mine")).stdout
    assert "consulting --> approved" in diagram


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("version", [BUILTIN_PURPOSE, BUILTIN_PURPOSE - 1])
def test_a_built_ins_id_without_a_higher_version_is_refused_in_one_sentence(
    run: Run, folder: Path, store: Path, lang: str, version: int
) -> None:
    path = company_purpose(folder, version)
    before = events(f"sqlite:///{store}")
    args = ("--workflows", str(folder), "file", "purpose", "--title", "T", "--department", "sales")
    line = refused(run(*args, user=STAFF, lang=lang))
    for named in (
        str(path),
        "purpose",
        f"{BUILTIN_PURPOSE}",
        f"{version}",
        f"{BUILTIN_PURPOSE + 1}",
    ):
        assert named in line, (named, line)
    if lang == "en":
        assert line == (
            f"Workflow file {path} is refused at version: the id purpose is that of a built-in "
            f"workflow, at version {BUILTIN_PURPOSE}, and this file gives version {version}; a "
            f"company file replaces a built-in only with a higher version ({BUILTIN_PURPOSE + 1} "
            "or more), else give it an id of its own."
        )
    assert events(f"sqlite:///{store}") == before
    assert refused(run("--workflows", str(folder), "workflows", "list", lang=lang)) == line


def test_two_company_files_with_one_id_are_refused_naming_both(run: Run, folder: Path) -> None:
    (folder / "mine_v2.toml").write_text(MINE.replace("version = 1", "version = 2"), "utf-8")
    line = refused(run("--workflows", str(folder), "workflows", "list"))
    assert line.startswith(f"Workflow file {folder / 'mine_v2.toml'} is refused at id: ")
    assert f"already given by {folder / 'mine.toml'} (version 1)" in line


def test_a_company_prefix_a_built_in_uses_is_refused(run: Run, folder: Path) -> None:
    (folder / "mine.toml").write_text(MINE.replace('prefix = "DS"', 'prefix = "NP"'), "utf-8")
    line = refused(run("--workflows", str(folder), "workflows", "list"))
    assert line.startswith(f"Workflow file {folder / 'mine.toml'} is refused at prefix: ")
    assert "already used by purpose" in line


@pytest.mark.parametrize(
    "args",
    [("workflows", "list"), ("workflows", "show", "mine"), ("file", "mine", *FILING),
     ("inbox",), ("list",), ("show", "NP-2026-0001")],
    ids=" ".join,
)  # fmt: skip
def test_a_broken_file_in_the_folder_is_refused_naming_the_file(
    run: Run, folder: Path, store: Path, args: tuple[str, ...]
) -> None:
    broken = folder / "broken.toml"
    broken.write_text('id = "broken"\nversion = 1\nprefix = "BR"\n[states.a]\nlabel = 3\n', "utf-8")
    run("list", user=CHIEF)  # the read models current: the quick path is asked first
    before = events(f"sqlite:///{store}")
    line = refused(run("--workflows", str(folder), *args, user=STAFF))
    assert line == f"Workflow file {broken} is refused at title: is missing."
    assert events(f"sqlite:///{store}") == before


@pytest.mark.parametrize("given", ["nowhere", "file"])
def test_a_workflows_option_that_is_no_folder_is_a_usage_error(
    run: Run, folder: Path, given: str
) -> None:
    where = str(folder / "nowhere") if given == "nowhere" else str(folder / "mine.toml")
    result = run("--workflows", where, "workflows", "list")
    assert result.exit_code == 2
    assert "Invalid value for '--workflows'" in result.stderr
    assert "is not a folder" in result.stderr


def test_without_the_folder_a_company_workflow_is_unknown_and_the_refusal_says_where(
    run: Run,
) -> None:
    line = refused(run("file", "mine", *FILING, user=STAFF))
    assert line.startswith("No workflow is called mine;")
    assert line.endswith("give --workflows DIR (or APPROVALS_WORKFLOWS).")


def test_a_higher_version_replaces_a_built_in_for_new_filings_only(
    run: Run, folder: Path, backend_url: str
) -> None:
    url = with_roster(backend_url)
    old = filed(run("file", "purpose", *_purpose_filing(), user=STAFF, db=url))
    company_purpose(folder, BUILTIN_PURPOSE + 1)
    mine = ("--workflows", str(folder))
    listed = json.loads(ok(run(*mine, "--json", "workflows", "list")).stdout)
    assert {w["id"]: w["version"] for w in listed}["purpose"] == BUILTIN_PURPOSE + 1
    new = filed(run(*mine, "file", "purpose", *_purpose_filing(), user=STAFF, db=url))
    old_case = json.loads(ok(run(*mine, "--json", "show", old, user=CHIEF, db=url)).stdout)
    new_case = json.loads(ok(run(*mine, "--json", "show", new, user=CHIEF, db=url)).stdout)
    assert (old_case["workflow_version"], new_case["workflow_version"]) == (
        BUILTIN_PURPOSE, BUILTIN_PURPOSE + 1,
    )  # fmt: skip
    assert "consult" in {step["trigger"] for step in old_case["next_steps"]}
    assert "consult_chief" in {step["trigger"] for step in new_case["next_steps"]}
    ok(run(*mine, "act", old, "consult", user=MANAGER, db=url))
    ok(run(*mine, "act", new, "consult_chief", user=MANAGER, db=url))
    refused(run(*mine, "act", new, "consult", user=MANAGER, db=url))
    for folder_given in (mine, ()):
        verified = run(*folder_given, "audit", "verify", user=AUDITOR, db=url)
        assert verified.exit_code in (0, 3), verified.output  # 3: sound, no checkpoint given
        assert "OK: every event is what the engine recorded" in verified.stdout


def _purpose_filing() -> tuple[str, ...]:
    sets = [("--set", f"{key}={value}") for key, value in FILINGS["purpose"].items()]
    return ("--title", "A purpose", "--department", "sales", *(a for pair in sets for a in pair))


def test_audit_verify_passes_on_a_company_case_with_and_without_the_folder(
    run: Run, folder: Path, store: Path
) -> None:
    mine = ("--workflows", str(folder))
    reference = filed(run(*mine, "file", "mine", *FILING, user=STAFF))
    ok(run(*mine, "act", reference, "consult", *CONSULT, user=MANAGER))
    ok(run(*mine, "approve", reference, user=CHIEF))
    for folder_given in (mine, ()):
        verified = run(*folder_given, "--json", "audit", "verify", user=AUDITOR)
        assert verified.exit_code in (0, 3), verified.output
        assert json.loads(verified.stdout)["findings"] == []


def test_the_quick_path_shows_a_company_workflows_own_labels(
    run: Run, folder: Path, store: Path
) -> None:
    mine = ("--workflows", str(folder))
    reference = filed(run(*mine, "file", "mine", *FILING, user=STAFF))
    ok(run(*mine, "act", reference, "consult", *CONSULT, user=MANAGER))
    full = ok(run(*mine, "--json", "inbox", user=CHIEF)).stdout  # catches the models up
    url = f"sqlite:///{store}"
    quick = answer(url, JapaneseCalendar(), lambda models: models.inbox(CHIEF), workflows=folder)
    assert quick is not None
    assert {(item.label.ja, item.state_label.ja, item.workflow_title.ja) for item in quick} == {
        ("承認", "協議中", "社内でのデータ共有"), ("却下", "協議中", "社内でのデータ共有"),
        ("差し戻し", "協議中", "社内でのデータ共有"),
    }  # fmt: skip
    assert ok(run(*mine, "--json", "inbox", user=CHIEF)).stdout == full
    # Without the folder the quick path holds no definition of mine: the full path answers,
    # from the log, with the same labels.
    assert answer(url, JapaneseCalendar(), lambda models: models.inbox(CHIEF)) is None
    assert ok(run("--json", "inbox", user=CHIEF)).stdout == full
