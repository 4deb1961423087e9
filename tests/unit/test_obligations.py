"""The four obligations beside the core: return or erasure at the end of an entrustment, the data
subject's requests, taking data out, and use beyond the purpose — every path walked, every
refusal writing nothing, every clock read on Japan's calendar."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

import pytest

from approvals import (
    JST,
    ApprovalsApplication,
    CaseView,
    EvidenceMissing,
    InvalidValue,
    NotAuthorized,
    RetentionRefused,
    StepNotAllowed,
)
from approvals.audit.report import build_report
from tests.conftest import AUDITOR, CHIEF, HANDLER, MANAGER, OTHER_STAFF, STAFF, FakeClock
from tests.scenarios import FILINGS as CORE_FILINGS
from tests.scenarios import PATHS, Move, end_of, happened, refused, take, walk

FILINGS: dict[str, dict[str, Any]] = {
    "erasure": {"work_ended_on": "2026-04-27", "instructed_method": "erasure"},
    "request": {
        "kind": "disclosure",
        "data_subject": "Hanako Yamada",
        "received_on": "2026-04-24",
        "request_details": "Everything the company holds on her",
        "wished_method": "in_writing",
    },
    "take_out": {
        "data_items": "visit list: names, addresses",
        "medium": "laptop",
        "destination": "customer site, Osaka",
        "reason": "on-site support",
        "return_by": "2026-04-30",
    },
    "beyond_purpose": {
        "data_items": "name, e-mail",
        "data_subjects": "warranty registrants",
        "collection_purpose": "warranty service",
        "new_use": "newsletter on new products",
        "art10_reason": "no consent, contract, legal duty, vital interest or authority covers it",
    },
}


def file(app: ApprovalsApplication, workflow: str, *, actor: str = STAFF, **extra: Any) -> CaseView:
    """File a ``workflow`` case once the facts it records have happened (a request received
    on 24 April is filed that day at the earliest)."""
    fields = {**FILINGS[workflow], **extra}
    happened(app, workflow, fields)
    return app.file(workflow, actor=actor, title=f"A {workflow} case", department="sales",
                    fields=fields)  # fmt: skip


@pytest.fixture
def entrustment(app: ApprovalsApplication) -> str:
    """An entrustment walked to the end of its individual contract."""
    ref = app.file(
        "entrustment",
        actor=STAFF,
        title="Scanning of paper customer files",
        department="sales",
        fields=CORE_FILINGS["entrustment"],
    ).reference
    assert walk(app, ref, PATHS["entrustment"]).terminal
    return ref


def own_case(app: ApprovalsApplication, workflow: str, person: str, **extra: Any) -> str:
    """A case filed by ``person``, made staff of sales for it (by someone else: nobody
    appoints themselves)."""
    app.appoint(
        actor=CHIEF if person == MANAGER else MANAGER, user=person, role="staff", department="sales"
    )
    return file(app, workflow, actor=person, **extra).reference


# -- return or erasure of entrusted data (001 Art.9, 002 第12) ----------------------------------

RECORD = {"erased_on": "2026-04-28", "data_name": "scanned customer files (PDF)", "count": "1200"}
CONFIRM = Move("confirm", MANAGER, checklist=["identifiable", "as_instructed"])
CERTIFICATE = Move(
    "receive_certificate", STAFF, {"certificate_date": "2026-04-30"}, ["certificate_received"]
)


def record(method: str, **extra: Any) -> Move:
    return Move(
        "record_erasure", OTHER_STAFF, {**RECORD, "method": method, **extra}, ["copies_included"]
    )


@pytest.mark.parametrize(
    ("method", "moves"),
    [
        ("erasure", [record("erasure"), CERTIFICATE, CONFIRM]),
        ("destruction", [record("destruction"), CERTIFICATE, CONFIRM]),
        ("return", [record("return"), CONFIRM]),  # data given back needs no certificate
    ],
)
def test_a_return_or_erasure_is_recorded_and_confirmed_then_kept_seven_years(
    app: ApprovalsApplication, entrustment: str, method: str, moves: list[Move]
) -> None:
    case = file(app, "erasure", entrustment=entrustment, instructed_method=method)
    assert case.reference.startswith("ERA-2027-")  # filed once the entrustment ended, in 2027
    assert case.state == "notified"
    case = walk(app, case.reference, moves)
    assert (case.state, case.terminal) == ("closed", True)
    assert case.fields["entrustment"] == entrustment
    assert (case.fields["count"], case.fields["method"]) == (1200, method)
    # kept seven years from the day it closed: the day the entrustment's contract ended
    assert case.retention_until == date(2034, 3, 31)
    history = app.history(case.reference)
    assert [e.trigger for e in history] == ["file", *(m.trigger for m in moves)]
    assert (history[1].actor, history[-1].actor, history[-1].role) == (
        OTHER_STAFF,
        MANAGER,
        "manager",
    )


def test_an_erasure_is_kept_as_long_as_the_entrustment_it_belongs_to(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    # The work on one batch of files ends in October, while the contract runs on.
    entrustment = app.file("entrustment", actor=STAFF, title="Scanning", department="sales",
                           fields=CORE_FILINGS["entrustment"]).reference  # fmt: skip
    *running, end_contract = PATHS["entrustment"]
    walk(app, entrustment, running)
    certified = Move("receive_certificate", STAFF, {"certificate_date": "2026-10-06"},
                     CERTIFICATE.checklist)  # fmt: skip
    erasure = file(app, "erasure", entrustment=entrustment, work_ended_on="2026-10-02")
    moves = [record("erasure", erased_on="2026-10-05"), certified, CONFIRM]
    ref = walk(app, erasure.reference, moves).reference
    assert app.case(ref).retention_until == date(2033, 10, 6)  # its own seven years
    take(app, entrustment, end_contract)
    # The entrustment's individual contract ended on 31 March 2027: kept until 31 March 2034.
    assert app.case(entrustment).retention_until == date(2034, 3, 31)
    retention = app.retention()
    clock.now = datetime(2033, 10, 7, 9, 0, tzinfo=JST)  # its own seven years are over
    assert (retention.item(ref).retained_until, retention.item(ref).due) == (
        date(2034, 3, 31), False,
    )  # fmt: skip
    assert ref not in {item.reference for item in retention.due()}
    # The schedule says the same: kept until the entrustment's last day, and not due.
    (entry,) = app.registers().retention(reference=ref)
    assert (entry.retained_until, entry.kept_with, entry.due) == (
        date(2034, 3, 31), (entrustment,), False,
    )  # fmt: skip
    assert ref not in {e.reference for e in app.registers().retention(due=True)}
    with refused(app, RetentionRefused, "retention.linked", ref) as caught:
        retention.approve(ref, actor=CHIEF)
    assert entrustment in str(caught.value)
    assert "2034-03-31" in str(caught.value)
    clock.now = datetime(2034, 4, 1, 9, 0, tzinfo=JST)
    assert ref in {item.reference for item in retention.due()}
    schedule = app.registers().retention(due=True)
    assert [e.reference for e in schedule] == [entrustment, ref]  # both, last days equal
    assert [e.reference for e in app.registers().retention(due=True, limit=1)] == [entrustment]
    assert retention.approve(ref, actor=CHIEF).approved_by == CHIEF


def test_an_erasure_record_the_manager_returns_is_corrected_and_certified_again(
    app: ApprovalsApplication, entrustment: str
) -> None:
    ref = file(app, "erasure", entrustment=entrustment).reference
    walk(app, ref, [record("erasure", count="120"), CERTIFICATE])
    with refused(app, EvidenceMissing, "evidence.comment", ref):
        app.act(ref, "return", actor=MANAGER)
    app.act(ref, "return", actor=MANAGER, comment="The vendor's report says 1,200 files")
    with refused(app, NotAuthorized, "step.filer_only", ref):
        app.act(ref, "resubmit", actor=OTHER_STAFF, fields={"count": 1200})
    case = app.act(ref, "resubmit", actor=STAFF, fields={"count": 1200})
    assert (case.state, case.fields["count"]) == ("recorded", 1200)
    case = walk(app, ref, [CERTIFICATE, CONFIRM])
    assert case.state == "closed"


def test_an_erasure_is_withdrawn_only_before_anything_is_recorded(
    app: ApprovalsApplication, entrustment: str
) -> None:
    ref = file(app, "erasure", entrustment=entrustment).reference
    other = file(app, "erasure", entrustment=entrustment).reference
    with refused(app, EvidenceMissing, "evidence.comment", ref):
        app.act(ref, "withdraw", actor=STAFF)
    assert app.act(ref, "withdraw", actor=STAFF, comment="Filed twice").state == "withdrawn"
    take(app, other, record("erasure"))
    with refused(app, StepNotAllowed, "step.not_allowed", other):
        app.act(other, "withdraw", actor=STAFF, comment="Changed my mind")


def test_the_erasure_names_an_existing_entrustment(
    app: ApprovalsApplication, entrustment: str
) -> None:
    purpose = app.file(
        "purpose", actor=STAFF, title="News", department="sales", fields=CORE_FILINGS["purpose"]
    ).reference
    with refused(app, InvalidValue, "value.case_unknown") as caught:
        file(app, "erasure", entrustment="ENT-2026-0099")
    assert "ENT-2026-0099" in str(caught.value)
    with refused(app, InvalidValue, "value.case_workflow") as caught:
        file(app, "erasure", entrustment=purpose)
    assert purpose in str(caught.value)
    with refused(app, InvalidValue, "value.invalid"):
        file(app, "erasure", entrustment="the scanning contract")
    with refused(app, EvidenceMissing, "evidence.fields"):
        file(app, "erasure")
    assert file(app, "erasure", entrustment=entrustment.lower()).fields["entrustment"] == (
        entrustment
    )


def test_an_erasure_record_needs_every_item_in_order_from_the_right_people(
    app: ApprovalsApplication, entrustment: str
) -> None:
    ref = file(app, "erasure", entrustment=entrustment).reference
    with refused(app, StepNotAllowed, "step.not_allowed", ref):
        take(app, ref, CERTIFICATE)
    with refused(app, EvidenceMissing, "evidence.fields", ref) as caught:
        app.act(
            ref,
            "record_erasure",
            actor=STAFF,
            fields={"erased_on": "2026-04-28", "method": "erasure"},
            checklist=["copies_included"],
        )
    assert "Count" in str(caught.value)
    assert "Name of the documents" in str(caught.value)
    with refused(app, InvalidValue, "value.invalid", ref):
        take(app, ref, record("erasure", count="many"))
    with refused(app, InvalidValue, "value.choice", ref):
        take(app, ref, record("shredder"))
    with refused(app, InvalidValue, "value.order", ref):
        take(app, ref, record("erasure", erased_on="2026-04-20"))  # before the work ended
    with refused(app, EvidenceMissing, "evidence.checklist", ref):
        take(app, ref, Move("record_erasure", STAFF, {**RECORD, "method": "erasure"}))
    with refused(app, NotAuthorized, "step.not_authorized", ref):
        take(app, ref, replace(record("erasure"), actor=HANDLER))
    take(app, ref, record("erasure"))
    # An erasure is confirmed only with the vendor's certificate.
    with refused(app, EvidenceMissing, "evidence.expected", ref):
        take(app, ref, CONFIRM)
    take(app, ref, CERTIFICATE)
    with refused(app, NotAuthorized, "step.not_authorized", ref):
        take(app, ref, Move("confirm", STAFF, checklist=CONFIRM.checklist))
    with refused(app, NotAuthorized, "step.auditor", ref):
        take(app, ref, Move("confirm", AUDITOR, checklist=CONFIRM.checklist))
    with refused(app, EvidenceMissing, "evidence.checklist", ref):
        take(app, ref, Move("confirm", MANAGER, checklist=["identifiable"]))


def test_the_manager_does_not_confirm_an_erasure_they_filed(
    app: ApprovalsApplication, entrustment: str
) -> None:
    ref = own_case(app, "erasure", MANAGER, entrustment=entrustment)
    walk(app, ref, [record("erasure"), CERTIFICATE])
    with refused(app, NotAuthorized, "step.own_case", ref):
        take(app, ref, CONFIRM)


def test_the_vendor_returns_or_erases_immediately_after_the_work_ends_golden_week_aside(
    app: ApprovalsApplication, clock: FakeClock, entrustment: str
) -> None:
    clock.now = datetime(2026, 5, 1, 15, 0, tzinfo=JST)  # the Friday before 3-6 May
    ref = file(app, "erasure", entrustment=entrustment, work_ended_on="2026-05-01").reference
    (due,) = app.case(ref).deadlines
    assert (due.name, due.started_at, due.due_at) == (
        "return_or_erasure",
        end_of(2026, 5, 1),
        end_of(2026, 5, 7),
    )
    clock.now = datetime(2026, 5, 7, 23, 0, tzinfo=JST)
    assert not app.case(ref).deadlines[0].overdue
    clock.now = datetime(2026, 5, 8, 0, 0, 1, tzinfo=JST)
    assert app.case(ref).deadlines[0].overdue


def test_the_certificate_is_due_promptly_after_an_erasure_and_not_after_a_return(
    app: ApprovalsApplication, clock: FakeClock, entrustment: str
) -> None:
    clock.now = datetime(2026, 4, 27, 17, 0, tzinfo=JST)
    erased = file(app, "erasure", entrustment=entrustment).reference
    returned = file(app, "erasure", entrustment=entrustment, instructed_method="return").reference
    clock.now = datetime(2026, 4, 28, 17, 0, tzinfo=JST)
    (due,) = take(app, erased, record("erasure")).deadlines
    # Three business days from the day of the erasure: 30 April, 1 May, then 7 May.
    assert (due.name, due.due_at) == ("certificate", end_of(2026, 5, 7))
    (due,) = take(app, returned, record("return")).deadlines
    assert due.name == "return_confirmation"
    clock.now = datetime(2026, 5, 8, 9, 0, tzinfo=JST)
    assert app.case(erased).deadlines[0].overdue
    late = [e for e in app.registers().overdue(running=True) if e.reference == erased]
    assert [(e.deadline, e.done_at) for e in late] == [("certificate", None)]


# -- the data subject's requests (Art.18, Art.19) -----------------------------------------------

CONSULT = Move("consult", MANAGER, checklist=["identity_confirmed"])
AMENDED = {"amended_on": "2026-05-01", "amendment": "address changed to the new one"}
NOTIFY = Move("notify_subject", CHIEF, {"subject_notified_on": "2026-05-07"})
STOPPED = {"stopped_on": "2026-05-01", "answered_on": "2026-05-01"}
ACTIONS = {
    "disclose": Move(
        "disclose", CHIEF,
        {"disclosed_on": "2026-05-01", "disclosure_method": "in_writing", "data_held": "yes"},
        ["all_data_disclosed", "method_as_wished"],
    ),
    "correct": Move("correct", CHIEF, AMENDED),
    "add": Move("add", CHIEF, AMENDED),
    "delete": Move("delete", CHIEF, AMENDED),
    "stop_use": Move("stop_use", CHIEF, STOPPED, ["stopped_everywhere"]),
    "stop_provision": Move("stop_provision", CHIEF, STOPPED, ["stopped_everywhere"]),
    "continue_use": Move(
        "continue_use", CHIEF, {"legal_ground": "public_authority", "answered_on": "2026-05-01"},
        comment="A court order under the Code of Criminal Procedure covers this data",
    ),
    "continue_provision": Move(
        "continue_provision", CHIEF, {"legal_ground": "legal_duty", "answered_on": "2026-05-01"},
        comment="Withholding tax reports to the tax office are required by law",
    ),
}  # fmt: skip
KIND_OF = {
    "disclose": "disclosure", "correct": "correction", "add": "addition", "delete": "deletion",
    "stop_use": "refusal_of_use", "continue_use": "refusal_of_use",
    "stop_provision": "refusal_of_provision", "continue_provision": "refusal_of_provision",
}  # fmt: skip


@pytest.mark.parametrize(
    ("action", "tail", "end"),
    [
        ("disclose", [], "disclosed"),
        ("correct", [NOTIFY], "subject_notified"),
        ("add", [NOTIFY], "subject_notified"),
        ("delete", [NOTIFY], "subject_notified"),
        ("stop_use", [], "complied"),
        ("stop_provision", [], "complied"),
        ("continue_use", [], "refused"),
        ("continue_provision", [], "refused"),
    ],
)
def test_each_kind_of_request_walks_its_own_path_to_its_end(
    app: ApprovalsApplication, action: str, tail: list[Move], end: str
) -> None:
    case = file(app, "request", kind=KIND_OF[action])
    assert case.reference.startswith("DSR-2026-")
    case = walk(app, case.reference, [CONSULT, ACTIONS[action], *tail])
    assert (case.state, case.terminal) == (end, True)
    # kept seven years from the day it ended: the answer of 1 May, or the notice of 7 May
    assert case.retention_until == (date(2033, 5, 7) if tail else date(2033, 5, 1))
    assert {e.role for e in app.history(case.reference)[2:]} == {"chief"}


def test_a_disclosure_says_so_when_no_data_is_held(app: ApprovalsApplication) -> None:
    ref = file(app, "request").reference
    nothing = Move(
        "disclose",
        CHIEF,
        {**ACTIONS["disclose"].fields, "data_held": "no"},
        ACTIONS["disclose"].checklist,
    )
    case = walk(app, ref, [CONSULT, nothing])
    assert (case.state, case.fields["data_held"]) == ("disclosed", False)


@pytest.mark.parametrize("kind", sorted(set(KIND_OF.values())))
def test_a_request_can_end_only_on_the_path_of_its_kind(
    app: ApprovalsApplication, kind: str
) -> None:
    ref = file(app, "request", kind=kind).reference
    take(app, ref, CONSULT)
    for action, move in ACTIONS.items():
        if KIND_OF[action] != kind:
            with refused(app, EvidenceMissing, "evidence.expected", ref) as caught:
                take(app, ref, move)
            assert kind in str(caught.value)
    assert app.case(ref).state == "consulting"


def test_a_disclosure_needs_the_wished_method_and_both_confirmations(
    app: ApprovalsApplication,
) -> None:
    wishes = {**FILINGS["request"]}
    del wishes["wished_method"]
    happened(app, "request", wishes)
    ref = app.file(
        "request", actor=STAFF, title="Disclosure", department="sales", fields=wishes
    ).reference
    take(app, ref, CONSULT)
    with refused(app, EvidenceMissing, "evidence.fields", ref) as caught:
        take(app, ref, ACTIONS["disclose"])
    assert "Method of disclosure the data subject wishes" in str(caught.value)
    with refused(app, EvidenceMissing, "evidence.checklist", ref):
        app.act(
            ref,
            "disclose",
            actor=CHIEF,
            fields={**ACTIONS["disclose"].fields, "wished_method": "email"},
            checklist=["all_data_disclosed"],
        )
    with refused(app, InvalidValue, "value.order", ref):
        app.act(
            ref,
            "disclose",
            actor=CHIEF,
            fields={
                **ACTIONS["disclose"].fields,
                "wished_method": "email",
                "disclosed_on": "2026-04-01",
            },
            checklist=ACTIONS["disclose"].checklist,
        )


def test_a_request_is_refused_on_a_legal_ground_only_and_with_the_reasons(
    app: ApprovalsApplication,
) -> None:
    ref = file(app, "request", kind="refusal_of_use").reference
    take(app, ref, CONSULT)
    move = ACTIONS["continue_use"]
    happened(app, "request", move.fields)  # the day of the answer
    with refused(app, EvidenceMissing, "evidence.comment", ref):
        app.act(ref, "continue_use", actor=CHIEF, fields=move.fields)
    with refused(app, InvalidValue, "value.choice", ref) as caught:
        app.act(
            ref,
            "continue_use",
            actor=CHIEF,
            comment=move.comment,
            fields={**move.fields, "legal_ground": "business_need"},
        )
    assert "public_authority" in str(caught.value)
    assert "legal_duty" in str(caught.value)
    with refused(app, EvidenceMissing, "evidence.fields", ref):
        app.act(
            ref,
            "continue_use",
            actor=CHIEF,
            comment=move.comment,
            fields={"answered_on": "2026-05-01"},
        )
    assert take(app, ref, move).state == "refused"


def test_a_request_is_answered_by_the_chief_after_the_manager_checks_who_asks(
    app: ApprovalsApplication,
) -> None:
    with refused(app, InvalidValue, "value.choice"):
        file(app, "request", kind="complaint")
    ref = file(app, "request", kind="correction").reference
    with refused(app, EvidenceMissing, "evidence.comment", ref):
        app.act(ref, "withdraw", actor=STAFF)  # only the data subject takes a request back: say so
    with refused(app, NotAuthorized, "step.not_authorized", ref):
        take(app, ref, Move("consult", OTHER_STAFF, checklist=["identity_confirmed"]))
    with refused(app, EvidenceMissing, "evidence.checklist", ref):
        take(app, ref, Move("consult", MANAGER))
    with refused(app, StepNotAllowed, "step.not_allowed", ref):
        take(app, ref, ACTIONS["correct"])
    take(app, ref, CONSULT)
    with refused(app, NotAuthorized, "step.not_authorized", ref):
        take(app, ref, Move("correct", MANAGER, AMENDED))
    with refused(app, StepNotAllowed, "step.not_allowed", ref):
        take(app, ref, NOTIFY)  # not before the correction
    take(app, ref, ACTIONS["correct"])
    with refused(app, InvalidValue, "value.order", ref):
        take(app, ref, Move("notify_subject", CHIEF, {"subject_notified_on": "2026-04-30"}))
    mine = own_case(app, "request", CHIEF, kind="deletion")
    take(app, mine, CONSULT)
    with refused(app, NotAuthorized, "step.own_case", mine):
        take(app, mine, ACTIONS["delete"])


def test_a_correction_runs_two_clocks_without_delay_across_golden_week(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 4, 24, 16, 0, tzinfo=JST)  # a Friday
    ref = file(app, "request", kind="correction", received_on="2026-04-24").reference
    (due,) = app.case(ref).deadlines
    # Ten business days from the day received: 27, 28, 30 April, 1, 7, 8, 11, 12, 13, 14 May.
    assert (due.name, due.due_at) == ("response", end_of(2026, 5, 14))
    clock.next_morning()
    app.act(ref, "return", actor=MANAGER, comment="Which address is wrong?")
    app.act(ref, "resubmit", actor=STAFF, fields={"request_details": "the home address"})
    assert app.case(ref).deadlines[0].due_at == due.due_at  # the subject is still waiting
    clock.now = datetime(2026, 5, 15, 9, 0, tzinfo=JST)
    assert app.case(ref).deadlines[0].overdue
    take(app, ref, CONSULT)
    case = take(app, ref, Move("correct", CHIEF, {**AMENDED, "amended_on": "2026-05-15"}))
    (notice,) = case.deadlines
    assert (notice.name, notice.due_at) == ("notification", end_of(2026, 5, 29))
    late = [e for e in app.registers().overdue() if e.reference == ref]
    assert [(e.deadline, e.done_at is not None) for e in late] == [("response", True)]
    case = take(app, ref, Move("notify_subject", CHIEF, {"subject_notified_on": "2026-05-18"}))
    assert (case.state, case.deadlines) == ("subject_notified", ())


# -- taking data out (Art.9-2, 002 遵守事項 第3・第4, 003 第7) ------------------------------------

CONSENT = [Move("consult", MANAGER), Move("approve", CHIEF)]
TAKE_OUT = Move("take_out", STAFF, {"taken_out_on": "2026-04-28"}, ["only_needed", "protected"])
BRING_BACK = Move("bring_back", STAFF, {"brought_back_on": "2026-04-30"}, ["nothing_left"])
ERASE = Move(
    "erase_copies",
    HANDLER,
    {"erased_on": "2026-04-30", "erasure_method": "erasure_software"},
    ["copies_erased"],
)
CONFIRM_RETURN = Move("confirm_return", MANAGER)


@pytest.mark.parametrize(
    ("medium", "moves", "end"),
    [
        ("laptop", [*CONSENT, TAKE_OUT, BRING_BACK, CONFIRM_RETURN], "closed"),
        ("paper", [*CONSENT, TAKE_OUT, BRING_BACK, CONFIRM_RETURN], "closed"),
        ("copy", [*CONSENT, TAKE_OUT, ERASE, CONFIRM_RETURN], "closed"),
        ("laptop", [*CONSENT, Move("cancel", STAFF)], "cancelled"),
        ("laptop", [CONSENT[0], Move("reject", CHIEF, comment="Use remote access")], "rejected"),
        ("laptop", [Move("withdraw", STAFF)], "withdrawn"),
    ],
)
def test_data_goes_out_only_with_the_chiefs_consent_and_comes_back(
    app: ApprovalsApplication, medium: str, moves: list[Move], end: str
) -> None:
    case = file(app, "take_out", medium=medium)
    assert case.reference.startswith("OUT-2026-")
    case = walk(app, case.reference, moves)
    assert (case.state, case.terminal) == (end, True)
    # Kept seven years from the day it ended: brought back (or the copies erased) and
    # confirmed on 30 April, or ended on the day it was filed.
    assert case.retention_until == (date(2033, 4, 30) if end == "closed" else date(2033, 4, 1))
    if any(m.trigger == "approve" for m in moves):
        assert app.history(case.reference)[2].label.ja == "承諾"


def test_taking_out_is_refused_before_the_consent_and_to_anyone_but_the_filer(
    app: ApprovalsApplication,
) -> None:
    ref = file(app, "take_out").reference
    with refused(app, StepNotAllowed, "step.not_allowed", ref):
        take(app, ref, TAKE_OUT)
    take(app, ref, CONSENT[0])
    with refused(app, NotAuthorized, "step.not_authorized", ref):
        take(app, ref, Move("approve", MANAGER))
    take(app, ref, CONSENT[1])
    with refused(app, NotAuthorized, "step.filer_only", ref):
        take(app, ref, Move("take_out", OTHER_STAFF, TAKE_OUT.fields, TAKE_OUT.checklist))
    with refused(app, EvidenceMissing, "evidence.checklist", ref) as caught:
        take(app, ref, Move("take_out", STAFF, TAKE_OUT.fields, ["only_needed"]))
    assert "two-factor" in str(caught.value)
    with refused(app, EvidenceMissing, "evidence.fields", ref):
        take(app, ref, Move("take_out", STAFF, checklist=TAKE_OUT.checklist))
    with refused(app, InvalidValue, "value.order", ref):  # out after it was due back
        take(app, ref, Move("take_out", STAFF, {"taken_out_on": "2026-05-01"}, TAKE_OUT.checklist))
    take(app, ref, TAKE_OUT)
    with refused(app, EvidenceMissing, "evidence.expected", ref):
        take(app, ref, ERASE)  # a laptop is brought back, not erased
    with refused(app, InvalidValue, "value.order", ref):
        take(
            app,
            ref,
            Move("bring_back", STAFF, {"brought_back_on": "2026-04-27"}, BRING_BACK.checklist),
        )
    with refused(app, EvidenceMissing, "evidence.checklist", ref):
        take(app, ref, Move("bring_back", STAFF, BRING_BACK.fields))
    take(app, ref, BRING_BACK)
    with refused(app, NotAuthorized, "step.not_authorized", ref):
        take(app, ref, Move("confirm_return", STAFF))


def test_copies_are_erased_by_the_data_handling_officer_only(app: ApprovalsApplication) -> None:
    ref = file(app, "take_out", medium="copy").reference
    walk(app, ref, [*CONSENT, TAKE_OUT])
    with refused(app, NotAuthorized, "step.not_authorized", ref):
        take(app, ref, Move("erase_copies", STAFF, ERASE.fields, ERASE.checklist))
    with refused(app, InvalidValue, "value.choice", ref):
        take(
            app,
            ref,
            Move(
                "erase_copies",
                HANDLER,
                {**ERASE.fields, "erasure_method": "recycle_bin"},
                ERASE.checklist,
            ),
        )
    assert take(app, ref, ERASE).state == "back"


def test_the_chief_does_not_consent_to_their_own_take_out(app: ApprovalsApplication) -> None:
    ref = own_case(app, "take_out", CHIEF)
    take(app, ref, CONSENT[0])
    with refused(app, NotAuthorized, "step.own_case", ref):
        take(app, ref, CONSENT[1])


def test_a_take_out_brought_back_after_the_planned_date_is_on_the_overdue_list(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 4, 27, 9, 0, tzinfo=JST)
    late = file(app, "take_out").reference  # due back on Thursday 30 April, the month's end
    on_time = file(app, "take_out").reference
    for ref in (late, on_time):
        walk(app, ref, CONSENT)
    clock.now = datetime(2026, 4, 28, 9, 0, tzinfo=JST)
    for ref in (late, on_time):
        take(app, ref, TAKE_OUT)
    (due,) = app.case(late).deadlines
    assert (due.name, due.due_at, due.overdue) == ("bring_back", end_of(2026, 4, 30), False)
    clock.now = datetime(2026, 4, 30, 18, 0, tzinfo=JST)
    take(app, on_time, BRING_BACK)
    clock.now = datetime(2026, 5, 1, 0, 0, 1, tzinfo=JST)
    assert app.case(late).deadlines[0].overdue
    running = [(e.reference, e.deadline, e.done_at) for e in app.registers().overdue(running=True)]
    assert running == [(late, "bring_back", None)]
    clock.now = datetime(2026, 5, 7, 10, 0, tzinfo=JST)  # the first business day after 3-6 May
    back = take(
        app,
        late,
        Move("bring_back", STAFF, {"brought_back_on": "2026-05-07"}, BRING_BACK.checklist),
    )
    (confirmation,) = back.deadlines
    assert confirmation.due_at.date() == date(2026, 5, 11)  # two business days: 8 and 11 May
    listed = app.registers().overdue()
    assert [(e.reference, e.deadline) for e in listed] == [(late, "bring_back")]
    assert listed[0].done_at is not None
    assert listed[0].late_by_days == 6
    assert app.registers().overdue(running=True) == ()
    # The yearly audit report counts the same misses as the register, on the same calendar.
    report = build_report(app, 2026)
    assert [(miss[0], miss[1]) for miss in report.overdue] == [(late, "bring_back")]


# -- use beyond the purpose of collection (Art.11) ---------------------------------------------

ART6 = [
    "contact", "purpose", "third_party", "entrustment", "disclosure_rights", "refusal_rights",
    "voluntariness", "consequences", "joint_use", "disposal_standard", "other_legal_matters",
]  # fmt: skip
APPROVE_USE = [Move("consult", MANAGER, checklist=["art10_reviewed"]), Move("approve", CHIEF)]
BY_CONSENT = Move(
    "record_consent",
    CHIEF,
    {"notice_sent_on": "2026-04-10", "effective_date": "2026-05-01"},
    [*ART6, "written_notice", "prior_consent"],
)
BY_WEBSITE = Move(
    "record_publication",
    CHIEF,
    {"published_on": "2026-04-10", "effective_date": "2026-05-01"},
    ["website_published", "refusal_opportunity"],
)
END_USE = Move("end", MANAGER, {"end_date": "2027-03-31"})


@pytest.mark.parametrize("measures", [BY_CONSENT, BY_WEBSITE], ids=["consent", "website"])
def test_a_use_beyond_the_purpose_starts_after_one_of_the_two_measures_and_ends(
    app: ApprovalsApplication, measures: Move
) -> None:
    case = file(app, "beyond_purpose")
    assert case.reference.startswith("BEY-2026-")
    case = walk(app, case.reference, APPROVE_USE)
    assert {s.trigger for s in case.next_steps} == {"record_consent", "record_publication"}
    case = take(app, case.reference, measures)
    assert case.state == "in_effect"
    case = take(app, case.reference, END_USE)  # on the day the use ended, 31 March 2027
    assert (case.state, case.retention_until) == ("ended", date(2034, 3, 31))


def test_each_measure_needs_its_own_checklist_and_comes_before_the_use(
    app: ApprovalsApplication,
) -> None:
    ref = file(app, "beyond_purpose").reference
    with refused(app, EvidenceMissing, "evidence.checklist", ref):
        take(app, ref, Move("consult", MANAGER))
    walk(app, ref, APPROVE_USE)
    with refused(app, StepNotAllowed, "step.not_allowed", ref):
        take(app, ref, END_USE)  # no use before the measures
    with refused(app, EvidenceMissing, "evidence.checklist", ref) as caught:
        take(app, ref, Move("record_consent", CHIEF, BY_CONSENT.fields, [*ART6, "written_notice"]))
    assert "Consent obtained beforehand" in str(caught.value)
    with refused(app, EvidenceMissing, "evidence.checklist", ref):  # the other measure's items
        take(app, ref, Move("record_consent", CHIEF, BY_CONSENT.fields, BY_WEBSITE.checklist))
    with refused(app, EvidenceMissing, "evidence.checklist", ref) as caught:
        take(app, ref, Move("record_publication", CHIEF, BY_WEBSITE.fields, ["website_published"]))
    assert "chance to refuse" in str(caught.value)
    with refused(app, InvalidValue, "value.order", ref):
        take(
            app,
            ref,
            Move(
                "record_publication",
                CHIEF,
                {"published_on": "2026-05-02", "effective_date": "2026-05-01"},
                BY_WEBSITE.checklist,
            ),
        )
    with refused(app, NotAuthorized, "step.not_authorized", ref):
        take(app, ref, replace(BY_WEBSITE, actor=MANAGER))
    assert take(app, ref, BY_WEBSITE).state == "in_effect"


def test_only_the_chief_consents_to_a_use_beyond_the_purpose_and_not_to_their_own(
    app: ApprovalsApplication,
) -> None:
    ref = file(app, "beyond_purpose").reference
    take(app, ref, APPROVE_USE[0])
    with refused(app, NotAuthorized, "step.not_authorized", ref):
        take(app, ref, Move("approve", MANAGER))
    with refused(app, EvidenceMissing, "evidence.comment", ref):
        take(app, ref, Move("reject", CHIEF))
    mine = own_case(app, "beyond_purpose", CHIEF)
    take(app, mine, APPROVE_USE[0])
    with refused(app, NotAuthorized, "step.own_case", mine):
        take(app, mine, APPROVE_USE[1])


def test_the_consultation_is_immediate_and_the_decision_counted_past_golden_week(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 4, 28, 10, 0, tzinfo=JST)  # Tuesday; Wednesday is Showa Day
    ref = file(app, "beyond_purpose").reference
    (due,) = app.case(ref).deadlines
    assert due.name == "consultation"
    assert (due.due_at - due.started_at, due.due_at.date()) == (
        datetime(2026, 4, 30) - datetime(2026, 4, 28),
        date(2026, 4, 30),
    )
    clock.now = datetime(2026, 4, 30, 11, 0, tzinfo=JST)
    assert app.case(ref).deadlines[0].overdue
    (decision,) = take(app, ref, APPROVE_USE[0]).deadlines
    # Five business days: 1, 7, 8, 11, 12 May.
    assert (decision.name, decision.due_at.date()) == ("decision", date(2026, 5, 12))


# -- the way back: returned, resubmitted, withdrawn ----------------------------------------------


@pytest.mark.parametrize(
    ("workflow", "consult"),
    [("request", CONSULT), ("take_out", CONSENT[0]), ("beyond_purpose", APPROVE_USE[0])],
)
def test_a_notice_returned_by_the_manager_or_the_chief_is_resubmitted_by_its_filer(
    app: ApprovalsApplication, workflow: str, consult: Move
) -> None:
    ref = file(app, workflow).reference
    assert app.act(ref, "return", actor=MANAGER, comment="Incomplete").state == "returned"
    with refused(app, NotAuthorized, "step.filer_only", ref):
        app.act(ref, "resubmit", actor=OTHER_STAFF)
    assert app.act(ref, "resubmit", actor=STAFF).state == "notified"
    take(app, ref, consult)
    assert app.act(ref, "return", actor=CHIEF, comment="Say why").state == "returned"
    app.act(ref, "resubmit", actor=STAFF)
    with refused(app, NotAuthorized, "step.filer_only", ref):
        app.act(ref, "withdraw", actor=OTHER_STAFF, comment="Not mine")
    case = app.act(ref, "withdraw", actor=STAFF, comment="No longer needed")
    assert (case.state, case.terminal) == ("withdrawn", True)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_a_step_cannot_rewrite_the_field_its_own_rule_checks(
    app: ApprovalsApplication, lang: str
) -> None:
    """The chief cannot answer a correction request as a disclosure by recording a new kind
    with the answer: only the notice (and its resubmission) records the kind."""
    ref = file(app, "request", kind="correction").reference
    take(app, ref, CONSULT)
    disclose = ACTIONS["disclose"]
    with refused(app, InvalidValue, "value.not_this_step", ref) as caught:
        take(app, ref, replace(disclose, fields={**disclose.fields, "kind": "disclosure"}))
    message = caught.value.render(lang)
    assert ("cannot record" if lang == "en" else "記録できません") in message
    assert app.case(ref).fields["kind"] == "correction"
