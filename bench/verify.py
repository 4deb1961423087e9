"""How fast `audit verify` walks the log, next to merely reading the rows and hashing them.

Builds a SQLite store (or uses --db URL) holding about --events events of entrustment cases
walked through the engine, then times, on the same store:

* read + hash: every event row read in pages and its RFC 8785 leaf hashed — the floor;
* verify (integrity): events against the ledger, the chains and the Merkle root;
* verify (full): the same plus every case replayed against its rules;

and prints events/s for each and their ratio to the floor. Run from the repository root::

    python bench/verify.py [--events N] [--db URL]
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import tempfile
import time
from datetime import datetime
from pathlib import Path

import structlog

from approvals import JST, open_approvals
from approvals.audit.hashing import leaf_data, leaf_hash
from approvals.audit.verify import verify_log
from approvals.demo import FILINGS, PATHS, STAFF, SimulatedClock, appoint_sample_roster


def build(url: str, events: int) -> int:
    clock = SimulatedClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    app = open_approvals(url, clock=clock)
    try:
        if not app.roster():
            appoint_sample_roster(app)
        written = app.recorder.max_notification_id() or 0
        started = time.perf_counter()
        while written < events:
            ref = app.file("entrustment", actor=STAFF, title="bench", department="sales",
                           fields=FILINGS["entrustment"]).reference  # fmt: skip
            for move in PATHS["entrustment"]:
                app.act(ref, move.trigger, actor=move.actor, fields=move.fields,
                        checklist=move.checklist, comment=move.comment)  # fmt: skip
            written = app.recorder.max_notification_id() or 0
        took = time.perf_counter() - started
        return int(written / took) if took else 0
    finally:
        app.close()


def read_and_hash(url: str) -> tuple[int, float]:
    app = open_approvals(url, create=False)
    try:
        started = time.perf_counter()
        count, start = 0, 1
        while True:
            page = app.recorder.select_notifications(start, 5000)
            for n in page:
                leaf_hash(leaf_data(str(n.originator_id), n.originator_version, n.topic, n.state))
            count += len(page)
            if len(page) < 5000:
                break
            start = page[-1].id + 1
        return count, time.perf_counter() - started
    finally:
        app.close()


def timed_verify(url: str, *, rules: bool) -> tuple[int, float, bool]:
    app = open_approvals(url, create=False)
    try:
        started = time.perf_counter()
        report = verify_log(app, rules=rules)
        return report.events, time.perf_counter() - started, report.ok
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--events", type=int, default=5000, help="events in the store (default 5000)"
    )
    parser.add_argument("--db", help="a store URL to use instead of a fresh SQLite file")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))

    url = args.db or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    print(
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {platform.machine()}"
    )
    rate = build(url, args.events)
    print(f"store: {url} (built at {rate} events/s through the engine)\n")

    count, floor = read_and_hash(url)
    rows = [("read + hash (floor)", count, floor)]
    for label, rules in (("verify, integrity only", False), ("verify, with rules", True)):
        events, took, ok = timed_verify(url, rules=rules)
        assert ok, "the bench store does not verify"
        rows.append((label, events, took))
    base = count / floor
    print(f"{'':<26}{'events':>10}{'seconds':>10}{'events/s':>12}{'of floor':>10}")
    for label, events, took in rows:
        speed = events / took
        print(f"{label:<26}{events:>10}{took:>10.2f}{speed:>12,.0f}{speed / base:>10.2f}")


if __name__ == "__main__":
    main()
