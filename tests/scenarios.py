"""Each reference workflow walked from the notice to its end: the sample company's data; and
the check that a refusal wrote nothing."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time

import pytest

from approvals import JST, ApprovalsApplication, ApprovalsError, CaseView
from approvals.demo import ART6_ITEMS, CLAUSES, FILINGS, INVESTIGATION, PATHS, Move, take

__all__ = [
    "ART6_ITEMS",
    "CLAUSES",
    "FILINGS",
    "INVESTIGATION",
    "PATHS",
    "Move",
    "end_of",
    "refused",
    "take",
    "walk",
]


def walk(app: ApprovalsApplication, reference: str, moves: list[Move]) -> CaseView:
    """Take ``moves`` in order, each one offered to the case before it is taken."""
    case = app.case(reference)
    for move in moves:
        assert move.trigger in {s.trigger for s in case.next_steps}, (move.trigger, case.state)
        case = take(app, reference, move)
    return case


def end_of(year: int, month: int, day: int) -> datetime:
    """The last moment of a day in JST: when a deadline counted from a date runs out."""
    return datetime.combine(date(year, month, day), time.max, JST)


@contextmanager
def refused(
    app: ApprovalsApplication, error: type[ApprovalsError], code: str, reference: str = ""
) -> Iterator[pytest.ExceptionInfo[ApprovalsError]]:
    """Expect ``error`` with ``code``, and nothing written: no event, no new case, and the
    history of case ``reference`` (when given) as long as before."""
    before = app.recorder.max_notification_id()
    cases = app.references()
    events = len(app.history(reference)) if reference else 0
    with pytest.raises(error) as caught:
        yield caught
    assert caught.value.code == code, str(caught.value)
    assert app.recorder.max_notification_id() == before
    assert app.references() == cases
    if reference:
        assert len(app.history(reference)) == events
