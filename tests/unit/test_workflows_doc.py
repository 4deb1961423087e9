"""The reference of the definition format (docs/workflows.md) stays true: it documents every key
the parser accepts and no other, every kind, role, unit and term, and its worked example parses
and runs end to end on the command line, as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from approvals import open_approvals
from approvals.cli import cli
from approvals.definitions import parse_definition
from approvals.definitions.keys import DEFINITION_KEYS
from approvals.demo import appoint_sample_roster
from approvals.domain.workflow import ACTING_ROLES, DURATION_UNITS, FIELD_KINDS, TERMS
from approvals.errors import DefinitionError
from tests.cli.conftest import HERMETIC_ENV

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "workflows.md").read_text(encoding="utf-8")
MARKER = re.compile(r"<!-- (keys|values|example): ([\w.]+) -->\n\n")
FOLDER = "company-workflows"  # what the doc's commands name


def marked(kind: str) -> dict[str, str]:
    """The text after each ``<!-- KIND: NAME -->`` marker, up to the next blank line (a table)
    or the end of the code block (an example), by NAME."""
    found: dict[str, str] = {}
    for match in MARKER.finditer(DOC):
        if match.group(1) != kind:
            continue
        rest = DOC[match.end() :]
        if kind == "example":
            block = re.match(r"```toml\n(.*?)```", rest, flags=re.DOTALL)
            assert block is not None, f"the example {match.group(2)} is not a toml block"
            text = block.group(1)
        else:
            text = rest.split("\n\n", 1)[0]
        assert match.group(2) not in found, f"{kind} {match.group(2)} is marked twice"
        found[match.group(2)] = text
    return found


def first_column(table: str) -> set[str]:
    """The code spans of the first column of a markdown table (the header and rule left out)."""
    rows = [line for line in table.splitlines() if line.startswith("|")][2:]
    assert rows, table
    names = set()
    for row in rows:
        cell = row.strip("|").split("|")[0].strip()
        span = re.fullmatch(r"`([^`]+)`", cell)
        assert span is not None, f"the first cell of {row!r} is not one code span"
        names.add(span.group(1))
    return names


def test_every_table_of_the_parser_is_documented_with_exactly_the_keys_it_accepts() -> None:
    documented = {name: first_column(table) for name, table in marked("keys").items()}
    assert set(documented) == set(DEFINITION_KEYS)
    for name, keys in DEFINITION_KEYS.items():
        assert documented[name] == set(keys), name


def test_every_kind_of_field_is_documented_and_nothing_else() -> None:
    assert first_column(marked("values")["kinds"]) == set(FIELD_KINDS)


@pytest.mark.parametrize(
    "values",
    [sorted(ACTING_ROLES), list(DURATION_UNITS), list(TERMS)],
    ids=["roles", "units", "terms"],
)
def test_every_allowed_value_is_named_in_the_reference(values: list[str]) -> None:
    spans = set(re.findall(r"`([^`\n]+)`", DOC))
    assert [value for value in values if value not in spans] == []


def test_a_key_the_reference_does_not_document_is_refused_naming_the_allowed_ones() -> None:
    source = marked("example")["mine.toml"]
    with pytest.raises(DefinitionError, match=r"steps\[0\]\.owner: unknown key \(allowed: app"):
        parse_definition(source.replace('role = "manager"', 'owner = "manager"', 1), "mine.toml")


def test_the_refusal_the_reference_quotes_is_the_one_the_parser_gives() -> None:
    quoted = re.search(r"\(`(Workflow file mine\.toml is refused at .*?)`\)", DOC, re.DOTALL)
    assert quoted is not None
    source = marked("example")["mine.toml"]
    chief = 'role = "chief"\nlabel = { en = "approve"'
    assert source.count(chief) == 1
    with pytest.raises(DefinitionError) as refused:
        parse_definition(source.replace(chief, chief.replace("chief", "boss", 1)), "mine.toml")
    assert str(refused.value) == " ".join(quoted.group(1).split())


def test_every_example_parses_as_written() -> None:
    examples = marked("example")
    assert examples
    for name, source in examples.items():
        workflow = parse_definition(source, name)
        assert f"{workflow.id}.toml" == name


def _commands() -> list[list[str]]:
    """The command lines of the shell block that follows the worked example."""
    after = DOC[DOC.index("<!-- example: mine.toml -->") :]
    block = re.search(r"```sh\n(.*?)```", after, flags=re.DOTALL)
    assert block is not None
    return [shlex.split(line) for line in block.group(1).replace("\\\n", " ").splitlines()]


def test_the_worked_example_runs_end_to_end_as_the_reference_types_it(tmp_path: Path) -> None:
    folder = tmp_path / FOLDER
    folder.mkdir()
    (folder / "mine.toml").write_text(marked("example")["mine.toml"], encoding="utf-8")
    store = tmp_path / "approvals.db"
    app = open_approvals(f"sqlite:///{store}")
    try:
        appoint_sample_roster(app)
    finally:
        app.close()
    env = {**HERMETIC_ENV, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    commands = _commands()
    assert [command[:3] for command in commands] == [["approvals", "--workflows", FOLDER]] * len(
        commands
    )
    reference = None
    said = []
    for command in commands:
        args = [str(folder) if arg == FOLDER else arg for arg in command[1:]]
        if reference is not None:  # the doc's reference is of its year; the store's of now
            args = [re.sub(r"DS-\d{4}-0001", reference, arg) for arg in args]
        result = CliRunner().invoke(cli, ["--db", str(store), *args], env=env)
        assert result.exit_code == 0, (command, result.output)
        said.append(result.stdout)
        filed = re.search(r"Filed (DS-\d{4}-0001)", result.stdout)
        reference = filed.group(1) if filed else reference
    assert reference is not None
    assert f"ok  {folder / 'mine.toml'}  (mine v1)" in said[0]
    assert "mine v1 — In-house data sharing (Rule 12)" in said[1]
    assert said[-1] == f"{reference}: approve recorded; now 'approved, not yet shared'.\n"
    app = open_approvals(f"sqlite:///{store}", workflows=folder, create=False)
    try:
        case = app.case(reference)
        assert (case.workflow, case.state) == ("mine", "approved")
        assert case.fields["channel"] == "database_view"
    finally:
        app.close()
