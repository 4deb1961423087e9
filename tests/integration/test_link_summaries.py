"""The rules across cases judged from the cases' summaries (issue 19): what a worker sends
in place of each case it replayed is enough to say exactly what the engine's functions say
on the cases whole, in the same order, and a report checked in several processes (each case
sent as its summary, none whole) says what one process says."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from approvals import ApprovalsApplication
from approvals.audit import cases
from approvals.audit.cases import CasePass
from approvals.audit.links import link_violations, summary
from approvals.audit.verify import verify_log
from approvals.domain.case import Case, Entry, case_id
from approvals.domain.links import (
    IN_EFFECT_LINKS,
    REQUEST,
    STOP_PROVISION,
    StopRequest,
    link_refusal,
    linked_as_of,
    provision_checked,
    provision_refusal,
    stop_requests,
)
from approvals.domain.workflow import Workflow
from approvals.errors import Label
from tests.conftest import HR_STAFF, MANAGER
from tests.integration.test_linked_cases import (
    DAY,
    app,
    consult_and_approve,
    end_entrustment,
    entrustment,
    file_subcontract,
    give_written_approval,
    provision_in_effect,
    record_provision,
    rules_off,
    stopped_provision,
)
from tests.integration.test_verify_parallel import parallel

__all__ = ["app"]  # the fixture, for pytest


def whole_case_violations(
    loaded: Mapping[str, tuple[Case, Workflow]], position: Callable[[str, int], int]
) -> list[tuple[str, int, Label]]:
    """The rules across cases judged on the cases whole with the engine's functions, as the
    audit did before the summaries: what the summaries must say again."""
    found: list[tuple[str, int, Label]] = []
    requests = [case for case, _ in loaded.values() if case.workflow_id == REQUEST]
    complied: list[tuple[int, StopRequest]] = []
    for request in requests:
        stops = stop_requests(request)
        if stops:
            entry = next(e for e in request.history if e.trigger == STOP_PROVISION)
            complied.append((position(request.reference, entry.position), stops[0]))

    def label(error: Any) -> Label:
        return Label(error.render("en"), error.render("ja"))

    for reference, (case, workflow) in loaded.items():
        fields: dict[str, Any] = {}
        for index, entry in enumerate(case.history):
            fields.update(entry.fields)
            here = position(reference, entry.position)
            for name, spec in workflow.fields.items():
                if spec.kind != "case" or (workflow.id, name) not in IN_EFFECT_LINKS:
                    continue
                value = str(fields.get(name) or "")
                named = loaded.get(value)
                if named is None:
                    continue

                def before(e: Entry, value: str = value, here: int = here) -> bool:
                    return position(value, e.position) < here

                linked = linked_as_of(*named, before)
                refusal = None if linked is None else link_refusal(
                    workflow, name, case.department, entry.dest, linked
                )  # fmt: skip
                if refusal is not None:
                    found.append((reference, entry.position, label(refusal)))
            step = workflow.steps.get((entry.source, entry.trigger)) if index else None
            if index and step is None:
                continue
            if provision_checked(workflow, step.fields if step is not None else None):
                stops = [stop for at, stop in complied if at < here]
                refusal = provision_refusal(workflow, fields, entry.comment, stops)
                if refusal is not None:
                    found.append((reference, entry.position, label(refusal)))
    return found


@pytest.fixture
def broken(app: ApprovalsApplication, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Every rule across cases broken, written as an engine without them did, beside cases
    that kept them."""
    with monkeypatch.context() as patched:
        rules_off(patched)
        pending = entrustment(app, until="consult")
        early = file_subcontract(app, pending)
        entrusted = entrustment(app)
        foreign = file_subcontract(app, entrusted, actor=HR_STAFF, department="hr")
        late = file_subcontract(app, entrusted)
        consult_and_approve(app, late)
        kept = file_subcontract(app, entrusted)
        consult_and_approve(app, kept)
        give_written_approval(app, kept)
        end_entrustment(app, entrusted)
        give_written_approval(app, late)
        app.act(kept, "end", actor=MANAGER, fields={"end_date": DAY})
        request = stopped_provision(app)
        stopped_provision(app, "Suzuki Hanako")
        provided = provision_in_effect(app, "Yamada Taro")
        record_provision(app, provided, "Yamada Taro")
        lawful = provision_in_effect(app)
        record_provision(app, lawful, "Yamada Taro", consent="law_permits",
                         comment="Disclosure ordered by a court")  # fmt: skip
    return {"early": early, "foreign": foreign, "late": late, "request": request,
            "provided": provided, "lawful": lawful}  # fmt: skip


def _loaded(app: ApprovalsApplication) -> dict[str, tuple[Case, Workflow]]:
    references = [case.reference for case in app.cases()]
    return {
        reference: (app.repository.get(case_id(reference)), app.workflow_of(reference))
        for reference in sorted(references)
    }


def test_the_summaries_say_what_the_whole_cases_say_in_the_same_order(
    app: ApprovalsApplication, broken: dict[str, str]
) -> None:
    loaded = _loaded(app)

    def position(reference: str, version: int) -> int:
        found = app.position_of(case_id(reference), version)
        return found if found is not None else 2**62

    expected = whole_case_violations(loaded, position)
    assert list(link_violations(app, loaded)) == expected
    said = {(reference, str(message)) for reference, _, message in expected}
    assert {reference for reference, _ in said} == {
        broken["early"], broken["foreign"], broken["late"], broken["provided"]
    }  # fmt: skip
    assert all(broken["request"] in m for r, m in said if r == broken["provided"]), said


def test_a_summary_is_small_and_holds_no_case(
    app: ApprovalsApplication, broken: dict[str, str]
) -> None:
    for reference, (case, workflow) in _loaded(app).items():
        made = summary(case, workflow)
        assert made.reference == reference
        assert [version for version, _ in made.transitions] == [e.position for e in case.history]
        assert len(pickle.dumps(made)) < len(pickle.dumps(case)) / 2, reference


@pytest.fixture
def in_processes(monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], None]:
    def switch(on: bool) -> None:
        parallel(monkeypatch, on=on)
        monkeypatch.setattr(cases, "PARALLEL_FROM", 0 if on else 10**12)
        if on:
            monkeypatch.setattr(cases, "sharing_cores", lambda engine: 3)
            monkeypatch.setattr(CasePass, "_here", None)  # no falling back to one process

    return switch


def test_the_cross_case_findings_checked_in_processes_are_those_of_one_process(
    app: ApprovalsApplication,
    broken: dict[str, str],
    in_processes: Callable[[bool], None],
    monkeypatch: pytest.MonkeyPatch,
    backend_url: str,
) -> None:
    if app.engine.dialect.name == "sqlite" and not app.engine.url.database:
        pytest.skip("the workers share a file, not a database in memory")
    in_processes(False)
    alone = verify_log(app).findings
    monkeypatch.setattr(cases, "_FLUSH", 3)  # a few aggregates decoded together
    in_processes(True)
    shared = verify_log(app).findings
    assert shared == alone
    rules = {finding.subject for finding in alone if finding.code == "rule"}
    assert rules == {broken[k] for k in ("early", "foreign", "late", "provided")}, alone
