"""Joint use: the responsible party's address and representative announced (APPI Art.27-5(3)),
and a change of a running joint use approved again and notified (APPI Art.27-6).  A data
subject's request: a disclosure withheld in whole or in part only on a ground of APPI Art.33-2,
with the reasons notified (Art.33-3), and the disclosure of the provision records about the
person (Art.33-5), counted from the provision ledger."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from approvals import (
    ApprovalsApplication,
    EvidenceMissing,
    InvalidValue,
    NotAuthorized,
    StepNotAllowed,
    open_approvals,
)
from approvals.definitions import load_directory
from approvals.domain.disclosure import COUNT, REFERENCES, ProvisionRecord, records_disclosed
from tests.conftest import CHIEF, MANAGER, STAFF, FakeClock, appoint_standard_roster
from tests.scenarios import FILINGS, PATHS, Move, refused, take, walk

WORKFLOWS = load_directory()
ADDRESS = {
    "responsible_address": "1-1 Marunouchi, Chiyoda-ku, Tokyo",
    "responsible_representative": "Hanako Sato, President",
}

# -- joint use ---------------------------------------------------------------------------------


def joint_use(app: ApprovalsApplication, **fields: Any) -> str:
    filing = {**FILINGS["joint_use"], **fields}
    return app.file(
        "joint_use", actor=STAFF, title="Loyalty programme", department="sales", fields=filing
    ).reference


def in_joint_use(app: ApprovalsApplication) -> str:
    reference = joint_use(app)
    walk(app, reference, PATHS["joint_use"][:-1])
    assert app.case(reference).state == "in_effect"
    return reference


TODAY = "2026-04-15"  # the day the joint use was announced (PATHS), where the clock stands
CHANGE = Move("notify_change", STAFF, {"change_details": "Group Bank joins; new purpose"})
CONSULT_CHANGE = Move("consult_change", MANAGER)
NOTICE = Move(
    "record_change_measures",
    CHIEF,
    {"change_announced_on": "2026-06-01", "change_effective_on": "2026-07-01"},
    ["announce_change"],
)


def test_a_joint_use_is_approved_only_with_the_responsible_partys_address_and_representative(
    app: ApprovalsApplication,
) -> None:
    spec = WORKFLOWS["joint_use"]
    approve = spec.step("consulting", "approve")
    assert approve is not None
    assert {"responsible_address", "responsible_representative"} <= set(approve.approves)
    bare = {k: v for k, v in FILINGS["joint_use"].items() if k not in ADDRESS}
    reference = app.file(
        "joint_use", actor=STAFF, title="Loyalty programme", department="sales", fields=bare
    ).reference
    take(app, reference, Move("consult", MANAGER))
    with refused(app, EvidenceMissing, "evidence.fields", reference) as caught:
        take(app, reference, Move("approve", CHIEF))
    assert "Address of the responsible party" in str(caught.value)
    take(app, reference, Move("approve", CHIEF, ADDRESS))
    measures = PATHS["joint_use"][2]
    assert "announce_responsible_address" in measures.checklist
    without = [item for item in measures.checklist if item != "announce_responsible_address"]
    with refused(app, EvidenceMissing, "evidence.checklist", reference):
        take(app, reference, Move(measures.trigger, CHIEF, measures.fields, without))
    take(app, reference, measures)
    assert app.case(reference).state == "in_effect"


def test_a_change_of_a_joint_use_is_notified_consulted_approved_again_and_announced(
    app: ApprovalsApplication,
) -> None:
    reference = in_joint_use(app)
    with refused(app, InvalidValue, "value.approved", reference):
        app.act(reference, "end", actor=MANAGER, fields={"end_date": TODAY, "purpose": "Ads"})
    with refused(app, NotAuthorized, "step.not_authorized", reference):
        take(app, reference, Move("notify_change", MANAGER, CHANGE.fields))
    take(app, reference, CHANGE)
    assert [d.name for d in app.case(reference).deadlines] == ["change_consultation"]
    with refused(app, StepNotAllowed, "step.not_allowed", reference):
        take(app, reference, Move("approve_change", CHIEF))  # not before the consultation
    take(app, reference, CONSULT_CHANGE)
    new = {"joint_users": "Group companies and Group Bank", "purpose": "Shared loyalty and credit",
           "responsible_address": "2-2 Otemachi, Chiyoda-ku, Tokyo"}  # fmt: skip
    with refused(app, InvalidValue, "value.approved_items", reference):
        take(app, reference, Move("approve_change", CHIEF, {**new, "data_items": "income"}))
    take(app, reference, Move("approve_change", CHIEF, new))
    assert app.case(reference).state == "change_approved"
    with refused(app, EvidenceMissing, "evidence.checklist", reference):
        take(app, reference, Move(NOTICE.trigger, CHIEF, NOTICE.fields))
    take(app, reference, NOTICE)
    case = app.case(reference)
    assert case.state == "in_effect"
    assert {name: case.fields[name] for name in new} == new
    (row,) = app.registers().provisions(kind="joint_use")
    assert (row.reference, row.party, row.purpose) == (reference, new["joint_users"],
                                                       new["purpose"])  # fmt: skip
    # What the change approved is frozen in turn, until the next change approves it again.
    with refused(app, InvalidValue, "value.approved", reference):
        app.act(
            reference,
            "end",
            actor=MANAGER,
            fields={"end_date": "2026-07-01", "purpose": FILINGS["joint_use"]["purpose"]},
        )
    take(app, reference, Move("end", MANAGER, {"end_date": "2027-03-31"}))
    assert app.case(reference).state == "ended"


def test_a_change_is_announced_no_later_than_it_takes_effect_and_each_time_anew(
    app: ApprovalsApplication,
) -> None:
    reference = in_joint_use(app)
    walk(app, reference, [CHANGE, CONSULT_CHANGE, Move("approve_change", CHIEF)])
    late = {"change_announced_on": "2026-07-02", "change_effective_on": "2026-07-01"}
    with refused(app, InvalidValue, "value.order", reference):
        take(app, reference, Move(NOTICE.trigger, CHIEF, late, NOTICE.checklist))
    take(app, reference, NOTICE)
    # A second change records its own notice: the first one's dates do not stand for it.
    walk(app, reference, [CHANGE, CONSULT_CHANGE, Move("approve_change", CHIEF)])
    with refused(app, EvidenceMissing, "evidence.fresh", reference):
        take(app, reference, Move(NOTICE.trigger, CHIEF))
    # nor does its confirmation of the announcement: each change is announced anew
    second = {"change_announced_on": "2026-08-01", "change_effective_on": "2026-09-01"}
    step = next(s for s in app.case(reference).next_steps if s.trigger == NOTICE.trigger)
    assert step.missing_checklist == ("announce_change",)
    with refused(app, EvidenceMissing, "evidence.checklist", reference):
        take(app, reference, Move(NOTICE.trigger, CHIEF, second))
    take(app, reference, Move(NOTICE.trigger, CHIEF, second, NOTICE.checklist))


def test_a_change_may_be_dropped_or_rejected_and_the_joint_use_goes_on_unchanged(
    app: ApprovalsApplication,
) -> None:
    reference = in_joint_use(app)
    take(app, reference, CHANGE)
    with refused(app, EvidenceMissing, "evidence.comment", reference):
        take(app, reference, Move("drop_change", MANAGER))
    take(app, reference, Move("drop_change", MANAGER, comment="Not a change: same company"))
    walk(app, reference, [CHANGE, CONSULT_CHANGE])
    take(app, reference, Move("reject_change", CHIEF, comment="A new joint use: file it anew"))
    case = app.case(reference)
    assert case.state == "in_effect"
    assert case.fields["purpose"] == FILINGS["joint_use"]["purpose"]


# -- data subjects' requests: withheld in whole or in part (APPI Art.33-2, 33-3) --------------


def request(app: ApprovalsApplication, kind: str, subject: str = "Yamada Taro") -> str:
    reference = app.file(
        "request", actor=STAFF, title="Request by a customer", department="sales",
        fields={"kind": kind, "data_subject": subject, "received_on": "2026-04-01",
                "request_details": "What do you hold on me, and to whom did you give it?"},
    ).reference  # fmt: skip
    take(app, reference, Move("consult", MANAGER, checklist=["identity_confirmed"]))
    return reference


WITHHELD = {
    "withholding_ground": "harm_to_rights",
    "withholding_reasons": "The file names a third party whose safety is at stake",
    "reasons_notified_on": "2026-04-03",
}
DISCLOSED = {
    "wished_method": "email",
    "disclosed_on": "2026-04-03",
    "disclosure_method": "email",
    "data_held": True,
}


def test_a_disclosure_is_withheld_only_on_a_ground_of_the_law_with_the_reasons_notified(
    app: ApprovalsApplication,
) -> None:
    whole = request(app, "disclosure")
    with refused(app, EvidenceMissing, "evidence.fields", whole):
        take(app, whole, Move("withhold", CHIEF, {"withholding_ground": "harm_to_rights"}))
    with refused(app, InvalidValue, "value.choice", whole):
        take(app, whole, Move("withhold", CHIEF, {**WITHHELD, "withholding_ground": "too busy"}))
    with refused(app, InvalidValue, "value.order", whole):
        take(app, whole, Move("withhold", CHIEF, {**WITHHELD, "reasons_notified_on": "2026-03-31"}))
    with refused(app, NotAuthorized, "step.not_authorized", whole):
        take(app, whole, Move("withhold", MANAGER, WITHHELD))
    take(app, whole, Move("withhold", CHIEF, WITHHELD))
    assert app.case(whole).state == "withheld"

    part = request(app, "disclosure", "Suzuki Hanako")
    partly = {**DISCLOSED, **WITHHELD, "withheld_part": "The notes of the interview"}
    with refused(app, EvidenceMissing, "evidence.fields", part):
        take(app, part, Move("disclose_partly", CHIEF, {**DISCLOSED, **WITHHELD},
                             ["method_as_wished"]))  # fmt: skip
    take(app, part, Move("disclose_partly", CHIEF, partly, ["method_as_wished"]))
    assert app.case(part).state == "partly_disclosed"

    other = request(app, "correction", "Sato Ichiro")
    with refused(app, EvidenceMissing, "evidence.expected", other):
        take(app, other, Move("withhold", CHIEF, WITHHELD))  # only a disclosure is withheld
    assert {"withheld", "partly_disclosed"} <= set(WORKFLOWS["request"].retention.starts_on)


# -- the provision records about a person (APPI Art.33-5) --------------------------------------


@pytest.fixture
def store(backend_url: str, clock: FakeClock) -> Iterator[ApprovalsApplication]:
    application = open_approvals(backend_url, clock=clock, workflows=WORKFLOWS)
    appoint_standard_roster(application)
    yield application
    application.close()


def provision(app: ApprovalsApplication, recipient: str, subjects: list[str], on: str) -> str:
    reference = app.file(
        "provision", actor=STAFF, title=f"Data for {recipient}", department="sales",
        fields={**FILINGS["provision"], "recipient": recipient,
                "data_subjects": ", ".join(subjects)},
    ).reference  # fmt: skip
    moves = PATHS["provision"]
    walk(app, reference, moves[: [m.trigger for m in moves].index("record_provision")])
    record = Move("record_provision", STAFF, {
        "provision_date": on, "recipient": recipient, "data_subjects": "、".join(subjects),
        "data_items": "name, policy number", "consent": "obtained",
    })  # fmt: skip
    take(app, reference, record)
    return reference


RECORDS = Move(
    "disclose_records",
    CHIEF,
    {
        "wished_method": "in_writing",
        "disclosed_on": "2026-06-10",
        "disclosure_method": "in_writing",
    },
    ["records_method_as_wished"],
)


def test_the_provision_records_about_a_person_are_counted_from_the_ledger(
    store: ApprovalsApplication,
) -> None:
    insurer = provision(store, "Group insurer", ["Yamada Taro", "Suzuki Hanako"], "2026-05-10")
    bank = provision(store, "Group bank", ["ｙａｍａｄａ　ｔａｒｏ"], "2026-05-20")
    provision(store, "Group travel", ["Suzuki Hanako"], "2026-05-25")
    reference = request(store, "provision_records", "yamada  taro")
    with refused(store, InvalidValue, "value.from_ledger", reference):
        take(store, reference, Move(RECORDS.trigger, CHIEF, {**RECORDS.fields, COUNT: 0},
                                    RECORDS.checklist))  # fmt: skip
    with refused(store, EvidenceMissing, "evidence.expected", reference):
        take(store, reference, Move("disclose", CHIEF, DISCLOSED,
                                    ["all_data_disclosed", "method_as_wished"]))  # fmt: skip
    take(store, reference, RECORDS)
    case = store.case(reference)
    assert case.state == "disclosed"
    assert case.fields[COUNT] == 2
    lines = case.fields[REFERENCES].splitlines()
    assert [line.split("#")[0] for line in lines] == [insurer, bank]
    assert lines[0].endswith("2026-05-10 Group insurer")
    # What the step recorded stays as it was, whatever the ledger gains later.
    provision(store, "Group broker", ["Yamada Taro"], "2026-06-20")
    assert store.case(reference).fields[COUNT] == 2
    with refused(store, InvalidValue, "value.from_ledger"):
        store.file("request", actor=STAFF, title="Typed", department="sales",
                   fields={"kind": "provision_records", "data_subject": "Yamada Taro",
                           "received_on": "2026-04-01", "request_details": "records",
                           REFERENCES: "none"})  # fmt: skip


def test_a_person_no_provision_names_is_told_there_is_no_record(
    store: ApprovalsApplication,
) -> None:
    provision(store, "Group insurer", ["Suzuki Hanako"], "2026-05-10")
    reference = request(store, "provision_records", "Yamada Taro")
    take(store, reference, RECORDS)
    case = store.case(reference)
    assert (case.state, case.fields[COUNT], REFERENCES in case.fields) == ("disclosed", 0, False)


def test_the_provision_records_may_be_withheld_on_a_ground_of_the_law_only(
    app: ApprovalsApplication,
) -> None:
    reference = request(app, "provision_records")
    with refused(app, EvidenceMissing, "evidence.expected", reference):
        take(
            app,
            reference,
            Move("disclose_partly", CHIEF, {**DISCLOSED, **WITHHELD, "withheld_part": "all"}),
        )
    take(
        app,
        reference,
        Move("withhold_records", CHIEF, {**WITHHELD, "withholding_ground": "other_law"}),
    )
    assert app.case(reference).state == "withheld"
    assert COUNT not in app.case(reference).fields


def test_a_long_list_of_records_is_cut_with_the_number_left_out() -> None:
    records = [ProvisionRecord(f"PR-2026-{n:04d}", 5, None, "R" * 200) for n in range(200)]
    values = records_disclosed(records)
    assert values[COUNT] == 200
    assert len(values[REFERENCES]) <= 10_000
    assert values[REFERENCES].splitlines()[-1].startswith("… and ")
