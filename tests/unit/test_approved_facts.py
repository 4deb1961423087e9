"""What was approved is what happens: the facts an approval (承認) covers are frozen.

Seen before this rule: after the chief approved an entrustment (vendor, data items, work and
storage places), a staff member's `record_compliance_check --set vendor="Other Vendor Ltd"
--set data_items="…, My Number" --set storage_places="AWS Singapore"` was recorded and the
vendor register showed the new vendor; after the chief approved a provision to "Group insurer",
`record_provision --set recipient="Data Broker Inc (Singapore)" --set data_items="…, health
checkup results"` was recorded and `show` displayed the new recipient.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from approvals import ApprovalsApplication, InvalidValue, open_approvals
from approvals.audit.verify import verify_log
from approvals.definitions import load_directory, parse_definition
from approvals.domain.approved import items_of
from tests.conftest import CHIEF, MANAGER, STAFF, FakeClock, appoint_standard_roster
from tests.scenarios import PATHS, Move, happened, older_definition, refused, take, until

WORKFLOWS = load_directory()
CHECK = {"check_date": "2026-06-01"}


@pytest.fixture
def app(backend_url: str, clock: FakeClock) -> Iterator[ApprovalsApplication]:
    """The store on each real backend (a SQLite file, then PostgreSQL), standard roster."""
    application = open_approvals(backend_url, clock=clock, workflows=WORKFLOWS)
    appoint_standard_roster(application)
    yield application
    application.close()


def provision(app: ApprovalsApplication, ref: str, **fields: str) -> Any:
    move = next(m for m in PATHS["provision"] if m.trigger == "record_provision")
    return take(app, ref, Move("record_provision", STAFF, {**move.fields, **fields}))


# -- the entrustment ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "phrase"),
    [
        # approved on 6 April, the day of the site survey that ends the investigation
        ("vendor", "Other Vendor Ltd", "Vendor was approved (approve, 2026-04-06) as 'Shred"),
        ("data_items", "customer files, My Number", "names My Number, which the approval"),
        ("storage_places", "AWS Singapore", "or approved again by 'approve new work or storage"),
        ("work_places", "Anywhere", "Where the vendor works on the data was approved"),
        ("purpose", "Marketing", "Purpose of the entrustment was approved"),
    ],
)
def test_an_approved_entrustment_fact_cannot_be_given_again_by_a_later_step(
    app: ApprovalsApplication, field: str, value: str, phrase: str
) -> None:
    ref = until(app, "entrustment", "record_compliance_check")
    happened(app, "entrustment", CHECK)
    vendors = app.registers().vendors()
    code = "value.approved_items" if field == "data_items" else "value.approved"
    with refused(app, InvalidValue, code, ref) as caught:
        app.act(ref, "record_compliance_check", actor=STAFF, fields={**CHECK, field: value})
    assert phrase in str(caught.value)
    assert "承認" in caught.value.render("ja")
    assert app.registers().vendors() == vendors
    assert app.case(ref).fields[field] != value


def test_the_approved_value_itself_may_be_recorded_again(app: ApprovalsApplication) -> None:
    ref = until(app, "entrustment", "record_compliance_check")
    happened(app, "entrustment", CHECK)
    same = {**CHECK, "vendor": "  shred & scan LTD. ", "data_items": "Customer files"}
    app.act(ref, "record_compliance_check", actor=STAFF, fields=same)


def test_new_places_are_approved_again_by_the_chief_and_then_frozen_as_approved(
    app: ApprovalsApplication,
) -> None:
    ref = until(app, "entrustment", "record_compliance_check")
    happened(app, "entrustment", CHECK)
    old = app.case(ref).fields["storage_places"]
    places = {"work_places": "Scanning room, Osaka", "storage_places": "Kobe DC"}
    app.act(ref, "approve_places", actor=CHIEF, comment="Moved to the new DC", fields=places)
    assert app.case(ref).fields["storage_places"] == "Kobe DC"
    with pytest.raises(InvalidValue, match="approve new work or storage places, 2026"):
        app.act(ref, "record_compliance_check", actor=STAFF,
                fields={**CHECK, "storage_places": old})  # fmt: skip


def test_before_the_approval_the_facts_may_still_change(app: ApprovalsApplication) -> None:
    ref = until(app, "entrustment", "consult")
    consult = next(m for m in PATHS["entrustment"] if m.trigger == "consult")
    app.act(ref, "consult", actor=MANAGER, fields={**consult.fields, "vendor": "Better Vendor"},
            checklist=consult.checklist)  # fmt: skip
    assert app.case(ref).fields["vendor"] == "Better Vendor"


# -- the provision -----------------------------------------------------------------------------


def test_a_provision_recorded_to_another_recipient_is_refused(app: ApprovalsApplication) -> None:
    ref = until(app, "provision", "record_provision")
    with refused(app, InvalidValue, "value.approved", ref) as caught:
        provision(app, ref, recipient="Data Broker Inc (Singapore)")
    assert "Recipient was approved (approve, 2026-04-01) as 'Group insurer'" in str(caught.value)
    assert app.case(ref).fields["recipient"] == "Group insurer"


def test_a_provision_of_items_not_approved_is_refused_and_fewer_are_kept(
    app: ApprovalsApplication,
) -> None:
    ref = until(app, "provision", "record_provision")
    with pytest.raises(InvalidValue, match="names health checkup results, which the approval"):
        provision(app, ref, data_items="name, policy number, health checkup results")
    provision(app, ref, data_items="name")  # some of the items approved
    assert [e.data_items for e in app.registers().provisions()] == ["name"]


# -- the rule's parts --------------------------------------------------------------------------


def test_items_are_compared_without_case_spacing_or_separator() -> None:
    assert set(items_of("name, e-mail")) == set(items_of("E-Mail、 Name"))
    assert set(items_of("name;\naddress")) == {"name", "address"}
    assert list(items_of("Name, My  Number").values()) == ["Name", "My  Number"]


def test_every_approval_of_an_action_names_what_it_approves() -> None:
    """Each workflow whose chief approves an action (承認) says which facts the approval covers:
    at least the facts of the notice that describe the action."""
    for workflow in WORKFLOWS.values():
        approving = [s for s in workflow.steps.values() if s.trigger == "approve"]
        for step in approving:
            assert step.approves, workflow.id
            assert set(step.approves) <= set(workflow.fields)
            assert "data_items" in step.approves, workflow.id


def test_only_the_chief_approves_facts() -> None:
    source = (Path(__file__).parents[2] / "workflows" / "purpose.toml").read_text("utf-8")
    step = 'trigger = "consult"\nfrom = "notified"\nto = "consulting"\nrole = "manager"\n'
    broken = source.replace(step, step + 'approves = ["purpose"]\n')
    assert broken != source
    with pytest.raises(Exception, match="is for the chief's approval"):
        parse_definition(broken, "purpose.toml")


# -- the audit's replay ------------------------------------------------------------------------


def test_verify_flags_a_changed_approved_fact_in_a_store_written_without_the_rule(
    backend_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = {
        **WORKFLOWS,
        "entrustment": older_definition("entrustment", "approves = ", "items = true"),
        "provision": older_definition("provision", "approves = ", "items = true"),
    }
    app = open_approvals(backend_url, clock=clock, workflows=old)
    try:
        appoint_standard_roster(app)
        entrusted = until(app, "entrustment", "record_compliance_check")
        take(app, entrusted, Move("record_compliance_check", STAFF,
                                  {**CHECK, "vendor": "Other Vendor Ltd"}))  # fmt: skip
        # Filed on 1 June, after the check: provided on the day it is approved.
        provided = until(app, "provision", "record_provision", today=True)
        provision(app, provided, recipient="Data Broker Inc (Singapore)",
                  provision_date=app.now().date().isoformat())  # fmt: skip
    finally:
        app.close()
    app = open_approvals(backend_url, clock=clock, workflows=WORKFLOWS)
    try:
        # the running cases keep the definition they started with
        assert app.workflow_of(entrusted).version == WORKFLOWS["entrustment"].version - 1
        app.act(entrusted, "record_compliance_check", actor=STAFF,
                fields={**CHECK, "vendor": "Third Vendor"})  # fmt: skip
        findings = [f for f in verify_log(app).findings if f.code == "rule"]
        said = [(f.subject, str(f.message)) for f in findings]
        assert any(
            s == entrusted and "recorded Vendor as 'Other Vendor Ltd'" in m for s, m in said
        ), said
        assert any(s == entrusted and "'Third Vendor'" in m for s, m in said), said
        assert any(
            s == provided and "Recipient as 'Data Broker Inc (Singapore)'" in m for s, m in said
        ), said
        # a new case runs on the new definition: the rule holds at the door
        fresh = until(app, "entrustment", "record_compliance_check", today=True)
        with pytest.raises(InvalidValue):
            app.act(fresh, "record_compliance_check", actor=STAFF,
                    fields={**CHECK, "vendor": "Other Vendor Ltd"})  # fmt: skip
    finally:
        app.close()
