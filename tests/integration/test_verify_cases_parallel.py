"""The cases decoded, checked and replayed against their rules in other processes say exactly
what one process says, on a signed store damaged in every way the second and third layers
exist to find: an event altered, a rule broken behind the engine's back, an event that does
not decode, an actor forged under someone else's name, a case whose key was replaced.

The threshold is lowered so that a small store takes the parallel path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import text

from approvals import open_approvals
from approvals.audit import cases, pages
from approvals.audit.cases import CasePass
from approvals.audit.verify import Report, verify_log
from approvals.domain.case import case_id
from tests.conftest import CHIEF, MANAGER, REPRESENTATIVE, STAFF, drop_triggers
from tests.integration.test_signed_writers import begin_signing, key, opened
from tests.integration.test_tamper import event_of, execute, reseal
from tests.integration.test_verify_parallel import parallel
from tests.unit.test_cases import file_case

TABLES = ("approvals_events", "approvals_integrity", "approvals_case_keys")


@pytest.fixture
def damaged(backend_url: str) -> Iterator[dict[str, Any]]:
    """A signed store with cases of four workflows, then damaged behind the engine's back."""
    tanaka = key(STAFF)
    host = begin_signing(backend_url)
    host.appoint(actor=REPRESENTATIVE, user=CHIEF, role="chief")
    host.appoint(actor=CHIEF, user=MANAGER, role="manager", department="sales")
    host.appoint(actor=MANAGER, user=STAFF, role="staff", department="sales")
    host.register_key(actor=MANAGER, holder=STAFF, public_key=tanaka.public_key)
    unreadable = file_case(host, "purpose").reference
    altered = file_case(host, "entrustment").reference
    forged, broken, garbled, sound = (file_case(host, "method").reference for _ in range(4))
    file_case(host, "provision")  # the rules across cases then read cases back
    for reference in (forged, broken, garbled, sound):
        host.act(reference, "consult", actor=MANAGER)
    host.act(sound, "approve", actor=CHIEF)
    host.close()
    insider = opened(backend_url, tanaka)  # tanaka's own key, the database's credentials
    insider.signing_for = lambda aggregates, writer: (tanaka, STAFF)  # type: ignore[method-assign]
    insider.act(forged, "approve", actor=CHIEF)
    insider.close()
    drop_triggers(backend_url, TABLES)
    engine = sqlalchemy.create_engine(backend_url)
    state = {"url": backend_url, "engine": engine}
    edits = {
        (altered, 1): lambda plain: plain.replace(b"entrustment case", b"entrustment case!"),
        (broken, 2): lambda plain: plain.replace(f'"{MANAGER}"'.encode(), f'"{STAFF}"'.encode()),
        (garbled, 2): lambda plain: b"{" + plain,  # decrypts, but is no event
    }
    for (reference, version), edit in edits.items():
        event_id, _ = event_of(state, reference, version)
        execute(state, "UPDATE approvals_events SET state = :s WHERE id = :id",
                s=reseal(state, event_id, edit), id=event_id)  # fmt: skip
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE approvals_case_keys SET data_key = :k WHERE originator_id = :o"),
            {"k": "ab" * 32, "o": str(case_id(unreadable))},
        )
    yield state
    engine.dispose()


def report(url: str, monkeypatch: pytest.MonkeyPatch, *, on: bool, rules: bool = True) -> Report:
    calls: list[tuple[int, int]] = []
    with monkeypatch.context() as patched:
        parallel(patched, on=on)
        patched.setattr(cases, "PARALLEL_FROM", 0 if on else 10**12)
        if on:
            patched.setattr(cases, "sharing_cores", lambda engine: 3)  # three, even on one core
            patched.setattr(CasePass, "_here", None)  # no falling back to one process
        app = opened(url, None, create=False)
        try:
            found = verify_log(
                app, rules=rules, progress=lambda done, total: calls.append((done, total))
            )
            size = app.recorder.max_notification_id()
        finally:
            app.close()
    assert calls[-1] == (size, size)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    return found


def test_the_cases_checked_in_processes_give_the_very_report_of_one_process(
    damaged: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = report(damaged["url"], monkeypatch, on=False)
    shared = report(damaged["url"], monkeypatch, on=True)
    assert (shared.events, shared.root, shared.log, shared.notes) == (
        alone.events, alone.root, alone.log, alone.notes,
    )  # fmt: skip
    assert shared.findings == alone.findings
    codes = {finding.code for finding in alone.findings}
    assert {"altered", "undecodable", "unreadable", "signature_writer", "rule"} <= codes, codes
    rules = [f.message.en for f in alone.findings if f.code == "rule"]
    assert any(f"{STAFF} decided 'consult' on a case they filed" in rule for rule in rules)


def test_a_case_event_the_ledger_holds_twice_stops_the_rules_across_cases_in_processes_too(
    damaged: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers send a case's versions only when the ledger holds one of its events twice
    (which takes an insider dropping its unique index first): the one case in which the
    parent reads them."""
    app = open_approvals(damaged["url"], create=False)
    try:
        twice = {(str(case_id(reference)), 1) for reference in app.references()}
    finally:
        app.close()
    monkeypatch.setattr(pages, "ledger_duplicates", lambda app: twice)
    monkeypatch.setattr(cases, "ledger_duplicates", lambda app: twice)
    alone = report(damaged["url"], monkeypatch, on=False)
    shared = report(damaged["url"], monkeypatch, on=True)
    assert shared.findings == alone.findings
    assert "the links between cases" in {finding.subject for finding in alone.findings}
