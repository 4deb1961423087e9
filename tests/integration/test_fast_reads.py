"""The walks that read the whole log a page at a time (export, rebuild) give what reading it
one event at a time through eventsourcing gives: the same bytes, the same rows."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, tzinfo
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvals import JST, ApprovalsApplication, ApprovalsError, open_approvals
from approvals.audit import export
from approvals.audit.keys import CaseDataErased, CaseEventUnreadable
from approvals.audit.rows import row_of, subject_named
from approvals.projections import all_models
from approvals.readmodel import Projector, rows_of
from tests.conftest import FakeClock, appoint_standard_roster
from tests.integration.test_projections import dispose
from tests.unit.test_properties import WORKFLOWS, commands, run

disposals = st.tuples(st.just("dispose"), st.integers(min_value=0, max_value=5))
sequences = st.lists(
    st.tuples(commands, st.lists(disposals, max_size=2)), min_size=1, max_size=3
).map(lambda parts: [c for sequence, extra in parts for c in (*sequence, *extra)])


def plain_export(
    app: ApprovalsApplication,
    start: datetime | None = None,
    end: datetime | None = None,
    zone: tzinfo = JST,
) -> Iterator[dict[str, Any]]:
    """The export written the straightforward way: eventsourcing's notifications, its mapper,
    every reference kept; [start, end], both included."""
    references: dict[str, str] = {}
    for position, notification in enumerate(app.notifications()):
        try:
            event: Any = app.mapper.to_domain_event(notification)
        except (CaseDataErased, CaseEventUnreadable):
            continue
        subject = subject_named(event)
        if subject is not None:
            references[str(event.originator_id)] = subject
        at: datetime = event.timestamp
        if (start and at < start) or (end and at > end):
            continue
        row = row_of(event, _Known(references), 0)
        yield {"position": position, "at": at.astimezone(zone).isoformat(), **row}


class _Known:
    """References as the straightforward export keeps them: all of them."""

    def __init__(self, references: dict[str, str]) -> None:
        self.references = references

    def of(self, originator: Any, position: int) -> str:
        return self.references.get(str(originator), str(originator))


def plain_jsonl(rows: Iterator[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)


def random_store(url: str, sequence: list[tuple[Any, ...]]) -> ApprovalsApplication:
    clock = FakeClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    app = open_approvals(url, clock=clock, workflows=WORKFLOWS)
    appoint_standard_roster(app)
    references: list[str] = []
    for command in sequence:
        try:
            if command[0] == "dispose":
                dispose(app, clock, command[1])
            else:
                run(app, command, references)
        except ApprovalsError:
            pass
    return app


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(sequence=sequences, page=st.integers(min_value=1, max_value=9))
def test_the_paged_export_writes_the_bytes_the_straightforward_one_writes(
    fresh_store: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
    sequence: list[tuple[Any, ...]],
    page: int,
) -> None:
    # Small pages and a memory of two references: the page boundaries and the references
    # read again from a case's filing are all walked.
    monkeypatch.setattr(export, "PAGE", page)
    monkeypatch.setattr(export, "REFERENCES", 2)
    app = random_store(fresh_store(), sequence)
    try:
        fast, slow = io.StringIO(), io.StringIO()
        count = export.write_jsonl(export.export_rows(app), fast)
        assert fast.getvalue() == plain_jsonl(plain_export(app))
        assert count == len(fast.getvalue().splitlines())
        start = datetime(2026, 4, 1, 12, tzinfo=JST)
        end = start + timedelta(days=3)
        export.write_jsonl(export.export_rows(app, start, end), slow)
        assert slow.getvalue() == plain_jsonl(plain_export(app, start, end))
    finally:
        app.close()


def test_json_lines_are_written_as_json_dumps_writes_them_in_chunks() -> None:
    rows = [{"b": i, "a": "名前\u2028", "c": {"z": [1.5, None], "y": True}} for i in range(4501)]
    stream = io.StringIO()
    assert export.write_jsonl(iter(rows), stream) == 4501
    assert stream.getvalue() == plain_jsonl(iter(rows))


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    sequence=sequences,
    batch=st.integers(min_value=1, max_value=9),
    ciphers=st.integers(min_value=1, max_value=3),
)
def test_a_rebuild_gives_the_same_rows_whatever_its_batches_and_the_keys_it_keeps(
    fresh_store: Callable[[], str], sequence: list[tuple[Any, ...]], batch: int, ciphers: int
) -> None:
    app = random_store(fresh_store(), sequence)
    try:
        whole = Projector(app, all_models())
        whole.rebuild()
        scratch = sa.create_engine("sqlite://")
        paged = Projector(app, all_models(), target=scratch, batch=batch)
        paged._decoder._size = ciphers  # keys read again and again
        paged.rebuild()
        for model in all_models():
            assert rows_of(scratch, model) == rows_of(whole.engine, model)
        assert paged.check() == ()
        scratch.dispose()
    finally:
        app.close()
