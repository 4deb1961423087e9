"""The first layer of `audit verify` in chunks follows each case's chain across the chunks'
edges from the ledger itself (nothing kept per aggregate), in worker processes and, where this
process may not fork (a web server's request thread), here; a forged case chain or a missing
event where a case enters a chunk is never taken for sound.

The thresholds are lowered so that the demo log is cut into chunks of one event (every case
event then enters a chunk: each chain link is checked across an edge) or of four.
"""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest
from sqlalchemy import text

from approvals import open_approvals
from approvals.audit import integrity
from approvals.audit.integrity import Sound
from approvals.audit.verify import integrity_walk
from tests.integration import test_tamper
from tests.integration.test_tamper import copy_event, event_of, execute, recompute_ledger

tampered = test_tamper.tampered  # the fixture: a demo log, a checkpoint, the triggers dropped


def chunked(
    state: dict[str, Any], monkeypatch: pytest.MonkeyPatch, chunk: int, recent: int = 1 << 16
) -> dict[str, Any]:
    """What the chunked first layer finds, in processes ("forked") and in a thread ("here"),
    with what the sequential walk finds ("walked"); the parent keeping the last event of the
    ``recent`` aggregates met last (none: each chain entering a chunk is read from the ledger)."""
    app = open_approvals(state["url"], create=False)
    try:
        with monkeypatch.context() as patched:
            patched.setattr(integrity, "CHUNK", chunk)
            patched.setattr(integrity, "PARALLEL_FROM", 8)
            patched.setattr(integrity, "_RECENT", recent)
            forked = integrity.sound_log(app, set())
            here: list[Sound | None] = []
            thread = threading.Thread(target=lambda: here.append(integrity.sound_log(app, set())))
            thread.start()
            thread.join()
        walked = integrity_walk(app, ())
    finally:
        app.close()
    return {"forked": forked, "here": here[0], "walked": walked}


def sound(found: dict[str, Any]) -> bool:
    """Whether the walk found nothing and both chunked checks agree with it."""
    forked, here, walked = found["forked"], found["here"], found["walked"]
    if walked.findings:
        assert (forked, here) == (None, None), [f.code for f in walked.findings]
        return False
    assert forked is not None
    assert here is not None
    assert forked.tree.root() == here.tree.root() == walked.roots.root()
    assert forked.tree.size == here.tree.size == walked.roots.size
    return True


def case_rows(state: dict[str, Any], first: bool = False) -> list[tuple[int, str, int]]:
    """(position, aggregate, version) of every ledger row past an aggregate's first (or of
    the first ones)."""
    where = "originator_version = 1" if first else "originator_version > 1"
    with state["engine"].connect() as connection:
        return [
            (row.position, row.originator_id, row.originator_version)
            for row in connection.execute(
                text("SELECT position, originator_id, originator_version FROM "
                     f"approvals_integrity WHERE {where} ORDER BY position")
            )
        ]  # fmt: skip


def firsts(state: dict[str, Any]) -> list[tuple[int, str, int]]:
    return case_rows(state, first=True)


@pytest.mark.parametrize(("chunk", "recent"), [(1, 0), (1, 1 << 16), (4, 0), (4, 3)])
def test_a_sound_log_in_chunks_is_sound_here_and_in_processes_with_the_walk_s_root(
    tampered: dict[str, Any], monkeypatch: pytest.MonkeyPatch, chunk: int, recent: int
) -> None:
    assert sound(chunked(tampered, monkeypatch, chunk, recent))


@pytest.mark.parametrize(("chunk", "recent"), [(1, 0), (1, 1 << 16), (4, 0), (4, 1 << 16)])
def test_a_case_chain_forged_where_the_case_enters_a_chunk_is_not_sound(
    tampered: dict[str, Any], monkeypatch: pytest.MonkeyPatch, chunk: int, recent: int
) -> None:
    rows = sorted(case_rows(tampered) + firsts(tampered))
    if chunk > 1:  # the rows whose aggregate's row before them is in an earlier chunk, or none
        last: dict[str, int] = {}
        before: dict[int, int] = {}
        for position, originator, _ in rows:
            before[position], last[originator] = last.get(originator, -1), position
        rows = [r for r in rows if before[r[0]] // chunk != r[0] // chunk]
    sample = random.Random(chunk).sample([r for r in rows if r[2] > 1], 6)
    sample += random.Random(chunk).sample([r for r in rows if r[2] == 1], 3)  # first events
    for position, _, _ in sample:
        with tampered["engine"].connect() as connection:
            kept = connection.execute(
                text("SELECT case_chain_hash FROM approvals_integrity WHERE position = :p"),
                {"p": position},
            ).scalar_one()
        execute(tampered, "UPDATE approvals_integrity SET case_chain_hash = :h WHERE position = :p",
                h="0f" * 32, p=position)  # fmt: skip
        assert not sound(chunked(tampered, monkeypatch, chunk, recent)), position
        execute(tampered, "UPDATE approvals_integrity SET case_chain_hash = :h WHERE position = :p",
                h=kept, p=position)  # fmt: skip
    assert sound(chunked(tampered, monkeypatch, chunk, recent))


@pytest.mark.parametrize("recent", [0, 1 << 16])
def test_a_case_s_event_deleted_with_the_ledger_rebuilt_leaves_a_gap_chunks_see(
    tampered: dict[str, Any], monkeypatch: pytest.MonkeyPatch, recent: int
) -> None:
    reference = tampered["run"].finished["purpose"]
    event_id, _ = event_of(tampered, reference, 2)
    execute(tampered, "DELETE FROM approvals_events WHERE id = :id", id=event_id)
    recompute_ledger(tampered)  # every chain recomputed: only the version jump is left
    found = chunked(tampered, monkeypatch, 1, recent)
    assert [f.code for f in found["walked"].findings] == ["case_gap"]
    assert not sound(found)


def test_an_aggregate_begun_twice_is_not_sound(
    tampered: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An insider drops the unique indexes, copies a case's first event to the end of the log
    and rebuilds the ledger with each case's chain begun again at its version 1: every hash
    holds, and only the count of first events against the aggregates tells the chunks."""
    reference = tampered["run"].finished["purpose"]
    event_id, _ = event_of(tampered, reference, 1)
    for index in ("approvals_events_aggregate_idx", "approvals_integrity_case_idx"):
        execute(tampered, f"DROP INDEX {index}")
    copy_event(tampered, event_id, 1, lambda state: state)
    recompute_ledger(tampered, begin_again=True)  # each case's chain begun at its #1
    found = chunked(tampered, monkeypatch, 1)
    assert [f.code for f in found["walked"].findings] == ["case_gap"]
    assert not sound(found)
    found = chunked(tampered, monkeypatch, 4)
    assert not sound(found)
