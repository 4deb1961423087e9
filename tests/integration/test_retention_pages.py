"""The retention schedule is read a page at a time when cases name others (a subcontract kept
as long as its entrustment): a page of it is the first rows of the whole schedule, whatever
the links push later, so that asking for 50 rows does not read every case of seven years."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from approvals import ApprovalsApplication, open_approvals
from approvals import registers as registers_module
from projections import retention

FIRST = date(2026, 4, 1)
cases = st.lists(
    st.tuples(st.integers(0, 40) | st.integers(0, 9) | st.none(), st.booleans()),  # own period,
    min_size=1,  # disposed of
    max_size=25,
)
names = st.lists(st.tuples(st.integers(0, 25), st.integers(0, 25)), max_size=25)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApprovalsApplication]:
    path: Path = tmp_path_factory.mktemp("pages") / "store.db"
    app = open_approvals(f"sqlite:///{path}")
    app.registers().retention()  # the read models' tables made, at the log's (empty) end
    yield app
    app.close()


def schedule(app: ApprovalsApplication, periods: list[tuple[int | None, bool]],
             links: list[tuple[int, int]]) -> None:  # fmt: skip
    """Put this schedule in the read model's tables, as a projector would have."""
    rows = [
        {"reference": f"C-{number:03d}", "workflow": "entrustment", "department": "sales",
         "title": "t", "state": "ended",
         "retained_until": None if days is None else FIRST + timedelta(days=days),
         "held": False, "hold_reason": "", "approved_by": "",
         "disposed_at": datetime(2026, 1, 5, tzinfo=UTC) if gone else None,
         "disposed_by": "", "disposal_method": ""}
        for number, (days, gone) in enumerate(periods)
    ]  # fmt: skip
    named = {(f"C-{a:03d}", f"C-{b:03d}") for a, b in links if a != b}
    with app.engine.begin() as connection:
        connection.execute(sa.delete(retention.schedule))
        connection.execute(sa.delete(retention.links))
        connection.execute(sa.insert(retention.schedule), rows)
        if named:
            connection.execute(
                sa.insert(retention.links), [{"reference": a, "names": b} for a, b in named]
            )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(example=st.tuples(cases, names, st.integers(1, 12), st.booleans()))
@example(example=([(0, False), (None, False), (0, False), (0, False)], [(0, 1)], 2, False))
@example(example=([(20, False), (5, False), (5, False), (0, False)], [(3, 1)], 2, False))
def test_a_page_of_the_schedule_is_the_first_rows_of_the_whole_schedule(
    app: ApprovalsApplication, monkeypatch: pytest.MonkeyPatch, example: Any
) -> None:
    periods, links, limit, due = example
    monkeypatch.setattr(registers_module, "SCHEDULE_PAGE", 2)  # many pages of a short schedule
    schedule(app, periods, links)
    as_of = datetime(2026, 4, 20, tzinfo=UTC)
    whole = app.registers().retention(due=due, as_of=as_of)
    assert app.registers().retention(due=due, as_of=as_of, limit=limit) == whole[:limit]
    monkeypatch.setattr(registers_module, "SCHEDULE_PAGE", 10_000)  # all in one page
    assert app.registers().retention(due=due, as_of=as_of) == whole
