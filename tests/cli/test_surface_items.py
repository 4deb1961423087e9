"""Small items of the command line's surface (issue 20): usage lines that wrap between words,
help that opens with one clean sentence, an inbox that shows a deadline only on the step whose
deadline it is, role phrases that read as English, and counts with thousands separators."""

from __future__ import annotations

import inspect
import re
import string
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from approvals import open_approvals
from approvals.calendar import JapaneseCalendar
from approvals.cli import cli
from approvals.cli.roster import ROLE_NAMES
from approvals.cli.text import TEXT, say
from approvals.demo import MANAGER, STAFF, appoint_sample_roster
from approvals.domain.roster import role_phrase
from approvals.domain.workflow import ROLES
from approvals.errors import Label, RosterRefused
from approvals.reading import answer
from tests.cli.conftest import HERMETIC_ENV, Run
from tests.cli.test_commands import file_case
from tests.scenarios import FILINGS

LANGS = ["en", "ja"]


def commands(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The path of every command under ``command``, itself first."""
    yield path
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from commands(sub, (*path, name))


def command_at(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


ALL = list(commands(cli))


def usage(path: tuple[str, ...], columns: int) -> list[str]:
    """The usage lines of `approvals PATH --help` on a terminal ``columns`` wide."""
    result = CliRunner().invoke(
        cli, [*path, "--help"], env={**HERMETIC_ENV, "COLUMNS": str(columns)},
        terminal_width=columns, prog_name="approvals",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    return lines[: lines.index("")] if "" in lines else lines


# -- 1. usage lines break between words --------------------------------------------------------


@pytest.mark.parametrize("columns", [80, 100])
def test_no_usage_line_breaks_a_word(columns: int) -> None:
    for path in ALL:
        lines = usage(path, columns)
        assert all(len(line) <= columns for line in lines), (path, lines)
        joined = " ".join(line.strip() for line in lines)
        # Each line ends at a word's end: the next line begins a new word, never a braced or
        # bracketed choice list cut in two.
        for line in lines:
            assert line.count("{") == line.count("}"), (path, lines)
            assert line.count("[") == line.count("]"), (path, lines)
        assert joined.startswith("Usage: approvals"), (path, joined)


@pytest.mark.parametrize("command", ["appoint", "dismiss"])
def test_the_role_argument_is_named_role_and_its_choices_are_in_the_help(command: str) -> None:
    lines = usage(("roster", command), 80)
    assert lines == [f"Usage: approvals roster {command} [OPTIONS] USER ROLE"]
    result = CliRunner().invoke(cli, ["roster", command, "--help"], env=HERMETIC_ENV)
    assert "ROLE is one of: " + ", ".join(ROLE_NAMES) + "." in result.output
    refused = CliRunner().invoke(cli, ["roster", command, "someone", "boss"], env=HERMETIC_ENV)
    assert refused.exit_code == 2
    assert "'boss' is not one of" in refused.output


# -- 2. help opens with one clean sentence ---------------------------------------------------


@pytest.mark.parametrize("path", ALL, ids=lambda path: " ".join(path) or "approvals")
def test_every_help_opens_with_one_clean_sentence(path: tuple[str, ...]) -> None:
    command = command_at(path)
    first = inspect.cleandoc(command.help or "").split("\n\n")[0].replace("\n", " ")
    short = command.get_short_help_str(1000)
    for text in (first, short):
        assert text, path
        assert not re.search(r"\)\s*\(", text), (path, text)  # "(承認) (the same as …)"
        assert text.endswith("."), (path, text)
        assert text[0].isupper(), (path, text)


def test_a_step_command_names_what_it_stands_for_in_one_sentence() -> None:
    result = CliRunner().invoke(cli, ["approve", "--help"], env=HERMETIC_ENV)
    assert "Approve CASE (承認); the same as `approvals act CASE approve`." in result.output
    listed = CliRunner().invoke(cli, ["--help"], env={**HERMETIC_ENV, "COLUMNS": "100"})
    assert re.search(r"^  approve\s+Approve CASE \(承認\)\.$", listed.output, re.MULTILINE)


# -- 3. the filer's inbox shows no deadline of another role's step ---------------------------


def test_the_filers_withdraw_shows_no_deadline_the_manager_meets(backend_url: str) -> None:
    app = open_approvals(backend_url)
    try:
        appoint_sample_roster(app)
        waiting = app.file("purpose", actor=STAFF, title="Waiting", department="sales",
                           fields=FILINGS["purpose"]).reference  # fmt: skip
        returned = app.file("purpose", actor=STAFF, title="Returned", department="sales",
                            fields=FILINGS["purpose"]).reference  # fmt: skip
        app.act(returned, "return", actor=MANAGER, comment="Say more.")
        app.registers().refresh()

        def due(items: tuple[object, ...]) -> dict[tuple[str, str], object]:
            return {(i.reference, i.trigger): i.due_at for i in items}  # type: ignore[attr-defined]

        filer, manager = due(app.inbox(STAFF)), due(app.inbox(MANAGER))
        quick = answer(backend_url, JapaneseCalendar(), lambda models: models.inbox(STAFF))
    finally:
        app.close()
    assert manager[(waiting, "consult")] is not None  # the manager's deadline, on their step
    assert filer[(waiting, "withdraw")] is None  # not on the filer's withdraw beside it
    # A returned notice waits for the filer alone: the deadline to resubmit is theirs.
    assert filer[(returned, "resubmit")] is not None
    assert filer[(returned, "withdraw")] == filer[(returned, "resubmit")]
    assert quick is not None
    assert due(quick) == filer  # the quick path and the full path agree


def test_the_filers_inbox_table_shows_no_due_date_beside_withdraw(run: Run) -> None:
    file_case(run)
    rows = [line for line in run("inbox", user=STAFF).stdout.splitlines() if "withdraw" in line]
    assert rows
    assert not re.search(r"\d{4}-\d\d-\d\d.*\d{4}-\d\d-\d\d", rows[0]), rows  # only "since"


# -- 4. role phrases and counts ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("en", "cannot appoint a staff member of hr: only the department's manager or the chief "
            "personal information officer may."),
     ("ja", "hrの担当者を選任できません")],
    ids=LANGS,
)  # fmt: skip
def test_a_roster_refusal_names_the_role_as_a_phrase(lang: str, expected: str) -> None:
    name, of = role_phrase("staff", "hr")
    manager = Label("the department's manager", "その部の個人情報管理者")
    error = RosterRefused(
        "roster.not_authorized", person="root", action=Label("appoint", "選任"), role=name,
        department=of,
        allowed=(manager, ROLES["chief"]),
    )  # fmt: skip
    assert expected in error.render(lang)


def test_an_audit_officer_takes_an(run: Run) -> None:
    result = run("roster", "appoint", "newbie", "auditor", user=STAFF)
    assert result.exit_code == 1
    assert f"{STAFF} cannot appoint an audit officer: only the representative may." in (
        result.stderr
    )


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("en", "Appointed newbie as a staff member of sales."),
     ("ja", "newbie をsalesの担当者に選任しました。")],
    ids=LANGS,
)  # fmt: skip
def test_appointing_says_a_staff_member(run: Run, lang: str, expected: str) -> None:
    result = run("roster", "appoint", "newbie", "staff", "-d", "sales", user=MANAGER, lang=lang)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == expected
    again = run("roster", "appoint", "newbie", "staff", "-d", "sales", user=MANAGER)
    assert "newbie is already a staff member of sales; nothing changed." in again.stderr


COUNTS = ("days", "overdue", "soon", "limit", "count", "events", "size", "checkpoints")


@pytest.mark.parametrize("lang", LANGS)
def test_every_count_the_command_line_says_has_thousands_separators(lang: str) -> None:
    values = dict.fromkeys(COUNTS, 150009)
    found = 0
    for key, label in TEXT.items():
        fields = {f for _, f, _, _ in string.Formatter().parse(label.get(lang)) if f}
        counted = fields & set(COUNTS)
        if not counted:
            continue
        found += 1
        shown = say(key, lang, **{f: values.get(f, "x") for f in fields})
        assert "150009" not in shown, (key, shown)
        assert "150,009" in shown, (key, shown)
    assert found >= 10
    signed = say("audit.checkpoint", lang, size=1234567, root="ab", key_id="k", path="p")
    assert "1,234,567" in signed


def test_every_header_of_times_is_a_header_the_command_line_has() -> None:
    """A table names its zone in the headers TIMED lists: each is one the tables use."""
    from approvals.cli.text import TEXT, TIMED

    assert {key for key in TEXT if key.startswith("h.")} >= TIMED
