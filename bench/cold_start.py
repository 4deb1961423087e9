"""How long the command line takes to start: fresh processes, median wall time.

Makes the demo store (`approvals demo`) in a temporary folder, then times ``--runs`` fresh
processes of each of

* ``approvals --help`` (target: under 100 ms),
* ``approvals --version``,
* ``approvals inbox`` on the demo store, as the chief who has steps waiting (target: under
  300 ms; the read models are current, so the quick read path of ``approvals.reading``
  answers from their tables without building the application),
* ``approvals list`` (the case register, the same path; held to the same 300 ms),
* for comparison, a fresh interpreter importing click and SQLAlchemy: what a read through
  SQLAlchemy pays before its first query (the quick path reads a SQLite file with the
  stdlib's ``sqlite3`` and pays click alone; a PostgreSQL store still goes through
  SQLAlchemy),

and prints each median, its spread (fastest, slowest) and its ratio to the target, with
``python -X importtime`` leaders of the slowest command for where the time goes. Figures, not
pass/fail: the machine's load moves them. The bytecode is compiled once beforehand (into a
temporary PYTHONPYCACHEPREFIX), as an installed wheel's is. Run from the repository root::

    python bench/cold_start.py [--runs 9] [--summary FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from summary import Target, record

TARGETS = {
    "--help": 0.100,
    "--version": 0.100,
    "inbox": 0.300,
    "list": 0.300,
    "click+sqlalchemy": None,
}


def approvals(*args: str) -> list[str]:
    """The command line of a fresh ``approvals`` process (the venv's interpreter)."""
    return [sys.executable, "-m", "approvals", *args]


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Wall time of one fresh process, from spawn to exit."""
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def importtime(argv: list[str], cwd: Path, env: dict[str, str], top: int = 10) -> list[str]:
    """The ``top`` imports of the process at depth 0 to 2 taking longest, cumulatively."""
    done = subprocess.run(
        [argv[0], "-X", "importtime", *argv[1:]], cwd=cwd, env=env, check=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    rows: list[tuple[int, str]] = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or "cumulative" in line:
            continue
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        if depth <= 2:
            rows.append((int(parts[1]), "  " * depth + name.strip()))
    rows.sort(reverse=True)
    return [f"{total / 1000:7.1f} ms  {name}" for total, name in rows[:top]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="fresh processes per command")
    parser.add_argument(
        "--against", metavar="SRC", type=Path,
        help="another source tree (its src folder, e.g. an export of the previous commit) to "
        "time in turn with this one, run for run, so that both see the same load",
    )  # fmt: skip
    parser.add_argument("--summary", help="append the targets measured to this file (bench/run.py)")
    options = parser.parse_args()
    cache = tempfile.TemporaryDirectory(prefix="approvals-pycache-")
    # An installed wheel has its bytecode compiled: time that, not compiling every module on
    # each start (as PYTHONDONTWRITEBYTECODE=1 would), and keep the bytecode out of the tree.
    env = {
        **{key: value for key, value in os.environ.items()
           if not key.startswith("APPROVALS_") and key != "PYTHONDONTWRITEBYTECODE"},
        "PYTHONPYCACHEPREFIX": cache.name,
    }  # fmt: skip
    trees = {"": env}
    if options.against is not None:
        print(f"(against: {options.against})")
        trees = {
            " (this)": env,
            " (against)": {**env, "PYTHONPATH": str(options.against.resolve())},
        }
    with tempfile.TemporaryDirectory(prefix="approvals-cold-") as folder:
        cwd = Path(folder)
        subprocess.run(approvals("demo"), cwd=cwd, env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        store = ["--db", "approvals-demo.db", "--keys", "approvals-demo.keys", "--user", "sato"]
        commands = {
            "--help": approvals("--help"),
            "--version": approvals("--version"),
            "inbox": approvals(*store, "inbox"),
            "list": approvals(*store, "list"),
            "click+sqlalchemy": [sys.executable, "-c", "import click, sqlalchemy"],
        }
        for argv in commands.values():  # compile the bytecode, warm the file cache
            for tree_env in trees.values():
                timed(argv, cwd, tree_env)
        print(f"python {platform.python_version()}, {os.cpu_count()} cores, "
              f"load average {os.getloadavg()[0]:.2f}, {options.runs} runs each")  # fmt: skip
        print(f"{'command':<20} {'median':>8} {'fastest':>8} {'slowest':>8} {'target':>7}  ratio")
        for name, argv in commands.items():
            times: dict[str, list[float]] = {tree: [] for tree in trees}
            for _ in range(options.runs):
                for tree, tree_env in trees.items():
                    times[tree].append(timed(argv, cwd, tree_env))
            for tree, measured in times.items():
                median = statistics.median(measured)
                target = TARGETS[name]
                shown = name + tree
                aim = "" if target is None else f"{target * 1000:5.0f}ms {median / target:6.2f}"
                if target is not None and not tree.endswith("(against)"):
                    record(options.summary, Target(
                        "cold_start", f"approvals {name}, cold (median of {options.runs})",
                        median * 1000, target * 1000, "ms", higher_is_better=False,
                    ))  # fmt: skip
                print(
                    f"{shown:<20} {median * 1000:6.0f}ms {min(measured) * 1000:6.0f}ms "
                    f"{max(measured) * 1000:6.0f}ms {aim}".rstrip()
                )
        print("\nwhere `approvals inbox` spends its imports (cumulative, top levels):")
        for line in importtime(commands["inbox"], cwd, env):
            print("  " + line)
    cache.cleanup()


if __name__ == "__main__":
    main()
