"""Nothing a user types can break a store: every kind of value, every name, every text has
bounds it must meet before anything is written, and what is written can always be read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvals import (
    ApprovalsApplication,
    ApprovalsError,
    Document,
    InvalidValue,
    open_approvals,
)
from approvals.domain.guards import normalise_value
from approvals.domain.workflow import FieldSpec
from approvals.errors import Label
from tests.conftest import CHIEF, MANAGER, REPRESENTATIVE, STAFF, appoint_standard_roster
from tests.scenarios import FILINGS, PATHS, happened, reads, until

REQUEST = {
    "kind": "disclosure",
    "data_subject": "Hanako Yamada",
    "received_on": "2026-04-24",
    "request_details": "Everything the company holds on her",
    "wished_method": "in_writing",
}
INCIDENT = {"known_at": "2026-03-31T10:00", "description": "A laptop was lost", "at_vendor": "no"}
COUNT = FieldSpec("count", Label("Count", "件数"), "int")


@contextmanager
def refused(app: ApprovalsApplication, *phrases: str) -> Iterator[None]:
    """Expect an InvalidValue whose one-line English sentence holds every phrase, a Japanese
    sentence, and no event written."""
    before = app.recorder.max_notification_id()
    cases = app.references()
    with pytest.raises(InvalidValue) as caught:
        yield
    message = str(caught.value)
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in {message!r}"
    assert "\n" not in message
    assert "\x00" not in message
    assert len(message) < 400
    assert caught.value.render("ja") != message
    assert app.recorder.max_notification_id() == before
    assert app.references() == cases


# -- dates a deadline runs from ----------------------------------------------------------------

FAR = "9999-12-31"


@pytest.mark.parametrize(
    ("trigger", "fields", "label"),
    [
        ("inspect", {"inspection_date": FAR, "inspection_findings": "OK"}, "Inspected on"),
        ("end_contract", {"individual_contract_end_date": FAR}, "Individual contract ended on"),
        ("hand_over", {"handover_date": FAR}, "Data handed over on"),
    ],
)
def test_a_date_beyond_2200_given_to_a_step_is_refused_and_every_read_still_works(
    app: ApprovalsApplication, trigger: str, fields: dict[str, str], label: str
) -> None:
    ref = until(app, "entrustment", trigger)
    move = next(m for m in PATHS["entrustment"] if m.trigger == trigger)
    with refused(app, label, "between 1900-01-01 and 2200-12-31", f"{FAR} was given"):
        app.act(ref, trigger, actor=move.actor, fields=fields, checklist=move.checklist)
    reads(app)


def test_a_vendor_report_dated_in_year_9999_is_refused(app: ApprovalsApplication) -> None:
    ref = until(app, "entrustment", "record_compliance_check")
    fields = {"vendor_report_date": FAR, "vendor_report_summary": "Safeguards in place"}
    with refused(app, "between 1900-01-01 and 2200-12-31"):
        app.act(ref, "record_vendor_report", actor=STAFF, fields=fields)
    reads(app)


@pytest.mark.parametrize("day", [FAR, "1899-12-31", "0001-01-01", "2201-01-01"])
def test_a_request_received_out_of_range_is_refused_when_filed(
    app: ApprovalsApplication, day: str
) -> None:
    with refused(app, "Request received on", "between 1900-01-01 and 2200-12-31", day):
        app.file("request", actor=STAFF, title="A request", department="sales",
                 fields={**REQUEST, "received_on": day})  # fmt: skip
    reads(app)


@pytest.mark.parametrize(
    "moment", ["9999-12-31T23:00-12:00", "0001-01-01T00:00+09:00", "2201-01-01T00:00"]
)
def test_a_moment_out_of_range_is_refused_without_an_overflow(
    app: ApprovalsApplication, moment: str
) -> None:
    with refused(app, "a date and time between 1900-01-01 and 2200-12-31", moment):
        app.file("incident", actor=STAFF, title="Lost laptop", department="sales",
                 fields={**INCIDENT, "known_at": moment})  # fmt: skip


def test_the_error_reads_in_japanese(app: ApprovalsApplication) -> None:
    with pytest.raises(InvalidValue) as caught:
        app.file("request", actor=STAFF, title="A request", department="sales",
                 fields={**REQUEST, "received_on": FAR})  # fmt: skip
    assert str(caught.value) == (
        "Request received on must be a date between 1900-01-01 and 2200-12-31; "
        "9999-12-31 was given."
    )
    assert caught.value.render("ja") == (
        "請求の受付日 は 1900-01-01 から 2200-12-31 までの日付で入力してください。"
        "9999-12-31 は受け付けません。"
    )


def test_after_the_latest_date_allowed_everything_still_reads(app: ApprovalsApplication) -> None:
    ref = until(app, "entrustment", "inspect")
    happened(app, "entrustment", {"inspection_date": "2200-12-31"})  # the last day there is
    app.act(ref, "inspect", actor=MANAGER,
            fields={"inspection_date": "2200-12-31", "inspection_findings": "OK"})  # fmt: skip
    app.act(ref, "end_contract", actor=MANAGER,
            fields={"individual_contract_end_date": "2200-12-31"})  # fmt: skip
    app.file("request", actor=STAFF, title="A request", department="sales",
             fields={**REQUEST, "received_on": "2200-12-31"})  # fmt: skip
    reads(app)
    assert app.retention().item(ref).retained_until == date(2207, 12, 31)  # seven years on
    assert app.retention().due() == ()


# -- whole numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["²", "--5", "٣²", "5" * 5000, "1e3", " 1_000", "+5", "0x10"])
def test_a_whole_number_in_anything_but_ascii_digits_is_refused(value: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalise_value(COUNT, value)
    assert "Count must be a whole number" in str(caught.value)
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize(
    "value",
    [10**12 + 1, -(10**12) - 1, "1000000000001", "9" * 20, 10**5000, -(10**5000)],
    ids=["trillion+1", "-trillion-1", "text", "20 nines", "5001 digits", "-5001 digits"],
)
def test_a_whole_number_beyond_a_trillion_is_refused(value: Any) -> None:
    with pytest.raises(InvalidValue, match="between -1,000,000,000,000 and 1,000,000,000,000"):
        normalise_value(COUNT, value)


@pytest.mark.parametrize(
    ("value", "clean"), [("120", 120), ("-5", -5), ("007", 7), (10**12, 10**12)]
)
def test_whole_numbers_in_range_are_kept(value: Any, clean: int) -> None:
    assert normalise_value(COUNT, value) == clean


def test_a_whole_number_field_given_superscripts_through_the_library_is_refused(
    app: ApprovalsApplication,
) -> None:
    with refused(app, "③ Number of individuals", "digits 0-9"):
        app.file("incident", actor=STAFF, title="Lost laptop", department="sales",
                 fields={**INCIDENT, "individuals_count": "٣²"})  # fmt: skip


# -- text, titles, names -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "phrase"),
    [
        ("A\x00title", "control characters"),
        ("A\ud800title", "lone surrogate"),
        ("Two\nlines", "control characters"),
        ("x" * 201, "at most 200 characters"),
    ],
)
def test_a_title_with_a_control_character_or_too_long_is_refused(
    app: ApprovalsApplication, title: str, phrase: str
) -> None:
    with refused(app, "The title", phrase):
        app.file("purpose", actor=STAFF, title=title, department="sales",
                 fields=FILINGS["purpose"])  # fmt: skip


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        ("a\x00b", "control characters other than line breaks and tabs"),
        ("a\x1bb", "control characters other than line breaks and tabs"),
        ("a\udfffb", "lone surrogate"),
        ("x" * 10_001, "at most 10,000 characters"),
    ],
)
def test_free_text_is_unicode_without_control_characters_and_bounded(
    app: ApprovalsApplication, value: str, phrase: str
) -> None:
    with refused(app, "Purpose", phrase):
        app.file("purpose", actor=STAFF, title="t", department="sales",
                 fields={**FILINGS["purpose"], "purpose": value})  # fmt: skip
    with refused(app, "The comment", phrase):
        app.file("purpose", actor=STAFF, title="t", department="sales",
                 fields=FILINGS["purpose"], comment=value)  # fmt: skip
    ref = app.file("purpose", actor=STAFF, title="t", department="sales",
                   fields=FILINGS["purpose"]).reference  # fmt: skip
    with refused(app, "The comment", phrase):
        app.act(ref, "consult", actor=MANAGER, comment=value)


def test_text_keeps_newlines_tabs_and_japanese(app: ApprovalsApplication) -> None:
    text = "顧客への案内\r\n\t氏名、メールアドレス"
    case = app.file("purpose", actor=STAFF, title="ニュースレター 配信", department="sales",
                    fields={**FILINGS["purpose"], "purpose": text}, comment=text)  # fmt: skip
    assert case.fields["purpose"] == text
    reads(app)


@pytest.mark.parametrize(
    ("name", "phrase"),
    [
        ("sato\x00", "control characters"),
        ("sa\ud800to", "lone surrogate"),
        ("sa\nto", "control characters"),
        ("   ", "must not be empty"),
        (" sato", "must not begin or end with a space"),
        ("x" * 101, "at most 100 characters"),
    ],
)
def test_a_persons_name_that_cannot_be_a_name_is_refused(
    app: ApprovalsApplication, name: str, phrase: str
) -> None:
    with refused(app, "The person's name", phrase):
        app.appoint(actor=MANAGER, user=name, role="staff", department="sales")
    with refused(app, "The department", phrase):
        app.appoint(actor=CHIEF, user="ito", role="manager", department=name)


@pytest.mark.parametrize("department", ["sa\x00les", "sa\ud800les", "sa\tles", "x" * 101, " "])
def test_a_department_filed_for_that_cannot_be_a_name_is_refused(
    app: ApprovalsApplication, department: str
) -> None:
    with refused(app, "The department"):
        app.file("purpose", actor=STAFF, title="t", department=department,
                 fields=FILINGS["purpose"])  # fmt: skip


def test_japanese_and_long_valid_names_are_kept(app: ApprovalsApplication) -> None:
    app.appoint(actor=MANAGER, user="佐藤 花子", role="staff", department="sales")
    app.appoint(actor=CHIEF, user="x" * 100, role="manager", department="営業部")
    assert {term.user for term in app.roster()} >= {"佐藤 花子", "x" * 100}


def test_a_representative_with_a_nul_in_the_name_is_refused(clock: Any, workflows: Any) -> None:
    app = open_approvals("sqlite://", clock=clock, workflows=workflows)
    try:
        with refused(app, "The person's name", "control characters"):
            app.establish_roster("boss\x00")
        assert app.roster() == ()
    finally:
        app.close()


def test_a_document_name_with_a_nul_is_refused(app: ApprovalsApplication) -> None:
    with refused(app, "The document's name", "control characters"):
        app.file("purpose", actor=STAFF, title="t", department="sales", fields=FILINGS["purpose"],
                 attachments=[Document.of("a\x00.pdf", b"x")])  # fmt: skip


# -- on a real backend -------------------------------------------------------------------------


def test_a_nul_in_a_title_or_a_name_is_refused_on_every_backend(
    backend_url: str, clock: Any, workflows: Any
) -> None:
    app = open_approvals(backend_url, clock=clock, workflows=workflows)
    try:
        appoint_standard_roster(app)
        app.file("purpose", actor=STAFF, title="Before", department="sales",
                 fields=FILINGS["purpose"])  # fmt: skip
        with refused(app, "The title", "control characters"):
            app.file("purpose", actor=STAFF, title="Bad\x00title", department="sales",
                     fields=FILINGS["purpose"])  # fmt: skip
        with refused(app, "The person's name", "control characters"):
            app.appoint(actor=MANAGER, user="nul\x00man", role="staff", department="sales")
        with refused(app, "Purpose", "control characters"):
            app.file("purpose", actor=STAFF, title="t", department="sales",
                     fields={**FILINGS["purpose"], "purpose": "\x00"})  # fmt: skip
        reads(app)
        assert [item.reference for item in app.inbox(MANAGER)]
    finally:
        app.close()


# -- whatever is typed -------------------------------------------------------------------------

TYPED = st.text(st.characters(exclude_categories=()), max_size=30) | st.sampled_from(
    ["9999-12-31", "2200-12-31", "²", "--5", "٣²", "5" * 5000, "\x00", "\ud800", "1"]
)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(typed=st.tuples(TYPED, TYPED, TYPED, TYPED, TYPED))
def test_anything_typed_is_either_kept_and_readable_or_refused_with_nothing_written(
    app: ApprovalsApplication, typed: tuple[str, str, str, str, str]
) -> None:
    title, comment, purpose, count, day = typed
    attempts: list[Callable[[], object]] = [
        lambda: app.file("purpose", actor=STAFF, title=title, department="sales",
                         fields={**FILINGS["purpose"], "purpose": purpose}, comment=comment),
        lambda: app.file("incident", actor=STAFF, title="Lost laptop", department="sales",
                         fields={**INCIDENT, "individuals_count": count}),
        lambda: app.file("request", actor=STAFF, title="A request", department="sales",
                         fields={**REQUEST, "received_on": day}),
        lambda: app.appoint(actor=REPRESENTATIVE, user=title, role="auditor"),
    ]  # fmt: skip
    for attempt in attempts:
        before = app.recorder.max_notification_id()
        try:
            attempt()
        except ApprovalsError:
            assert app.recorder.max_notification_id() == before
    reads(app)


# -- references typed to find a case -----------------------------------------------------------


@pytest.mark.parametrize(
    "reference",
    ["PUR-2026-0001\x00", "PUR-2026-\udcff", "\x1b[2J", "P" * 5000, "PUR-２０２６-0001"],
)
def test_a_reference_no_case_can_have_is_not_found_and_shown_escaped(
    app: ApprovalsApplication, reference: str
) -> None:
    app.file("purpose", actor=STAFF, title="t", department="sales", fields=FILINGS["purpose"])
    for read in (app.case, app.history, app.workflow_of, lambda r: app.retention().item(r)):
        with pytest.raises(ApprovalsError) as caught:
            read(reference)
        message = str(caught.value)
        assert message.startswith("No case has the reference"), message
        assert "\x00" not in message
        assert "\x1b" not in message
        assert "\udcff" not in message
        assert len(message) < 200
    with pytest.raises(ApprovalsError):
        app.act(reference, "consult", actor=MANAGER)
