"""Dates that cannot lie: a date recorded keeps its place among the case's own moments.

Seen before this rule: a basic contract dated before the approval (`basic_contract_date=
2026-10-01`, approved 11-30), then the individual contract and the handover before it too; an
`effective_date` of 2026-01-01 on a purpose approved later (collection before approval);
`taken_out_on` before the chief's 承諾; the Commission's preliminary report and a notice to the
individuals dated before the incident became known.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from approvals import JST, ApprovalsApplication, DefinitionError, InvalidValue, open_approvals
from approvals.audit.verify import verify_log
from approvals.definitions import load_directory, parse_definition
from approvals.domain.dates import date_conflict
from tests.conftest import CHIEF, MANAGER, STAFF, FakeClock, appoint_standard_roster
from tests.scenarios import PATHS, older_definition, refused, take, until

WORKFLOWS = load_directory()
SOURCES = Path(__file__).parents[2] / "workflows"


@pytest.fixture
def app(backend_url: str, clock: FakeClock) -> Iterator[ApprovalsApplication]:
    """The store on each real backend (a SQLite file, then PostgreSQL), standard roster."""
    application = open_approvals(backend_url, clock=clock, workflows=WORKFLOWS)
    appoint_standard_roster(application)
    yield application
    application.close()


def approved_on(clock: FakeClock, day: str) -> None:
    clock.now = datetime.fromisoformat(f"{day}T10:00").replace(tzinfo=JST)


# -- not before the approval that allows the action --------------------------------------------


@pytest.mark.parametrize(
    ("trigger", "field"),
    [
        ("conclude_basic_contract", "basic_contract_date"),
        ("conclude_individual_contract", "individual_contract_date"),
        ("hand_over", "handover_date"),
    ],
)
def test_a_contract_or_handover_dated_before_the_approval_is_refused(
    app: ApprovalsApplication, clock: FakeClock, trigger: str, field: str
) -> None:
    approved_on(clock, "2026-04-06")  # the day of the site survey, the investigation's last
    ref = until(app, "entrustment", trigger)
    move = next(m for m in PATHS["entrustment"] if m.trigger == trigger)
    with refused(app, InvalidValue, "value.before_step", ref) as caught:
        app.act(ref, trigger, actor=move.actor, fields={**move.fields, field: "2026-03-31"},
                checklist=move.checklist)  # fmt: skip
    message = str(caught.value)
    assert "2026-03-31, before 'approve' was recorded on this case (2026-04-06)" in message
    assert "「承認」(2026-04-06)より前" in caught.value.render("ja")
    take(app, ref, move)  # dated after the approval (and after the step it follows)


def test_a_collection_starting_before_its_approval_is_refused(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    approved_on(clock, "2026-11-30")
    ref = until(app, "purpose", "record_measures")
    move = next(m for m in PATHS["purpose"] if m.trigger == "record_measures")
    with refused(app, InvalidValue, "value.before_step", ref):
        app.act(ref, "record_measures", actor=move.actor, checklist=move.checklist,
                fields={**move.fields, "effective_date": "2026-01-01"})  # fmt: skip


def test_data_taken_out_before_the_chiefs_consent_is_refused(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    approved_on(clock, "2026-05-01")
    ref = app.file("take_out", actor=STAFF, title="Laptop", department="sales", fields={
        "data_items": "customer list", "medium": "laptop", "destination": "Client office",
        "reason": "Meeting", "return_by": "2026-05-10"}).reference  # fmt: skip
    app.act(ref, "consult", actor=MANAGER)
    app.act(ref, "approve", actor=CHIEF)
    checks = ["only_needed", "protected"]
    with refused(app, InvalidValue, "value.before_step", ref):
        app.act(ref, "take_out", actor=STAFF, fields={"taken_out_on": "2026-04-30"},
                checklist=checks)  # fmt: skip
    app.act(ref, "take_out", actor=STAFF, fields={"taken_out_on": "2026-05-01"}, checklist=checks)


# -- not before the moment the company knew ----------------------------------------------------


def test_a_report_or_notice_dated_before_the_incident_became_known_is_refused(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    known = "2026-11-20T10:00"
    approved_on(clock, "2026-12-01")
    workflow = WORKFLOWS["incident"]
    history = app.case_aggregate(
        app.file(
            "incident",
            actor=STAFF,
            title="Lost laptop",
            department="sales",
            fields={"known_at": known, "description": "A laptop was lost", "at_vendor": "no"},
        ).reference
    ).history
    at = datetime(2026, 12, 1, 10, tzinfo=JST)
    for name, value in [
        ("preliminary_report_at", "2026-11-01T10:00:00+09:00"),
        ("final_report_at", "2026-11-19T23:00:00+09:00"),
        ("individuals_notified_on", "2026-01-01"),
    ]:
        found = date_conflict(workflow, history, {name: value}, at)
        assert found is not None, name
        assert found.field.name == name
        assert found.bound_value in {"2026-11-20 10:00", "2026-11-20"}
    assert date_conflict(workflow, history, {"individuals_notified_on": "2026-11-20"}, at) is None


# -- the definition says it --------------------------------------------------------------------


def _with(workflow_id: str, old: str, new: str) -> Any:
    source = (SOURCES / f"{workflow_id}.toml").read_text(encoding="utf-8")
    assert old in source
    return parse_definition(source.replace(old, new, 1), f"{workflow_id}.toml")


def test_a_fact_marked_past_is_never_later_than_the_day_it_is_recorded() -> None:
    workflow = WORKFLOWS["purpose"]
    assert workflow.fields["end_date"].past
    at = datetime(2026, 4, 1, 23, 0, tzinfo=JST)
    found = date_conflict(workflow, [], {"end_date": "2026-04-02"}, at)
    assert found is not None
    assert found.future
    assert date_conflict(workflow, [], {"end_date": "2026-04-01"}, at) is None


@pytest.mark.parametrize(
    ("addition", "problem"),
    [
        ('not_before = ["nowhere"]\n', "neither a step nor a date field"),
        ('not_before = ["purpose"]\n', "neither a step nor a date field"),
    ],
)
def test_a_definition_naming_no_moment_is_refused(addition: str, problem: str) -> None:
    with pytest.raises(DefinitionError, match=problem):
        _with("purpose", 'not_before = ["approve"]\n', addition)


def test_past_is_for_dates_only() -> None:
    with pytest.raises(DefinitionError, match="only for a date"):
        _with("purpose", "[fields.purpose]\n", "[fields.purpose]\npast = true\n")


# -- the audit's replay ------------------------------------------------------------------------


def test_verify_reports_a_contract_dated_before_its_approval_in_a_store_written_without_the_rule(
    backend_url: str, clock: FakeClock
) -> None:
    approved_on(clock, "2026-04-02")
    app = open_approvals(backend_url, clock=clock, workflows={
        **WORKFLOWS, "entrustment": older_definition("entrustment", "not_before = ")})  # fmt: skip
    try:
        appoint_standard_roster(app)
        ref = until(app, "entrustment", "conclude_basic_contract")
        move = next(m for m in PATHS["entrustment"] if m.trigger == "conclude_basic_contract")
        app.act(ref, "conclude_basic_contract", actor=move.actor,
                fields={**move.fields, "basic_contract_date": "2026-03-01"})  # fmt: skip
    finally:
        app.close()
    app = open_approvals(backend_url, clock=clock, workflows=WORKFLOWS)
    try:
        said = [(f.subject, str(f.message)) for f in verify_log(app).findings if f.code == "rule"]
        assert any(
            subject == ref
            and "recorded Basic contract concluded on as 2026-03-01, before 'approve'" in m
            for subject, m in said
        ), said
    finally:
        app.close()


# -- a fact has happened: never later than the day it is recorded ------------------------------


def test_a_vendor_investigation_dated_in_the_future_is_refused(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    approved_on(clock, "2026-04-01")
    ref = until(app, "entrustment", "record_investigation")
    move = next(m for m in PATHS["entrustment"] if m.trigger == "record_investigation")
    week_later = {**move.fields, "interview_date": "2026-04-08", "site_survey_date": "2026-04-01"}
    with refused(app, InvalidValue, "value.not_yet", ref) as caught:
        app.act(ref, "record_investigation", actor=move.actor, fields=week_later)
    message = str(caught.value)
    assert "2026-04-08, later than now (2026-04-01)" in message
    assert "現在(2026-04-01)より後" in caught.value.render("ja")
    app.act(ref, "record_investigation", actor=move.actor,
            fields={**week_later, "interview_date": "2026-04-01"})  # fmt: skip


def test_verify_reports_a_handover_dated_in_the_future_in_a_store_written_without_the_rule(
    backend_url: str, clock: FakeClock
) -> None:
    approved_on(clock, "2026-04-02")
    app = open_approvals(backend_url, clock=clock, workflows={
        **WORKFLOWS, "entrustment": older_definition("entrustment", "past = true")})  # fmt: skip
    try:
        appoint_standard_roster(app)
        ref = until(app, "entrustment", "hand_over")
        move = next(m for m in PATHS["entrustment"] if m.trigger == "hand_over")
        clock.now = datetime(2026, 5, 1, 10, tzinfo=JST)
        app.act(ref, "hand_over", actor=move.actor, checklist=move.checklist,
                fields={**move.fields, "handover_date": "2026-06-01"})  # fmt: skip
    finally:
        app.close()
    app = open_approvals(backend_url, clock=clock, workflows=WORKFLOWS)
    try:
        said = [(f.subject, str(f.message)) for f in verify_log(app).findings if f.code == "rule"]
        assert any(
            subject == ref
            and "recorded Data handed over on as 2026-06-01, later than the moment it was "
            "recorded (2026-05-01)"
            in m
            for subject, m in said
        ), said
    finally:
        app.close()
