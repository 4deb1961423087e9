"""How fast the read models catch up with a large log, and how fast they answer.

Generates a store holding about --events events (default 1.4 M, about a year of a large group
company; --events 14000000 for seven years): cases of the five workflows walked along the
sample paths, with repeated compliance checks, inspections and provisions, about 500 of them in
flight at any moment (so the end of the log leaves realistic inboxes).  The events are written
through the engine's own mapper and recorder (encrypted per case, with the integrity ledger),
in large transactions, without the per-command checks — this is a load generator.

Then, for each store, it prints (each measure in a child process of its own, so that the peak
resident memory, VmHWM, is that measure's alone):

* the eventsourcing library's own read rate: every notification read with the recorder's
  ``select_notifications`` and decoded with the application's mapper (the floor to compare to);
* the projection rebuild rate: every read model rebuilt from position zero, folded by worker
  processes as ``approvals projections rebuild`` does it, then folded in one process (the
  floor is read before and after them, and the ratio taken to the faster of the two), and the
  peak memory of the largest process;
* the ``audit export`` (JSON Lines) rate and its peak memory;
* on the largest store, query latency, p50 and p99, of the inbox and of each register.

Targets (issue 19): rebuild and export >= 50,000 events/s, rebuild >= 0.5 of the raw read
rate, each under 300 MB resident whatever the log's size.  Run from the repository root::

    python bench/projections.py [--events N [N ...]] [--db PATH_OR_URL] [--queries N]

``--events 50000 150000 500000`` measures three sizes (memory must stay flat).  A store
already holding --events events is reused (generation takes minutes).  A store given with
--db alone is timed as it is (one of bench/store.py's signed stores, say); with --events too,
it is first filled up to that size.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import resource
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from summary import Target, record

from approvals import JST, ApprovalsApplication, open_approvals
from approvals.demo import (
    CHIEF,
    FILINGS,
    HR_STAFF,
    MANAGER,
    OTHER_MANAGER,
    OTHER_STAFF,
    PATHS,
    STAFF,
    Move,
    appoint_sample_roster,
)
from approvals.domain.case import Case
from approvals.domain.workflow import Workflow
from approvals.store import sqlite_url

IN_FLIGHT = 500
MIX = {"entrustment": 3, "provision": 2, "purpose": 2, "method": 2, "joint_use": 1}
ROLES = {STAFF: "staff", OTHER_STAFF: "staff", HR_STAFF: "staff", MANAGER: "manager",
         OTHER_MANAGER: "manager", CHIEF: "chief"}  # fmt: skip
DEPARTMENTS = {"sales": (STAFF, MANAGER), "hr": (HR_STAFF, OTHER_MANAGER)}


def moves(workflow: str, department: str) -> list[Move]:
    """The sample path of ``workflow``, with repeated checks, inspections and provisions, acted
    by the people of ``department``."""
    path = list(PATHS[workflow])
    if workflow == "entrustment":
        check, inspect = path[7], path[11]
        path[8:8] = [check] * 4
        path[-1:-1] = [inspect] * 3
    if workflow == "provision":
        path[-1:-1] = [path[3]] * 6
    staff, manager = DEPARTMENTS[department]
    swap = {STAFF: staff, OTHER_STAFF: staff, MANAGER: manager}
    return [Move(m.trigger, swap.get(m.actor, m.actor), m.fields, m.checklist) for m in path]


class Flight:
    """A case being walked: the aggregate and the moves left."""

    def __init__(self, case: Case, left: list[Move]) -> None:
        self.case = case
        self.left = left


def generate(app: ApprovalsApplication, events: int) -> float:
    """Append cases until the log holds ``events`` events; return events/s written."""
    luck = random.Random(14)
    workflows: dict[str, Workflow] = dict(app.workflows)
    names = [name for name, weight in MIX.items() for _ in range(weight)]
    moment = datetime(2020, 4, 1, 9, tzinfo=JST)
    tick = timedelta(seconds=15)  # 14 M events over about seven years
    numbers = dict.fromkeys(MIX, 0)
    flights: list[Flight] = []
    written = app.recorder.max_notification_id() or 0
    started, start_count = time.perf_counter(), written

    def file() -> Flight:
        nonlocal moment
        name = luck.choice(names)
        department = luck.choice(list(DEPARTMENTS))
        workflow = workflows[name]
        numbers[name] += 1
        moment += tick
        case = Case.file(
            reference=f"{workflow.prefix}-B-{numbers[name]:07d}", workflow_id=name,
            workflow_version=workflow.version, workflow_sha256=workflow.sha256,
            title=f"bench {name} {numbers[name]}", department=department,
            actor=DEPARTMENTS[department][0], role="staff", state=workflow.initial,
            fields=dict(FILINGS[name]), attachments=[], comment="", at=moment,
        )  # fmt: skip
        return Flight(case, moves(name, department))

    while written < events:
        touched: dict[str, Case] = {}
        batch = 0
        while batch < 5000:
            if len(flights) < IN_FLIGHT:
                flight = file()
                flights.append(flight)
            else:
                flight = flights[luck.randrange(len(flights))]
                move = flight.left.pop(0)
                workflow = workflows[flight.case.workflow_id]
                step = workflow.step(flight.case.state, move.trigger)
                if step is None:
                    raise RuntimeError(f"{move.trigger} from {flight.case.state}")
                moment += tick
                flight.case.take(
                    trigger=move.trigger, dest=step.dest, actor=move.actor,
                    role=ROLES[move.actor], comment=move.comment, fields=dict(move.fields),
                    checklist=list(move.checklist), attachments=[], at=moment,
                )  # fmt: skip
                if not flight.left:
                    flights.remove(flight)
            touched[flight.case.reference] = flight.case
            batch += 1
        app.save(*touched.values())
        written += batch
        rate = (written - start_count) / (time.perf_counter() - started)
        print(f"\r  generated {written:,} events ({rate:,.0f}/s)", end="", flush=True)
    print()
    return (written - start_count) / (time.perf_counter() - started)


def raw_read(app: ApprovalsApplication) -> tuple[int, float]:
    """Read and decode every notification the way the eventsourcing library does."""
    started = time.perf_counter()
    count, start = 0, 1
    while True:
        page = app.recorder.select_notifications(start, 1000)
        for notification in page:
            app.mapper.to_domain_event(notification)
        count += len(page)
        if len(page) < 1000:
            break
        start = page[-1].id + 1
    return count, time.perf_counter() - started


def peak_memory() -> float:
    """The peak resident memory in MB of the largest process of the measure: this one
    (VmHWM) or a worker it forked and waited for (the rebuild's and the export's)."""
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return max(int(line.split()[1]) / 1024, workers)
    return float("nan")


def _measure(what: str, url: str, answer: Any) -> None:
    """In a child process: run one measure on the store at ``url``, send back its figures."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    app = open_approvals(url)
    try:
        if what == "read":
            count, took = raw_read(app)
        elif what in ("rebuild", "rebuild here"):
            projector = app.registers().projector
            if what == "rebuild here":  # folded in this process: no workers
                projector.shared_from = 10**12
            projector.ensure()
            started = time.perf_counter()
            count = projector.rebuild()
            took = time.perf_counter() - started
        else:  # export, as `approvals audit export` writes it
            from approvals.audit.export import export_rows, write_jsonl

            with open(os.devnull, "w", encoding="utf-8") as sink:
                started = time.perf_counter()
                count = write_jsonl(export_rows(app), sink)
                took = time.perf_counter() - started
    finally:
        app.close()
    answer.send(json.dumps({"count": count, "seconds": took, "peak_mb": peak_memory()}))


def measured(what: str, url: str) -> dict[str, float]:
    """Run one measure in a fresh child process; return its count, seconds and peak MB."""
    context = multiprocessing.get_context("spawn")  # nothing of this process's memory
    mine, theirs = context.Pipe(duplex=False)
    child = context.Process(target=_measure, args=(what, url, theirs))
    child.start()
    found: dict[str, float] = json.loads(mine.recv())
    child.join()
    return found


def store(events: int, db: str | None) -> str:
    """Return the URL of a store holding about ``events`` events, generating what is missing.

    The stores are made by this file's own load generator (five workflows, unsigned, written
    through the engine's mapper and recorder without the per-command checks): bench/store.py
    makes valid signed stores of all twelve workflows, every command checked, but at a few
    hundred events a second, too slowly for these sizes; pass one of them with --db to time
    rebuild and export on it."""
    if db:
        url = db if "://" in db else sqlite_url(db)
    else:
        folder = Path(__file__).parent / "out"
        folder.mkdir(exist_ok=True)
        url = sqlite_url(folder / f"projections-{events}.db")
    app = open_approvals(url)
    try:
        if not app.roster():
            appoint_sample_roster(app)
        head = app.recorder.max_notification_id() or 0
        if head < events:
            print(f"generating {events - head:,} events into {url} …")
            rate = generate(app, events)
            print(f"  written at {rate:,.0f} events/s (bulk, per-case encryption and ledger)")
    finally:
        app.close()
    return url


def throughput(events: int, url: str, summary: str | None = None) -> None:
    """Print the rebuild and export rates and peak memory on one store."""
    first = measured("read", url)
    rebuilt = measured("rebuild", url)
    here = measured("rebuild here", url)
    again = measured("read", url)
    exported = measured("export", url)
    floor = max(r["count"] / r["seconds"] for r in (first, again))
    rate = rebuilt["count"] / rebuilt["seconds"]
    load = os.getloadavg()[0]
    asked = f"{events:,} asked" if events else "as it is"
    print(f"\nlog: {int(first['count']):,} events ({asked}), load average {load:.1f}")
    print(f"{'':<44}{'events/s':>12}{'peak MB':>10}")
    for name, found in (
        ("eventsourcing read + decode (floor), 1st", first),
        ("projection rebuild (all read models)", rebuilt),
        ("  the same, folded in one process", here),
        ("eventsourcing read + decode (floor), 2nd", again),
        ("audit export (JSON Lines)", exported),
    ):
        print(f"{name:<44}{found['count'] / found['seconds']:>12,.0f}{found['peak_mb']:>10,.0f}")
    print(f"{'rebuild / the faster floor':<44}{rate / floor:>12.2f}   (target >= 0.50)")
    alone = here["count"] / here["seconds"]
    print(f"{'rebuild by workers / in one process':<44}{rate / alone:>12.2f}")
    size = f"{int(first['count']):,} events"
    record(summary, Target("projections", f"projections rebuild, {size}", rate, 50_000, "ev/s",
                           peak_mb=rebuilt["peak_mb"]))  # fmt: skip
    record(summary, Target("projections", f"rebuild / eventsourcing's read, {size}",
                           rate / floor, 0.5, "x", note=f"read {floor:,.0f} ev/s"))  # fmt: skip
    record(summary, Target("projections", f"audit export (JSONL), {size}",
                           exported["count"] / exported["seconds"], 50_000, "ev/s",
                           peak_mb=exported["peak_mb"]))  # fmt: skip
    record(summary, Target("projections", f"rebuild and export memory, {size}",
                           max(rebuilt["peak_mb"], exported["peak_mb"]), 300, "MB",
                           higher_is_better=False))  # fmt: skip


def latency(query: Callable[[], Any], runs: int) -> tuple[float, float, int]:
    """Return p50 and p99 in milliseconds, and the rows of the last answer."""
    found = query()  # warm
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        found = query()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))], len(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--events",
        type=int,
        nargs="+",
        help="store sizes (default 1,400,000; with --db, the store as it is)",
    )
    parser.add_argument("--db", help="a SQLAlchemy URL or a SQLite path (default: bench/out/)")
    parser.add_argument("--queries", type=int, default=200, help="runs per query")
    parser.add_argument("--summary", help="append the targets measured to this file (bench/run.py)")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    if args.db and args.events and len(args.events) > 1:
        parser.error("--db names one store: give one --events with it.")
    if not args.events:  # a store given is timed as it is, never filled up to a default size
        args.events = [0] if args.db else [1_400_000]
    print(f"approvals read-model benchmark — {platform.python_version()}, "
          f"{platform.machine()}, {os.cpu_count()} cores")  # fmt: skip
    urls = {events: store(events, args.db) for events in sorted(args.events)}
    for events, url in urls.items():
        throughput(events, url, args.summary)
    app = open_approvals(urls[max(urls)])
    try:
        registers = app.registers()
        registers.refresh()
        started = time.perf_counter()
        registers.refresh()
        noop = (time.perf_counter() - started) * 1000
        print(f"\n{'catch-up with nothing new':<44}{noop:>12.1f} ms")
        print(f"\n{'query (p50 / p99 ms, rows)':<44}{'p50':>8}{'p99':>8}{'rows':>8}")
        queries: dict[str, Callable[[], Any]] = {
            f"inbox of the chief ({CHIEF})": lambda: registers.inbox(CHIEF),
            f"inbox of a manager ({MANAGER})": lambda: registers.inbox(MANAGER),
            "register cases, hr, ended (50)": lambda: registers.cases(
                department="hr", state="ended", limit=50),
            "register cases, one workflow (50)": lambda: registers.cases(
                workflow="entrustment", limit=50),
            "register vendors, active (50)": lambda: registers.vendors(state="active", limit=50),
            "register provisions (50)": lambda: registers.provisions(limit=50),
            "register retention (50)": lambda: registers.retention(limit=50),
            "register overdue, running (50)": lambda: registers.overdue(running=True, limit=50),
        }  # fmt: skip
        worst = 0.0
        for name, query in queries.items():
            p50, p99, rows = latency(query, args.queries)
            worst = max(worst, p99)
            print(f"{name:<44}{p50:>8.1f}{p99:>8.1f}{rows:>8}")
        print(f"\nslowest p99: {worst:.1f} ms (target < 20 ms)")
        head = app.recorder.max_notification_id() or 0
        record(args.summary, Target("projections", f"slowest query p99, {head:,} events",
                                    worst, 20, "ms", higher_is_better=False))  # fmt: skip
    finally:
        app.close()


if __name__ == "__main__":
    main()
