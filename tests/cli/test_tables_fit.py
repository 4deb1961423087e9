"""Every table fits the width it is given (COLUMNS, else the terminal's; piped output keeps
whole lines): cells wrap between words (Japanese between characters), titles and hashes are
shortened with …, rows too wide for any table become records; --wide prints rows whole; long
output goes through the pager on a terminal, never with --json.

Widths are measured here with the standard library (East-Asian wide and full-width characters
take two cells), not with the library the command line measures with.
"""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from approvals.cli import cli, tables
from tests.cli.conftest import HERMETIC_ENV
from tests.cli.test_cold_start import loaded_by

# Every table the demo's store can show, read by the chief (who may read them all).
COMMANDS: list[tuple[str, ...]] = [
    ("inbox",),
    ("list",),
    ("history", "ENT-2026-0001"),
    ("history", "JU-2026-0002"),
    ("show", "ENT-2026-0002"),
    ("register", "cases"),
    ("register", "vendors"),
    ("register", "provisions"),
    ("register", "receipts"),
    ("register", "retention"),
    ("register", "overdue"),
    ("retention", "due", "--as-of", "2040-01-01"),
    ("remind", "--all"),
    ("roster", "list"),
    ("roster", "keys"),
    ("workflows", "list"),
    ("workflows", "show", "entrustment"),  # its tables, and its sentences wrapped too
    ("workflows", "show", "incident"),
    ("workflows", "show", "sending"),
    ("projections", "status"),
    ("audit", "timeline", "ENT-2026-0001"),
]


def cells(text: str) -> int:
    """The terminal cells ``text`` takes: two for a wide or full-width character."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's store: seven cases of five workflows, a roster, signed events."""
    folder = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)  # the demo writes its keys beside it
        done = CliRunner().invoke(cli, ["--db", str(folder / "demo.db"), "demo"], env=HERMETIC_ENV)
    assert done.exit_code == 0, done.output
    return folder / "demo.db"


def approvals(store: Path, *args: str, columns: int | None = None, **env: str) -> Result:
    """`approvals --db STORE --user sato ARGS` in-process, COLUMNS set or not."""
    environment: dict[str, str | None] = {**HERMETIC_ENV, "LINES": None, **env}
    if columns is not None:
        environment["COLUMNS"] = str(columns)
    result = CliRunner().invoke(
        cli, ["--db", str(store), "--user", "sato", *args], env=environment,
        prog_name="approvals",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result


def broken_words(fitted: str, whole: str) -> list[str]:
    """The words of English in ``fitted`` that are not words of ``whole``: pieces of a word
    broken in two (a word shortened with … is not broken; Japanese may break anywhere)."""
    known = set(whole.split())
    japanese = [word for word in known if any(cells(c) > 1 for c in word)]
    return [
        word
        for word in fitted.split()
        if word not in known
        and set(word) != {"-"}  # the rule under the headers
        and not any(word in piece for piece in japanese)
        and not (word.endswith("…") and any(w.startswith(word[:-1]) for w in known))
    ]


# -- fitting the width -------------------------------------------------------------------------


@pytest.mark.parametrize("columns", [80, 100])
@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_table_fits_the_width_and_keeps_its_words_whole(
    demo_store: Path, command: tuple[str, ...], lang: str, columns: int
) -> None:
    fitted = approvals(demo_store, "--lang", lang, *command, columns=columns).stdout
    whole = approvals(demo_store, "--lang", lang, *command).stdout
    too_wide = [line for line in fitted.splitlines() if cells(line) > columns]
    assert too_wide == [], fitted
    assert broken_words(fitted, whole) == [], fitted


def test_the_check_of_widths_sees_a_table_wider_than_the_terminal(demo_store: Path) -> None:
    """The checks above can fail: the same history piped is wider than 100, with Japanese."""
    whole = approvals(demo_store, "--lang", "ja", "history", "ENT-2026-0001").stdout
    assert max(cells(line) for line in whole.splitlines()) > 100
    assert broken_words("JU-2026- 0002 協議 中)", "JU-2026-0002 協議中)") == ["JU-2026-", "0002"]


def test_the_history_of_a_case_reads_in_columns_at_80_with_its_evidence_under_each_step(
    demo_store: Path,
) -> None:
    lines = approvals(demo_store, "history", "ENT-2026-0001", columns=80).stdout.splitlines()
    assert lines[0].split() == ["#", "when", "(JST)", "who", "as", "what", "then"]
    assert lines[1].strip() == "comment / evidence"
    assert set(lines[2]) == {"-", " "}
    filed = lines.index(next(line for line in lines if line.startswith("1 ")))
    block = lines[filed : lines.index("", filed)]
    assert "tanaka" in block[0]
    assert "file" in block[0].split()
    evidence = " ".join(line.strip() for line in block if line.startswith("    v"))
    assert evidence.startswith("vendor=Shred & Scan Ltd.;")


def test_titles_are_shortened_with_an_ellipsis_when_the_list_must_fit(demo_store: Path) -> None:
    fitted = approvals(demo_store, "list", columns=100).stdout
    whole = approvals(demo_store, "list").stdout
    assert "Address list bought from a partner" in whole
    assert "Address list bought from a partner" not in fitted
    assert any(word.endswith("…") for word in fitted.split())


def test_a_register_too_wide_for_columns_prints_a_record_for_each_row(demo_store: Path) -> None:
    lines = approvals(demo_store, "register", "vendors", columns=80).stdout.splitlines()
    assert lines[0].split() == ["case", "ENT-2026-0001"]
    assert lines[1].split() == ["vendor", "Shred", "&", "Scan", "Ltd."]
    assert "" in lines  # records apart
    assert not any(set(line) == {"-", " "} for line in lines)  # no header rule: not a table


def test_japanese_cells_line_up_by_their_width_on_the_terminal() -> None:
    headers = ["件名", "状態", "部"]
    rows = [["個人情報の第三者提供に関する件", "届け出済み(預託先調査中)", "sales"],
            ["Payroll outsourcing", "協議中", "人事部"]]  # fmt: skip
    lines = tables.layout(headers, rows, {}, 40)
    assert all(cells(line) <= 40 for line in lines), lines
    assert len(lines) > 4  # wrapped
    # The third column starts at the same cell on the header's line and on each row's first.
    start = cells(lines[0][: lines[0].rindex("部")])
    for word in ("sales", "人事部"):
        line = next(line for line in lines if line.endswith(word))
        assert cells(line[: line.index(word)]) == start, lines


def test_a_clipped_column_ends_in_an_ellipsis_within_its_width() -> None:
    rows = [["NP-2026-0001", "個人情報の第三者提供に関するとても長い件名です", "ended"]]
    lines = tables.layout(["case", "title", "state"], rows, {1: "clip"}, 36)
    assert all(cells(line) <= 36 for line in lines), lines
    assert len(lines) == 3
    assert "…" in lines[2]


def test_only_the_last_column_may_go_below_its_row() -> None:
    with pytest.raises(ValueError, match="last column"):
        tables.layout(["a", "b"], [["1", "2"]], {0: "below"}, 10)


@pytest.mark.parametrize("columns", ["1", "5", "abc", "0", " 80 "])
def test_any_columns_setting_prints_a_table(demo_store: Path, columns: str) -> None:
    """A tiny width still prints (words break where nothing else fits); a setting that is not
    a width is not one (as the standard library reads COLUMNS)."""
    result = approvals(demo_store, "list", COLUMNS=columns)
    assert result.stdout.strip()
    if not columns.strip().isdecimal() or columns == "0":
        assert result.stdout == approvals(demo_store, "list").stdout


# -- whole rows: --wide, and piped output ------------------------------------------------------


@pytest.mark.parametrize(
    "command", [("history", "ENT-2026-0001"), ("register", "vendors"), ("inbox",)], ids=" ".join
)
def test_wide_prints_each_row_whole_on_one_line(demo_store: Path, command: tuple[str, ...]) -> None:
    piped = approvals(demo_store, *command).stdout
    assert approvals(demo_store, "--wide", *command, columns=80).stdout == piped
    assert approvals(demo_store, *command, "--wide", columns=80).stdout == piped


def test_piped_output_keeps_one_line_a_row(demo_store: Path) -> None:
    lines = approvals(demo_store, "history", "ENT-2026-0001").stdout.splitlines()
    events = approvals(demo_store, "--json", "history", "ENT-2026-0001").stdout
    assert len(lines) == 2 + len(json.loads(events))  # headers, rule, a line an event
    assert max(cells(line) for line in lines) > 100
    assert lines[1].startswith("--  ")


def test_on_a_terminal_without_columns_its_width_is_fitted(
    demo_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tables, "stdout_is_terminal", lambda: True)
    size = os.terminal_size((72, 500))
    monkeypatch.setattr(tables.shutil, "get_terminal_size", lambda: size)
    fitted = approvals(demo_store, "history", "ENT-2026-0001").stdout
    assert max(cells(line) for line in fitted.splitlines()) <= 72


# -- the pager ---------------------------------------------------------------------------------


@pytest.fixture
def paged(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What went through the pager, on a terminal faked 100 columns by 24 lines."""
    shown: list[str] = []
    monkeypatch.setattr(click, "echo_via_pager", lambda text, *_a, **_k: shown.append(text))
    monkeypatch.setattr(tables, "stdout_is_terminal", lambda: True)
    size = os.terminal_size((100, 24))
    monkeypatch.setattr(tables.shutil, "get_terminal_size", lambda: size)
    return shown


def test_output_longer_than_the_terminal_goes_through_the_pager(
    demo_store: Path, paged: list[str]
) -> None:
    result = approvals(demo_store, "history", "ENT-2026-0001")
    assert len(paged) == 1
    assert len(paged[0].splitlines()) >= 24
    assert "tanaka" not in result.stdout
    assert "tanaka" in paged[0]


def test_output_that_fits_the_screen_is_printed_without_the_pager(
    demo_store: Path, paged: list[str]
) -> None:
    result = approvals(demo_store, "projections", "status")
    assert paged == []
    assert "inbox" in result.stdout


@pytest.mark.parametrize(
    "command",
    [("--json", "history", "ENT-2026-0001"), ("register", "cases", "--csv")],
    ids=" ".join,
)
def test_json_and_csv_never_go_through_the_pager(
    demo_store: Path, paged: list[str], command: tuple[str, ...]
) -> None:
    result = approvals(demo_store, *command)
    assert paged == []
    assert result.stdout.strip()


def test_piped_output_never_goes_through_the_pager(
    demo_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[str] = []
    monkeypatch.setattr(click, "echo_via_pager", lambda text, *_a, **_k: shown.append(text))
    approvals(demo_store, "history", "ENT-2026-0001", LINES="5")
    assert shown == []


# -- the cost ----------------------------------------------------------------------------------


def test_help_loads_no_width_library() -> None:
    modules = loaded_by("--help")
    assert "wcwidth" not in modules
    assert "approvals.cli.tables" not in modules
