"""An entrustment after the chief's approval: the places where the vendor works on the data and
keeps it, approved beforehand (003 第3); the vendor's yearly report, due on each anniversary of
the contract (001 Art.13-1); a breach consulted on immediately and its measures within five
business days (Art.15-5); and the vendor's written report of an incident (003 第14-2)."""

from __future__ import annotations

from datetime import date, datetime

from approvals import JST, ApprovalsApplication, EvidenceMissing, NotAuthorized
from tests.conftest import CHIEF, MANAGER, STAFF, FakeClock
from tests.scenarios import INVESTIGATION, PATHS, Move, end_of, happened, refused, take
from tests.unit.test_vendor_duties import active_entrustment, at, file_entrustment, file_incident

PLACES = {"work_places": "Scanning room, Osaka", "storage_places": "Archive room, Osaka"}
REPORT = {"vendor_report_summary": "Safeguards in place; staff trained; no incidents"}


def to_the_minute(moment: datetime) -> datetime:
    """The clock of the tests moves a second at each reading; people read minutes."""
    return moment.astimezone(JST).replace(second=0, microsecond=0)


def walked(app: ApprovalsApplication, *, reports_yearly: bool) -> str:
    """An entrustment handed over under a basic contract of 20 April 2026 that does, or does
    not, ask the vendor for a yearly report."""
    reference = file_entrustment(app)
    for move in PATHS["entrustment"]:
        fields = move.fields
        if move.trigger == "conclude_basic_contract":
            fields = {**fields, "reports_yearly": reports_yearly}
        case = take(app, reference, Move(move.trigger, move.actor, fields, move.checklist))
        if move.trigger == "hand_over":
            break
    assert case.state == "active"
    return reference


# -- the places (003 第3) -----------------------------------------------------------------------


def test_the_places_are_named_before_the_chief_is_consulted(app: ApprovalsApplication) -> None:
    reference = file_entrustment(app)
    without = {k: v for k, v in INVESTIGATION.items() if k not in PLACES}
    happened(app, "entrustment", without)
    with refused(app, EvidenceMissing, "evidence.fields", reference) as caught:
        app.act(reference, "record_investigation", actor=MANAGER, fields=without)
    assert "Where the vendor keeps the data" in str(caught.value)
    app.act(reference, "draft_contract", actor=MANAGER, checklist=PATHS["entrustment"][1].checklist)
    with refused(app, EvidenceMissing, "evidence.fields", reference):
        app.act(reference, "consult", actor=MANAGER, fields=without)
    case = app.act(reference, "consult", actor=MANAGER, fields=INVESTIGATION)
    assert case.state == "consulting"
    assert case.fields["storage_places"] == INVESTIGATION["storage_places"]


def test_a_new_place_is_approved_by_the_chief_with_a_reason(app: ApprovalsApplication) -> None:
    reference = active_entrustment(app)
    moved = {"work_places": "Scanning room, Kobe", "storage_places": "Archive room, Kobe"}
    with refused(app, NotAuthorized, "step.not_authorized", reference):
        app.act(reference, "approve_places", actor=MANAGER, fields=moved, comment="Kobe")
    with refused(app, EvidenceMissing, "evidence.comment", reference):
        app.act(reference, "approve_places", actor=CHIEF, fields=moved)
    # Both places as they will be: the one that stays is named again.
    with refused(app, EvidenceMissing, "evidence.fresh", reference):
        app.act(reference, "approve_places", actor=CHIEF, comment="Kobe",
                fields={"work_places": moved["work_places"]})  # fmt: skip
    case = app.act(
        reference, "approve_places", actor=CHIEF, fields=moved, comment="Site visited in Kobe"
    )
    assert (case.state, case.fields["work_places"]) == ("active", "Scanning room, Kobe")
    last = app.history(reference)[-1]
    assert (last.trigger, last.actor, last.role) == ("approve_places", CHIEF, "chief")


# -- the vendor's yearly report (001 Art.13-1) --------------------------------------------------


def test_the_yearly_report_falls_due_a_year_after_the_basic_contract_and_shows_overdue(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    reference = walked(app, reports_yearly=True)
    due = {d.name: d.due_at for d in app.case(reference).deadlines}
    assert due["vendor_report"] == end_of(2027, 4, 20)  # not 365 days: to the same date
    (entry,) = app.registers().vendors()
    assert (entry.next_vendor_report_due, entry.vendor_report_overdue) == (
        end_of(2027, 4, 20), False,
    )  # fmt: skip
    clock.now = datetime(2027, 4, 21, 9, 0, tzinfo=JST)
    (entry,) = app.registers().vendors()
    assert entry.vendor_report_overdue
    assert not entry.inspection_overdue
    running = {e.deadline: e for e in app.registers().overdue(running=True)}
    assert set(running) == {"vendor_report"}
    assert running["vendor_report"].reference == reference


def test_a_late_report_is_listed_as_met_late_and_does_not_move_the_next_one(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    reference = walked(app, reports_yearly=True)
    clock.now = datetime(2027, 6, 1, 9, 0, tzinfo=JST)
    case = app.act(reference, "record_vendor_report", actor=STAFF,
                   fields={"vendor_report_date": "2027-05-28", **REPORT})  # fmt: skip
    assert {d.name: d.due_at for d in case.deadlines}["vendor_report"] == end_of(
        2028, 4, 20
    )  # the next anniversary, not a year after the late report
    (late,) = [e for e in app.registers().overdue() if e.deadline == "vendor_report"]
    assert (late.deadline, late.due_at, late.done_at) == (
        "vendor_report", end_of(2027, 4, 20), end_of(2027, 5, 28),
    )  # fmt: skip
    (entry,) = app.registers().vendors()
    assert (entry.last_vendor_report, entry.vendor_reports) == (date(2027, 5, 28), 1)
    assert not entry.vendor_report_overdue


def test_a_report_received_during_a_breach_counts_and_the_breach_stays_open(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    reference = walked(app, reports_yearly=True)
    clock.now = datetime(2027, 4, 1, 9, 0, tzinfo=JST)
    take(app, reference, Move("report_breach", STAFF, {"violation": "Copies on a laptop"}))
    case = app.act(reference, "record_vendor_report", actor=STAFF,
                   fields={"vendor_report_date": "2027-04-01", **REPORT})  # fmt: skip
    assert case.state == "breach_reported"
    assert {d.name: d.due_at for d in case.deadlines}["vendor_report"] == end_of(2028, 4, 20)
    assert app.registers().overdue() == ()


def test_no_yearly_report_is_asked_for_when_the_contract_does_not_ask_for_one(
    app: ApprovalsApplication,
) -> None:
    reference = file_entrustment(app)
    for move in PATHS["entrustment"]:
        if move.trigger == "conclude_basic_contract":
            break
        take(app, reference, move)
    # The contract must say whether it asks for the report: the clock depends on it.
    happened(app, "entrustment", {"basic_contract_date": "2026-04-20"})
    with refused(app, EvidenceMissing, "evidence.fields", reference):
        app.act(reference, "conclude_basic_contract", actor=MANAGER,
                fields={"basic_contract_date": "2026-04-20"})  # fmt: skip
    reference = walked(app, reports_yearly=False)
    assert [d.name for d in app.case(reference).deadlines] == ["inspection"]
    happened(app, "entrustment", {"vendor_report_date": "2027-04-01"})
    with refused(app, EvidenceMissing, "evidence.expected", reference):
        app.act(reference, "record_vendor_report", actor=STAFF,
                fields={"vendor_report_date": "2027-04-01", **REPORT})  # fmt: skip
    (entry,) = [e for e in app.registers().vendors() if e.reference == reference]
    assert (entry.next_vendor_report_due, entry.vendor_report_overdue) == (None, False)


# -- each inspection, check and report is a new fact ---------------------------------------------


def test_each_inspection_and_report_is_recorded_with_its_own_date_not_the_last_ones(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    reference = walked(app, reports_yearly=True)
    clock.now = datetime(2027, 10, 5, 9, 0, tzinfo=JST)
    take(app, reference, Move("inspect", MANAGER, {"inspection_date": "2026-10-01",
                                                   "inspection_findings": "OK"}))  # fmt: skip
    # A second inspection with no date of its own would pass for one on 1 October 2026.
    with refused(app, EvidenceMissing, "evidence.fresh", reference) as caught:
        app.act(reference, "inspect", actor=MANAGER, fields={"inspection_findings": "OK"})
    assert "Inspected on (`inspection_date`, date) must be given with it" in str(caught.value)
    with refused(app, EvidenceMissing, "evidence.fresh", reference):
        app.act(reference, "inspect", actor=MANAGER, fields={"inspection_date": "2027-10-01"})
    second = {"inspection_date": "2027-10-01", "inspection_findings": "Fine"}
    case = app.act(reference, "inspect", actor=MANAGER, fields=second)
    assert {d.name: d.due_at for d in case.deadlines}["inspection"] == end_of(2028, 10, 1)
    take(app, reference, Move("record_vendor_report", STAFF,
                              {"vendor_report_date": "2027-04-15", **REPORT}))  # fmt: skip
    with refused(app, EvidenceMissing, "evidence.fresh", reference):
        app.act(reference, "record_vendor_report", actor=STAFF, fields=REPORT)
    take(app, reference, Move("record_compliance_check", STAFF, {"check_date": "2027-06-01"}))
    with refused(app, EvidenceMissing, "evidence.fresh", reference):
        app.act(reference, "record_compliance_check", actor=STAFF)
    (entry,) = app.registers().vendors()
    assert (entry.last_inspection, entry.inspections) == (date(2027, 10, 1), 2)
    assert (entry.last_vendor_report, entry.vendor_reports) == (date(2027, 4, 15), 1)
    assert (entry.last_check, entry.checks) == (date(2027, 6, 1), 1)
    # What the inbox and `show` say a step needs lists the fresh fields even when the case
    # holds a value.
    needs = {s.trigger: s.missing_fields for s in app.case(reference).next_steps}
    assert needs["inspect"] == ("inspection_date", "inspection_findings")
    assert needs["record_compliance_check"] == ("check_date",)
    assert needs["report_breach"] == ("violation",)


# -- a breach of the contract (Art.15-4, 15-5) --------------------------------------------------


def test_a_breach_is_consulted_on_immediately_and_its_measures_follow_within_five_business_days(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    reference = active_entrustment(app)
    clock.now = datetime(2026, 7, 17, 10, 0, tzinfo=JST)  # a Friday; Monday 20 July: Marine Day
    breach = take(app, reference, Move("report_breach", STAFF, {"violation": "Copies kept"}))
    due = {d.name: to_the_minute(d.due_at) for d in breach.deadlines}
    assert due["breach_consultation"] == datetime(2026, 7, 21, 10, 0, tzinfo=JST)
    clock.now = datetime(2026, 7, 21, 9, 0, tzinfo=JST)
    consulting = app.act(reference, "consult_breach", actor=MANAGER)
    due = {d.name: to_the_minute(d.due_at) for d in consulting.deadlines}
    # 22, 23, 24, 27, 28 July
    assert due["breach_measures"] == datetime(2026, 7, 28, 9, 0, tzinfo=JST)
    assert "breach_consultation" not in due
    clock.now = datetime(2026, 7, 28, 9, 30, tzinfo=JST)
    (running,) = app.registers().overdue(running=True)
    assert (running.reference, running.deadline) == (reference, "breach_measures")
    app.act(reference, "record_measures", actor=CHIEF, fields={"measures": "Copies wiped"})
    (late,) = app.registers().overdue()
    assert late.deadline == "breach_measures"
    assert to_the_minute(late.done_at or late.due_at) == datetime(2026, 7, 28, 9, 30, tzinfo=JST)


def test_a_breach_not_consulted_on_the_next_business_day_is_overdue(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    reference = active_entrustment(app)
    clock.now = datetime(2026, 7, 17, 10, 0, tzinfo=JST)
    take(app, reference, Move("report_breach", STAFF, {"violation": "Copies kept"}))
    clock.now = datetime(2026, 7, 20, 12, 0, tzinfo=JST)  # Marine Day: not yet
    assert app.registers().overdue(running=True) == ()
    clock.now = datetime(2026, 7, 21, 10, 5, tzinfo=JST)
    (running,) = app.registers().overdue(running=True)
    assert running.deadline == "breach_consultation"
    assert running.label.ja == "契約抵触の協議(直ちに)"


# -- the vendor's written incident report (003 第14-2) -----------------------------------------


def test_the_vendors_written_report_of_an_incident_is_recorded_with_what_it_found(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    clock.now = at("2026-04-28T17:00")
    reference = file_incident(app).reference
    app.act(reference, "consult", actor=MANAGER)
    written = {
        "vendor_written_report_date": "2026-04-30",
        "vendor_findings": "The box was left in an unlocked van; 120 files; none found misused",
    }
    clock.now = at("2026-05-01T10:00")
    case = app.act(reference, "record_vendor_written_report", actor=STAFF, fields=written)
    assert case.state == "consulting"
    assert case.fields["vendor_written_report_date"] == "2026-04-30"
    # The contract sets no period for it: no clock asks for it.
    assert "vendor_written_report" not in {d.name for d in case.deadlines}
    with refused(app, NotAuthorized, "step.not_authorized", reference):
        app.act(reference, "record_vendor_written_report", actor=CHIEF, fields=written)
    own = file_incident(app, at_vendor="no").reference
    with refused(app, EvidenceMissing, "evidence.expected", own):
        app.act(own, "record_vendor_written_report", actor=STAFF, fields=written)
