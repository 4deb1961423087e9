"""Sending personal data outside the company (Art.9-2 外部への送信等; 002 遵守事項 第6; 003 第7-2,
第7-3; 002 情報セキュリティ 第3-3): every path walked, every refusal writing nothing, every clock
read on Japan's calendar."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from approvals import (
    JST,
    ApprovalsApplication,
    CaseView,
    EvidenceMissing,
    InvalidValue,
    NotAuthorized,
    StepNotAllowed,
)
from tests.conftest import AUDITOR, CHIEF, MANAGER, OTHER_STAFF, STAFF, FakeClock
from tests.scenarios import Move, end_of, refused, take, walk
from tests.unit.test_vendor_duties import active_entrustment

FILING: dict[str, Any] = {
    "data_items": "order list: names, addresses, phone numbers",
    "recipient": "Hikari Logistics, shipping desk (orders@example.co.jp)",
    "channel": "email",
    "reason": "delivery of the April orders",
    "planned_on": "2026-04-30",
}
CHECKLIST = ["recipient_checked", "second_check", "protected", "identified_tool", "only_needed"]
CONSENT = [Move("consult", MANAGER), Move("approve", CHIEF)]
SEND = Move("send", STAFF, {"sent_on": "2026-04-28"}, CHECKLIST)
CONFIRM = Move("confirm", MANAGER)
# A word of each checklist item's label, as the refusal names what is missing.
NAMED = {
    "recipient_checked": "contents of every attachment",
    "second_check": "second member of staff",
    "protected": "password sent separately",
    "identified_tool": "identifies the recipient with certainty",
    "only_needed": "Only the data needed",
}


def file(app: ApprovalsApplication, *, actor: str = STAFF, **extra: Any) -> CaseView:
    return app.file(
        "sending",
        actor=actor,
        title="Order list to the carrier",
        department="sales",
        fields={**FILING, **extra},
    )


# -- every path ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "moves", "end"),
    [
        ("email", [*CONSENT, SEND, CONFIRM], "closed"),
        ("upload", [*CONSENT, SEND, CONFIRM], "closed"),
        ("post", [*CONSENT, SEND, CONFIRM], "closed"),
        ("fax", [*CONSENT, SEND, CONFIRM], "closed"),
        ("email", [*CONSENT, Move("cancel", STAFF)], "cancelled"),
        (
            "email",
            [CONSENT[0], Move("reject", CHIEF, comment="Use the carrier's portal")],
            "rejected",
        ),
        ("email", [Move("withdraw", STAFF)], "withdrawn"),
        ("email", [CONSENT[0], Move("withdraw", STAFF)], "withdrawn"),
    ],
)
def test_data_is_sent_outside_only_with_the_chiefs_consent_and_the_sending_confirmed(
    app: ApprovalsApplication, channel: str, moves: list[Move], end: str
) -> None:
    case = file(app, channel=channel)
    assert case.reference.startswith("SND-2026-")
    assert (case.state, case.fields["channel"]) == ("notified", channel)
    case = walk(app, case.reference, moves)
    assert (case.state, case.terminal, case.next_steps) == (end, True, ())
    # Kept seven years from the day it ended: sent and confirmed on 28 April, or ended on
    # the day it was filed.
    assert case.retention_until == (date(2033, 4, 28) if end == "closed" else date(2033, 4, 1))
    history = app.history(case.reference)
    assert [e.trigger for e in history] == ["file", *(m.trigger for m in moves)]
    if any(m.trigger == "approve" for m in moves):
        consent = history[2]
        assert (consent.actor, consent.role, consent.label.ja) == (CHIEF, "chief", "承諾")
    if end == "closed":
        assert history[3].actor == STAFF  # the filer sent it
        assert set(history[3].checklist) == set(CHECKLIST)
        assert case.fields["sent_on"] == "2026-04-28"


def test_the_states_of_a_sending_read_in_english_and_japanese(app: ApprovalsApplication) -> None:
    ref = file(app).reference
    seen = [app.case(ref).state_label]
    for move in [*CONSENT, SEND, CONFIRM]:
        seen.append(take(app, ref, move).state_label)
    assert [(label.en, label.ja) for label in seen] == [
        ("notified", "届け出済み"),
        ("in consultation with the chief", "協議中"),
        ("consented, not yet sent", "承諾済み(送信前)"),
        ("sent, confirmation pending", "送信済み(確認待ち)"),
        ("closed", "完了"),
    ]
    labels = [(e.label.en, e.label.ja) for e in app.history(ref)[1:]]
    assert labels == [
        ("consult the chief", "協議"),
        ("consent", "承諾"),
        ("send", "送信"),
        ("confirm the sending", "送信の確認"),
    ]
    workflow = app.workflows["sending"]
    assert (workflow.title.en, workflow.title.ja) == (
        "Sending personal data outside",
        "個人情報の外部への送信",
    )
    assert workflow.states["cancelled"].label.ja == "送信中止"
    assert workflow.states["rejected"].label.ja == "不承諾"


def test_a_sending_returned_by_the_manager_and_the_chief_is_resubmitted_then_consented(
    app: ApprovalsApplication,
) -> None:
    ref = file(app).reference
    with refused(app, EvidenceMissing, "evidence.comment", ref):
        app.act(ref, "return", actor=MANAGER)
    assert app.act(ref, "return", actor=MANAGER, comment="Which orders?").state == "returned"
    with refused(app, NotAuthorized, "step.filer_only", ref):
        app.act(ref, "resubmit", actor=OTHER_STAFF)
    case = app.act(ref, "resubmit", actor=STAFF, fields={"data_items": "April orders: names"})
    assert (case.state, case.fields["data_items"]) == ("notified", "April orders: names")
    take(app, ref, CONSENT[0])
    case = app.act(ref, "return", actor=CHIEF, comment="Send it through the carrier's portal")
    assert case.state == "returned"
    app.act(ref, "resubmit", actor=STAFF, fields={"channel": "upload"})
    case = walk(app, ref, CONSENT)
    assert (case.state, case.fields["channel"]) == ("approved", "upload")
    assert [e.trigger for e in app.history(ref)] == [
        "file", "return", "resubmit", "consult", "return", "resubmit", "consult", "approve",
    ]  # fmt: skip


# -- refusals, each writing nothing -----------------------------------------------------------


def test_sending_is_refused_before_the_consent_and_to_anyone_but_the_filer(
    app: ApprovalsApplication,
) -> None:
    ref = file(app).reference
    with refused(app, StepNotAllowed, "step.not_allowed", ref):
        take(app, ref, SEND)
    take(app, ref, CONSENT[0])
    with refused(app, StepNotAllowed, "step.not_allowed", ref):
        take(app, ref, SEND)  # in consultation: still no consent
    with refused(app, NotAuthorized, "step.not_authorized", ref):
        take(app, ref, Move("approve", STAFF))
    with refused(app, NotAuthorized, "step.not_authorized", ref):
        take(app, ref, Move("approve", MANAGER))
    with refused(app, EvidenceMissing, "evidence.comment", ref):
        take(app, ref, Move("reject", CHIEF))
    take(app, ref, CONSENT[1])
    with refused(app, NotAuthorized, "step.filer_only", ref):
        take(app, ref, Move("send", OTHER_STAFF, SEND.fields, SEND.checklist))
    with refused(app, NotAuthorized, "step.filer_only", ref):
        take(app, ref, Move("cancel", OTHER_STAFF))
    with refused(app, EvidenceMissing, "evidence.fields", ref) as caught:
        take(app, ref, Move("send", STAFF, checklist=CHECKLIST))
    assert "Sent on" in str(caught.value)
    with refused(app, StepNotAllowed, "step.not_allowed", ref):
        take(app, ref, CONFIRM)  # nothing sent yet
    take(app, ref, SEND)
    with refused(app, NotAuthorized, "step.not_authorized", ref):
        take(app, ref, Move("confirm", STAFF))
    with refused(app, NotAuthorized, "step.auditor", ref):
        take(app, ref, Move("confirm", AUDITOR))
    with refused(app, StepNotAllowed, "step.not_allowed", ref):
        take(app, ref, Move("cancel", STAFF))  # too late: it is sent
    assert take(app, ref, CONFIRM).state == "closed"


@pytest.mark.parametrize("missing", CHECKLIST)
def test_a_sending_needs_every_item_of_its_checklist(
    app: ApprovalsApplication, missing: str
) -> None:
    ref = walk(app, file(app).reference, CONSENT).reference
    others = [item for item in CHECKLIST if item != missing]
    with refused(app, EvidenceMissing, "evidence.checklist", ref) as caught:
        take(app, ref, Move("send", STAFF, SEND.fields, others))
    assert NAMED[missing] in str(caught.value)
    for item in others:
        assert NAMED[item] not in str(caught.value)
    assert app.case(ref).state == "approved"


def test_a_sending_by_an_unknown_channel_is_refused(app: ApprovalsApplication) -> None:
    with refused(app, InvalidValue, "value.choice") as caught:
        file(app, channel="anonymous_file_exchange")
    for channel in ("email", "upload", "post", "fax"):
        assert channel in str(caught.value)
    ref = file(app).reference
    app.act(ref, "return", actor=MANAGER, comment="Which channel?")
    with refused(app, InvalidValue, "value.choice", ref):
        app.act(ref, "resubmit", actor=STAFF, fields={"channel": "carrier_pigeon"})
    assert app.case(ref).fields["channel"] == "email"


def test_the_chief_does_not_consent_to_their_own_sending(app: ApprovalsApplication) -> None:
    app.appoint(actor=MANAGER, user=CHIEF, role="staff", department="sales")
    ref = file(app, actor=CHIEF).reference
    take(app, ref, CONSENT[0])
    with refused(app, NotAuthorized, "step.own_case", ref):
        take(app, ref, CONSENT[1])
    assert app.case(ref).state == "consulting"


# -- clocks on Japan's calendar -------------------------------------------------------------------


def test_the_consultation_is_due_the_next_business_day_and_the_decision_after_golden_week(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 4, 28, 10, 0, tzinfo=JST)  # Tuesday; Wednesday is Showa Day
    ref = file(app, planned_on="2026-05-15").reference
    (due,) = app.case(ref).deadlines
    # "Immediately" is one business day: 29 April is a holiday, so Thursday 30 April.
    assert (due.name, due.started_at, due.due_at) == (
        "consultation",
        datetime(2026, 4, 28, 10, 0, tzinfo=JST),
        datetime(2026, 4, 30, 10, 0, tzinfo=JST),
    )
    clock.now = datetime(2026, 4, 30, 10, 0, tzinfo=JST)
    assert not app.case(ref).deadlines[0].overdue
    clock.now = datetime(2026, 4, 30, 10, 0, 1, tzinfo=JST)
    assert app.case(ref).deadlines[0].overdue
    clock.now = datetime(2026, 4, 30, 11, 0, tzinfo=JST)
    (decision,) = take(app, ref, CONSENT[0]).deadlines
    # Five business days from Thursday 30 April: 1 May, then (3-6 May being Golden Week
    # holidays and the weekend) 7, 8, 11 and 12 May.
    assert (decision.name, decision.due_at) == (
        "decision",
        datetime(2026, 5, 12, 11, 0, tzinfo=JST),
    )
    late = [(e.reference, e.deadline) for e in app.registers().overdue()]
    assert late == [(ref, "consultation")]


def test_a_sending_not_made_by_the_planned_date_is_on_the_overdue_list(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 4, 27, 9, 0, tzinfo=JST)
    late = file(app).reference  # planned for Thursday 30 April
    on_time = file(app).reference
    for ref in (late, on_time):
        walk(app, ref, CONSENT)
    (due,) = app.case(late).deadlines
    assert (due.name, due.due_at, due.overdue) == ("send_by", end_of(2026, 4, 30), False)
    clock.now = datetime(2026, 4, 30, 18, 0, tzinfo=JST)
    sent = take(app, on_time, Move("send", STAFF, {"sent_on": "2026-04-30"}, CHECKLIST))
    assert [d.name for d in sent.deadlines] == ["confirmation"]
    clock.now = datetime(2026, 4, 30, 23, 59, 59, tzinfo=JST)
    assert not app.case(late).deadlines[0].overdue
    clock.now = datetime(2026, 5, 1, 0, 0, 1, tzinfo=JST)
    assert app.case(late).deadlines[0].overdue
    running = [(e.reference, e.deadline, e.done_at) for e in app.registers().overdue(running=True)]
    assert running == [(late, "send_by", None)]
    clock.now = datetime(2026, 5, 7, 10, 0, tzinfo=JST)  # the first business day after 3-6 May
    take(app, late, Move("send", STAFF, {"sent_on": "2026-05-07"}, CHECKLIST))
    listed = [e for e in app.registers().overdue() if e.deadline == "send_by"]
    assert [(e.reference, e.done_at is not None) for e in listed] == [(late, True)]
    assert listed[0].late_by_days == 6  # 30 April at midnight to 7 May at ten
    # The on-time sending's confirmation (due 7 May, 18:00) is still running, not yet missed.
    assert [e.reference for e in app.registers().overdue(running=True)] == []


@pytest.mark.parametrize(
    ("sent_at", "due_at"),
    [
        # Sent Wednesday 30 December 2026. Two business days: Thursday 31 December is one
        # (Japan's national holidays give 1 January only; the company's year-end closing is
        # not on this calendar), Friday 1 January is New Year's Day, 2 and 3 January a
        # weekend, so Monday 4 January 2027 is the second.
        (datetime(2026, 12, 30, 15, 0, tzinfo=JST), datetime(2027, 1, 4, 15, 0, tzinfo=JST)),
        # Sent Thursday 30 April 2026, the month's end. Friday 1 May is one; 2-3 May a
        # weekend, 4-6 May Greenery Day, Children's Day and the substitute holiday, so
        # Thursday 7 May is the second.
        (datetime(2026, 4, 30, 15, 0, tzinfo=JST), datetime(2026, 5, 7, 15, 0, tzinfo=JST)),
    ],
    ids=["new_year", "month_end_golden_week"],
)
def test_the_confirmation_is_due_two_business_days_after_the_sending(
    app: ApprovalsApplication, clock: FakeClock, sent_at: datetime, due_at: datetime
) -> None:
    clock.now = sent_at - timedelta(days=2)  # filed and consented to two days before
    ref = file(app, planned_on=sent_at.date().isoformat()).reference
    walk(app, ref, CONSENT)
    clock.now = sent_at
    case = take(app, ref, Move("send", STAFF, {"sent_on": sent_at.date().isoformat()}, CHECKLIST))
    (due,) = case.deadlines
    assert (due.name, due.started_at, due.due_at) == ("confirmation", sent_at, due_at)
    clock.now = due_at
    assert not app.case(ref).deadlines[0].overdue
    clock.now = due_at.replace(second=1)
    assert app.case(ref).deadlines[0].overdue
    assert [(e.reference, e.deadline) for e in app.registers().overdue(running=True)] == [
        (ref, "confirmation")
    ]
    case = take(app, ref, CONFIRM)
    assert (case.state, case.deadlines) == ("closed", ())
    assert case.retention_until == due_at.date().replace(year=due_at.year + 7)


def test_a_vendors_sending_names_its_entrustment(app: ApprovalsApplication) -> None:
    entrustment = active_entrustment(app)
    case = file(app, entrustment=entrustment, recipient="Courier for the vendor")
    assert case.fields["entrustment"] == entrustment
    with refused(app, InvalidValue, "value.case_unknown"):
        file(app, entrustment="ENT-2026-9999")
    with refused(app, InvalidValue, "value.case_workflow"):
        file(app, entrustment=case.reference)
