"""The benchmarks run: a smoke run of ``bench/run.py --quick`` (tiny stores, few repetitions),
every benchmark to its end and every target in the final table.  The figures of such a run
mean nothing and are not looked at; the benchmarks themselves are run by hand (README, Speed).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_every_benchmark_runs_and_prints_its_targets(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path)}  # the bench stores go under a scratch home
    env.pop("APPROVALS_DB", None)
    done = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--quick", "--skip-postgres"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = done.stdout.split("=== every target", 1)[1]
    for target in (
        "verify, integrity", "verify, signatures", "verify, full (rules)", "verify memory",
        "projections rebuild", "audit export (JSONL)", "slowest query p99",
        "approvals --help, cold", "approvals inbox, cold", "decisions, sqlite, 1 proc",
    ):  # fmt: skip
        assert target in table, target
    assert "not run to the end" not in done.stdout
