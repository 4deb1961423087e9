"""Rules across cases (issue 17, part 3): a case checked against the cases it names, as they
stand at each step; the return or erasure an ended entrustment owes; a data subject's refusal
of provision (Art.19) against later provisions.  Each 'Seen' of the issue is one test, end to
end on every backend; then the same violations written with the rules switched off, which
``audit verify`` flags."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from approvals import JST, ApprovalsApplication, InvalidValue, open_approvals
from approvals.application import ApprovalsApplication as Engine
from approvals.audit.verify import verify_log
from approvals.definitions import load_directory
from tests.conftest import (
    CHIEF,
    HR_STAFF,
    MANAGER,
    OTHER_MANAGER,
    OTHER_STAFF,
    STAFF,
    FakeClock,
    appoint_standard_roster,
)
from tests.scenarios import CLAUSES, FILINGS, INVESTIGATION, PATHS, Move, refused, take

DAY = "2026-04-01"
"""Every date recorded: the day the clock starts on, so that no date lies in the future."""
WORKFLOWS = load_directory()

SUBCONTRACT = {
    "request_date": DAY,
    "subcontractor": "Scan Sub Co.",
    "subcontractor_address": "1-2-3 Otemachi, Chiyoda-ku, Tokyo",
    "data_items": "customer files",
    "work": "scanning of paper files",
    "equivalent_obligations": "yes",
}


def _today(values: dict[str, Any]) -> dict[str, Any]:
    return {k: DAY if re.fullmatch(r"\d{4}-\d\d-\d\d", str(v)) else v for k, v in values.items()}


@pytest.fixture
def app(backend_url: str) -> Iterator[ApprovalsApplication]:
    clock = FakeClock(datetime(2026, 4, 1, 9, 0, tzinfo=JST))
    application = open_approvals(backend_url, clock=clock, workflows=WORKFLOWS)
    appoint_standard_roster(application)
    yield application
    application.close()


def rules_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Write as an engine without the rules across cases did."""
    monkeypatch.setattr(Engine, "_check_cross", lambda *args, **kwargs: None)


def entrustment(app: ApprovalsApplication, *, until: str = "hand_over") -> str:
    reference = app.file(
        "entrustment", actor=STAFF, title="Scanning", department="sales",
        fields=FILINGS["entrustment"],
    ).reference  # fmt: skip
    moves = [
        Move("record_investigation", MANAGER, _today(INVESTIGATION)),
        Move("draft_contract", MANAGER, checklist=CLAUSES),
        Move("consult", MANAGER),
        Move("approve", CHIEF),
        Move("conclude_basic_contract", MANAGER,
             {"basic_contract_date": DAY, "reports_yearly": "no"}),
        Move("conclude_individual_contract", MANAGER, {"individual_contract_date": DAY}),
        Move("hand_over", STAFF, {"handover_date": DAY}, ["written_notice"]),
    ]  # fmt: skip
    for move in moves:
        if move.trigger == until:
            break
        take(app, reference, move)
    if until == "hand_over":
        take(app, reference, moves[-1])
        assert app.case(reference).state == "active"
    return reference


def end_entrustment(app: ApprovalsApplication, reference: str) -> None:
    app.act(reference, "end_contract", actor=MANAGER,
            fields={"individual_contract_end_date": DAY})  # fmt: skip


def file_subcontract(
    app: ApprovalsApplication, entrusted: str, *, actor: str = STAFF, department: str = "sales",
    subcontractor: str = "Scan Sub Co.",
) -> str:  # fmt: skip
    return app.file(
        "subcontracting", actor=actor, title="Scanning subcontracted", department=department,
        fields={**SUBCONTRACT, "entrustment": entrusted, "subcontractor": subcontractor},
    ).reference  # fmt: skip


def consult_and_approve(app: ApprovalsApplication, reference: str, manager: str = MANAGER) -> None:
    app.act(reference, "consult", actor=manager, checklist=["sufficient_protection"])
    app.act(reference, "approve", actor=CHIEF)


def give_written_approval(app: ApprovalsApplication, reference: str) -> None:
    app.act(reference, "give_written_approval", actor=MANAGER,
            fields={"written_approval_date": DAY}, checklist=["written_approval"])  # fmt: skip


def stopped_provision(app: ApprovalsApplication, subject: str = "Yamada Taro") -> str:
    """A data subject's refusal of provision, complied with (Art.19)."""
    reference = app.file(
        "request", actor=STAFF, title="Stop giving my data to the insurer", department="sales",
        fields={"kind": "refusal_of_provision", "data_subject": subject, "received_on": DAY,
                "request_details": "Stop providing my data to third parties"},
    ).reference  # fmt: skip
    app.act(reference, "consult", actor=MANAGER, checklist=["identity_confirmed"])
    app.act(reference, "stop_provision", actor=CHIEF, checklist=["stopped_everywhere"],
            fields={"stopped_on": DAY, "answered_on": DAY})  # fmt: skip
    return reference


def provision_in_effect(app: ApprovalsApplication, subjects: str = "policy holders") -> str:
    reference = app.file(
        "provision", actor=STAFF, title="Claims data", department="sales",
        fields={**FILINGS["provision"], "data_subjects": subjects},
    ).reference  # fmt: skip
    for move in PATHS["provision"]:
        if move.trigger == "record_provision":
            break
        take(app, reference, Move(move.trigger, move.actor, _today(move.fields), move.checklist,
                                  move.comment))  # fmt: skip
    assert app.case(reference).state == "in_effect"
    return reference


def record_provision(
    app: ApprovalsApplication, reference: str, subjects: str, **extra: Any
) -> None:  # fmt: skip
    comment = extra.pop("comment", "")
    app.act(reference, "record_provision", actor=STAFF, comment=comment,
            fields={"provision_date": DAY, "data_subjects": subjects, **extra})  # fmt: skip


# -- the 'Seen' of the issue, each refused now -------------------------------------------------


def test_seen_a_subcontracting_approval_for_a_withdrawn_entrustment_is_refused(
    app: ApprovalsApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    pending = entrustment(app, until="consult")
    with refused(app, InvalidValue, "link.not_in_effect") as caught:
        file_subcontract(app, pending)
    assert "not in effect" in str(caught.value)
    assert pending in str(caught.value)
    assert "実施中ではありません" in caught.value.render("ja")
    # filed behind the engine's back, then the entrustment withdrawn: no step moves it on
    with monkeypatch.context() as patched:
        rules_off(patched)
        sub = file_subcontract(app, pending)
    app.act(pending, "withdraw", actor=STAFF, comment="Vendor chosen elsewhere")
    with refused(app, InvalidValue, "link.not_in_effect", sub) as caught:
        app.act(sub, "consult", actor=MANAGER, checklist=["sufficient_protection"])
    assert "withdrawn" in str(caught.value)
    app.act(sub, "withdraw", actor=STAFF)  # ending it is always allowed


def test_seen_a_subcontract_filed_and_consulted_by_another_department_is_refused(
    app: ApprovalsApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    entrusted = entrustment(app)  # of sales
    with refused(app, InvalidValue, "link.department") as caught:
        file_subcontract(app, entrusted, actor=HR_STAFF, department="hr")
    assert "a case of sales" in str(caught.value)
    with monkeypatch.context() as patched:
        rules_off(patched)
        sub = file_subcontract(app, entrusted, actor=HR_STAFF, department="hr")
    with refused(app, InvalidValue, "link.department", sub):
        app.act(sub, "consult", actor=OTHER_MANAGER, checklist=["sufficient_protection"])


def test_seen_subcontracts_are_no_longer_in_effect_once_the_entrustment_ended(
    app: ApprovalsApplication,
) -> None:
    entrusted = entrustment(app)
    running = file_subcontract(app, entrusted)
    consult_and_approve(app, running)
    give_written_approval(app, running)
    waiting = file_subcontract(app, entrusted, subcontractor="Archive KK")
    consult_and_approve(app, waiting)
    (entry,) = app.registers().vendors()
    assert (entry.subcontracts_in_effect, entry.subcontractors) == (1, ("Scan Sub Co.",))
    end_entrustment(app, entrusted)
    (entry,) = app.registers().vendors()
    assert (entry.subcontracts_approved, entry.subcontracts_in_effect) == (2, 0)
    assert entry.subcontractors == ()
    assert entry.ended_at is not None
    with refused(app, InvalidValue, "link.not_in_effect", waiting):
        give_written_approval(app, waiting)
    # its end is still recorded
    app.act(running, "end", actor=MANAGER, fields={"end_date": DAY})
    assert app.registers().projector.check() == ()


def test_seen_an_ended_entrustment_owes_return_or_erasure_until_an_erasure_case_closes(
    app: ApprovalsApplication,
) -> None:
    entrusted = entrustment(app)
    end_entrustment(app, entrusted)
    registers = app.registers()
    assert registers.overdue() == ()  # due the next business day
    app._clock.advance(days=3)  # type: ignore[attr-defined]
    (due,) = registers.overdue(running=True)
    assert (due.reference, due.deadline, due.done_at) == (entrusted, "return_or_erasure", None)
    assert "erasure" in due.label.en
    assert "返還又は廃棄" in due.label.ja
    (entry,) = registers.vendors()
    assert entry.erasure_overdue
    assert entry.erasure_done_at is None
    # the staff of the department, who may file the erasure case, are reminded of it
    reminded = app.reminders(actor=STAFF)
    assert [(r.reference, r.deadline, r.overdue) for r in reminded] == [
        (entrusted, "return_or_erasure", True)
    ]
    assert reminded[0].steps[0].en.startswith("file: ")
    assert not [r for r in app.reminders(actor=MANAGER) if r.deadline == "return_or_erasure"]
    erasure = app.file(
        "erasure", actor=STAFF, title="Erasure of the scanned files", department="sales",
        fields={"entrustment": entrusted, "work_ended_on": DAY, "instructed_method": "erasure"},
    ).reference  # fmt: skip
    assert entrusted in [d.reference for d in registers.overdue(running=True)]  # not yet
    app.act(erasure, "record_erasure", actor=OTHER_STAFF, checklist=["copies_included"],
            fields={"erased_on": DAY, "data_name": "customer files", "count": "120",
                    "method": "erasure"})  # fmt: skip
    app.act(erasure, "receive_certificate", actor=OTHER_STAFF,
            fields={"certificate_date": DAY}, checklist=["certificate_received"])  # fmt: skip
    app.act(erasure, "confirm", actor=MANAGER, checklist=["identifiable", "as_instructed"])
    assert [d for d in registers.overdue(running=True) if d.reference == entrusted] == []
    assert not [r for r in app.reminders(actor=STAFF) if r.deadline == "return_or_erasure"]
    (late,) = [d for d in registers.overdue() if d.reference == entrusted]
    assert (late.deadline, late.done_at is not None) == ("return_or_erasure", True)
    (entry,) = registers.vendors()
    assert (entry.erasure_overdue, entry.erasure_done_at) == (False, late.done_at)
    assert registers.projector.check() == ()
    registers.projector.rebuild()
    assert [d for d in registers.overdue() if d.reference == entrusted] == [late]


def test_seen_a_provision_naming_a_subject_who_refused_provision_is_refused_and_listed(
    app: ApprovalsApplication,
) -> None:
    request = stopped_provision(app, "Yamada Taro")
    with refused(app, InvalidValue, "link.provision_refused") as caught:
        app.file("provision", actor=STAFF, title="Claims data", department="sales",
                 fields={**FILINGS["provision"],
                         "data_subjects": "Suzuki Ichiro, Yamada Taro"})  # fmt: skip
    assert request in str(caught.value)
    assert "Yamada Taro" in str(caught.value)
    assert "第19条" in caught.value.render("ja")
    provided = provision_in_effect(app, "policy holders")
    with refused(app, InvalidValue, "link.provision_refused", provided):
        record_provision(app, provided, "Suzuki Ichiro、ｙａｍａｄａ　ｔａｒｏ")
    with refused(app, InvalidValue, "link.provision_refused", provided):  # no ground written
        record_provision(app, provided, "Yamada Taro", consent="law_permits")
    record_provision(app, provided, "Suzuki Ichiro")
    record_provision(app, provided, "Yamada Taro", consent="law_permits",
                     comment="Ordered by a court (APPI 27-1-1)")  # fmt: skip
    ledger = app.registers().provisions(subject="yamada taro")
    assert [(e.kind, e.reference, e.consent) for e in ledger] == [
        ("refusal", request, ""),
        ("provision", provided, "law_permits"),
    ]
    assert ledger[0].kind_label.ja == "第三者提供の停止(第19条)"
    assert app.registers().projector.check() == ()


def test_a_refusal_complied_with_in_a_hosts_unit_refuses_a_provision_in_the_same_unit(
    app: ApprovalsApplication,
) -> None:
    """The provision check asks the read models, which hold only what is committed; inside a
    host's unit it reads the log as the unit sees it, so a refusal complied with earlier in the
    same unit counts, and a provision naming someone else goes through."""
    with app.engine.begin() as connection, app.joined(connection):
        request = stopped_provision(app, "Sato Hanako")
        with pytest.raises(InvalidValue) as caught:
            app.file("provision", actor=STAFF, title="Claims data", department="sales",
                     fields={**FILINGS["provision"],
                             "data_subjects": "ｓａｔｏ　ｈａｎａｋｏ"})  # fmt: skip
        assert caught.value.code == "link.provision_refused"
        assert request in str(caught.value)
        app.file("provision", actor=STAFF, title="Claims data", department="sales",
                 fields={**FILINGS["provision"], "data_subjects": "Suzuki Ichiro"})  # fmt: skip
    with refused(app, InvalidValue, "link.provision_refused"):  # committed: the read model's
        app.file("provision", actor=STAFF, title="Claims data", department="sales",
                 fields={**FILINGS["provision"], "data_subjects": "Sato Hanako"})  # fmt: skip


# -- the same violations in a store written without the rules: audit verify flags them ---------


def test_verify_flags_each_cross_case_violation_written_without_the_rules(
    app: ApprovalsApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patched:
        rules_off(patched)
        pending = entrustment(app, until="consult")
        early = file_subcontract(app, pending)  # under an entrustment not in effect
        entrusted = entrustment(app)
        foreign = file_subcontract(app, entrusted, actor=HR_STAFF, department="hr")
        late = file_subcontract(app, entrusted)
        consult_and_approve(app, late)
        end_entrustment(app, entrusted)
        give_written_approval(app, late)  # after the entrustment ended
        request = stopped_provision(app)
        provided = provision_in_effect(app, "Yamada Taro")
        record_provision(app, provided, "Yamada Taro")
    said = [(f.subject, str(f.message)) for f in verify_log(app).findings if f.code == "rule"]
    assert any(s == early and "not in effect" in m for s, m in said), said
    assert any(s == foreign and "a case of sales" in m for s, m in said), said
    assert any(s == late and "not in effect" in m for s, m in said), said
    assert sum(1 for s, m in said if s == provided and request in m) == 2, said  # filing, record
    # the subcontract in effect on paper is not in effect in the register; the duty is listed
    (_, ended) = app.registers().vendors()
    assert (ended.reference, ended.subcontracts_in_effect) == (entrusted, 0)


def test_verify_is_silent_on_cases_that_kept_the_rules(app: ApprovalsApplication) -> None:
    entrusted = entrustment(app)
    sub = file_subcontract(app, entrusted)
    consult_and_approve(app, sub)
    give_written_approval(app, sub)
    end_entrustment(app, entrusted)  # after the subcontract's steps: those stay valid
    app.act(sub, "end", actor=MANAGER, fields={"end_date": DAY})
    stopped_provision(app)
    provided = provision_in_effect(app)
    record_provision(app, provided, "Yamada Taro", consent="law_permits",
                     comment="Disclosure ordered by a court")  # fmt: skip
    assert [f for f in verify_log(app).findings if f.code == "rule"] == []
