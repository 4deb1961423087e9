"""The README's promises: its library example runs as written, its commands are the real ones."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _run_python_block(number: int, tmp_path: Path) -> str:
    """Run the README's ``number``-th Python example as a script; return what it printed."""
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)
    script = tmp_path / f"example{number}.py"
    script.write_text(blocks[number], encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # the library prints nothing of its own
    return done.stdout


def test_the_readme_library_example_runs_as_written(tmp_path: Path) -> None:
    printed = _run_python_block(0, tmp_path)
    assert "NP-" in printed
    assert "record_measures" in printed
    assert "must be given first" in printed


def test_the_readme_embedding_example_commits_and_rolls_back_with_the_host(
    tmp_path: Path,
) -> None:
    printed = _run_python_block(1, tmp_path)
    # The host's row and the first case, nothing of the unit that rolled back.
    assert re.fullmatch(r"\['NP-(\d{4})-0001'\] \('NP-\1-0001',\)\n", printed), printed


def test_the_quickstart_example_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "ENT-" in done.stdout
    assert "refused:" in done.stdout


def test_the_readme_holds_exactly_two_set_up_commands() -> None:
    commands = re.findall(r"<!-- (\w+)-command -->\n\n```sh\n(.+)\n```", README)
    assert [name for name, _ in commands] == ["main", "test"]
    assert all(command.startswith("python3 -m venv .venv && ") for _, command in commands)
