"""Two writers on one database: one decision wins, the other is told; filings never collide.

The second writer acts from inside the first writer's clock, which the first reads after it
has loaded the case and before it saves: the race, made deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from approvals import (
    JST,
    CaseDisposed,
    ConcurrencyConflict,
    NotAuthorized,
    StepNotAllowed,
    open_approvals,
)
from approvals.demo import SimulatedClock, run_demo
from tests.conftest import (
    CHIEF,
    HANDLER,
    MANAGER,
    FakeClock,
    appoint_standard_roster,
)
from tests.unit.test_cases import file_case


class RacingClock:
    """The shared clock, running ``interleave`` once the next time it is read while armed."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.interleave: Callable[[], object] | None = None

    def __call__(self) -> datetime:
        moment = self.clock()
        if self.interleave is not None:
            run, self.interleave = self.interleave, None
            run()
        return moment


def test_two_decisions_on_one_case_at_once_record_exactly_one(
    backend_url: str, clock: FakeClock
) -> None:
    racing = RacingClock(clock)
    first = open_approvals(backend_url, clock=racing)
    second = open_approvals(backend_url, clock=clock)
    try:
        appoint_standard_roster(first)
        ref = file_case(first, "purpose").reference
        second.act(ref, "consult", actor=MANAGER)
        racing.interleave = lambda: second.act(ref, "reject", actor=CHIEF, comment="No")
        with pytest.raises(ConcurrencyConflict, match=f"{ref} was changed by someone else"):
            first.act(ref, "approve", actor=CHIEF)
        history = second.history(ref)
        assert [entry.trigger for entry in history] == ["file", "consult", "reject"]
        assert first.case(ref).state == "rejected"
    finally:
        first.close()
        second.close()


def test_filings_at_the_same_moment_get_different_references(
    backend_url: str, clock: FakeClock
) -> None:
    racing = RacingClock(clock)
    first = open_approvals(backend_url, clock=racing)
    second = open_approvals(backend_url, clock=clock)
    try:
        appoint_standard_roster(first)
        taken: list[str] = []
        racing.interleave = lambda: taken.append(file_case(second, "entrustment").reference)
        mine = file_case(first, "entrustment").reference
        assert taken == ["ENT-2026-0001"]
        assert mine == "ENT-2026-0002"
        assert first.references() == ("ENT-2026-0001", "ENT-2026-0002")
    finally:
        first.close()
        second.close()


def test_a_case_another_process_moved_on_is_seen_as_it_is_now(
    backend_url: str, clock: FakeClock
) -> None:
    first = open_approvals(backend_url, clock=clock)
    second = open_approvals(backend_url, clock=clock)
    try:
        appoint_standard_roster(first)
        ref = file_case(first, "purpose").reference
        assert first.case(ref).state == "notified"  # now held in the first one's memory
        second.act(ref, "consult", actor=MANAGER)
        with pytest.raises(StepNotAllowed):
            first.act(ref, "consult", actor=MANAGER)  # refused on the case as it is now
        assert first.case(ref).state == "consulting"
        first.act(ref, "approve", actor=CHIEF)
        assert [e.trigger for e in second.history(ref)] == ["file", "consult", "approve"]
    finally:
        first.close()
        second.close()


def test_a_roster_change_made_elsewhere_applies_at_once(backend_url: str, clock: FakeClock) -> None:
    first = open_approvals(backend_url, clock=clock)
    second = open_approvals(backend_url, clock=clock)
    try:
        appoint_standard_roster(first)
        ref = file_case(first, "purpose").reference
        second.dismiss(actor=CHIEF, user=MANAGER, role="manager", department="sales")
        with pytest.raises(NotAuthorized):
            first.act(ref, "consult", actor=MANAGER)
        assert first.case(ref).state == "notified"
    finally:
        first.close()
        second.close()


def test_a_case_disposed_of_elsewhere_is_refused_as_disposed(backend_url: str) -> None:
    clock = SimulatedClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    first = open_approvals(backend_url, clock=clock)
    second = open_approvals(backend_url, clock=clock)
    try:
        run = run_demo(first, clock)
        reference = run.rejected
        assert first.case(reference).state == "rejected"  # held in the first one's memory
        clock.advance(days=7 * 366 + 31)
        second.retention().approve(reference, actor=CHIEF)
        second.retention().dispose(reference, actor=HANDLER, method="shredded")
        with pytest.raises(CaseDisposed):
            first.case(reference)
        with pytest.raises(CaseDisposed):
            first.history(reference)
    finally:
        first.close()
        second.close()


def test_threads_sharing_one_application_keep_every_case_whole(backend_url: str) -> None:
    app = open_approvals(backend_url)
    try:
        appoint_standard_roster(app)
        references = [file_case(app, "purpose").reference for _ in range(12)]

        def decide(reference: str) -> str:
            app.act(reference, "consult", actor=MANAGER)
            return app.act(reference, "approve", actor=CHIEF).state

        with ThreadPoolExecutor(max_workers=4) as pool:
            states = list(pool.map(decide, references))
        assert states == ["approved"] * 12
        for reference in references:
            assert [e.trigger for e in app.history(reference)] == ["file", "consult", "approve"]
    finally:
        app.close()
