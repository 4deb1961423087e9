"""How fast ``approvals audit export`` writes JSON Lines, in one process and with workers, and
the memory it takes, parent and workers together.

Each measure runs in a fresh child process (spawned: nothing of this process's memory); a
thread in it samples, every 100 ms, the resident memory (RSS) and the proportional share (PSS:
pages shared with the forked workers counted once) of the exporting process and its workers;
the peaks of their sums are printed with the rate.  Run from the repository root on stores
made by ``bench/projections.py`` (``--events N`` leaves ``bench/out/projections-N.db``)::

    python bench/export.py bench/out/projections-50000.db bench/out/projections-150000.db

Target (issue 19): >= 50,000 events/s, under 300 MB whatever the log's size.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import threading
import time
from pathlib import Path
from typing import Any

import structlog


def _memory(pid: int) -> tuple[int, int]:
    """RSS and PSS of process ``pid`` in kB (0, 0 once it is gone)."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as listed:
            return [int(found) for found in listed.read().split()]
    except OSError:
        return []


def _measure(url: str, workers: bool, answer: Any) -> None:
    """In a child process: export the store at ``url`` to /dev/null; send back the figures."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    from approvals import open_approvals
    from approvals.audit import export

    if not workers:
        export.PARALLEL = 2**62
    peaks = [0, 0]
    running = True

    def sample() -> None:
        while running:
            me = os.getpid()
            total = [0, 0]
            for pid in (me, *_children(me)):
                rss, pss = _memory(pid)
                total[0] += rss
                total[1] += pss
            peaks[0], peaks[1] = max(peaks[0], total[0]), max(peaks[1], total[1])
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    app = open_approvals(url)
    try:
        with open(os.devnull, "w", encoding="utf-8") as sink:
            started = time.perf_counter()
            count = export.write_jsonl(export.export_rows(app), sink)
            took = time.perf_counter() - started
    finally:
        app.close()
    running = False
    sampler.join()
    with open("/proc/self/status") as status:
        hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    answer.send(
        json.dumps(
            {
                "count": count,
                "seconds": took,
                "rss_mb": peaks[0] / 1024,
                "pss_mb": peaks[1] / 1024,
                "parent_hwm_mb": hwm / 1024,
                "load": os.getloadavg()[0],
            }
        )
    )


def measured(url: str, workers: bool) -> dict[str, float]:
    context = multiprocessing.get_context("spawn")
    mine, theirs = context.Pipe(duplex=False)
    child = context.Process(target=_measure, args=(url, workers, theirs))
    child.start()
    found: dict[str, float] = json.loads(mine.recv())
    child.join()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stores", nargs="+", help="SQLite files or database URLs")
    parser.add_argument("--runs", type=int, default=1, help="runs of each measure")
    args = parser.parse_args()
    print(f"{'store':<36}{'mode':>9}{'events/s':>10}{'RSS MB':>8}{'PSS MB':>8}{'load':>6}")
    for store in args.stores:
        url = store if "://" in store else f"sqlite:///{Path(store).resolve()}"
        for _ in range(args.runs):
            for workers in (False, True):
                found = measured(url, workers)
                print(
                    f"{Path(store).name:<36}{'workers' if workers else 'one':>9}"
                    f"{found['count'] / found['seconds']:>10,.0f}{found['rss_mb']:>8,.0f}"
                    f"{found['pss_mb']:>8,.0f}{found['load']:>6.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
