"""A sound log's cases read aggregate by aggregate in other processes (memory bounded whatever
the size of the log) say exactly what one process says, and so do the writers' signatures
checked a share of the positions in each process.

The store is the one of :mod:`tests.integration.test_verify_cases_parallel` (an event
altered, a rule broken behind the engine's back, an event that does not decode, an actor
forged, a case whose key was replaced), its ledger then rebuilt from the events as they are,
as a thorough attacker would: the first layer finds nothing, so the cases are read by
aggregate (only a checkpoint would tell), and the signatures over the old leaves fail.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import text

from approvals.audit import cases, verify
from approvals.audit.pages import Positions
from approvals.audit.writers import joined_signatures, signature_findings, signature_share
from approvals.domain.case import case_id
from approvals.domain.retention import retention_id
from tests.conftest import CHIEF, HANDLER, MANAGER, appoint_standard_roster, drop_triggers
from tests.integration.test_damaged_case import SEVEN_YEARS_AND_A_MONTH
from tests.integration.test_signed_writers import CLOCKS, opened
from tests.integration.test_tamper import event_of, execute, recompute_ledger, reseal
from tests.integration.test_verify_cases_parallel import damaged, report
from tests.unit.test_cases import file_case

__all__ = ["damaged"]  # the fixture, for pytest


@pytest.fixture
def rewritten(damaged: dict[str, Any]) -> dict[str, Any]:
    recompute_ledger(damaged)
    return damaged


def by_position(url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The report of one process walking the log by position beside the ledger."""
    with monkeypatch.context() as patched:
        patched.setattr(cases, "_streamed", lambda *args, **kwargs: None)
        return report(url, patched, on=False)


@pytest.mark.parametrize("flush", [5, 1])
def test_a_sound_log_read_by_aggregate_in_processes_gives_the_very_report_of_one_process(
    rewritten: dict[str, Any], monkeypatch: pytest.MonkeyPatch, flush: int
) -> None:
    """Decoded a few aggregates together, or (``flush`` 1) each aggregate that is not a case
    (a reference counter, a retention record) an event at a time, its replay carried on."""
    alone = by_position(rewritten["url"], monkeypatch)
    monkeypatch.setattr(verify, "PAGE", 7)  # pages of 7 rows: the keyset goes on across them
    monkeypatch.setattr(cases, "_FLUSH", flush)
    monkeypatch.setattr(cases._Walker, "walk", None)  # not the walk by position
    shared = report(rewritten["url"], monkeypatch, on=True)
    assert (shared.events, shared.root, shared.log, shared.notes) == (
        alone.events, alone.root, alone.log, alone.notes,
    )  # fmt: skip
    assert shared.findings == alone.findings
    codes = {finding.code for finding in alone.findings}
    assert {"undecodable", "unreadable", "signature", "signature_writer", "rule"} <= codes, codes
    assert "altered" not in codes  # the first layer found the log sound


def test_without_the_rules_the_workers_keep_only_the_notices_that_do_not_decode_and_say_the_same(
    rewritten: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the rules, a notice that decodes is read for nothing more: a worker drops it
    (memory that does not grow with the log), and keeps one that does not, to name."""
    with monkeypatch.context() as patched:
        patched.setattr(cases, "_streamed", lambda *args, **kwargs: None)
        alone = report(rewritten["url"], patched, on=False, rules=False)
    monkeypatch.setattr(cases, "_FLUSH", 5)
    monkeypatch.setattr(cases._Walker, "walk", None)  # not the walk by position
    kept: list[int] = []
    merged = cases.merged

    def counted(shares: list[cases.Share]) -> cases.Share:
        kept.extend(len(share.filed) for share in shares)
        return merged(shares)

    monkeypatch.setattr(cases, "merged", counted)
    shared = report(rewritten["url"], monkeypatch, on=True, rules=False)
    assert shared.findings == alone.findings
    assert "unreadable" in {finding.code for finding in alone.findings}
    assert sum(kept) == 1  # the notice whose key was replaced: it does not decode


def test_a_sound_log_read_by_aggregate_in_this_process_gives_the_report_of_the_walk_by_position(
    rewritten: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where it may not fork (a thread of a web server, a short log), a sound log is walked
    aggregate by aggregate here too, so that its memory does not grow with the log."""
    alone = by_position(rewritten["url"], monkeypatch)
    monkeypatch.setattr(verify, "PAGE", 7)
    monkeypatch.setattr(cases, "_FLUSH", 5)
    monkeypatch.setattr(cases._Walker, "walk", None)  # not the walk by position
    streamed = report(rewritten["url"], monkeypatch, on=False)
    assert streamed.findings == alone.findings
    assert "rule" in {finding.code for finding in alone.findings}


def test_a_notice_naming_another_aggregates_case_is_walked_by_position_instead(
    damaged: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A notice rewritten to carry another case's reference, its ledger rebuilt: the log is
    sound, but the walk by aggregate cannot replay that case as the walk by position does, so
    this process walks by position instead (as it does when a worker gives up on it)."""
    app = opened(damaged["url"], None, create=False)
    try:
        first, second = sorted(app.references())[:2]
    finally:
        app.close()
    event_id, position = event_of(damaged, first, 1)
    sealed = reseal(damaged, event_id, lambda plain: plain.replace(first.encode(),
                                                                   second.encode()))  # fmt: skip
    execute(damaged, "UPDATE approvals_events SET state = :s WHERE id = :id", s=sealed,
            id=event_id)  # fmt: skip
    recompute_ledger(damaged)
    alone = by_position(damaged["url"], monkeypatch)
    walks: list[str] = []
    walk = cases._Walker.walk

    def counted(walker: Any, *args: Any) -> None:
        walks.append(type(walker).__name__)
        walk(walker, *args)

    monkeypatch.setattr(cases._Walker, "walk", counted)
    here = report(damaged["url"], monkeypatch, on=False)
    assert walks == ["_Walker"]  # the walk by aggregate gave up: _Stream's walk is its own
    assert here.findings == alone.findings
    assert ("signature", f"event {position}") in {(f.code, f.subject) for f in alone.findings}


def test_the_signatures_checked_in_shares_are_those_checked_in_one_walk(
    rewritten: dict[str, Any],
) -> None:
    app = opened(rewritten["url"], None, create=False)
    try:
        with rewritten["engine"].begin() as connection:  # a signature no ledger row has
            connection.execute(text(
                "INSERT INTO approvals_signatures (position, writer, key_id, signature) "
                "VALUES (100000, 'x', 'y', 'z')"
            ))  # fmt: skip
        whole = signature_findings(app)
        with app.engine.connect() as connection:
            shares = [signature_share(app, connection, index, 3) for index in range(3)]
    finally:
        app.close()
    assert joined_signatures(shares) == whole
    assert {"signature", "signature_orphan"} <= {finding.code for finding in whole.findings}


def test_positions_read_an_aggregate_at_a_time_answer_as_the_ledger_does(
    rewritten: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Positions, "CACHED", 2)  # aggregates forgotten and read again
    app = opened(rewritten["url"], None, create=False)
    try:
        with rewritten["engine"].connect() as connection:
            rows = connection.execute(
                text("SELECT originator_id, originator_version, position "
                     "FROM approvals_integrity ORDER BY originator_version, position")
            ).all()  # fmt: skip
        positions = Positions(app)
        for originator, version, position in rows:
            assert positions(originator, version) == position
            assert not positions.twice(originator, version)
        assert positions(rows[0][0], 10**6) is None
    finally:
        app.close()


@pytest.mark.parametrize("flush", [2000, 1])
def test_a_case_read_again_after_its_disposal_is_named_by_the_walk_by_aggregate_too(
    backend_url: str, monkeypatch: pytest.MonkeyPatch, flush: int
) -> None:
    """An insider puts back the key of a case disposed of: its events read and replay clean
    again, and its retention record says it was disposed of, so it is unreadable.  A worker
    keeps a case that replays clean as a few packed bytes; the parent takes this one back
    because its record does not replay as "ok", and names it as one process does."""
    app = opened(backend_url, None)
    try:
        appoint_standard_roster(app)
        gone = file_case(app, "purpose").reference
        app.act(gone, "consult", actor=MANAGER)
        app.act(gone, "reject", actor=CHIEF, comment="Not needed")
        kept = [file_case(app, "purpose").reference for _ in range(3)]
        CLOCKS[backend_url].advance(days=SEVEN_YEARS_AND_A_MONTH)
        with app.engine.connect() as connection:
            row = (
                connection.execute(
                    text("SELECT * FROM approvals_case_keys WHERE originator_id = :o"),
                    {"o": str(case_id(gone))},
                )
                .one()
                ._asdict()
            )
        app.retention().approve(gone, actor=CHIEF)
        app.retention().dispose(gone, actor=HANDLER)
    finally:
        app.close()
    drop_triggers(backend_url, ["approvals_case_keys"])
    engine = sqlalchemy.create_engine(backend_url)
    try:
        with engine.begin() as connection:  # the key, from a backup
            columns = ", ".join(row)
            connection.execute(
                text(f"INSERT INTO approvals_case_keys ({columns}) "
                     f"VALUES ({', '.join(':' + name for name in row)})"),
                row,
            )  # fmt: skip
    finally:
        engine.dispose()
    alone = by_position(backend_url, monkeypatch)
    packed: list[int] = []
    records: list[dict[Any, str]] = []  # how each aggregate not a case replays
    unpacked = cases._unpacked

    def counted(whole: cases.Share) -> None:
        unpacked(whole)
        assert whole.kept is not None
        packed.append(whole.kept.count())
        records.append(dict(whole.records))

    monkeypatch.setattr(cases, "_unpacked", counted)
    assert report(backend_url, monkeypatch, on=False).findings == alone.findings  # streamed here
    monkeypatch.setattr(cases._Walker, "walk", None)  # not the walk by position
    monkeypatch.setattr(cases, "_FLUSH", flush)  # 1: its retention record read in parts
    shared = report(backend_url, monkeypatch, on=True)
    assert shared.findings == alone.findings
    assert [(f.code, f.subject) for f in alone.findings] == [("unreadable", gone)]
    assert packed[-1] >= len(kept) + 1  # the sound cases and the disposed one, packed
    assert len(records) == 2  # streamed here (each aggregate whole), then in processes
    assert records[0][retention_id(gone)] == "disposed"
    assert records[-1] == records[0]
