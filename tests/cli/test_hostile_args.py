"""Every command, walked with hostile arguments: one sentence, never a traceback, nothing changed.

The walk takes the commands from the click group itself, so a command added later is walked too.
Each parameter gets, one at a time and beside plausible values for the others, values a
careless or hostile caller could give for its type: text that is not UTF-8 (argv bytes arrive
as lone surrogates), 100,000 characters, terminal control sequences; numbers too large, negative,
not ASCII digits or looking like options; paths under a missing folder, under a regular file,
a folder where a file is expected, a file that cannot be read.  Whatever happens, the command
ends with exit 1 (one sentence on stderr) or 2 (click's usage block with one "Error:" line),
or 0 for a read whose output is clean; the store's rows and the files given are as they were.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from approvals import JST, open_approvals
from approvals.audit.checkpoint import generate_keys
from approvals.cli import cli
from approvals.demo import CHIEF, MANAGER, STAFF, SimulatedClock, appoint_sample_roster
from tests.cli.conftest import HERMETIC_ENV
from tests.scenarios import FILINGS

# -- the commands, from the group itself -------------------------------------------------------

Path_ = tuple[str, ...]


def commands(group: click.Group, prefix: Path_ = ()) -> Iterator[tuple[Path_, click.Command]]:
    """Every command under ``group``, sub-groups walked, as (words, command)."""
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


COMMANDS = dict(commands(cli))

READS: set[Path_] = {
    ("audit", "export"),  # without --bundle it prints the log to stdout
    ("audit", "report"),  # without --out it prints the report to stdout
    ("audit", "timeline"),
    ("audit", "prove"),  # prints a proof: JSON of hashes
    ("audit", "verify"),
    ("history",),
    ("inbox",),
    ("list",),
    ("projections", "check"),
    ("projections", "follow"),  # the read models are current: it has nothing to write
    ("projections", "status"),
    ("register", "cases"),
    ("register", "overdue"),
    ("register", "provisions"),
    ("register", "receipts"),
    ("register", "retention"),
    ("register", "vendors"),
    ("remind",),
    ("retention", "due"),
    ("retention", "show"),
    ("roster", "list"),
    ("show",),
    ("workflows", "diagram"),
    ("workflows", "list"),
    ("workflows", "show"),
    ("workflows", "validate"),
}
"""Commands that only read: exit 0 is acceptable for them when what they printed is clean.
Every other command writes (to the store or to files), and must refuse a hostile value."""

ACTING_AS_NOBODY: set[Path_] = {("audit", "keygen"), ("demo",), ("init",)}
"""Commands that never ask who runs them (keygen writes files only; demo acts as its own
roster; init makes a store for whoever sets it up): a hostile --user is harmless to them."""

# -- hostile values per type -------------------------------------------------------------------

TEXT = {
    "not-utf8": "\udcff\udcfe",  # what Python makes of argv bytes b"\xff\xfe"
    "100k-chars": "x" * 100_000,
    "escape": "\x1b[2J",
    "bell": "PUR-2026-0001\x07",
}
NUMBER = {
    "overflow": "99999999999999999999999",
    "negative": "-1",
    "superscript": "²",
    "dashes": "--5",
}
PATH = {
    # /nonexistent/dir/x, but in the test's own folder: run as root, a command that wrongly made
    # the missing folders would otherwise leave them at the root of the machine
    "missing-folder": "{MISSING}/dir/x",
    "under-a-file": "{FILE}/x",
    "folder-for-file": "{DIR}",
    "file-for-folder": "{FILE}",
    # a name longer than any file system allows: refused by the system to everyone, root too
    # (a file of mode 000 is not: root reads it)
    "name-too-long": "{DIR}/" + "x" * 300,
}
PATH_NAMES = {"db", "calendar"}
"""Options of type STRING that name a file all the same."""


def hostile_values(param: click.Parameter) -> dict[str, str]:
    kind = param.type
    if isinstance(kind, click.Path) or param.name in PATH_NAMES:
        values = dict(PATH)
        # a folder where a folder is wanted is no hostile value, nor a file where a file is
        if not getattr(kind, "dir_okay", True) or not isinstance(kind, click.Path):
            values.pop("file-for-folder")
        elif not kind.file_okay:
            values.pop("folder-for-file")
        else:  # FILE|DIR
            values.pop("file-for-folder")
            values.pop("folder-for-file")
        return {**values, "not-utf8": TEXT["not-utf8"]}
    if isinstance(kind, click.types._NumberParamTypeBase):
        return dict(NUMBER)
    if isinstance(kind, click.DateTime):
        return {**TEXT, "overflow": NUMBER["overflow"]}
    return dict(TEXT)


# -- plausible values for the rest -------------------------------------------------------------


@dataclass(frozen=True)
class Given:
    """What a run may use: the filed case, a private key, the paths the placeholders name."""

    reference: str
    key: Path
    folder: Path  # FILE and DIR live here; nothing in it may change


PLAUSIBLE: dict[str, Callable[[Given], str]] = {
    "reference": lambda g: g.reference,
    "trigger": lambda _g: "consult",
    "workflow": lambda _g: "purpose",
    "workflow_id": lambda _g: "purpose",
    "title": lambda _g: "Hostile arguments",
    "department": lambda _g: "sales",
    "reason": lambda _g: "audit",
    "user": lambda _g: MANAGER,
    "role": lambda _g: "staff",
    "year": lambda _g: "2026",
    "key_path": lambda g: str(g.key),
}


def plausible(param: click.Parameter, given: Given) -> str:
    if param.name in PLAUSIBLE:
        return PLAUSIBLE[param.name](given)
    kind = param.type
    if isinstance(kind, click.Choice):
        return str(kind.choices[0])
    if isinstance(kind, click.types._NumberParamTypeBase):
        return str(getattr(kind, "min", None) or 1)
    return "x"  # a command added later with a required parameter of a new name


def walked(param: click.Parameter) -> bool:
    return param.expose_value and not getattr(param, "is_flag", False)


def arguments(command: click.Command, given: Given, hostile: str | None, value: str) -> list[str]:
    """The command's words after its name: plausible values, ``hostile`` replaced by ``value``."""
    options: list[str] = []
    positional: list[str] = []
    for param in command.params:
        if not walked(param):
            continue
        if param.name == hostile:
            chosen = value
        elif param.required:
            chosen = plausible(param, given)
        else:
            continue
        if isinstance(param, click.Argument):
            positional.append(chosen)
        else:
            options += [param.opts[0], chosen]
    return [*options, *positional]


CASES = [
    pytest.param(words, name, label, value, id=f"{' '.join(words)}:{name}:{label}")
    for words, command in COMMANDS.items()
    for name, values in [
        (param.name, hostile_values(param)) for param in command.params if walked(param)
    ]
    + [("--user", {"not-utf8": TEXT["not-utf8"], "bell": "sato\x07"})]
    for label, value in values.items()
]
ROOT = [
    pytest.param(param.opts[0], label, value, id=f"{param.opts[0]}:{label}")
    for param in cli.params
    if walked(param) and param.name not in ("user", "lang")
    for label, value in hostile_values(param).items()
]

# -- the store, the files, and what must stay as it was ----------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path]:
    """A store with the sample roster and one case filed, its read models current; a key."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "approvals.db"
    clock = SimulatedClock(datetime(2026, 4, 6, 10, 0, tzinfo=JST))
    app = open_approvals(f"sqlite:///{path}", clock=clock)
    try:
        appoint_sample_roster(app)
        reference = app.file(
            "purpose", actor=STAFF, title="Filed", department="sales", fields=FILINGS["purpose"]
        ).reference
        app.registers().projector.ensure()
        app.registers().projector.catch_up()
    finally:
        app.close()
    private, _public, _ident = generate_keys(folder / "keys")
    return path, reference, private


def dump(store: Path) -> list[str]:
    """Every table's schema and rows, in SQL; what a refused command must leave as it was."""
    with closing(sqlite3.connect(store)) as connection:
        return list(connection.iterdump())


def snapshot(folder: Path) -> dict[str, object]:
    """The names, kinds and bytes of everything under ``folder``."""
    found: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        if path.is_dir():
            found[name] = "folder"
        elif os.access(path, os.R_OK):
            found[name] = path.read_bytes()
        else:
            found[name] = ("unreadable", path.stat().st_mode, path.stat().st_size)
    return found


@dataclass
class Scene:
    store: Path
    given: Given
    cwd: Path
    before: list[str]

    def fill(self, value: str) -> str:
        folder = self.given.folder
        return value.format(
            MISSING=folder / "nonexistent",
            FILE=folder / "plain.txt",
            DIR=folder / "folder",
        )

    def invoke(self, *args: str, user: str | None = CHIEF, db: str | None = None) -> Result:
        argv = ["--db", db or str(self.store), *(["--user", user] if user else []), *args]
        env = {
            **HERMETIC_ENV,
            "XDG_CONFIG_HOME": str(self.cwd / "config"),
            "XDG_DATA_HOME": str(self.cwd / "data"),
        }
        return CliRunner().invoke(cli, argv, env=env, prog_name="approvals")


@pytest.fixture
def scene(
    template: tuple[Path, str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Scene:
    store_path, reference, key = template
    (tmp_path / "store").mkdir()
    store = tmp_path / "store" / "approvals.db"
    shutil.copyfile(store_path, store)
    folder = tmp_path / "given"
    folder.mkdir()
    (folder / "plain.txt").write_text("kept\n", encoding="utf-8")
    (folder / "folder").mkdir()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return Scene(store, Given(reference, key, folder), cwd, dump(store))


@pytest.fixture
def stopped_followers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`projections follow` runs until SIGTERM: deliver one (to its handler) after a second."""
    handlers: list[Callable[[int, Any], None]] = []

    def catch(signum: int, handler: Any) -> Any:
        if callable(handler):
            handlers.append(handler)
        return signal.SIG_DFL

    monkeypatch.setattr(signal, "signal", catch)
    timer = threading.Timer(1.0, lambda: [h(signal.SIGTERM, None) for h in handlers])
    timer.start()
    yield
    timer.cancel()


CONTROL = {chr(c) for c in range(32) if chr(c) not in "\n\t"} | {"\x7f"}


def describe(result: Result) -> str:
    return (
        f"exit {result.exit_code}\nstdout: {result.stdout[:2000]!r}\n"
        f"stderr: {result.stderr[:2000]!r}\nexception: {result.exception!r}"
    )


def expect_clean(
    result: Result,
    words: Path_,
    scene: Scene,
    files: dict[str, object],
    *,
    user_only: bool = False,
) -> None:
    """Exit 1 with one sentence, 2 with one usage error, or 0 for a clean read; nothing changed."""
    shown = describe(result)
    # audit verify's 3: sound, but checked against no checkpoint signed by a pinned key
    allowed = (0, 1, 2, 3) if tuple(words) == ("audit", "verify") else (0, 1, 2)
    assert result.exit_code in allowed, shown
    assert isinstance(result.exception, SystemExit | None), shown
    assert "Traceback" not in result.output, shown
    assert not CONTROL & set(result.output), f"control characters reach the terminal\n{shown}"
    assert not any("\udc80" <= c <= "\udcff" for c in result.output), shown
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if result.exit_code == 1:
        assert len(lines) == 1, shown
        assert not lines[0].startswith(("Error", "Usage", "Aborted")), shown
    elif result.exit_code == 2:
        errors = [line for line in lines if line.startswith("Error:")]
        assert len(errors) == 1, shown
        usage = ("Usage:", "Try ", "Error:", " ")  # a long usage line goes on indented
        assert all(line.startswith(usage) for line in lines), shown
        assert result.stdout == "", shown
    else:
        harmless = words in READS or (user_only and words in ACTING_AS_NOBODY)
        assert harmless, f"a command that writes accepted a hostile value\n{shown}"
    assert dump(scene.store) == scene.before, f"the store changed\n{shown}"
    assert snapshot(scene.given.folder) == files, f"a file given changed\n{shown}"


# -- the walk ----------------------------------------------------------------------------------


def test_the_walk_covers_every_command() -> None:
    walked_commands = {case.values[0] for case in CASES}
    assert walked_commands == set(COMMANDS)
    assert set(COMMANDS) >= READS, READS - set(COMMANDS)
    assert len(CASES) > 150


@pytest.mark.parametrize(("words", "name", "label", "value"), CASES)
def test_a_hostile_argument_is_refused_with_one_sentence_and_changes_nothing(
    scene: Scene,
    *,
    words: Path_,
    name: str,
    label: str,
    value: str,
    request: pytest.FixtureRequest,
) -> None:
    if words == ("projections", "follow"):
        request.getfixturevalue("stopped_followers")
    value = scene.fill(value)
    files = snapshot(scene.given.folder)
    command = COMMANDS[words]
    if name == "--user":
        result = scene.invoke(*words, *arguments(command, scene.given, None, ""), user=value)
    else:
        result = scene.invoke(*words, *arguments(command, scene.given, name, value))
    expect_clean(result, words, scene, files, user_only=name == "--user")


@pytest.mark.parametrize(("option", "label", "value"), ROOT)
def test_a_hostile_global_option_is_refused_with_one_sentence(
    scene: Scene, option: str, label: str, value: str
) -> None:
    value = scene.fill(value)
    files = snapshot(scene.given.folder)
    if option == "--db":
        result = scene.invoke("inbox", db=value)
    else:
        result = scene.invoke(option, value, "inbox")
    expect_clean(result, ("inbox",), scene, files)
    assert result.exit_code != 0, describe(result)


def test_demo_refuses_a_folder_where_its_file_goes(scene: Scene) -> None:
    (scene.cwd / "approvals-demo.db").mkdir()
    (scene.cwd / "approvals-demo.db" / "kept.txt").write_text("kept", encoding="utf-8")
    before = snapshot(scene.cwd)
    # --db naming the demo's own file is the default (a store holding events is refused first)
    result = scene.invoke("demo", db=str(scene.cwd / "approvals-demo.db"))
    expect_clean(result, ("demo",), scene, snapshot(scene.given.folder))
    assert result.exit_code == 1, describe(result)
    assert "Is a directory" in result.output, describe(result)  # the folder, not the store
    assert snapshot(scene.cwd) == before


# -- the real path: bytes in argv --------------------------------------------------------------


def test_raw_invalid_utf8_in_argv_is_one_sentence_in_a_real_process(
    scene: Scene, tmp_path: Path
) -> None:
    store = os.fsencode(scene.store)
    reference = scene.given.reference.encode()
    runs: list[list[bytes]] = [
        [b"show", b"PUR-\xff\xfe"],
        [b"file", b"purpose", b"--title", b"\xff", b"--department", b"sales"],
        [b"roster", b"appoint", b"\xc3\x28", b"staff"],
        [b"act", reference, b"\xff", b"--comment", b"\xff"],
        [b"workflows", b"validate", os.fsencode(tmp_path) + b"/\xff.toml"],
        [b"audit", b"report", b"--year", b"2026", b"--out", b"/nonexistent/\xff/r.md"],
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APPROVALS_", "LC_", "LANG"))}
    env["LANG"] = "C.UTF-8"
    started = [
        (
            argv,
            subprocess.Popen(
                [
                    os.fsencode(sys.executable),
                    b"-m",
                    b"approvals",
                    b"--db",
                    store,
                    b"--user",
                    CHIEF.encode(),
                    *argv,
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=scene.cwd,
            ),
        )
        for argv in runs
    ]
    for argv, process in started:
        out, err = process.communicate(timeout=60)
        shown = f"{argv!r}: exit {process.returncode}\nstdout: {out!r}\nstderr: {err!r}"
        assert process.returncode in (1, 2), shown
        assert b"Traceback" not in err, shown
        lines = [line for line in err.splitlines() if line.strip()]
        if process.returncode == 1:
            assert len(lines) == 1, shown
            assert out == b"", shown
        else:
            assert len([line for line in lines if line.startswith(b"Error:")]) == 1, shown
        err.decode("utf-8")  # what reaches the terminal is UTF-8
    assert dump(scene.store) == scene.before


# -- a named pipe given as a workflow file -----------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_validating_a_named_pipe_is_refused_without_waiting_for_a_writer(
    tmp_path: Path, lang: str
) -> None:
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    folder = tmp_path / "folder"
    folder.mkdir()
    os.mkfifo(folder / "inside.toml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPROVALS_")}
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "approvals", "--lang", lang, "workflows", "validate", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for path in (fifo, folder)
    ]
    try:
        done = [process.communicate(timeout=60) for process in started]
    finally:
        for process in started:
            process.kill()
    for process, (out, err), named in zip(
        started, done, (fifo, folder / "inside.toml"), strict=True
    ):
        assert process.returncode == 1, (out, err)
        lines = err.splitlines()
        assert len(lines) == 1, err
        assert str(named) in lines[0]
        assert ("regular file" if lang == "en" else "通常のファイル") in lines[0]


# -- init on another application's database ----------------------------------------------------


def _other_application(path: Path, *, wal: bool = False) -> None:
    with closing(sqlite3.connect(path)) as connection:
        if wal:
            connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)")
        connection.execute("INSERT INTO invoices (total) VALUES (1200)")
        connection.commit()


@pytest.mark.parametrize("wal", [False, True], ids=["rollback", "wal"])
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_init_refuses_another_applications_database_and_writes_nothing(
    tmp_path: Path, wal: bool, lang: str
) -> None:
    folder = tmp_path / "given"
    folder.mkdir()
    given = folder / "other-app.db"
    _other_application(given, wal=wal)
    before = snapshot(folder)
    assert list(before) == ["other-app.db"]
    result = CliRunner().invoke(
        cli,
        ["--db", str(given), "--lang", lang, "init"],
        env=dict(HERMETIC_ENV),
        prog_name="approvals",
    )
    assert result.exit_code == 1, describe(result)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, describe(result)
    assert str(given) in lines[0]
    assert "invoices" in lines[0]
    assert ("another application" if lang == "en" else "別のアプリケーション") in lines[0]
    assert snapshot(folder) == before  # the same bytes; no -wal, -shm or -journal file


@pytest.mark.parametrize("kind", ["missing", "empty file", "SQLite file with no tables"])
def test_init_still_makes_a_store_of_a_missing_or_empty_file(tmp_path: Path, kind: str) -> None:
    given = tmp_path / "new" / "approvals.db"
    if kind != "missing":
        given.parent.mkdir()
        given.write_bytes(b"")
    if kind == "SQLite file with no tables":
        with closing(sqlite3.connect(given)) as connection:
            connection.execute("PRAGMA user_version = 1")  # writes the header, no table
        assert given.read_bytes().startswith(b"SQLite format 3\x00")
    env = dict(HERMETIC_ENV)
    made = CliRunner().invoke(cli, ["--db", str(given), "init"], env=env, prog_name="approvals")
    assert made.exit_code == 0, describe(made)
    again = CliRunner().invoke(cli, ["--db", str(given), "init"], env=env, prog_name="approvals")
    assert again.exit_code == 0, describe(again)  # safe to repeat on our own store
    listed = CliRunner().invoke(
        cli, ["--db", str(given), "workflows", "list"], env=env, prog_name="approvals"
    )
    assert listed.exit_code == 0, describe(listed)
