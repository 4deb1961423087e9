"""The parallel paths of `audit verify` (integrity over every core, signatures in batches in
other processes) say exactly what the sequential walk says, on a sound log and on altered ones.

The thresholds are lowered so that a small store is cut into many chunks and batches.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from approvals import open_approvals
from approvals.audit import integrity, verify, writers
from approvals.audit.verify import Report, integrity_walk, verify_log
from tests.integration.test_verify_fuzz import (
    Store,
    alter_event,
    alter_ledger,
    alter_signature,
    build,
    fingerprint,
)

ROUNDS = {"sqlite": 40, "postgresql": 12}


def parallel(monkeypatch: pytest.MonkeyPatch, *, on: bool) -> None:
    """Cut even a tiny log into chunks of 4 and batches of 3 (on), or never (off)."""
    monkeypatch.setattr(integrity, "CHUNK", 4 if on else integrity.CHUNK)
    monkeypatch.setattr(integrity, "PARALLEL_FROM", 8 if on else 10**12)
    monkeypatch.setattr(writers, "PARALLEL_FROM", 0 if on else 10**12)
    monkeypatch.setattr(writers, "_BATCH", 3 if on else 2000)


def report(store: Store, monkeypatch: pytest.MonkeyPatch, *, on: bool) -> Report:
    with monkeypatch.context() as patched:
        parallel(patched, on=on)
        app = open_approvals(store.url, create=False, workflows=store.workflows)
        try:
            return verify_log(app, store.checkpoints)
        finally:
            app.close()


def same(first: Report, second: Report) -> bool:
    return (first.events, first.root, first.log, first.findings, first.notes) == (
        second.events, second.root, second.log, second.findings, second.notes,
    )  # fmt: skip


def test_a_sound_log_checked_in_chunks_has_the_root_of_every_size(
    backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = build(backend_url, tmp_path)
    try:
        app = open_approvals(store.url, create=False, workflows=store.workflows)
        size = app.recorder.max_notification_id() or 0
        checkpoints: Any = [type("C", (), {"tree_size": n})() for n in range(1, size + 1)]
        with monkeypatch.context() as patched:
            parallel(patched, on=False)
            walked = integrity_walk(app, checkpoints)
        with monkeypatch.context() as patched:
            parallel(patched, on=True)
            assert integrity.sound_log(app, set(range(1, size + 1))) is not None  # in chunks
            chunked = integrity_walk(app, checkpoints)
        app.close()
        assert walked.findings == chunked.findings == []
        assert (walked.roots.size, walked.roots.root(), walked.first_leaf) == (
            chunked.roots.size, chunked.roots.root(), chunked.first_leaf,
        )  # fmt: skip
        assert walked.sizes == chunked.sizes
        assert len(chunked.sizes) == size
        assert same(report(store, monkeypatch, on=True), report(store, monkeypatch, on=False))
        calls: list[tuple[int, int]] = []
        with monkeypatch.context() as patched:
            patched.setattr(verify, "PAGE", 10)
            app = open_approvals(store.url, create=False, workflows=store.workflows)
            verify_log(app, rules=False, progress=lambda done, total: calls.append((done, total)))
            app.close()
        assert calls[-1] == (size, size)
        assert [done for done, _ in calls] == sorted(done for done, _ in calls)
        assert len(calls) == size // 10 + 1  # every page, and at the end
    finally:
        store.engine.dispose()


def test_every_alteration_gets_the_same_findings_in_parallel_as_in_sequence(
    backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = build(backend_url, tmp_path)
    rng = random.Random(20261130)
    alterations = [alter_event] * 3 + [alter_ledger] * 3 + [alter_signature] * 2
    checked = 0
    try:
        while checked < ROUNDS[store.engine.dialect.name]:
            what, undo = rng.choice(alterations)(store, rng)
            if undo is None:
                continue
            try:
                sequential = report(store, monkeypatch, on=False)
                chunked = report(store, monkeypatch, on=True)
            finally:
                undo()
            assert not sequential.ok, what
            assert same(sequential, chunked), (what, sequential.findings, chunked.findings)
            checked += 1
        assert fingerprint(store) == store.baseline
    finally:
        store.engine.dispose()
