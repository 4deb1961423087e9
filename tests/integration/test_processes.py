"""Several processes on one database: one decision wins, nothing is lost, the sequence is whole.

Worker processes are started once per test and take orders over a queue, so that each test
can run many rounds (``APPROVALS_CONCURRENCY_ROUNDS``; CI runs 25) on a fresh store each round.
In the same-case test every worker loads the case, then waits at a barrier inside its clock
until all of them have loaded it, and only then tries to save: the race is certain, not hoped
for.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy

from approvals import JST, ApprovalsError, ConcurrencyConflict, open_approvals
from approvals.audit.verify import verify_log
from approvals.projections import all_models
from approvals.readmodel import Projector, rows_of
from tests.conftest import CHIEF, MANAGER, appoint_standard_roster
from tests.unit.test_cases import file_case

WORKERS = 4
ROUNDS = int(os.environ.get("APPROVALS_CONCURRENCY_ROUNDS", "25" if os.environ.get("CI") else "5"))
CASES_PER_WORKER = 6
START = datetime(2026, 4, 1, 9, 0, tzinfo=JST)


class BarrierClock:
    """A clock that, when armed, waits for every worker at its next reading."""

    def __init__(self, barrier: Any) -> None:
        self.barrier = barrier
        self.armed = False
        self.ticks = 0

    def __call__(self) -> datetime:
        if self.armed:
            self.armed = False
            self.barrier.wait(timeout=60)
        self.ticks += 1
        return START + timedelta(seconds=self.ticks)


def _worker(number: int, orders: Any, answers: Any, barrier: Any) -> None:
    """Take orders until told to stop; answer each with what happened, never a traceback."""
    clock = BarrierClock(barrier)
    apps: dict[str, Any] = {}
    while True:
        order = orders.get()
        if order is None:
            break
        kind, url, payload = order
        try:
            app = apps.get(url)
            if app is None:
                for old in apps.values():
                    old.close()
                apps.clear()
                app = apps[url] = open_approvals(url, clock=clock, create=False)
            if kind == "decide":
                reference, trigger = payload
                clock.armed = True
                try:
                    app.act(reference, trigger, actor=CHIEF, comment=f"worker {number}")
                    answers.put((number, "recorded", ""))
                except ConcurrencyConflict as error:
                    answers.put((number, "conflict", str(error)))
                    try:  # the loser may try again: it now sees the decision made
                        app.act(reference, trigger, actor=CHIEF)
                        answers.put((number, "retry recorded", ""))
                    except ApprovalsError as again:
                        answers.put((number, "retry refused", again.code))
                finally:
                    clock.armed = False
            elif kind == "walk":
                references = []
                for _ in range(payload):
                    reference = file_case(app, "purpose").reference
                    app.act(reference, "consult", actor=MANAGER)
                    app.act(reference, "approve", actor=CHIEF)
                    references.append(reference)
                answers.put((number, "walked", references))
        except Exception as error:  # noqa: BLE001 - reported to the test, which fails with it
            answers.put((number, "error", f"{type(error).__name__}: {error}\n"
                         f"{traceback.format_exc()}"))  # fmt: skip
    for app in apps.values():
        app.close()


@dataclass
class Pool:
    """Worker processes and their queues."""

    orders: list[Any]
    answers: Any

    def send(self, kind: str, url: str, payload: Any) -> None:
        for orders in self.orders:
            orders.put((kind, url, payload))

    def collect(self, count: int) -> list[tuple[int, str, Any]]:
        found = []
        for _ in range(count):
            try:
                found.append(self.answers.get(timeout=120))
            except queue.Empty:
                pytest.fail(f"the workers answered {len(found)} of {count} times in 120 s")
        errors = [answer for answer in found if answer[1] == "error"]
        assert not errors, errors[0][2]
        return found


@pytest.fixture(scope="module")
def pool() -> Iterator[Pool]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    answers = context.Queue()
    orders = [context.Queue() for _ in range(WORKERS)]
    processes = [
        context.Process(target=_worker, args=(n, orders[n], answers, barrier), daemon=True)
        for n in range(WORKERS)
    ]
    for process in processes:
        process.start()
    yield Pool(orders, answers)
    for queue_ in orders:
        queue_.put(None)
    for process in processes:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()


def _prepared(url: str, cases: int) -> list[str]:
    app = open_approvals(url, clock=lambda: START)
    try:
        appoint_standard_roster(app)
        references = []
        for _ in range(cases):
            reference = file_case(app, "purpose").reference
            app.act(reference, "consult", actor=MANAGER)
            references.append(reference)
        Projector(app, all_models()).ensure()
        return references
    finally:
        app.close()


def test_processes_deciding_one_case_at_once_record_exactly_one_decision(
    pool: Pool, fresh_store: Callable[[], str]
) -> None:
    for round_ in range(ROUNDS):
        url = fresh_store()
        (reference,) = _prepared(url, 1)
        pool.send("decide", url, (reference, "approve"))
        answers = pool.collect(WORKERS + WORKERS - 1)
        outcomes = sorted(answer[1] for answer in answers)
        assert outcomes == sorted(
            ["recorded"] + ["conflict"] * (WORKERS - 1) + ["retry refused"] * (WORKERS - 1)
        ), f"round {round_}: {answers}"
        conflicts = [answer[2] for answer in answers if answer[1] == "conflict"]
        assert all(f"{reference} was changed by someone else" in text for text in conflicts)
        app = open_approvals(url, create=False)
        try:
            triggers = [entry.trigger for entry in app.history(reference)]
            assert triggers == ["file", "consult", "approve"], f"round {round_}"
            assert app.case(reference).state == "approved"
        finally:
            app.close()


def test_processes_filing_and_deciding_lose_nothing_and_leave_no_hole(
    pool: Pool, fresh_store: Callable[[], str]
) -> None:
    for round_ in range(ROUNDS):
        url = fresh_store()
        _prepared(url, 0)
        follower = open_approvals(url, create=False)
        projector = Projector(follower, all_models(), batch=7)
        try:
            pool.send("walk", url, CASES_PER_WORKER)
            answers = []
            while len(answers) < WORKERS:  # the projections follow while the workers write
                projector.catch_up()
                try:
                    answers.append(pool.answers.get(timeout=0.05))
                except queue.Empty:
                    continue
                assert answers[-1][1] != "error", answers[-1][2]
            projector.catch_up()
            walked = sorted(r for answer in answers for r in answer[2])
            assert len(walked) == len(set(walked)) == WORKERS * CASES_PER_WORKER
            assert follower.references() == tuple(sorted(follower.references()))
            assert sorted(follower.references()) == walked
            for reference in walked:
                triggers = [entry.trigger for entry in follower.history(reference)]
                assert triggers == ["file", "consult", "approve"], f"round {round_}"
            report = verify_log(follower, rules=False)
            assert report.ok, f"round {round_}: {report.first}"
            with follower.engine.connect() as connection:
                positions = connection.execute(
                    sqlalchemy.text("SELECT position FROM approvals_integrity ORDER BY position")
                ).scalars().all()  # fmt: skip
            assert positions == list(range(len(positions))), f"round {round_}: a hole"
            followed = {m.name: rows_of(projector.engine, m) for m in projector.models}
            projector.rebuild()
            rebuilt = {m.name: rows_of(projector.engine, m) for m in projector.models}
            assert followed == rebuilt, f"round {round_}: the follower missed events"
        finally:
            follower.close()
