"""A long catch-up folded by worker processes writes what one process writes, and a worker
that fails or dies costs nothing but its speed: this process folds the rest."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from approvals import JST, ApprovalsApplication, open_approvals
from approvals.demo import run_demo
from approvals.projections import all_models
from approvals.readmodel import Folded, Projector, Share, rows_of
from tests.conftest import STAFF, FakeClock
from tests.integration.test_projections import NEVER, Broken, live_rows

BATCH = 9
"""Events per batch: the demo's log makes a dozen batches, most of them asked ahead."""


@pytest.fixture
def app(backend_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApprovalsApplication]:
    """The demo's store, with some more cases, where a catch-up may fork two workers (on any
    machine: the count of processors is not what these tests are about)."""
    monkeypatch.setattr("approvals.readmodel.sharing_cores", lambda engine: 2)
    clock = FakeClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    app = open_approvals(backend_url, clock=clock)
    run_demo(app, clock)
    for number in range(12):
        app.file("purpose", actor=STAFF, title=f"case {number}", department="sales",
                 fields={"purpose": "p", "data_items": "d", "data_subjects": "s"})  # fmt: skip
    yield app
    app.close()


def sequential_rows(app: ApprovalsApplication) -> dict[str, Any]:
    projector = Projector(app, all_models(), batch=BATCH, shared_from=NEVER)
    projector.rebuild()
    return live_rows(projector)


def spy_on_workers(monkeypatch: pytest.MonkeyPatch, log: Path, fail: str = "") -> None:
    """Write the process id of each batch a worker folds to ``log``; with ``fail``, the second
    worker's third batch raises ("raise") or ends its process ("exit")."""
    fold_share = Projector.fold_share

    def spied(self: Projector, start: int, end: int, names: Any, share: Share) -> Folded:
        with log.open("a") as out:
            out.write(f"{os.getpid()} {share.index}\n")
        if fail and share.index == 1 and log.read_text().count(" 1\n") == 3:
            if fail == "exit":
                os._exit(3)
            raise RuntimeError("the worker failed")
        return fold_share(self, start, end, names, share)

    monkeypatch.setattr(Projector, "fold_share", spied)


def test_a_long_rebuild_is_folded_by_workers_into_the_rows_one_process_writes(
    app: ApprovalsApplication, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    expected = sequential_rows(app)
    log = tmp_path / "folded"
    spy_on_workers(monkeypatch, log)
    told: list[tuple[int, int]] = []
    shared = Projector(app, all_models(), batch=BATCH, shared_from=0)
    read = shared.rebuild(progress=lambda done, total: told.append((done, total)))
    assert read == shared.head()
    assert live_rows(shared) == expected
    folders = {line.split()[0] for line in log.read_text().splitlines()}
    assert len(folders) == 2
    assert str(os.getpid()) not in folders
    assert told == sorted(told)
    assert told[-1] == (read, read)
    assert {s.position for s in shared.status()} == {shared.head()}
    assert shared.check() == ()


def test_a_short_catch_up_is_folded_here(
    app: ApprovalsApplication, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    log = tmp_path / "folded"
    spy_on_workers(monkeypatch, log)
    projector = Projector(app, all_models(), batch=BATCH, shared_from=10_000)
    projector.rebuild()
    assert not log.exists()
    assert projector.check() == ()


@pytest.mark.parametrize("fail", ["raise", "exit"])
def test_a_worker_that_fails_or_dies_leaves_the_rest_to_this_process(
    app: ApprovalsApplication, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fail: str
) -> None:
    expected = sequential_rows(app)
    spy_on_workers(monkeypatch, tmp_path / "folded", fail)
    shared = Projector(app, all_models(), batch=BATCH, shared_from=0)
    with capture_logs() as logs:
        read = shared.rebuild()
    assert [entry["event"] for entry in logs] == ["projection.folding_failed"]
    assert read == shared.head()  # each event counted once: the batches written, the rest
    assert live_rows(shared) == expected
    assert shared.check() == ()


def test_a_model_that_fails_in_a_worker_fails_the_catch_up_where_it_fails_here(
    app: ApprovalsApplication,
) -> None:
    """The batches before the case the model cannot compute are kept, that one is not."""
    cases = next(m for m in all_models() if m.name == "cases")
    reference = app.references()[3]
    stopped = []
    for shared_from in (NEVER, 0):
        broken = Projector(app, [Broken(cases, reference)], batch=BATCH, shared_from=shared_from)
        with pytest.raises(RuntimeError, match="the model failed"):
            broken.rebuild()
        (status,) = broken.status()
        stopped.append((status.position, rows_of(app.engine, cases)))
    assert stopped[0] == stopped[1]
    assert 0 < stopped[1][0] < app.recorder.max_notification_id()
    assert reference not in {row[0] for row in stopped[1][1]["rm_cases"]}


def test_a_batch_another_process_took_in_while_the_next_was_folded_is_read_again(
    app: ApprovalsApplication,
) -> None:
    """The workers fold the next batch while this process writes one; when another catch-up
    moved the positions in between, what was folded ahead is dropped and the positions read
    again: each batch is taken in once, by one of them."""
    other = Projector(app, all_models(), batch=BATCH, shared_from=NEVER)
    shared = Projector(app, all_models(), batch=BATCH, shared_from=0)
    head = shared.head()
    raced: list[int] = []

    def race(done: int, total: int) -> None:  # after each batch this one commits
        if len(raced) < 2 and done < total:
            raced.append(other.catch_up(until=min(done + 3 * BATCH, head)))

    shared.rebuild(progress=race)
    assert raced[0] > 0  # the other one took batches in first
    assert {s.position for s in shared.status()} == {head}
    assert shared.check() == ()
    assert live_rows(shared) == sequential_rows(app)


def test_a_catch_up_in_another_thread_than_the_main_one_is_folded_there(
    app: ApprovalsApplication, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A web server's request thread never forks: a child would copy the locks the other
    threads hold at that moment."""
    monkeypatch.undo()  # the machine's own answer, which a thread gets
    log = tmp_path / "folded"
    spy_on_workers(monkeypatch, log)
    projector = Projector(app, all_models(), batch=BATCH, shared_from=0)
    errors: list[BaseException] = []

    def rebuild() -> None:
        try:
            projector.rebuild()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    thread = threading.Thread(target=rebuild)
    thread.start()
    thread.join(timeout=300)
    assert errors == []
    assert not log.exists()
    assert projector.check() == ()
