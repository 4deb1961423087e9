"""One application shared by the threads of a web server: no event lost, none unreadable.

Every thread files and acts at once on the same application (and, in the last test, so do
the threads of other processes); afterwards a fresh application
(its own caches, its own keys read from the database) must read every event back, and the log
must verify.  Repeated ``APPROVALS_THREAD_ROUNDS`` times (CI runs several rounds).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from approvals import ApprovalsApplication, open_approvals
from approvals.audit.service import verify_with_keys
from tests.conftest import CHIEF, MANAGER, appoint_standard_roster
from tests.unit.test_cases import file_case

PROCESSES = 2
ROUNDS = int(os.environ.get("APPROVALS_THREAD_ROUNDS", "3" if os.environ.get("CI") else "1"))


def read_back(url: str, filed: list[str], decided: int) -> None:
    """A fresh application (its own caches, keys read from the database) reads every case and
    every event back — ``decided`` of the cases were consulted and approved — the log verifies
    and the read models equal a rebuild."""
    assert len(set(filed)) == len(filed), "two filings were given one reference"
    fresh = open_approvals(url)
    try:
        assert sorted(fresh.references()) == sorted(filed)
        assert sum(fresh.case(r).state == "approved" for r in filed) == decided
        events = sum(len(fresh.history(reference)) for reference in filed)  # each decrypts
        assert events == len(filed) + 2 * decided  # none lost, none doubled
        report = verify_with_keys(fresh, (), ())
        assert report.ok, [str(f.message) for f in report.findings]
        assert fresh.registers().projector.check() == ()
    finally:
        fresh.close()


def _together(threads: int, work: Callable[[int], list[str]]) -> list[str]:
    """Run ``work(n)`` on ``threads`` threads released at the same moment."""
    start = threading.Barrier(threads)

    def run(n: int) -> list[str]:
        start.wait(timeout=120)
        return work(n)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return [reference for found in pool.map(run, range(threads)) for reference in found]


def _filed_together(
    url: str, threads: int, work: Callable[[ApprovalsApplication, int], list[str]]
) -> tuple[str, list[str]]:
    """On a new store with the standard roster, run ``work(app, n)`` on ``threads`` threads of
    one application at once; return the store and the references filed."""
    app = open_approvals(url)
    try:
        appoint_standard_roster(app)
        return url, _together(threads, lambda n: work(app, n))
    finally:
        app.close()


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_eight_threads_filing_at_once_leave_every_event_readable(
    fresh_store: Callable[[], str], round_: int
) -> None:
    url, filed = _filed_together(
        fresh_store(), 8, lambda app, _n: [file_case(app, "purpose").reference for _ in range(5)]
    )
    assert len(filed) == 40
    read_back(url, filed, decided=0)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_sixteen_threads_filing_acting_and_reading_keep_every_case_whole(
    fresh_store: Callable[[], str], round_: int
) -> None:
    url, filed = _filed_together(fresh_store(), 16, _file_act_read)
    assert len(filed) == 16 * 3
    read_back(url, filed, decided=4 * 3)


def _threads_in_a_process(url: str, threads: int, answers: Any) -> None:
    """One process of the stress test: ``threads`` threads sharing one application."""
    try:
        app = open_approvals(url, create=False)
        try:
            answers.put(("filed", _together(threads, lambda n: _file_act_read(app, n))))
        finally:
            app.close()
    except Exception as error:  # noqa: BLE001 - reported to the test, which fails with it
        answers.put(("error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}"))


def _file_act_read(app: ApprovalsApplication, n: int) -> list[str]:
    """File three cases; every fourth thread also decides them; read them all the while."""
    mine = []
    for _ in range(3):
        reference = file_case(app, "purpose" if n % 2 else "provision").reference
        mine.append(reference)
        app.case(reference)
        app.inbox(MANAGER)
        if n % 4 == 0:
            app.act(reference, "consult", actor=MANAGER)
            app.act(reference, "approve", actor=CHIEF)
        app.history(reference)
    return mine


def test_processes_of_sixteen_threads_each_lose_and_double_nothing(
    fresh_store: Callable[[], str],
) -> None:
    url = fresh_store()
    app = open_approvals(url)
    try:
        appoint_standard_roster(app)
    finally:
        app.close()
    context = multiprocessing.get_context("spawn")
    answers = context.Queue()
    workers = [
        context.Process(target=_threads_in_a_process, args=(url, 16, answers))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    try:
        found = [answers.get(timeout=300) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=60)
            if worker.is_alive():
                worker.kill()
    errors = [detail for kind, detail in found if kind == "error"]
    assert not errors, errors[0]
    filed = [reference for _, references in found for reference in references]
    assert len(filed) == PROCESSES * 16 * 3
    read_back(url, filed, decided=PROCESSES * 4 * 3)


def test_roster_changes_from_many_threads_at_once_are_all_made(
    fresh_store: Callable[[], str],
) -> None:
    url = fresh_store()
    app = open_approvals(url)
    try:
        appoint_standard_roster(app)

        def appoint(n: int) -> list[str]:
            app.appoint(actor=MANAGER, user=f"new-{n}", role="staff", department="sales")
            return [f"new-{n}"]

        appointed = _together(8, appoint)
        held = {term.user for term in app.roster() if term.role == "staff"}
        assert set(appointed) <= held
    finally:
        app.close()
