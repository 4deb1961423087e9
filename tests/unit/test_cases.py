"""Cases walked through every reference workflow: the happy path and the ways back out."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time

import pytest
from structlog.testing import capture_logs

from approvals import JST, ApprovalsApplication, CaseView, Document
from tests.conftest import CHIEF, MANAGER, STAFF, FakeClock
from tests.scenarios import FILINGS, PATHS, Move, dated, happened, take


def file_case(app: ApprovalsApplication, workflow: str, **extra: str) -> CaseView:
    return app.file(
        workflow,
        actor=STAFF,
        title=f"A {workflow} case",
        department="sales",
        fields={**FILINGS[workflow], **extra},
    )


@pytest.mark.parametrize("workflow", sorted(PATHS))
def test_each_workflow_walks_from_the_notice_to_its_end(
    app: ApprovalsApplication, workflow: str
) -> None:
    case = file_case(app, workflow)
    assert case.state == "notified"
    assert case.reference.startswith(f"{app.workflows[workflow].prefix}-2026-")
    for move in PATHS[workflow]:
        allowed = {step.trigger for step in case.next_steps}
        assert move.trigger in allowed, f"{move.trigger} not offered in {case.state}"
        case = take(app, case.reference, move)
    assert case.terminal
    assert case.next_steps == ()
    history = app.history(case.reference)
    assert [entry.trigger for entry in history] == ["file"] + [m.trigger for m in PATHS[workflow]]
    assert [entry.actor for entry in history] == [STAFF] + [m.actor for m in PATHS[workflow]]
    approval = next(entry for entry in history if entry.trigger == "approve")
    assert (approval.actor, approval.role) == (CHIEF, "chief")


@pytest.mark.parametrize("workflow", sorted(PATHS))
@pytest.mark.parametrize("returned_by", ["manager", "chief"])
def test_a_returned_case_is_revised_resubmitted_and_then_approved(
    app: ApprovalsApplication, workflow: str, returned_by: str
) -> None:
    case = file_case(app, workflow)
    ref = case.reference
    if returned_by == "chief":
        for move in PATHS[workflow]:
            if move.trigger == "approve":
                break
            take(app, ref, move)
        case = app.act(ref, "return", actor=CHIEF, comment="Say which data subjects")
    else:
        case = app.act(ref, "return", actor=MANAGER, comment="Say which data subjects")
    assert case.state == "returned"
    assert [s.trigger for s in case.next_steps] == ["resubmit", "withdraw"]
    first_field = "purpose"
    case = app.act(
        ref, "resubmit", actor=STAFF, fields={first_field: "revised"}, comment="Clarified"
    )
    assert case.state == "notified"
    assert case.fields[first_field] == "revised"
    for move in PATHS[workflow]:
        if case.state == "approved":
            break
        if move.trigger in {s.trigger for s in case.next_steps}:
            case = take(app, ref, move)
    assert case.state == "approved"


@pytest.mark.parametrize("workflow", sorted(PATHS))
def test_a_rejected_case_is_final_and_kept(app: ApprovalsApplication, workflow: str) -> None:
    case = file_case(app, workflow)
    for move in PATHS[workflow]:
        if move.trigger == "approve":
            break
        take(app, case.reference, move)
    case = app.act(case.reference, "reject", actor=CHIEF, comment="Not necessary")
    assert (case.state, case.terminal) == ("rejected", True)
    # Kept seven years from the day it was rejected: an entrustment after its investigation
    # (the site survey of 6 April), any other on the day it was filed.
    rejected_on = date(2026, 4, 6) if workflow == "entrustment" else date(2026, 4, 1)
    assert case.retention_until == rejected_on.replace(year=2033)
    assert app.history(case.reference)[-1].comment == "Not necessary"


@pytest.mark.parametrize("state", ["notified", "consulting", "returned"])
def test_the_filer_may_withdraw_before_the_decision(app: ApprovalsApplication, state: str) -> None:
    ref = file_case(app, "purpose").reference
    if state == "consulting":
        app.act(ref, "consult", actor=MANAGER)
    if state == "returned":
        app.act(ref, "return", actor=MANAGER, comment="Incomplete")
    case = app.act(ref, "withdraw", actor=STAFF, comment="No longer needed")
    assert (case.state, case.terminal) == ("withdrawn", True)


def test_references_are_unique_and_count_per_workflow_and_year(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    first = file_case(app, "entrustment").reference
    second = file_case(app, "entrustment").reference
    other = file_case(app, "purpose").reference
    clock.now = datetime(2027, 1, 5, 9, 0, tzinfo=JST)
    next_year = file_case(app, "entrustment").reference
    assert (first, second, other, next_year) == (
        "ENT-2026-0001",
        "ENT-2026-0002",
        "NP-2026-0001",
        "ENT-2027-0001",
    )
    assert app.references() == (first, second, other, next_year)


def test_a_case_is_found_by_its_reference_in_any_case_of_letters(app: ApprovalsApplication) -> None:
    ref = file_case(app, "purpose").reference
    assert app.case(ref.lower()).reference == ref


def test_the_replayed_case_equals_the_live_case(app: ApprovalsApplication) -> None:
    case = file_case(app, "entrustment")
    for move in PATHS["entrustment"][:8]:
        live = take(app, case.reference, move)
    fresh = ApprovalsApplication(engine=app.engine, workflows=app.workflows, clock=app.now)
    replayed = fresh.case(case.reference)
    assert replayed.version == live.version
    assert replayed.fields == live.fields
    assert replayed.state == live.state
    assert replayed.checklist == live.checklist
    assert fresh.history(case.reference) == app.history(case.reference)


def test_a_case_can_be_read_as_it_stood_at_any_moment(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    ref = file_case(app, "purpose").reference
    clock.advance(hours=1)
    app.act(ref, "consult", actor=MANAGER)
    moment = clock.now
    clock.advance(hours=1)
    app.act(ref, "approve", actor=CHIEF)
    assert app.case(ref, as_of=moment).state == "consulting"
    assert app.case(ref).state == "approved"


def test_what_may_happen_next_names_who_may_do_it(app: ApprovalsApplication) -> None:
    case = file_case(app, "entrustment")
    steps = {step.trigger: step for step in case.next_steps}
    assert steps["consult"].people == (MANAGER,)
    assert steps["consult"].department == "sales"
    assert steps["consult"].missing_checklist[0] == "clause_confidentiality"
    assert steps["withdraw"].people == (STAFF,)
    happened(app, "entrustment", PATHS["entrustment"][0].fields)
    case = app.act(case.reference, "record_investigation", actor=MANAGER, fields=PATHS[
        "entrustment"][0].fields)  # fmt: skip
    steps = {step.trigger: step for step in case.next_steps}
    assert steps["consult"].missing_fields == ()


def test_consultation_is_due_the_next_business_day_and_shown_overdue_when_missed(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 4, 3, 10, 0, tzinfo=JST)  # a Friday
    ref = file_case(app, "purpose").reference
    (deadline,) = app.case(ref).deadlines
    assert deadline.name == "consultation"
    # 直ちに: one business day by default, so Friday's filing is due on Monday
    assert deadline.due_at.astimezone(JST) == datetime(2026, 4, 6, 10, 0, tzinfo=JST)
    assert not deadline.overdue
    clock.now = datetime(2026, 4, 6, 10, 1, tzinfo=JST)
    assert app.case(ref).deadlines[0].overdue
    app.act(ref, "consult", actor=MANAGER)
    assert [d.name for d in app.case(ref).deadlines] == ["decision"]


def test_the_inspection_clock_restarts_at_each_inspection(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    ref = file_case(app, "entrustment").reference
    for move in PATHS["entrustment"][:7]:
        take(app, ref, move)
    due = {d.name: d.due_at for d in app.case(ref).deadlines}
    assert set(due) == {"inspection", "vendor_report"}
    # a year after the handover (7 May 2026), to the end of that day
    assert due["inspection"] == datetime.combine(date(2027, 5, 7), time.max, JST)
    clock.advance(days=300)
    take(app, ref, Move("report_breach", STAFF, {"violation": "late report"}))
    after_breach = {d.name: d.due_at for d in app.case(ref).deadlines}
    assert after_breach["inspection"] == due["inspection"]  # a breach does not reset it
    clock.advance(days=10)
    inspected = take(app, ref, PATHS["entrustment"][-2])  # inspected on 1 October 2026
    (inspection,) = [d for d in inspected.deadlines if d.name == "inspection"]
    assert inspection.due_at == datetime.combine(date(2027, 10, 1), time.max, JST)


def test_attachments_are_kept_as_content_hashes(app: ApprovalsApplication) -> None:
    draft = Document.of("basic-contract-draft.pdf", b"%PDF-1.7 draft")
    ref = file_case(app, "entrustment").reference
    case = app.act(
        ref,
        "draft_contract",
        actor=MANAGER,
        checklist=PATHS["entrustment"][1].checklist,
        attachments=[draft],
    )
    (attachment,) = case.attachments
    assert attachment.sha256 == hashlib.sha256(b"%PDF-1.7 draft").hexdigest()
    assert attachment.size == len(b"%PDF-1.7 draft")
    assert app.history(ref)[-1].attachments == (attachment,)


def test_every_command_writes_one_structured_log_line(app: ApprovalsApplication) -> None:
    with capture_logs() as logs:
        ref = file_case(app, "purpose").reference
        app.act(ref, "consult", actor=MANAGER)
        with pytest.raises(Exception, match="refused"):
            app.act(ref, "consult", actor=MANAGER)
    assert [(line["event"], line["outcome"]) for line in logs] == [
        ("case.file", "recorded"),
        ("case.act", "recorded"),
        ("case.act", "refused"),
    ]
    assert logs[1]["case"] == ref
    assert logs[1]["trigger"] == "consult"
    assert logs[1]["actor"] == MANAGER
    assert logs[2]["code"] == "step.not_allowed"


def test_the_inbox_lists_what_waits_for_a_person_oldest_first(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    older = file_case(app, "purpose").reference
    clock.advance(hours=1)
    newer = file_case(app, "joint_use").reference
    clock.advance(hours=1)
    decided = file_case(app, "provision").reference
    app.act(decided, "consult", actor=MANAGER)
    inbox = app.inbox(MANAGER)
    assert [(item.reference, item.trigger) for item in inbox] == [
        (older, "consult"),
        (older, "return"),
        (newer, "consult"),
        (newer, "return"),
    ]
    assert [item.reference for item in app.inbox(CHIEF)] == [decided] * 3
    assert app.inbox(STAFF)[0].trigger == "withdraw"
    clock.advance(days=10)
    assert all(item.overdue for item in app.inbox(MANAGER))


def test_cases_are_listed_and_filtered(app: ApprovalsApplication, clock: FakeClock) -> None:
    first = file_case(app, "purpose").reference
    moment = clock.now
    clock.advance(hours=1)
    second = file_case(app, "entrustment").reference
    app.act(first, "consult", actor=MANAGER)
    assert [c.reference for c in app.cases()] == [first, second]
    assert [c.reference for c in app.cases(workflow="entrustment")] == [second]
    assert [c.reference for c in app.cases(state="consulting")] == [first]
    assert app.cases(department="hr") == ()
    past = app.cases(as_of=moment)
    assert [(c.reference, c.state) for c in past] == [(first, "notified")]


def test_an_entrustment_is_kept_seven_years_from_the_end_of_its_individual_contract(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 4, 2, 9, 0, tzinfo=JST)
    ref = file_case(app, "entrustment").reference
    for move in PATHS["entrustment"][:-1]:
        take(app, ref, move)
    assert app.case(ref).retention_until is None
    clock.now = datetime(2027, 3, 31, 17, 0, tzinfo=JST)  # noted on the day it ended
    ended = app.act(
        ref, "end_contract", actor=MANAGER, fields={"individual_contract_end_date": "2027-03-31"}
    )
    assert ended.retention_until == date(2034, 3, 31)  # seven years from the contract's end
    other = file_case(app, "entrustment").reference
    for move in PATHS["entrustment"][:-1]:
        take(app, other, dated(app, "entrustment", move))  # each fact on the day it is taken
    clock.now = datetime(2027, 6, 1, 9, 0, tzinfo=JST)
    late = app.act(
        other, "end_contract", actor=MANAGER, fields={"individual_contract_end_date": "2027-05-20"}
    )
    assert late.retention_until == date(2034, 6, 1)  # never earlier than the day it was noted
