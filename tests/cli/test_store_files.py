"""Files and values the system cannot use are refused with one sentence, and left as they were.

Opening a store switches SQLite to WAL mode, which writes a header into an empty file and
turns another application's database to WAL: a command that is refused must touch nothing.
An output path that cannot be written, a number out of range, a file that is not UTF-8: one
sentence, never a traceback.
"""

from __future__ import annotations

import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from approvals import StorageError, open_approvals
from approvals.demo import AUDITOR
from tests.cli.conftest import Run


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def _other_application(path: Path) -> None:
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)")
        connection.execute("INSERT INTO invoices (total) VALUES (1200)")
        connection.commit()


FILES = {
    "empty": lambda path: path.write_bytes(b""),
    "text": lambda path: path.write_text("shopping list\nmilk\n", encoding="utf-8"),
    "corrupt header": lambda path: path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200),
    "another application's database": _other_application,
}


@pytest.mark.parametrize("kind", sorted(FILES))
@pytest.mark.parametrize("command", [("inbox",), ("list",), ("audit", "verify")])
def test_a_file_that_is_no_store_is_refused_and_left_as_it_was(
    run: Run, tmp_path: Path, kind: str, command: tuple[str, ...]
) -> None:
    folder = tmp_path / "given"
    folder.mkdir()
    given = folder / "given.db"
    FILES[kind](given)
    before = _files(folder)
    result = run(*command, db=str(given), user="sato")
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert str(given) in lines[0]
    assert _files(folder) == before  # no header, no WAL switch, no -wal or -shm file


def test_the_library_refuses_the_same_files_without_touching_them(tmp_path: Path) -> None:
    for kind, make in FILES.items():
        folder = tmp_path / kind.replace(" ", "-").replace("'", "")
        folder.mkdir()
        given = folder / "given.db"
        make(given)
        before = _files(folder)
        with pytest.raises(StorageError):
            open_approvals(f"sqlite:///{given}", create=False)
        assert _files(folder) == before, kind


def test_init_makes_a_store_of_an_empty_file_but_not_of_a_text_file(
    run: Run, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    assert run("init", db=str(empty)).exit_code == 0
    assert run("workflows", "list", db=str(empty)).exit_code == 0
    text = tmp_path / "notes.db"
    text.write_text("notes", encoding="utf-8")
    result = run("init", db=str(text))
    assert result.exit_code != 0
    assert "not a SQLite database" in result.output
    assert text.read_text(encoding="utf-8") == "notes"


def test_a_postgresql_url_whose_port_is_no_number_is_one_sentence(run: Run) -> None:
    result = run("inbox", db="postgresql://postgres@127.0.0.1:abc/test", user="sato")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "it is not a database URL" in result.output


def test_a_calendar_file_that_is_not_utf8_is_one_sentence(run: Run, tmp_path: Path) -> None:
    calendar = tmp_path / "calendar.toml"
    calendar.write_bytes(b"\xff\xfe[company]\n")
    result = run("--calendar", str(calendar), "inbox", user="sato")
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "it is not UTF-8 text" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("remind", "--days", "1000000000"),
        ("audit", "report", "--year", "0"),
        ("audit", "report", "--year", "10000"),
    ],
)
def test_a_number_out_of_range_is_a_usage_error_not_a_traceback(
    run: Run, args: tuple[str, ...]
) -> None:
    result = run(*args, user=AUDITOR)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "is not in the range" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("audit", "report", "--year", "2026", "--out", "{missing}/report.md"),
        ("audit", "report", "--year", "2026", "--out", "{file}/report.md"),
        ("audit", "export", "--bundle", "{file}/bundle"),
        ("audit", "keygen", "--dir", "{file}/keys"),
    ],
)
def test_an_output_path_that_cannot_be_written_is_one_sentence(
    run: Run, tmp_path: Path, args: tuple[str, ...]
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "a-file").write_text("kept", encoding="utf-8")
    before = _files(folder)
    paths = {"missing": str(folder / "missing"), "file": str(folder / "a-file")}
    result = run(*(arg.format(**paths) for arg in args), user=AUDITOR)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "the command was stopped" in lines[0]
    assert _files(folder) == before


@pytest.mark.parametrize("unusable", ["folder", "file"])
def test_a_scratch_folder_verify_cannot_use_is_one_sentence(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unusable: str
) -> None:
    """`audit verify` keeps what it learns of the cases that replay clean in a folder of the
    system's temporary directory: a folder it cannot make there, or a file in it it cannot
    open (a full disk alike), stops it with one sentence naming it, not a traceback."""
    if unusable == "folder":
        taken = tmp_path / "not-a-folder"
        taken.write_text("kept", encoding="utf-8")
        monkeypatch.setattr(tempfile, "tempdir", str(taken))
        named = str(taken)
    else:
        made = tempfile.TemporaryDirectory

        class Taken(made):  # type: ignore[valid-type,misc]
            """The folder, with a folder where the share's file goes."""

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                (Path(self.name) / "share-0-of-1.db").mkdir()

        monkeypatch.setattr(tempfile, "TemporaryDirectory", Taken)
        named = "share-0-of-1.db"
    result = run("audit", "verify", user=AUDITOR)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert named in lines[0]
    assert "the command was stopped" in lines[0]
