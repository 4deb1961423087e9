"""Incidents as the law counts them (issue 17, part 5).

Seen before: whether to report to the Commission was a free yes/no, so an improper-purpose
leak of 1,200 payslips was closed unreported; a late vendor report given after filing
disappeared from the overdue list; there was no clock for the notice to the individuals.
Now the chief records the four triggers of the APPI Enforcement Rules Art.7, the report is
required when any of them is recorded (derived, `any_of`), the notice is due promptly, and the
final report is due at the end of the 30th (60th) day after the day the company knew
(初日不算入, Civil Code Art.140-141).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from approvals import (
    JST,
    ApprovalsApplication,
    EvidenceMissing,
    InvalidValue,
    open_approvals,
)
from approvals.audit.verify import verify_log
from approvals.definitions import load_directory, parse_definition
from approvals.domain.clocks import add
from approvals.domain.workflow import Duration
from tests.conftest import CHIEF, MANAGER, STAFF, FakeClock, appoint_standard_roster
from tests.scenarios import refused

WORKFLOWS = load_directory()
TRIGGERS = ("sensitive_data", "financial_damage", "improper_purpose", "more_than_1000")
PAYSLIPS = {
    "known_at": "2026-04-28T16:00",
    "description": "1,200 payslips sent to a former employee's private address on purpose",
    "at_vendor": "no",
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JST)


@pytest.fixture
def store(backend_url: str, clock: FakeClock) -> Iterator[ApprovalsApplication]:
    """The engine on a real backend with the standard roster, at 17:00 on 28 April 2026."""
    app = open_approvals(backend_url, clock=clock, workflows=WORKFLOWS)
    appoint_standard_roster(app)
    clock.now = at("2026-04-28T17:00")
    try:
        yield app
    finally:
        app.close()


def file(app: ApprovalsApplication, **fields: Any) -> str:
    return app.file(
        "incident", actor=STAFF, title="Payslips leaked", department="sales",
        fields={**PAYSLIPS, **fields},
    ).reference  # fmt: skip


def assess(app: ApprovalsApplication, reference: str, **triggers: bool) -> Any:
    app.act(reference, "consult", actor=MANAGER)
    return app.act(reference, "assess", actor=CHIEF, fields={
        **{name: triggers.get(name, False) for name in TRIGGERS},
        "containment_measures": "Mail server rule removed; the recipient asked to delete",
    })  # fmt: skip


def overdue(app: ApprovalsApplication, **options: Any) -> dict[str, Any]:
    return {e.deadline: e for e in app.registers().overdue(**options)}


# -- Seen: an improper-purpose leak of 1,200 payslips closed unreported -----------------------


def test_an_improper_purpose_leak_of_1200_payslips_cannot_be_closed_unreported(
    store: ApprovalsApplication,
) -> None:
    reference = file(store)
    case = assess(store, reference, improper_purpose=True, more_than_1000=True)
    assert case.fields["ppc_report_required"] is True  # derived, not typed
    assert {"preliminary_report", "final_report_improper", "individuals_notice"} <= {
        d.name for d in case.deadlines
    }
    with refused(store, EvidenceMissing, "evidence.required", reference) as caught:
        store.act(reference, "close", actor=CHIEF, comment="Handled internally")
    english, japanese = str(caught.value), caught.value.render("ja")
    for phrase in ("improper purpose", "More than 1,000", "preliminary report", "final report"):
        assert phrase in english, english
    for phrase in ("不正の目的", "千人を超える", "速報", "確報"):
        assert phrase in japanese, japanese
    # nor can the requirement be typed away
    with refused(store, InvalidValue, "value.derived", reference):
        store.act(reference, "reassess", actor=CHIEF, comment="Not serious",
                  fields={"ppc_report_required": False})  # fmt: skip
    # taking the trigger back is a reassessment with a reason, and brings the close back
    case = store.act(reference, "reassess", actor=CHIEF, comment="Misaddressed, no purpose",
                     fields={"improper_purpose": False, "more_than_1000": False})  # fmt: skip
    assert case.fields["ppc_report_required"] is False
    assert store.act(reference, "close", actor=CHIEF, comment="Recovered").state == "closed"


def test_any_one_of_the_four_triggers_requires_the_reports(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    clock.now = at("2026-04-28T17:00")
    for trigger in TRIGGERS:
        reference = file(app)
        assert assess(app, reference, **{trigger: True}).fields["ppc_report_required"] is True
        with refused(app, EvidenceMissing, "evidence.required", reference):
            app.act(reference, "close", actor=CHIEF, comment="No report")
    reference = file(app)
    assert assess(app, reference).fields["ppc_report_required"] is False
    assert app.act(reference, "close", actor=CHIEF, comment="Encrypted").state == "closed"


# -- Seen: a late vendor report given after filing disappeared from the overdue list -----------


def test_a_late_vendor_report_given_after_filing_stays_on_the_overdue_list(
    store: ApprovalsApplication, clock: FakeClock
) -> None:
    # The noticing moment given after the filing: the clock counts from it, not the filing.
    noticed_later = file(store, at_vendor="yes")
    clock.now = at("2026-04-28T18:30")
    assert "vendor_report" in overdue(store, running=True)
    store.act(noticed_later, "record_vendor_report", actor=STAFF, fields={
        "vendor_noticed_at": "2026-04-28T14:30", "vendor_reported_at": "2026-04-28T16:10",
    })  # fmt: skip
    late = overdue(store)["vendor_report"]
    assert (late.reference, late.due_at, late.done_at) == (
        noticed_later, at("2026-04-28T15:30"), at("2026-04-28T16:10"),
    )  # fmt: skip


def test_a_report_recorded_after_it_was_shown_overdue_is_late_whatever_moment_is_typed(
    store: ApprovalsApplication, clock: FakeClock
) -> None:
    reference = file(store, at_vendor="yes", vendor_noticed_at="2026-04-28T15:30")
    assert overdue(store, running=True)["vendor_report"].due_at == at("2026-04-28T16:30")
    clock.now = at("2026-04-28T17:20")
    store.act(reference, "record_vendor_report", actor=STAFF, fields={
        "vendor_noticed_at": "2026-04-28T15:30", "vendor_reported_at": "2026-04-28T16:10",
    })  # fmt: skip
    # 16:10 is typed, 17:20 is what the system can prove: the list showed it overdue till then
    late = overdue(store)["vendor_report"]
    assert (late.reference, late.done_at) == (reference, at("2026-04-28T17:20"))
    assert late.late_by_days == 0
    assert late.done_at > late.due_at
    # given with the filing, the moment typed counts: the clock was never shown overdue
    file(store, at_vendor="yes", vendor_noticed_at="2026-04-28T15:30",
         vendor_reported_at="2026-04-28T16:10")  # fmt: skip
    assert [e.reference for e in store.registers().overdue()] == [reference]


# -- Seen: no clock for the notice to the individuals -----------------------------------------


def test_the_notice_to_the_individuals_is_due_promptly_and_overdue_when_missed(
    store: ApprovalsApplication, clock: FakeClock
) -> None:
    in_time, missed = file(store), file(store)
    for reference in (in_time, missed):
        case = assess(store, reference, sensitive_data=True)
    # promptly: three business days from 16:00 on 28 April, Golden Week skipped
    assert {d.name: d.due_at for d in case.deadlines}["individuals_notice"] == at(
        "2026-05-07T16:00"
    )
    clock.now = at("2026-05-07T18:00")
    notice = {"individuals_notified_on": "2026-05-07", "notice_method": "letter to each"}
    store.act(in_time, "notify_individuals", actor=MANAGER, fields=notice)  # dated the due day
    running = overdue(store, running=True)["individuals_notice"]
    assert running.reference == missed
    clock.now = at("2026-05-08T10:00")
    store.act(missed, "notify_individuals", actor=MANAGER,
              fields={**notice, "individuals_notified_on": "2026-05-08"})  # fmt: skip
    late = [e for e in store.registers().overdue() if e.deadline == "individuals_notice"]
    assert [(e.reference, e.done_at) for e in late] == [(missed, at("2026-05-08T00:00"))]
    # an incident with no trigger has no notice clock
    none = file(store)
    assert "individuals_notice" not in {d.name for d in assess(store, none).deadlines}


# -- the final report: 30 days from the day after the day it became known ---------------------


@pytest.mark.parametrize(
    ("known", "days", "due"),
    [
        ("2026-04-28T16:00", 30, "2026-05-28T23:59:59.999999"),  # 29 April is day 1
        ("2026-04-28T00:00", 30, "2026-05-27T23:59:59.999999"),  # from 00:00 the day counts
        ("2026-04-28T23:59", 30, "2026-05-28T23:59:59.999999"),
        ("2026-04-28T16:00", 60, "2026-06-27T23:59:59.999999"),  # improper purpose
        ("2026-12-01T09:00", 30, "2026-12-31T23:59:59.999999"),  # a holiday last day: no shift
    ],
)
def test_the_final_report_is_due_at_the_end_of_the_thirtieth_day_after_the_day_known(
    known: str, days: int, due: str
) -> None:
    assert add(at(known), Duration(days, "civil_days")) == at(due)


def test_a_final_report_on_the_thirtieth_day_is_in_time_and_the_next_day_late(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    clock.now = at("2026-04-28T17:00")
    first = {"summary": "Payslips", "data_items": "name, salary", "individuals_count": "1200"}
    final = {
        **first, "cause": "A forwarding rule", "secondary_harm": "None known",
        "response_to_individuals": "Letters", "public_announcement": "None",
        "recurrence_prevention": "Rules reviewed", "other_matters": "None",
    }  # fmt: skip
    references = [file(app), file(app)]
    for reference in references:
        assess(app, reference, more_than_1000=True)
        app.act(reference, "report_preliminary", actor=MANAGER,
                fields={"preliminary_report_at": "2026-04-28T16:30", **first})  # fmt: skip
        app.act(reference, "notify_individuals", actor=MANAGER, fields={
            "individuals_notified_on": "2026-04-28", "notice_method": "letter to each",
        })  # fmt: skip
    clock.now = at("2026-05-28T23:59:30")
    app.act(references[0], "report_final", actor=MANAGER,
            fields={"final_report_at": "2026-05-28T23:59", **final})  # fmt: skip
    clock.now = at("2026-05-29T00:01")
    app.act(references[1], "report_final", actor=MANAGER,
            fields={"final_report_at": "2026-05-29T00:00", **final})  # fmt: skip
    late = app.registers().overdue()
    assert [(e.reference, e.deadline) for e in late] == [(references[1], "final_report")]
    assert late[0].due_at == at("2026-05-28T23:59:59.999999")


# -- audit verify on a store written without the new rules ------------------------------------


def _older() -> Any:
    """The incident definition as it was before this change: the requirement typed freely,
    no triggers, no notice clock, days counted from the moment."""
    current = WORKFLOWS["incident"]
    source = (Path(__file__).parents[2] / "workflows" / "incident.toml").read_text("utf-8")
    source = re.sub(r"(?m)^any_of = .*\n", "", source)
    old_fields = 'fields = ["ppc_report_required", "improper_purpose", "containment_measures"]'
    source = re.sub(
        r'fields = \[\n    "sensitive_data", "financial_damage", "improper_purpose", '
        r'"more_than_1000",\n    "containment_measures",\n\]',
        old_fields,
        source,
    )
    source = source.split("\n# The notice to the individuals (APPI Art.26-2)")[0] + "\n"
    source = source.replace("civil_days", "days").replace(
        f"version = {current.version}", f"version = {current.version - 1}", 1
    )
    return parse_definition(source, f"incident v{current.version - 1}")


def test_verify_flags_an_incident_closed_unreported_in_a_store_written_without_the_rule(
    backend_url: str, clock: FakeClock
) -> None:
    old = {**WORKFLOWS, "incident": _older()}
    assert "ppc_report_required" in old["incident"].steps[("consulting", "assess")].fields
    app = open_approvals(backend_url, clock=clock, workflows=old)
    try:
        appoint_standard_roster(app)
        clock.now = at("2026-04-28T17:00")
        unreported, harmless = file(app), file(app)
        for reference, improper in ((unreported, True), (harmless, False)):
            app.act(reference, "consult", actor=MANAGER)
            app.act(reference, "assess", actor=CHIEF, fields={
                "ppc_report_required": False, "improper_purpose": improper,
                "containment_measures": "Asked the recipient to delete",
            })  # fmt: skip
            app.act(reference, "close", actor=CHIEF, comment="Handled internally")
    finally:
        app.close()
    app = open_approvals(backend_url, clock=clock, workflows=WORKFLOWS)
    try:
        assert app.workflow_of(unreported).version == WORKFLOWS["incident"].version - 1
        findings = [f for f in verify_log(app).findings if f.code == "rule"]
        said = [(f.subject, str(f.message)) for f in findings]
        assert any(
            s == unreported
            and "'close' was taken with ③ Possibly caused by an act with an "
            "improper purpose recorded"
            in m
            and "record the final report" in m
            for s, m in said
        ), said
        assert not any(s == harmless for s, _ in said), said
        # a new case runs on the new definition: the rule holds at the door
        fresh = file(app)
        assess(app, fresh, improper_purpose=True)
        with refused(app, EvidenceMissing, "evidence.required", fresh):
            app.act(fresh, "close", actor=CHIEF, comment="Handled internally")
    finally:
        app.close()
