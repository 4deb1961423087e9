"""How fast `audit verify` walks the log, next to merely reading the rows and hashing them.

For each size given (default 30,000 and 150,000 events) builds a signed SQLite store with
bench/store.py (every reference workflow, each command through the engine's checks; or reuses
the one already in --dir: building is slow), or takes --db URL (any backend, filled there if
short), then times, on the same store,
each measurement in a process of its own so that its peak resident memory (VmHWM) is its own:

* floor: every event row and its ledger row read in pages with the driver (sqlite3 or
  psycopg) and SHA-256 (hashlib, in C) of the stored bytes: what no verification can beat;
* integrity: events against the ledger (each leaf recomputed), the chains and the Merkle root;
* verify, signatures: ``verify_log(rules=False)``: integrity, decoding, every writer's
  signature and actor (one process per core, each a share of the aggregates and of the
  positions), damaged cases;
* verify, full: the same plus every case replayed against its rules;

and prints events/s for each, its ratio to the floor, the peak resident memory of the
measuring process and the largest of the processes it started (the workers), and the
CPU-seconds of all of them (steadier than the rate on a shared machine). Run from the
repository root::

    python bench/verify.py [--events 30000,150000] [--dir DIR] [--db URL] [--summary FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import structlog
from store import ensure_store
from summary import Target, record

from approvals import open_approvals
from approvals.audit.verify import integrity_walk, verify_log


def _peak_kb() -> int:
    """This process's peak resident memory (VmHWM), in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _children_peak_kb() -> int:
    """The largest peak resident memory of the processes this one started and waited for
    (the verifier's workers), in kB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def _floor(url: str) -> tuple[int, bool, float]:
    """Read every event beside its ledger row with the driver, and SHA-256 the stored bytes."""
    app = open_approvals(url, create=False)
    try:
        events = app.recorder.events_record_cls.__table__.name
        ledger = app.recorder.ledger.name
        query = (
            f"SELECT e.id, e.originator_id, e.originator_version, e.topic, e.state, "
            f"l.leaf_hash, l.chain_hash, l.case_chain_hash FROM {ledger} l "
            f"JOIN {events} e ON e.id = l.event_id ORDER BY l.position"
        )
        count = 0
        sha256 = hashlib.sha256
        started = time.perf_counter()
        with app.engine.connect() as connection:
            raw: Any = connection.connection.driver_connection
            cursor = raw.cursor()
            cursor.arraysize = 10_000
            cursor.execute(query)
            while page := cursor.fetchmany():
                for row in page:
                    sha256(bytes(row[4])).digest()
                count += len(page)
            cursor.close()
        return count, True, time.perf_counter() - started
    finally:
        app.close()


def _integrity(url: str) -> tuple[int, bool, float]:
    app = open_approvals(url, create=False)
    try:
        started = time.perf_counter()
        walk = integrity_walk(app, ())
        return walk.roots.size, not walk.findings, time.perf_counter() - started
    finally:
        app.close()


def _verify(url: str, *, rules: bool) -> tuple[int, bool, float]:
    app = open_approvals(url, create=False)
    try:
        started = time.perf_counter()
        report = verify_log(app, rules=rules)
        return report.events, report.ok, time.perf_counter() - started
    finally:
        app.close()


MEASURES = {
    "floor": ("read + SHA-256 (floor)", _floor),
    "integrity": ("verify, integrity", _integrity),
    "signatures": ("verify, signatures", lambda url: _verify(url, rules=False)),
    "full": ("verify, full (rules)", lambda url: _verify(url, rules=True)),
}


def measure(kind: str, url: str) -> None:
    """Run one measurement in this process and print it as JSON (the parent reads it)."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    events, ok, took = MEASURES[kind][1](url)
    used = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(usage.ru_utime + usage.ru_stime for usage in used)
    print(json.dumps({"events": events, "seconds": took, "ok": ok, "peak_kb": _peak_kb(),
                      "workers_kb": _children_peak_kb(), "cpu": cpu}))  # fmt: skip


def _child(kind: str, url: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", kind, "--db", url],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


GOALS = {"integrity": 100_000, "signatures": 40_000, "full": 30_000}
"""events/s asked of each measure on SQLite (integrity: 60,000 on PostgreSQL)."""


def report(url: str, summary: str | None = None) -> None:
    """Measure everything on the store at ``url``, print one table, record the targets."""
    measured = {kind: _child(kind, url) for kind in MEASURES}
    rows = [(MEASURES[kind][0], got) for kind, got in measured.items()]
    base = rows[0][1]["events"] / rows[0][1]["seconds"]
    print(f"{'':<24}{'events':>9}{'seconds':>9}{'events/s':>11}{'of floor':>10}{'peak MB':>9}"
          f"{'workers MB':>12}{'CPU s':>8}")  # fmt: skip
    for label, got in rows:
        speed = got["events"] / got["seconds"]
        flag = "" if got["ok"] else "  (NOT OK: the bench store does not verify)"
        print(
            f"{label:<24}{got['events']:>9}{got['seconds']:>9.2f}{speed:>11,.0f}"
            f"{speed / base:>10.2f}{got['peak_kb'] / 1024:>9.0f}"
            f"{got.get('workers_kb', 0) / 1024:>12.0f}{got.get('cpu', 0):>8.1f}{flag}"
        )
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    size = f"{measured['floor']['events']:,} events, {backend}"
    for kind, goal in GOALS.items():
        got = measured[kind]
        speed = got["events"] / got["seconds"]
        peak = max(got["peak_kb"], got.get("workers_kb", 0)) / 1024
        aim = 60_000 if kind == "integrity" and backend == "PostgreSQL" else goal
        note = "" if got["ok"] else "the store does not verify"
        record(summary, Target("verify", f"{MEASURES[kind][0]}, {size}", speed, aim, "ev/s",
                               peak_mb=peak, note=note))  # fmt: skip
        if kind == "integrity":
            floor = f"floor {base:,.0f} ev/s"
            record(summary, Target("verify", f"integrity / read + SHA-256 floor, {size}",
                                   speed / base, 0.5, "x", note=floor))  # fmt: skip
    worst = max(max(g["peak_kb"], g.get("workers_kb", 0)) for g in measured.values()) / 1024
    record(summary, Target("verify", f"verify memory (largest process), {size}", worst, 300,
                           "MB", higher_is_better=False))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", default="30000,150000",
                        help="sizes, comma-separated (default 30000,150000)")  # fmt: skip
    parser.add_argument("--dir", default=os.path.join(os.path.expanduser("~"), ".approvals-bench"),
                        help="where the SQLite stores are kept and reused")  # fmt: skip
    parser.add_argument("--db", help="a store URL to use (built there up to the first size)")
    parser.add_argument("--summary", help="append the targets measured to this file (bench/run.py)")
    parser.add_argument("--measure", choices=sorted(MEASURES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.db)
        return
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    print(
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{platform.machine()}, {os.cpu_count()} cores"
    )
    sizes = [int(s) for s in args.events.split(",") if s.strip()]
    for size in sizes[:1] if args.db else sizes:
        made = ensure_store(size, args.dir, db=args.db)  # the stores bench/store.py keeps
        built = "reused" if made.reused else f"built at {made.rate:,.0f} events/s"
        print(f"\nstore: {made.url} ({built})")
        report(made.url, args.summary)


if __name__ == "__main__":
    main()
