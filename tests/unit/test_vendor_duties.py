"""The vendor's duties: subcontracting only with the company's prior written approval, and
incidents reported within the hour, assessed by the chief and, when the Commission must be
told, reported in time (preliminary and final) with the individuals notified."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result

from approvals import (
    JST,
    ApprovalsApplication,
    CaseView,
    EvidenceMissing,
    InvalidValue,
    NotAuthorized,
    RetentionRefused,
    StepNotAllowed,
    open_approvals,
)
from approvals.cli import cli
from tests.conftest import (
    AUDITOR,
    CHIEF,
    MANAGER,
    OTHER_STAFF,
    STAFF,
    FakeClock,
    appoint_standard_roster,
)
from tests.scenarios import FILINGS, PATHS, Move, happened, refused, take

T = TypeVar("T")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JST)


def file_entrustment(app: ApprovalsApplication) -> str:
    """A notice of entrustment, filed by staff of sales."""
    return app.file(
        "entrustment", actor=STAFF, title="Scanning", department="sales",
        fields=FILINGS["entrustment"],
    ).reference  # fmt: skip


def active_entrustment(app: ApprovalsApplication) -> str:
    """An entrustment walked to 'active': approved, contracts concluded, data handed over."""
    reference = file_entrustment(app)
    for move in PATHS["entrustment"]:
        case = take(app, reference, move)
        if move.trigger == "hand_over":
            break
    assert case.state == "active"
    return reference


# -- subcontracting ----------------------------------------------------------------------------

SUBCONTRACT = {
    "request_date": "2026-05-11",  # the Monday after the data was handed over (7 May)
    "subcontractor": "Scan Sub Co.",
    "subcontractor_address": "1-2-3 Otemachi, Chiyoda-ku, Tokyo",
    "data_items": "customer files",
    "work": "scanning of paper files",
    "equivalent_obligations": "yes",
}


def file_subcontracting(app: ApprovalsApplication, entrustment: str, **extra: Any) -> CaseView:
    """File the vendor's request, once it has come (on its ``request_date``)."""
    fields = {**SUBCONTRACT, "entrustment": entrustment, **extra}
    happened(app, "subcontracting", fields)
    return app.file(
        "subcontracting", actor=STAFF, title="Scanning subcontracted", department="sales",
        fields=fields,
    )  # fmt: skip


def consult(app: ApprovalsApplication, reference: str) -> CaseView:
    return app.act(reference, "consult", actor=MANAGER, checklist=["sufficient_protection"])


def give_written_approval(
    app: ApprovalsApplication,
    reference: str,
    day: str = "2026-05-15",
    checklist: tuple[str, ...] = ("written_approval",),
) -> CaseView:
    fields = {"written_approval_date": day} if day else {}
    happened(app, "subcontracting", fields)
    return app.act(
        reference, "give_written_approval", actor=MANAGER, fields=fields, checklist=checklist
    )


def approve_in_writing(app: ApprovalsApplication, reference: str) -> CaseView:
    consult(app, reference)
    app.act(reference, "approve", actor=CHIEF)
    return give_written_approval(app, reference)


def test_a_subcontract_is_approved_given_in_writing_and_later_ends(
    app: ApprovalsApplication,
) -> None:
    entrustment = active_entrustment(app)
    case = file_subcontracting(app, entrustment.lower())
    assert case.reference.startswith("SUB-2026-")
    assert case.fields["entrustment"] == entrustment
    assert [d.name for d in case.deadlines] == ["consultation"]
    assert consult(app, case.reference).state == "consulting"
    assert app.act(case.reference, "approve", actor=CHIEF).state == "approved"
    case = give_written_approval(app, case.reference)
    assert (case.state, case.retention_until) == ("in_effect", None)
    case = take(app, case.reference, Move("end", MANAGER, {"end_date": "2027-03-31"}))
    # kept seven years from the day it ended, 31 March 2027
    assert (case.state, case.terminal, case.retention_until) == ("ended", True, date(2034, 3, 31))
    assert [e.trigger for e in app.history(case.reference)] == [
        "file", "consult", "approve", "give_written_approval", "end",
    ]  # fmt: skip


def test_a_subcontract_is_kept_while_its_entrustment_runs_and_as_long_after(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    entrustment = active_entrustment(app)
    reference = approve_in_writing(app, file_subcontracting(app, entrustment).reference).reference
    ended = take(app, reference, Move("end", MANAGER, {"end_date": "2026-09-30"}))
    assert ended.retention_until is not None
    clock.now = datetime.combine(ended.retention_until, datetime.min.time(), JST) + timedelta(
        days=1
    )
    retention = app.retention()
    assert retention.item(reference).retained_until is None  # the entrustment still runs
    (entry,) = app.registers().retention(reference=reference)
    assert (entry.retained_until, entry.kept_with, entry.due) == (None, (entrustment,), False)
    listed = app.registers().retention()
    assert listed[-1].reference == reference  # no last day yet: listed after every dated one
    assert reference not in {e.reference for e in app.registers().retention(due=True)}
    with refused(app, RetentionRefused, "retention.linked", reference) as caught:
        retention.approve(reference, actor=CHIEF)
    assert "some years after its end" in str(caught.value)
    assert "その終了後の保存期間満了" in caught.value.render("ja")


def test_a_rejected_subcontract_is_final_and_kept_seven_years(app: ApprovalsApplication) -> None:
    reference = file_subcontracting(app, active_entrustment(app)).reference
    consult(app, reference)
    case = app.act(reference, "reject", actor=CHIEF, comment="The subcontractor is abroad.")
    # kept seven years from the day it was rejected, the day of the request, 11 May 2026
    assert (case.state, case.terminal, case.retention_until) == (
        "rejected", True, date(2033, 5, 11),
    )  # fmt: skip
    with refused(app, StepNotAllowed, "step.final", reference):
        app.act(reference, "give_written_approval", actor=MANAGER)


@pytest.mark.parametrize("returned_by", [MANAGER, CHIEF])
def test_a_returned_subcontract_is_revised_resubmitted_and_approved(
    app: ApprovalsApplication, returned_by: str
) -> None:
    reference = file_subcontracting(app, active_entrustment(app)).reference
    if returned_by == CHIEF:
        consult(app, reference)
    case = app.act(reference, "return", actor=returned_by, comment="Give the full address")
    assert case.state == "returned"
    case = app.act(
        reference, "resubmit", actor=STAFF,
        fields={"subcontractor_address": "Otemachi Bldg. 2F, 1-6-1 Otemachi"},
    )  # fmt: skip
    assert case.state == "notified"
    assert approve_in_writing(app, reference).state == "in_effect"


@pytest.mark.parametrize("state", ["notified", "consulting", "returned"])
def test_only_the_filer_withdraws_a_subcontract_before_the_decision(
    app: ApprovalsApplication, state: str
) -> None:
    reference = file_subcontracting(app, active_entrustment(app)).reference
    if state == "consulting":
        consult(app, reference)
    if state == "returned":
        app.act(reference, "return", actor=MANAGER, comment="Incomplete")
    with refused(app, NotAuthorized, "step.filer_only", reference):
        app.act(reference, "withdraw", actor=OTHER_STAFF)
    case = app.act(reference, "withdraw", actor=STAFF, comment="The vendor does it itself")
    # kept seven years from the day it was withdrawn, the day of the request, 11 May 2026
    assert (case.state, case.terminal, case.retention_until) == (
        "withdrawn",
        True,
        date(2033, 5, 11),
    )


def test_an_approved_subcontract_cannot_be_withdrawn(app: ApprovalsApplication) -> None:
    reference = file_subcontracting(app, active_entrustment(app)).reference
    consult(app, reference)
    app.act(reference, "approve", actor=CHIEF)
    with refused(app, StepNotAllowed, "step.not_allowed", reference):
        app.act(reference, "withdraw", actor=STAFF)


def test_a_subcontract_must_name_an_entrustment_case(app: ApprovalsApplication) -> None:
    provision = app.file(
        "provision", actor=STAFF, title="Claims", department="sales", fields=FILINGS["provision"]
    ).reference
    filed = len(app.references())
    with refused(app, InvalidValue, "value.case_unknown"):
        file_subcontracting(app, "ENT-2026-0999")
    with refused(app, InvalidValue, "value.case_workflow"):
        file_subcontracting(app, provision)
    with refused(app, InvalidValue, "value.invalid"):
        file_subcontracting(app, "not a reference")
    with refused(app, EvidenceMissing, "evidence.fields"):
        app.file(
            "subcontracting", actor=STAFF, title="No entrustment named", department="sales",
            fields=SUBCONTRACT,
        )  # fmt: skip
    assert len(app.references()) == filed


def test_a_subcontract_is_refused_out_of_order_by_the_wrong_role_or_without_its_evidence(
    app: ApprovalsApplication,
) -> None:
    reference = file_subcontracting(
        app, active_entrustment(app), equivalent_obligations="no"
    ).reference
    with refused(app, StepNotAllowed, "step.not_allowed", reference):
        app.act(reference, "approve", actor=CHIEF)
    with refused(app, NotAuthorized, "step.not_authorized", reference):
        app.act(reference, "consult", actor=STAFF, checklist=["sufficient_protection"])
    with refused(app, NotAuthorized, "step.auditor", reference):
        app.act(reference, "consult", actor=AUDITOR, checklist=["sufficient_protection"])
    # Equivalent obligations are a condition of consulting the chief at all (000 Art.7).
    with refused(app, EvidenceMissing, "evidence.expected", reference):
        consult(app, reference)
    with refused(app, EvidenceMissing, "evidence.checklist", reference):
        app.act(reference, "consult", actor=MANAGER, fields={"equivalent_obligations": True})
    app.act(reference, "return", actor=MANAGER, comment="The contract must bind them equally")
    app.act(reference, "resubmit", actor=STAFF, fields={"equivalent_obligations": True})
    consult(app, reference)
    with refused(app, NotAuthorized, "step.not_authorized", reference):
        app.act(reference, "approve", actor=MANAGER)
    app.act(reference, "approve", actor=CHIEF)
    with refused(app, StepNotAllowed, "step.not_allowed", reference):
        app.act(reference, "end", actor=MANAGER, fields={"end_date": "2027-03-31"})
    with refused(app, EvidenceMissing, "evidence.checklist", reference):
        give_written_approval(app, reference, checklist=())
    with refused(app, EvidenceMissing, "evidence.fields", reference):
        give_written_approval(app, reference, day="")
    # The written approval cannot predate the vendor's written notice: the notice came before
    # the filing, the filing before the chief's approval, and a written approval dated before
    # the notice is dated before that approval too.
    with refused(app, InvalidValue, "value.before_step", reference):
        give_written_approval(app, reference, day="2026-05-08")


# -- incidents ---------------------------------------------------------------------------------

KNOWN = "2026-04-28T16:00"
INCIDENT = {
    "known_at": KNOWN,
    "description": "A box of customer files went missing at the vendor",
    "at_vendor": "yes",
}
FIRST_REPORT = {
    "summary": "A box of 120 customer files lost in transit",
    "data_items": "name, address, contract number",
    "individuals_count": "120",
}
FINAL_REPORT = {
    **FIRST_REPORT,
    "cause": "The courier's van was left unlocked",
    "secondary_harm": "None known",
    "response_to_individuals": "Letters sent; a help line opened",
    "public_announcement": "Announced on the website",
    "recurrence_prevention": "Locked cases; transport by the vendor's own staff",
    "other_matters": "The police were told",
}
NOTICE = {"individuals_notified_on": "2026-04-30", "notice_method": "letter to each individual"}
END_OF_28_MAY = at("2026-05-28T23:59:59.999999")
"""The final report's due moment for an incident known at 16:00 on 28 April: thirty days
counted from the next day (初日不算入), to the end of the thirtieth."""


@pytest.fixture
def known(clock: FakeClock) -> FakeClock:
    """The clock an hour after the company learnt of the incident, 16:00 on 28 April 2026."""
    clock.now = at("2026-04-28T17:00")
    return clock


def file_incident(app: ApprovalsApplication, **extra: Any) -> CaseView:
    return app.file(
        "incident", actor=STAFF, title="Customer files lost", department="sales",
        fields={**INCIDENT, **extra},
    )  # fmt: skip


def assessed(
    app: ApprovalsApplication, *, required: bool, improper: bool = False, **extra: Any
) -> str:
    reference = file_incident(app, **extra).reference
    app.act(reference, "consult", actor=MANAGER)
    app.act(
        reference, "assess", actor=CHIEF,
        fields={**triggers(sensitive_data=required and not improper, improper_purpose=improper),
                "containment_measures": "Vendor told to stop transports; files searched for"},
    )  # fmt: skip
    return reference


def triggers(**recorded: bool) -> dict[str, bool]:
    """The four triggers of the APPI Rules Art.7 the chief records: those named, else no."""
    names = ("sensitive_data", "financial_damage", "improper_purpose", "more_than_1000")
    return {name: recorded.get(name, False) for name in names}


def report(
    app: ApprovalsApplication, reference: str, trigger: str, moment: str, items: dict[str, Any]
) -> CaseView:
    """Record the preliminary or the final report, made at ``moment``, with ``items``."""
    field = "preliminary_report_at" if trigger == "report_preliminary" else "final_report_at"
    return app.act(reference, trigger, actor=MANAGER, fields={field: moment, **items})


def due(case: CaseView) -> dict[str, datetime]:
    return {d.name: d.due_at for d in case.deadlines}


def test_a_reportable_incident_is_reported_in_time_and_closed_after_the_notice(
    app: ApprovalsApplication, known: FakeClock
) -> None:
    then = known.now
    known.now = at("2026-04-02T09:00")  # entrusted in April: approved, contracted, handed over
    entrustment = active_entrustment(app)
    known.now = then
    case = file_incident(
        app, entrustment=entrustment,
        vendor_noticed_at="2026-04-28T15:10", vendor_reported_at="2026-04-28T15:55",
    )  # fmt: skip
    assert case.reference.startswith("INC-2026-")
    assert case.fields["known_at"] == "2026-04-28T16:00:00+09:00"
    # Undecided, the shorter clocks run from the moment the company knew.
    assert {name: moment.replace(second=0) for name, moment in due(case).items()} == {
        "consultation": at("2026-04-30T17:00"),  # immediately: the next business day (29th off)
        "preliminary_report": at("2026-05-03T16:00"),  # five calendar days, Golden Week or not
        "final_report": END_OF_28_MAY.replace(second=0),  # 初日不算入
        "individuals_notice": at("2026-05-07T16:00"),  # promptly: three business days
    }
    reference = case.reference
    app.act(reference, "consult", actor=MANAGER)
    case = app.act(reference, "assess", actor=CHIEF, fields={
        "sensitive_data": "yes", "financial_damage": "no", "improper_purpose": "no",
        "more_than_1000": "no", "containment_measures": "Transports stopped",
    })  # fmt: skip
    assert due(case) == {
        "preliminary_report": at("2026-05-03T16:00"),
        "final_report": END_OF_28_MAY,
        "individuals_notice": at("2026-05-07T16:00"),
    }
    known.advance(days=2)
    case = report(app, reference, "report_preliminary", "2026-04-30T11:00", FIRST_REPORT)
    assert (case.state, case.fields["individuals_count"]) == ("preliminary_reported", 120)
    assert due(case) == {
        "final_report": END_OF_28_MAY,
        "individuals_notice": at("2026-05-07T16:00"),
    }
    case = app.act(reference, "notify_individuals", actor=MANAGER, fields=NOTICE)
    with refused(app, EvidenceMissing, "evidence.fresh", reference):  # a later notice: its date
        app.act(reference, "notify_individuals", actor=MANAGER,
                fields={"notice_method": NOTICE["notice_method"]})  # fmt: skip
    known.advance(days=20)
    case = report(app, reference, "report_final", "2026-05-20T10:00", FINAL_REPORT)
    assert (case.state, due(case)) == ("final_reported", {})
    case = app.act(reference, "close", actor=CHIEF)
    assert (case.state, case.terminal, case.retention_until) == ("closed", True, date(2033, 5, 20))
    assert app.registers().overdue() == ()
    assert [e.trigger for e in app.history(reference)] == [
        "file", "consult", "assess", "report_preliminary", "notify_individuals", "report_final",
        "close",
    ]  # fmt: skip


def test_an_improper_purpose_gives_the_final_report_sixty_days(
    app: ApprovalsApplication, known: FakeClock
) -> None:
    reference = assessed(app, required=True, improper=True, at_vendor="no")
    case = app.case(reference)
    assert due(case) == {
        "preliminary_report": at("2026-05-03T16:00"),
        "final_report_improper": at("2026-06-27T23:59:59.999999"),  # 60 days, 初日不算入
        "individuals_notice": at("2026-05-07T16:00"),
    }
    case = report(app, reference, "report_preliminary", "2026-04-28T16:50", FIRST_REPORT)
    app.act(reference, "notify_individuals", actor=MANAGER,
            fields={**NOTICE, "individuals_notified_on": "2026-04-28"})  # fmt: skip
    known.advance(days=45)  # late for thirty days, in time for sixty
    assert [e.deadline for e in app.registers().overdue()] == []
    report(app, reference, "report_final", "2026-06-12T10:00", {**FINAL_REPORT, **NOTICE})
    case = app.act(reference, "close", actor=CHIEF)
    assert case.state == "closed"
    assert app.registers().overdue() == ()


def test_an_incident_not_to_be_reported_is_closed_by_the_chief_with_a_reason(
    app: ApprovalsApplication, known: FakeClock
) -> None:
    reference = assessed(app, required=False, at_vendor="no")
    # Neither of the Commission's clocks applies once the chief found no report required.
    assert due(app.case(reference)) == {}
    with refused(app, EvidenceMissing, "evidence.expected", reference):
        report(app, reference, "report_preliminary", "2026-04-28T16:50", FIRST_REPORT)
    happened(app, "incident", NOTICE)  # 30 April: a notice then would have been made
    with refused(app, EvidenceMissing, "evidence.expected", reference):
        app.act(reference, "notify_individuals", actor=MANAGER, fields=NOTICE)
    with refused(app, EvidenceMissing, "evidence.comment", reference):
        app.act(reference, "close", actor=CHIEF)
    with refused(app, NotAuthorized, "step.not_authorized", reference):
        app.act(reference, "close", actor=MANAGER, comment="Encrypted; no risk")
    known.advance(days=40)
    case = app.act(reference, "close", actor=CHIEF, comment="Encrypted laptop; no risk of harm")
    assert (case.state, case.terminal) == ("closed", True)
    assert app.registers().overdue() == ()


def test_a_revised_assessment_brings_the_commissions_clocks_back(
    app: ApprovalsApplication, known: FakeClock
) -> None:
    reference = assessed(app, required=False, at_vendor="no")
    with refused(app, EvidenceMissing, "evidence.comment", reference):
        app.act(reference, "reassess", actor=CHIEF, fields={"financial_damage": True})
    case = app.act(
        reference, "reassess", actor=CHIEF, fields={"financial_damage": True},
        comment="The lost laptop was not encrypted after all",
    )  # fmt: skip
    assert due(case) == {
        "preliminary_report": at("2026-05-03T16:00"),
        "final_report": END_OF_28_MAY,
        "individuals_notice": at("2026-05-07T16:00"),
    }
    with refused(app, EvidenceMissing, "evidence.required", reference):
        app.act(reference, "close", actor=CHIEF, comment="No report needed")
    case = report(app, reference, "report_preliminary", "2026-04-28T16:50", FIRST_REPORT)
    assert case.state == "preliminary_reported"


def test_a_reportable_incident_cannot_close_without_the_reports_or_the_notice(
    app: ApprovalsApplication, known: FakeClock
) -> None:
    reference = assessed(app, required=True)
    with refused(app, EvidenceMissing, "evidence.required", reference):
        app.act(reference, "close", actor=CHIEF, comment="Nothing more to do")
    with refused(app, StepNotAllowed, "step.not_allowed", reference):
        report(app, reference, "report_final", "2026-04-28T16:50", FINAL_REPORT)
    with refused(app, EvidenceMissing, "evidence.fields", reference):
        report(app, reference, "report_preliminary", "2026-04-28T16:50", {"summary": "Lost"})
    report(app, reference, "report_preliminary", "2026-04-28T16:50", FIRST_REPORT)
    without_cause = {k: v for k, v in FINAL_REPORT.items() if k != "cause"}
    with refused(app, EvidenceMissing, "evidence.fields", reference):
        report(app, reference, "report_final", "2026-04-28T16:55", without_cause)
    uncounted = {**FINAL_REPORT, "individuals_count": "about a hundred"}
    with refused(app, InvalidValue, "value.invalid", reference):
        report(app, reference, "report_final", "2026-04-28T16:55", uncounted)
    report(app, reference, "report_final", "2026-04-28T16:55", FINAL_REPORT)
    with refused(app, EvidenceMissing, "evidence.fields", reference):
        app.act(reference, "close", actor=CHIEF)
    happened(app, "incident", NOTICE)  # closed once the individuals were told, on 30 April
    assert app.act(reference, "close", actor=CHIEF, fields=NOTICE).state == "closed"


def test_an_incident_is_refused_by_the_wrong_role_out_of_order_or_with_bad_values(
    app: ApprovalsApplication, known: FakeClock
) -> None:
    filed = len(app.references())
    with refused(app, InvalidValue, "value.future"):
        file_incident(app, known_at="2026-04-28T17:30")
    with refused(app, InvalidValue, "value.invalid"):
        file_incident(app, known_at="2026-04-28")  # a day says no moment
    with refused(app, InvalidValue, "value.case_unknown"):
        file_incident(app, entrustment="ENT-2026-0042")
    purpose = app.file(
        "purpose", actor=STAFF, title="Newsletter", department="sales", fields=FILINGS["purpose"]
    ).reference
    with refused(app, InvalidValue, "value.case_workflow"):
        file_incident(app, entrustment=purpose)
    with refused(app, NotAuthorized, "file.not_authorized"):
        app.file("incident", actor=MANAGER, title="x", department="sales", fields=INCIDENT)
    assert len(app.references()) == filed + 1  # the purpose case only
    reference = file_incident(app, at_vendor="no").reference
    with refused(app, EvidenceMissing, "evidence.expected", reference):
        app.act(reference, "record_vendor_report", actor=STAFF, fields={
            "vendor_noticed_at": "2026-04-28T15:00", "vendor_reported_at": "2026-04-28T15:30",
        })  # fmt: skip
    with refused(app, StepNotAllowed, "step.not_allowed", reference):
        app.act(reference, "assess", actor=CHIEF)
    with refused(app, NotAuthorized, "step.not_authorized", reference):
        app.act(reference, "consult", actor=OTHER_STAFF)
    app.act(reference, "consult", actor=MANAGER)
    with refused(app, NotAuthorized, "step.not_authorized", reference):
        app.act(reference, "assess", actor=MANAGER,
                fields={**triggers(sensitive_data=True), "containment_measures": "x"})  # fmt: skip
    with refused(app, EvidenceMissing, "evidence.fields", reference):
        app.act(reference, "assess", actor=CHIEF, fields={"sensitive_data": True})
    with refused(app, InvalidValue, "value.future", reference):
        app.act(reference, "assess", actor=CHIEF, fields={
            **triggers(sensitive_data=True), "containment_measures": "x",
            "preliminary_report_at": "2026-05-01T09:00",
        })  # fmt: skip


def test_a_vendor_reporting_after_75_minutes_is_listed_as_met_late(
    app: ApprovalsApplication, known: FakeClock
) -> None:
    reference = file_incident(app, vendor_noticed_at="2026-04-28T14:30").reference
    (running,) = [e for e in app.registers().overdue(running=True) if e.deadline == "vendor_report"]
    assert (running.due_at, running.done_at) == (at("2026-04-28T15:30"), None)
    app.act(reference, "record_vendor_report", actor=STAFF, fields={
        "vendor_noticed_at": "2026-04-28T14:30", "vendor_reported_at": "2026-04-28T15:45",
    })  # fmt: skip
    assert app.registers().overdue(running=True) == ()
    (late,) = app.registers().overdue()
    assert (late.reference, late.deadline, late.workflow) == (
        reference,
        "vendor_report",
        "incident",
    )
    assert (late.started_at, late.due_at, late.done_at) == (
        at("2026-04-28T14:30"), at("2026-04-28T15:30"), at("2026-04-28T15:45"),
    )  # fmt: skip
    assert late.label.ja == "委託先からの報告(最初に認識した時点から60分以内)"


def test_a_vendor_reporting_within_the_hour_is_not_late_and_own_data_has_no_vendor_clock(
    app: ApprovalsApplication, known: FakeClock
) -> None:
    file_incident(app, vendor_noticed_at="2026-04-28T14:30", vendor_reported_at="2026-04-28T15:30")
    own = file_incident(app, at_vendor="no")
    assert "vendor_report" not in due(own)
    known.advance(hours=3)
    assert app.registers().overdue() == ()


def test_an_unreported_incident_goes_overdue_on_the_commissions_clock(
    app: ApprovalsApplication, known: FakeClock
) -> None:
    reference = assessed(app, required=True, at_vendor="no")
    known.advance(days=5)  # 17:00 on 3 May: an hour past the preliminary report's due time
    overdue = {e.deadline: e for e in app.registers().overdue(running=True)}
    assert set(overdue) == {"preliminary_report"}
    assert overdue["preliminary_report"].reference == reference
    assert overdue["preliminary_report"].due_at == at("2026-05-03T16:00")
    known.advance(hours=2)
    report(app, reference, "report_preliminary", "2026-05-03T18:00", FIRST_REPORT)
    (late,) = app.registers().overdue()
    assert (late.deadline, late.done_at) == ("preliminary_report", at("2026-05-03T18:00"))


# -- the vendor register -----------------------------------------------------------------------


def subcontracted_entrustment(app: ApprovalsApplication) -> tuple[str, dict[str, str]]:
    """An entrustment with one subcontract in effect, one approved (written approval pending),
    one rejected and one still waiting."""
    entrustment = active_entrustment(app)
    cases = {
        name: file_subcontracting(app, entrustment, subcontractor=name).reference
        for name in ("Scan Sub Co.", "Archive KK", "Far Away Ltd.", "Waiting Inc.")
    }
    approve_in_writing(app, cases["Scan Sub Co."])
    consult(app, cases["Archive KK"])
    app.act(cases["Archive KK"], "approve", actor=CHIEF)
    consult(app, cases["Far Away Ltd."])
    app.act(cases["Far Away Ltd."], "reject", actor=CHIEF, comment="Data would leave Japan")
    return entrustment, cases


def test_the_vendor_register_shows_each_entrustments_approved_subcontracting(
    app: ApprovalsApplication,
) -> None:
    entrustment, cases = subcontracted_entrustment(app)
    registers = app.registers()
    other = app.file(
        "entrustment", actor=STAFF, title="Payroll", department="sales",
        fields=FILINGS["entrustment"],
    ).reference  # fmt: skip
    entries = {e.reference: e for e in registers.vendors()}
    mine = entries[entrustment]
    assert (mine.subcontracts_approved, mine.subcontracts_in_effect) == (2, 1)
    assert mine.subcontractors == ("Scan Sub Co.",)
    assert (entries[other].subcontracts_approved, entries[other].subcontractors) == (0, ())
    give_written_approval(app, cases["Archive KK"], day="2026-05-20")
    (mine,) = registers.vendors(vendor="Shred & Scan Ltd.", state="active")
    assert (mine.subcontracts_approved, mine.subcontracts_in_effect) == (2, 2)
    assert mine.subcontractors == ("Archive KK", "Scan Sub Co.")
    take(app, cases["Scan Sub Co."], Move("end", MANAGER, {"end_date": "2026-09-30"}))
    mine = next(e for e in registers.vendors() if e.reference == entrustment)
    assert (mine.subcontracts_approved, mine.subcontracts_in_effect) == (2, 1)
    assert mine.subcontractors == ("Archive KK",)
    assert registers.projector.check() == ()


def stored(
    clock: FakeClock,
    workflows: dict[str, Any],
    path: Path,
    build: Callable[[ApprovalsApplication], T],
) -> tuple[Callable[..., Result], T]:
    """Build a SQLite store at ``path`` with the standard roster and ``build``; return what
    it built and a way to run `approvals --db PATH ...` on it as the audit officer."""
    app = open_approvals(f"sqlite:///{path}", clock=clock, workflows=workflows)
    try:
        appoint_standard_roster(app)
        built = build(app)
    finally:
        app.close()
    env = {"APPROVALS_DB": None, "APPROVALS_USER": AUDITOR, "APPROVALS_LANG": None}

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--db", str(path), *args], env=env)

    return run, built


def test_register_vendors_prints_the_subcontracting(
    clock: FakeClock, workflows: dict[str, Any], tmp_path: Path
) -> None:
    run, (entrustment, _) = stored(clock, workflows, tmp_path / "a.db", subcontracted_entrustment)
    shown = run("register", "vendors")
    assert shown.exit_code == 0, shown.output
    (row,) = [line for line in shown.stdout.splitlines() if line.startswith(entrustment)]
    assert row.endswith("1/2 Scan Sub Co.")
    assert "subcontracting (in effect/approved)" in shown.stdout
    assert "vendor's report due" in shown.stdout
    japanese = run("--lang", "ja", "register", "vendors")
    assert "再委託(実施中/承認済み)" in japanese.stdout
    listed = run("--json", "register", "vendors")
    (entry,) = json.loads(listed.stdout)
    assert entry["reference"] == entrustment
    assert (entry["subcontracts_approved"], entry["subcontracts_in_effect"]) == (2, 1)
    assert entry["subcontractors"] == ["Scan Sub Co."]


def test_register_retention_shows_the_entrustment_a_subcontract_is_kept_as_long_as(
    clock: FakeClock, workflows: dict[str, Any], tmp_path: Path
) -> None:

    def ended_subcontract(app: ApprovalsApplication) -> tuple[str, str]:
        entrustment = active_entrustment(app)
        subcontract = approve_in_writing(app, file_subcontracting(app, entrustment).reference)
        take(app, subcontract.reference, Move("end", MANAGER, {"end_date": "2026-09-30"}))
        return entrustment, subcontract.reference

    run, (entrustment, subcontract) = stored(clock, workflows, tmp_path / "a.db", ended_subcontract)
    for lang, heading in [("en", "kept as long as"), ("ja", "連動する案件")]:
        shown = run("--lang", lang, "register", "retention")
        assert shown.exit_code == 0, shown.output
        assert heading in shown.stdout.splitlines()[0]
        (row,) = [line for line in shown.stdout.splitlines() if line.startswith("SUB-")]
        assert entrustment in row
    (entry,) = json.loads(run("--json", "register", "retention").stdout)
    assert (entry["reference"], entry["retained_until"], entry["kept_with"]) == (
        subcontract, None, [entrustment],
    )  # fmt: skip
