"""Two writers on one database: one decision wins, the other is told; filings never collide.

The second writer acts from inside the first writer's clock, which the first reads after it
has loaded the case and before it saves: the race, made deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from approvals import ConcurrencyConflict, open_approvals
from tests.conftest import CHIEF, MANAGER, FakeClock, appoint_standard_roster
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
