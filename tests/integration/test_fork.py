"""An application opened before a server forks its workers (gunicorn --preload): each child
gets connections and a writers' queue of its own, and nothing is lost or mixed up."""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable
from typing import Any

import pytest

from approvals import ApprovalsApplication, open_approvals
from tests.conftest import CHIEF, MANAGER, appoint_standard_roster
from tests.integration.test_threads import read_back
from tests.unit.test_cases import file_case

CHILDREN = 2
CASES = 5


def _walk(app: ApprovalsApplication) -> list[str]:
    references = []
    for _ in range(CASES):
        reference = file_case(app, "purpose").reference
        app.act(reference, "consult", actor=MANAGER)
        app.act(reference, "approve", actor=CHIEF)
        app.inbox(CHIEF)
        references.append(reference)
    return references


def _child(app: ApprovalsApplication, answers: Any) -> None:
    try:
        answers.put(("walked", _walk(app)))
    except Exception as error:  # noqa: BLE001 - reported to the test, which fails with it
        answers.put(("error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}"))


# Python 3.12 and later warn that forking a process with threads may deadlock its child: what
# after_fork() is there to prevent for approvals' own locks.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_workers_forked_from_an_open_application_each_write_on_their_own(
    fresh_store: Callable[[], str],
) -> None:
    url = fresh_store()
    app = open_approvals(url)
    try:
        appoint_standard_roster(app)
        first = file_case(app, "purpose").reference  # connections in the pool, queue file open
        app.inbox(CHIEF)
        context = multiprocessing.get_context("fork")
        answers = context.Queue()
        children = [context.Process(target=_child, args=(app, answers)) for _ in range(CHILDREN)]
        for child in children:
            child.start()
        mine = _walk(app)  # the parent goes on writing at the same time
        found = [answers.get(timeout=300) for _ in children]
        for child in children:
            child.join(timeout=60)
        errors = [detail for kind, detail in found if kind == "error"]
        assert not errors, errors[0]
    finally:
        app.close()
    filed = [first, *mine, *(r for _, references in found for r in references)]
    assert len(filed) == 1 + (CHILDREN + 1) * CASES
    read_back(url, filed, decided=(CHILDREN + 1) * CASES)
