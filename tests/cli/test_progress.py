"""Long commands show their progress on stderr when it is a terminal, and nothing else changes.

The terminal is the one check the command line makes (``approvals.cli.progress``), made true
here; piped (as under CliRunner) or with --json, stderr holds no progress at all.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner, Result

from approvals import JST, open_approvals
from approvals.cli import cli
from approvals.cli.progress import progress
from approvals.cli.session import Session
from approvals.demo import SimulatedClock, run_demo
from tests.cli.conftest import HERMETIC_ENV

# Each long command, as the auditor runs it; {tmp} is the test's own folder.
LONG = {
    "verify": ("audit", "verify"),
    "checkpoint": ("audit", "checkpoint", "--key", "{tmp}/keys/auditor.key", "--dir", "{tmp}/cp"),
    "export jsonl": ("audit", "export"),
    "export csv": ("audit", "export", "--format", "csv"),
    "export bundle": ("audit", "export", "--bundle", "{tmp}/bundle"),
    "rebuild": ("projections", "rebuild"),
}


@pytest.fixture
def demo(backend_url: str, tmp_path: Path) -> str:
    """The demo log on a SQLite file, then PostgreSQL, with an auditor's checkpoint key."""
    clock = SimulatedClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    app = open_approvals(backend_url, clock=clock)
    try:
        run_demo(app, clock)
    finally:
        app.close()
    made = approvals(backend_url, "audit", "keygen", "--dir", str(tmp_path / "keys"))
    assert made.exit_code == 0, made.output
    (private,) = (tmp_path / "keys").glob("*.key")
    private.rename(tmp_path / "keys" / "auditor.key")
    return backend_url


def approvals(url: str, *args: str, lang: str = "en") -> Result:
    argv = ["--db", url, "--user", "kansa", *args]
    environment = {**HERMETIC_ENV, "APPROVALS_LANG": lang}
    return CliRunner().invoke(cli, argv, env=environment, prog_name="approvals")


def long_command(name: str, tmp_path: Path) -> list[str]:
    return [word.format(tmp=tmp_path) for word in LONG[name]]


def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the command line take stderr for a terminal."""
    monkeypatch.setattr("approvals.cli.progress.stderr_is_terminal", lambda: True)


@pytest.mark.parametrize("name", list(LONG))
def test_a_long_command_shows_events_done_rate_and_time_left_on_a_terminal(
    demo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    terminal(monkeypatch)
    result = approvals(demo, *long_command(name, tmp_path))
    assert result.exit_code in (0, 3), result.output
    shown = result.stderr
    assert "events/s" in shown  # the rate
    total = max(int(n) for _, n in re.findall(r"(\d+)/(\d+)", shown))
    assert total > 0
    assert f"{total}/{total}" in shown  # events done, to the last
    assert "%" in shown
    assert "events/s" not in result.stdout  # what is printed or exported is untouched


def test_progress_speaks_japanese_when_asked(
    demo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal(monkeypatch)
    result = approvals(demo, "projections", "rebuild", lang="ja")
    assert result.exit_code == 0, result.output
    assert "件/秒" in result.stderr
    assert "events/s" not in result.stderr


@pytest.mark.parametrize("name", list(LONG))
def test_piped_stderr_holds_no_progress(demo: str, tmp_path: Path, name: str) -> None:
    result = approvals(demo, *long_command(name, tmp_path))
    assert result.exit_code in (0, 3), result.output
    assert "events/s" not in result.stderr
    assert "/s" not in result.stderr
    assert "\r" not in result.stderr


@pytest.mark.parametrize("name", list(LONG))
def test_json_output_holds_no_progress_even_on_a_terminal(
    demo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    terminal(monkeypatch)
    result = approvals(demo, "--json", *long_command(name, tmp_path))
    assert result.exit_code in (0, 3), result.output
    assert "events/s" not in result.stderr
    assert "\r" not in result.stderr
    if name not in ("export jsonl", "export csv"):  # those print the log itself, not a summary
        json.loads(result.stdout)


def test_the_bar_shows_the_time_left_while_events_remain(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal(monkeypatch)
    ticks = iter(range(1_000_000, 2_000_000, 10))  # ten seconds a tick: click estimates at once
    monkeypatch.setattr("click._termui_impl.time", SimpleNamespace(time=lambda: next(ticks)))
    session = Session(db=None, user=None, lang="en", as_json=False)
    with progress(session, "progress.verify") as shown:
        assert shown is not None
        shown(1000, 4000)
        shown(2000, 4000)
        shown(4000, 4000)
    err = capsys.readouterr().err
    assert "Verifying the log" in err
    assert "2000/4000" in err
    assert re.search(r"2000/4000 +50% +\d\d:\d\d:\d\d ", err)  # time left, while events remain
    assert "4000/4000" in err
    assert err.endswith("\n")


def test_catching_up_reports_done_out_of_total_up_to_the_head(demo: str) -> None:
    app = open_approvals(demo)
    try:
        projector = app.registers().projector
        projector.batch = 7
        seen: list[tuple[int, int]] = []
        events = projector.rebuild(progress=lambda done, total: seen.append((done, total)))
        head = projector.head()
    finally:
        app.close()
    assert events > 7
    assert len(seen) >= 2
    assert all(total == seen[0][1] for _, total in seen)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert seen[-1] == (seen[-1][1], seen[-1][1])
    assert seen[-1][1] == head


def test_an_export_reports_every_event_read(demo: str) -> None:
    from approvals.audit.export import export_rows

    app = open_approvals(demo)
    try:
        seen: list[tuple[int, int]] = []
        rows = list(export_rows(app, progress=lambda done, total: seen.append((done, total))))
    finally:
        app.close()
    assert rows
    assert seen[-1][0] == seen[-1][1] >= len(rows)
