"""Every target of the benchmarks in one run: each benchmark in turn, then one table.

Runs, each in a process of its own, with its own output shown as it goes:

1. ``bench/store.py``: the bench stores (signed, every reference workflow; reused once built);
2. ``bench/verify.py``: ``audit verify`` (integrity, signatures, rules) and its floor;
3. ``bench/projections.py``: the read models' rebuild, ``audit export``, the queries;
4. ``bench/cold_start.py``: ``approvals --help``, ``inbox`` and ``list`` in fresh processes;
5. ``bench/decisions.py``: decisions per second next to eventsourcing and plain SQLAlchemy;

then prints every target with its measured figure, its goal, the ratio and the peak resident
memory where one was measured, "met" or "MISSED".  Run from the repository root, in the
environment of the README's test command::

    python bench/run.py [--events 30000,150000] [--read-events 50000,150000,500000]
                        [--skip-decisions] [--skip-postgres] [--quick]

``--quick`` is a smoke run (small sizes, few repetitions: it checks that every benchmark runs,
its figures mean little).  The figures depend on the machine and its load: the load average is
printed before and after.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from summary import read, table

HERE = Path(__file__).resolve().parent


def _run(script: str, *args: str) -> bool:
    """Run one benchmark; return whether it ended well (its output goes to ours)."""
    print(f"\n=== {script} {' '.join(args)}", flush=True)
    began = time.perf_counter()
    done = subprocess.run([sys.executable, str(HERE / script), *args], check=False)
    print(f"=== {script}: {time.perf_counter() - began:,.0f} s, exit {done.returncode}", flush=True)
    return done.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", default="30000,150000",
                        help="store sizes, comma-separated (default 30000,150000)")  # fmt: skip
    parser.add_argument("--read-events",
                        help="sizes for the read models' bench, comma-separated (default: as "
                        "--events; its own load generator makes them fast)")  # fmt: skip
    parser.add_argument("--skip-decisions", action="store_true", help="leave out decisions/s")
    parser.add_argument("--skip-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--quick", action="store_true", help="a smoke run: small and short")
    args = parser.parse_args()
    sizes = "3000" if args.quick else args.events
    read_sizes = "3000" if args.quick else (args.read_events or args.events)
    print(f"approvals benchmarks — Python {platform.python_version()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="approvals-bench-") as folder:
        summary = str(Path(folder) / "summary.jsonl")
        Path(summary).touch()
        failed = []
        for size in sizes.split(","):
            if not _run("store.py", "--events", size.strip()):
                failed.append(f"store.py {size}")
        scratch = ("--db", str(Path(folder) / "projections.db")) if args.quick else ()
        steps = [
            ("verify.py", "--events", sizes),
            ("projections.py", "--events", *read_sizes.split(","), *scratch),
            ("cold_start.py", *(("--runs", "3") if args.quick else ())),
        ]
        if not args.skip_decisions:
            steps.append(("decisions.py", *(("--decisions", "200") if args.quick else ()),
                          *(("--skip-postgres",) if args.skip_postgres else ())))  # fmt: skip
        for script, *rest in steps:
            if not _run(script, *rest, "--summary", summary):
                failed.append(script)
        targets = read(summary)
    print(f"\n=== every target (load average now {os.getloadavg()[0]:.2f})")
    print(table(targets))
    if failed:
        print(f"\nnot run to the end: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
