"""How fast the read models catch up with a large log, and how fast they answer.

Generates a store holding about --events events (default 1.4 M, about a year of a large group
company; --events 14000000 for seven years): cases of the five workflows walked along the
sample paths, with repeated compliance checks, inspections and provisions, about 500 of them in
flight at any moment (so the end of the log leaves realistic inboxes).  The events are written
through the engine's own mapper and recorder (encrypted per case, with the integrity ledger),
in large transactions, without the per-command checks — this is a load generator.

Then, on the same store, it prints:

* the eventsourcing library's own read rate: every notification read with the recorder's
  ``select_notifications`` and decoded with the application's mapper (the floor to compare to);
* the projection catch-up rate: every read model rebuilt from position zero (the floor is read
  before and after it, and the ratio taken to the faster of the two);
* query latency, p50 and p99, of the inbox and of each register (one page of 50).

Targets: catch-up at >= 50 % of the raw read rate; every query under 20 ms at any log size.
Run from the repository root::

    python bench/projections.py [--events N] [--db PATH_OR_URL] [--queries N]

A store already holding --events events is reused (generation takes minutes).
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

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
    parser.add_argument("--events", type=int, default=1_400_000)
    parser.add_argument("--db", help="a SQLAlchemy URL or a SQLite path (default: bench/out/)")
    parser.add_argument("--queries", type=int, default=200, help="runs per query")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    if args.db:
        url = args.db if "://" in args.db else sqlite_url(args.db)
    else:
        folder = Path(__file__).parent / "out"
        folder.mkdir(exist_ok=True)
        url = sqlite_url(folder / f"projections-{args.events}.db")
    app = open_approvals(url)
    try:
        if not app.roster():
            appoint_sample_roster(app)
        head = app.recorder.max_notification_id() or 0
        print(f"approvals read-model benchmark — {platform.python_version()}, "
              f"{platform.machine()}, {url}")  # fmt: skip
        if head < args.events:
            print(f"generating {args.events - head:,} events …")
            rate = generate(app, args.events)
            print(f"  written at {rate:,.0f} events/s (bulk, per-case encryption and ledger)")
        # The floor is read before and after the catch-up and the faster of the two kept: on a
        # shared machine a slow moment must not flatter the ratio.
        read, took = raw_read(app)
        print(f"\nlog: {read:,} events")
        print(f"{'eventsourcing read + decode (floor), 1st':<44}{read / took:>12,.0f} events/s")
        registers = app.registers()
        started = time.perf_counter()
        caught = registers.projector.rebuild()
        rate = caught / (time.perf_counter() - started)
        print(f"{'projection catch-up (all six models)':<44}{rate:>12,.0f} events/s")
        again, took_again = raw_read(app)
        print(f"{'eventsourcing read + decode (floor), 2nd':<44}{again / took_again:>12,.0f}"
              " events/s")  # fmt: skip
        raw = max(read / took, again / took_again)
        print(f"{'ratio to the faster floor':<44}{rate / raw:>12.2f}   (target >= 0.50)")
        started = time.perf_counter()
        registers.refresh()
        noop = (time.perf_counter() - started) * 1000
        print(f"{'catch-up with nothing new':<44}{noop:>12.1f} ms")
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
    finally:
        app.close()


if __name__ == "__main__":
    main()
