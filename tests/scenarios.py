"""Each reference workflow walked from the notice to its end: the sample company's data; and
the check that a refusal wrote nothing."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from approvals import ApprovalsApplication, ApprovalsError
from approvals.demo import ART6_ITEMS, CLAUSES, FILINGS, INVESTIGATION, PATHS, Move

__all__ = ["ART6_ITEMS", "CLAUSES", "FILINGS", "INVESTIGATION", "PATHS", "Move", "refused"]


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
