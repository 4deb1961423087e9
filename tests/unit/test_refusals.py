"""Every refusal: one sentence naming what was refused and what is allowed, and nothing written."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from approvals import (
    ApprovalsApplication,
    ApprovalsError,
    CaseNotFound,
    Document,
    EvidenceMissing,
    InvalidValue,
    NotAuthorized,
    RosterRefused,
    StepNotAllowed,
    UnknownPerson,
    WorkflowNotFound,
)
from tests.conftest import (
    AUDITOR,
    CHIEF,
    HR_STAFF,
    MANAGER,
    OTHER_MANAGER,
    OTHER_STAFF,
    REPRESENTATIVE,
    STAFF,
)
from tests.scenarios import CLAUSES, FILINGS, INVESTIGATION, PATHS, Move, happened
from tests.unit.test_cases import file_case, take


@contextmanager
def refused(
    app: ApprovalsApplication, error: type[ApprovalsError], *phrases: str
) -> Iterator[None]:
    """Expect ``error`` whose English message holds every phrase, and no event written."""
    before = app.recorder.max_notification_id()
    with pytest.raises(error) as caught:
        yield
    message = str(caught.value)
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in {message!r}"
    assert message.count("\n") == 0
    assert caught.value.render("ja") != message
    assert app.recorder.max_notification_id() == before


def walk_until(app: ApprovalsApplication, ref: str, workflow: str, trigger: str) -> None:
    for move in PATHS[workflow]:
        if move.trigger == trigger:
            return
        take(app, ref, move)
    raise AssertionError(f"{trigger} is not on the path of {workflow}")


# -- who may act (point 5) ---------------------------------------------------------------------


def test_an_unknown_person_is_refused(app: ApprovalsApplication) -> None:
    ref = file_case(app, "purpose").reference
    with refused(app, UnknownPerson, "nobody", "is on the roster"):
        app.act(ref, "consult", actor="nobody")
    with refused(app, UnknownPerson, "nobody"):
        app.file(
            "purpose", actor="nobody", title="x", department="sales", fields=FILINGS["purpose"]
        )


def test_staff_cannot_take_the_managers_step(app: ApprovalsApplication) -> None:
    ref = file_case(app, "purpose").reference
    with refused(
        app,
        NotAuthorized,
        "'consult the chief'",
        OTHER_STAFF,
        "personal information manager of sales",
    ):
        app.act(ref, "consult", actor=OTHER_STAFF)


def test_a_manager_acts_only_for_their_own_department(app: ApprovalsApplication) -> None:
    ref = file_case(app, "purpose").reference
    with refused(app, NotAuthorized, OTHER_MANAGER, "manager of sales", "manager of hr"):
        app.act(ref, "consult", actor=OTHER_MANAGER)


def test_only_the_chief_approves(app: ApprovalsApplication) -> None:
    ref = file_case(app, "purpose").reference
    app.act(ref, "consult", actor=MANAGER)
    with refused(app, NotAuthorized, "chief personal information officer", MANAGER):
        app.act(ref, "approve", actor=MANAGER)


def test_the_filer_never_approves_their_own_case(app: ApprovalsApplication) -> None:
    app.appoint(actor=MANAGER, user=CHIEF, role="staff", department="sales")
    ref = app.file(
        "purpose", actor=CHIEF, title="Own", department="sales", fields=FILINGS["purpose"]
    ).reference
    app.act(ref, "consult", actor=MANAGER)
    with refused(app, NotAuthorized, "they filed it", "another chief personal information officer"):
        app.act(ref, "approve", actor=CHIEF)


def test_a_manager_does_not_consult_on_a_case_they_filed(app: ApprovalsApplication) -> None:
    app.appoint(actor=CHIEF, user=MANAGER, role="staff", department="sales")
    ref = app.file(
        "purpose", actor=MANAGER, title="Own", department="sales", fields=FILINGS["purpose"]
    ).reference
    with refused(app, NotAuthorized, "they filed it"):
        app.act(ref, "consult", actor=MANAGER)


def test_the_audit_officer_acts_on_nothing(app: ApprovalsApplication) -> None:
    ref = file_case(app, "purpose").reference
    with refused(app, NotAuthorized, AUDITOR, "audit officer acts on nothing"):
        app.act(ref, "consult", actor=AUDITOR)
    with refused(app, NotAuthorized, AUDITOR):
        app.file("purpose", actor=AUDITOR, title="x", department="sales", fields=FILINGS["purpose"])


def test_the_chief_cannot_also_be_the_audit_officer(app: ApprovalsApplication) -> None:
    with refused(app, RosterRefused, AUDITOR, "both the chief and the audit officer"):
        app.appoint(actor=REPRESENTATIVE, user=AUDITOR, role="chief")
    with refused(app, RosterRefused, CHIEF, "independent of the chief"):
        app.appoint(actor=REPRESENTATIVE, user=CHIEF, role="auditor")


def test_only_the_filer_withdraws_or_resubmits(app: ApprovalsApplication) -> None:
    ref = file_case(app, "purpose").reference
    with refused(app, NotAuthorized, OTHER_STAFF, f"only the person who filed it, {STAFF}"):
        app.act(ref, "withdraw", actor=OTHER_STAFF)
    app.act(ref, "return", actor=MANAGER, comment="Incomplete")
    with refused(app, NotAuthorized, "only the person who filed it"):
        app.act(ref, "resubmit", actor=OTHER_STAFF)


def test_filing_needs_the_staff_role_in_that_department(app: ApprovalsApplication) -> None:
    with refused(app, NotAuthorized, HR_STAFF, "for sales", "staff member of hr"):
        app.file(
            "purpose", actor=HR_STAFF, title="x", department="sales", fields=FILINGS["purpose"]
        )


def test_authority_is_the_roster_at_the_moment_of_the_action(app: ApprovalsApplication) -> None:
    ref = file_case(app, "purpose").reference
    app.dismiss(actor=CHIEF, user=MANAGER, role="manager", department="sales")
    with refused(app, NotAuthorized, MANAGER, "personal information manager of sales"):
        app.act(ref, "consult", actor=MANAGER)
    app.appoint(actor=CHIEF, user=OTHER_MANAGER, role="manager", department="sales")
    case = app.act(ref, "consult", actor=OTHER_MANAGER)
    assert case.state == "consulting"
    assert app.history(ref)[-1].role == "manager"


@pytest.mark.parametrize(
    ("actor", "user", "role", "department", "phrases"),
    [
        (STAFF, "newbie", "manager", "sales", ["appoint", "chief personal information officer"]),
        (OTHER_MANAGER, "newbie", "staff", "sales", ["the department's manager"]),
        (CHIEF, "newbie", "chief", "", ["representative"]),
        (REPRESENTATIVE, "newbie", "staff", "", ["name the department"]),
        (REPRESENTATIVE, "newbie", "auditor", "sales", ["company-wide"]),
        (REPRESENTATIVE, "newbie", "wizard", "", ["no role called wizard"]),
        (MANAGER, STAFF, "staff", "sales", ["is already a staff member of sales"]),
    ],
)
def test_roster_changes_that_break_a_rule_are_refused(
    app: ApprovalsApplication,
    *,
    actor: str,
    user: str,
    role: str,
    department: str,
    phrases: list[str],
) -> None:
    with refused(app, RosterRefused, *phrases):
        app.appoint(actor=actor, user=user, role=role, department=department)


def test_a_dismissal_needs_a_running_term_and_leaves_a_representative(
    app: ApprovalsApplication,
) -> None:
    with refused(app, RosterRefused, "is not a personal information manager"):
        app.dismiss(actor=CHIEF, user=OTHER_STAFF, role="manager", department="sales")
    with refused(app, RosterRefused, "only representative"):
        app.dismiss(actor=REPRESENTATIVE, user=REPRESENTATIVE, role="representative")


def test_the_roster_is_established_once(app: ApprovalsApplication) -> None:
    with refused(app, RosterRefused, "already established", REPRESENTATIVE):
        app.establish_roster("someone")


# -- order and evidence (point 6) --------------------------------------------------------------


def test_a_step_out_of_order_names_the_state_and_what_is_allowed(app: ApprovalsApplication) -> None:
    ref = file_case(app, "purpose").reference
    with refused(
        app, StepNotAllowed, "'approve'", "'notified'", "Allowed now: consult, return, withdraw"
    ):
        app.act(ref, "approve", actor=CHIEF)


def test_nothing_happens_to_a_final_case(app: ApprovalsApplication) -> None:
    ref = file_case(app, "purpose").reference
    app.act(ref, "withdraw", actor=STAFF)
    with refused(app, StepNotAllowed, "'withdrawn'", "final"):
        app.act(ref, "consult", actor=MANAGER)


def test_an_unknown_step_lists_the_workflows_steps(app: ApprovalsApplication) -> None:
    ref = file_case(app, "purpose").reference
    with refused(app, StepNotAllowed, "no step called fly", "consult"):
        app.act(ref, "fly", actor=MANAGER)


def test_entrustment_goes_to_the_chief_only_after_the_investigation(
    app: ApprovalsApplication,
) -> None:
    ref = file_case(app, "entrustment").reference
    with refused(app, EvidenceMissing, "Interview with the vendor", "must be given first"):
        app.act(ref, "consult", actor=MANAGER, checklist=CLAUSES)


@pytest.mark.parametrize("finding", ["security_equal_or_higher", "financially_sound"])
def test_a_negative_investigation_finding_stops_the_entrustment(
    app: ApprovalsApplication, finding: str
) -> None:
    ref = file_case(app, "entrustment").reference
    happened(app, "entrustment", INVESTIGATION)
    app.act(ref, "record_investigation", actor=MANAGER, fields={**INVESTIGATION, finding: "no"})
    with refused(app, EvidenceMissing, "must be yes and it is no", "cannot go on"):
        app.act(ref, "consult", actor=MANAGER, checklist=CLAUSES)


@pytest.mark.parametrize("clause", CLAUSES)
def test_a_contract_draft_missing_any_clause_cannot_go_to_the_chief(
    app: ApprovalsApplication, clause: str
) -> None:
    ref = file_case(app, "entrustment").reference
    happened(app, "entrustment", INVESTIGATION)
    app.act(ref, "record_investigation", actor=MANAGER, fields=INVESTIGATION)
    label = app.workflows["entrustment"].checklist[clause].label.en
    with refused(app, EvidenceMissing, "not yet confirmed", label):
        app.act(ref, "consult", actor=MANAGER, checklist=[c for c in CLAUSES if c != clause])


def test_handover_is_refused_before_the_individual_contract(app: ApprovalsApplication) -> None:
    ref = file_case(app, "entrustment").reference
    walk_until(app, ref, "entrustment", "conclude_individual_contract")
    with refused(app, StepNotAllowed, "'basic contract concluded'", "conclude_individual_contract"):
        take(
            app, ref, Move("hand_over", STAFF, {"handover_date": "2026-05-01"}, ["written_notice"])
        )


def test_handover_needs_the_written_notice_of_the_seven_items(app: ApprovalsApplication) -> None:
    ref = file_case(app, "entrustment").reference
    walk_until(app, ref, "entrustment", "hand_over")
    happened(app, "entrustment", {"handover_date": "2026-05-01"})
    with refused(app, EvidenceMissing, "Written notice of the seven items"):
        app.act(ref, "hand_over", actor=STAFF, fields={"handover_date": "2026-05-01"})


def test_indirect_collection_is_not_recorded_as_a_new_method(app: ApprovalsApplication) -> None:
    ref = file_case(app, "method").reference
    walk_until(app, ref, "method", "record_indirect_measures")
    measures = PATHS["method"][2]
    with refused(app, EvidenceMissing, "Kind of collection must be new_method", ref):
        app.act(
            ref, "record_measures", actor=CHIEF, fields=measures.fields, checklist=["notice_given"]
        )


@pytest.mark.parametrize(
    ("workflow", "item"),
    [
        *(("purpose", item) for item in PATHS["purpose"][2].checklist),
        # Indirect collection: the three Art.8 items.
        *(("method", item) for item in PATHS["method"][2].checklist),
        *(("joint_use", item) for item in PATHS["joint_use"][2].checklist),
    ],
)
def test_the_measures_take_effect_only_with_every_item_confirmed(
    app: ApprovalsApplication, workflow: str, item: str
) -> None:
    measures = PATHS[workflow][2]
    ref = file_case(app, workflow).reference
    walk_until(app, ref, workflow, measures.trigger)
    happened(app, workflow, measures.fields)  # the day announced: only the checklist is missing
    label = app.workflows[workflow].checklist[item].label.en
    with refused(app, EvidenceMissing, "not yet confirmed", label):
        app.act(
            ref,
            measures.trigger,
            actor=CHIEF,
            fields=measures.fields,
            checklist=[i for i in measures.checklist if i != item],
        )
    assert app.case(ref).state == "approved"


def test_third_party_provision_needs_the_reason_it_is_unavoidable(
    app: ApprovalsApplication,
) -> None:
    fields = {k: v for k, v in FILINGS["provision"].items() if k != "unavoidable_reason"}
    with refused(app, EvidenceMissing, "Why the provision is unavoidable"):
        app.file("provision", actor=STAFF, title="x", department="sales", fields=fields)


@pytest.mark.parametrize(("trigger", "actor"), [("reject", CHIEF), ("return", CHIEF)])
def test_a_rejection_or_return_needs_a_comment(
    app: ApprovalsApplication, trigger: str, actor: str
) -> None:
    ref = file_case(app, "purpose").reference
    app.act(ref, "consult", actor=MANAGER)
    with refused(app, EvidenceMissing, "a comment saying why"):
        app.act(ref, trigger, actor=actor, comment="  ")


@pytest.mark.parametrize(
    ("call", "error", "phrase"),
    [
        (lambda app, ref: app.act(ref, "consult", actor=MANAGER, fields={"colour": "red"}),
         InvalidValue, "no field called colour"),
        (lambda app, ref: app.act(ref, "record_investigation", actor=MANAGER,
                                  fields={**INVESTIGATION, "interview_date": "next Tuesday"}),
         InvalidValue, "a date such as 2026-04-01"),
        (lambda app, ref: app.act(ref, "record_investigation", actor=MANAGER,
                                  fields={**INVESTIGATION, "financially_sound": "maybe"}),
         InvalidValue, "yes or no"),
        (lambda app, ref: app.act(ref, "draft_contract", actor=MANAGER, checklist=["clause_x"]),
         InvalidValue, "no checklist item called clause_x"),
        (lambda app, ref: app.act(ref, "draft_contract", actor=MANAGER,
                                  attachments=[Document("x.pdf", "not-a-hash", 1)]),
         InvalidValue, "SHA-256 of x.pdf"),
        (lambda app, ref: app.act("ENT-1999-0001", "consult", actor=MANAGER),
         CaseNotFound, "ENT-1999-0001"),
        (lambda app, ref: app.file("lottery", actor=STAFF, title="x", department="sales"),
         WorkflowNotFound, "entrustment"),
        (lambda app, ref: app.file("entrustment", actor=STAFF, title=" ", department="sales",
                                   fields=FILINGS["entrustment"]),
         InvalidValue, "The title must not be empty"),
    ],
)  # fmt: skip
def test_bad_values_are_refused_with_what_is_allowed(
    app: ApprovalsApplication,
    call: Callable[[ApprovalsApplication, str], Any],
    error: type[ApprovalsError],
    phrase: str,
) -> None:
    ref = file_case(app, "entrustment").reference
    with refused(app, error, phrase):
        call(app, ref)


def test_refusals_read_in_japanese_too(app: ApprovalsApplication) -> None:
    ref = file_case(app, "purpose").reference
    with pytest.raises(StepNotAllowed) as caught:
        app.act(ref, "approve", actor=CHIEF)
    assert caught.value.render("ja") == (
        f"{ref} に「承認」はできません: 現在「届け出済み」です。"
        "今できること: 協議(consult)、差し戻し(return)、取り下げ(withdraw)。"
    )


def test_only_people_on_the_roster_are_identified(app: ApprovalsApplication) -> None:
    assert [term.role for term in app.identify(MANAGER)] == ["manager"]
    with refused(app, UnknownPerson, "nobody"):
        app.identify("nobody")
    app.dismiss(actor=MANAGER, user=OTHER_STAFF, role="staff", department="sales")
    with refused(app, UnknownPerson, OTHER_STAFF):
        app.identify(OTHER_STAFF)


def test_handover_cannot_be_dated_before_the_individual_contract(app: ApprovalsApplication) -> None:
    ref = file_case(app, "entrustment").reference
    walk_until(app, ref, "entrustment", "hand_over")
    # after the approval (6 April) and the basic contract (20 April), before the individual
    # contract (27 April)
    with refused(app, InvalidValue, "Data handed over on (2026-04-21)", "Individual contract"):
        app.act(
            ref, "hand_over", actor=STAFF, fields={"handover_date": "2026-04-21"},
            checklist=["written_notice"],
        )  # fmt: skip
