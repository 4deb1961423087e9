"""The JSON Lines export written by worker processes is the export written in one process,
byte for byte: the same lines in the same order, the references of the cases filled in from
filings pages before, the cases that cannot be read left out the same way."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvals import JST, ApprovalsApplication
from approvals.audit import export
from approvals.cli import cli
from tests.conftest import CHIEF
from tests.integration.test_damaged_case import HOW, build
from tests.integration.test_fast_reads import plain_export, plain_jsonl, random_store, sequences


def written(app: ApprovalsApplication, *window: datetime | None) -> tuple[str, int]:
    stream = io.StringIO()
    count = export.write_jsonl(export.export_rows(app, *window), stream)
    return stream.getvalue(), count


def in_workers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, app: ApprovalsApplication, *window: Any
) -> tuple[str, int, set[int]]:
    """The export written by two worker processes, however small the log and however many
    processors; with the ids of the processes that wrote it."""
    pids = tmp_path / "pids"
    pids.unlink(missing_ok=True)
    started = export._started

    def noted(app: ApprovalsApplication) -> None:
        with pids.open("a") as file:
            file.write(f"{os.getpid()}\n")
        started(app)

    with monkeypatch.context() as patched:
        patched.setattr(export, "_workers", lambda app, events: 2)
        patched.setattr(export, "_started", noted)
        text, count = written(app, *window)
    return text, count, {int(line) for line in pids.read_text().split()}


def in_this_process(
    monkeypatch: pytest.MonkeyPatch, app: ApprovalsApplication, *window: Any
) -> str:
    with monkeypatch.context() as patched:
        patched.setattr(export, "_workers", lambda app, events: 0)
        return written(app, *window)[0]


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(sequence=sequences, page=st.integers(min_value=1, max_value=7))
def test_worker_processes_write_the_bytes_one_process_writes(
    fresh_store: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    sequence: list[tuple[Any, ...]],
    page: int,
) -> None:
    # Small pages, many in flight, and a memory of two references: the holes a worker leaves
    # are filled from filings pages before, or read again from the store.
    monkeypatch.setattr(export, "PAGE", page)
    monkeypatch.setattr(export, "REFERENCES", 2)
    app = random_store(fresh_store(), sequence)
    try:
        start = datetime(2026, 4, 1, 12, tzinfo=JST)
        for window in ((), (start, start + timedelta(days=3))):
            text, count, pids = in_workers(monkeypatch, tmp_path, app, *window)
            assert text == in_this_process(monkeypatch, app, *window)
            assert text == plain_jsonl(plain_export(app, *window))
            assert count == len(text.splitlines())
            assert pids
            assert os.getpid() not in pids
    finally:
        app.close()


@pytest.mark.parametrize("how", HOW)
def test_a_damaged_case_is_left_out_by_the_workers_as_by_one_process(
    backend_url: str,
    workflows: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    how: str,
) -> None:
    store = build(backend_url, how, workflows)
    try:
        monkeypatch.setattr(export, "PAGE", 2)
        text, count, _ = in_workers(monkeypatch, tmp_path, store.app)
        assert text == in_this_process(monkeypatch, store.app)
        assert text == plain_jsonl(plain_export(store.app))
        rows = [json.loads(line) for line in text.splitlines()]
        subjects = {row["subject"] for row in rows if row["kind"] == "case"}
        assert store.bad not in subjects
        assert store.disposed not in subjects
        assert set(store.good) <= subjects
        # the retention records name their cases: what was disposed of, what is held
        assert [(row["subject"], row["event"]) for row in rows if row["kind"] == "retention"] == [
            (store.disposed, "Opened"), (store.disposed, "DisposalApproved"),
            (store.disposed, "Disposed"), (store.bad, "Opened"), (store.bad, "HoldPlaced"),
        ]  # fmt: skip
        assert count == len(rows)
    finally:
        store.app.close()


def test_the_command_writes_the_same_lines_with_workers(
    backend_url: str, workflows: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = build(backend_url, "replaced", workflows)
    store.app.close()
    monkeypatch.setattr(export, "PAGE", 3)

    def command() -> str:
        args = ["--db", store.url, "--user", CHIEF, "--lang", "en", "audit", "export"]
        result = CliRunner().invoke(cli, args, prog_name="approvals")
        assert result.exit_code == 0, result.output
        return result.stdout

    with monkeypatch.context() as patched:
        patched.setattr(export, "_workers", lambda app, events: 2)
        parallel = command()
    with monkeypatch.context() as patched:
        patched.setattr(export, "_workers", lambda app, events: 0)
        assert command() == parallel
    assert parallel.count("\n") > 5


def test_workers_are_used_for_large_logs_on_several_processors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    forks = "fork" in multiprocessing.get_all_start_methods()
    monkeypatch.setattr(export, "WORKERS", 3)
    on_file = SimpleNamespace(engine=sa.create_engine(f"sqlite:///{tmp_path / 'store.db'}"))
    in_memory = SimpleNamespace(engine=sa.create_engine("sqlite://"))
    assert export._workers(on_file, export.PARALLEL - 1) == 0
    assert export._workers(in_memory, export.PARALLEL) == 0  # a child would see another one
    found = export._workers(on_file, export.PARALLEL)
    if not forks or (hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) < 2):
        assert found == 0
    else:
        assert 2 <= found <= 3
    in_thread: list[int] = []
    thread = threading.Thread(
        target=lambda: in_thread.append(export._workers(on_file, export.PARALLEL))
    )
    thread.start()
    thread.join(timeout=60)
    assert in_thread == [0]  # a request thread of a web server never forks
