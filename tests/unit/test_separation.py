"""Separation of duties that cannot be walked around (Art.3, 4-3, 20, 21).

One person takes at most one of the notice (届け出), the consultation (協議) and the approval
(承認) on a case, whatever roles they hold; the audit officer holds no other role while audit
officer, and nobody appoints themselves.  Each "seen" walk-around is refused at the door, and
``audit verify`` names it in a store written without these rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from approvals import (
    JST,
    ApprovalsApplication,
    NotAuthorized,
    RosterRefused,
    open_approvals,
)
from approvals.audit.verify import verify_log
from approvals.definitions import load_directory
from approvals.domain import guards
from approvals.domain import roster as roster_module
from approvals.domain.case import Case
from approvals.domain.roster import Roster
from approvals.domain.workflow import ROLES, Step, Workflow
from approvals.errors import ApprovalsError
from tests.conftest import (
    AUDITOR,
    CHIEF,
    MANAGER,
    REPRESENTATIVE,
    STAFF,
    FakeClock,
    appoint_standard_roster,
)
from tests.scenarios import FILINGS
from tests.unit.test_refusals import refused

SECOND_CHIEF = "kato"
"""A second chief, appointed by the representative: the one who may make the chief a manager."""


@pytest.fixture
def stored(backend_url: str, workflows: dict[str, Any]) -> Iterator[ApprovalsApplication]:
    """approvals with the standard roster on a real database (SQLite file, then PostgreSQL)."""
    clock = FakeClock(datetime(2026, 4, 1, 9, 0, tzinfo=JST))
    application = open_approvals(backend_url, clock=clock, workflows=workflows)
    appoint_standard_roster(application)
    yield application
    application.close()


def file_purpose(app: ApprovalsApplication, actor: str = STAFF) -> str:
    return app.file(
        "purpose", actor=actor, title="Newsletter", department="sales", fields=FILINGS["purpose"]
    ).reference


# -- the walk-arounds seen, each refused -------------------------------------------------------


def test_the_chief_cannot_make_himself_manager_nor_consult_and_approve_one_case(
    stored: ApprovalsApplication,
) -> None:
    app = stored
    with refused(app, RosterRefused, CHIEF, "cannot appoint themselves"):
        app.appoint(actor=CHIEF, user=CHIEF, role="manager", department="sales")
    # Made a manager by another chief, he holds both roles; still one duty per case.
    app.appoint(actor=REPRESENTATIVE, user=SECOND_CHIEF, role="chief")
    app.appoint(actor=SECOND_CHIEF, user=CHIEF, role="manager", department="sales")
    ref = file_purpose(app)
    app.act(ref, "consult", actor=CHIEF)
    with refused(app, NotAuthorized, CHIEF, "consultation", "approval", "another"):
        app.act(ref, "approve", actor=CHIEF)
    app.act(ref, "approve", actor=SECOND_CHIEF)
    assert app.case(ref).state == "approved"


def test_the_representative_cannot_appoint_himself_chief(stored: ApprovalsApplication) -> None:
    with refused(stored, RosterRefused, REPRESENTATIVE, "cannot appoint themselves"):
        stored.appoint(actor=REPRESENTATIVE, user=REPRESENTATIVE, role="chief")
    assert not any(a.user == REPRESENTATIVE and a.role == "chief" for a in stored.roster())


def test_the_audit_officer_cannot_be_made_a_manager_nor_consult(
    stored: ApprovalsApplication,
) -> None:
    with refused(stored, RosterRefused, AUDITOR, "audit officer", "manager"):
        stored.appoint(actor=CHIEF, user=AUDITOR, role="manager", department="sales")
    ref = file_purpose(stored)
    with refused(stored, NotAuthorized, AUDITOR, "audit officer acts on nothing"):
        stored.act(ref, "consult", actor=AUDITOR)


def test_the_audit_officer_cannot_be_made_staff_nor_file(stored: ApprovalsApplication) -> None:
    with refused(stored, RosterRefused, AUDITOR, "audit officer", "staff"):
        stored.appoint(actor=MANAGER, user=AUDITOR, role="staff", department="sales")
    with refused(stored, NotAuthorized, AUDITOR):
        file_purpose(stored, actor=AUDITOR)


def test_nobody_holding_a_role_is_made_the_audit_officer(stored: ApprovalsApplication) -> None:
    for person in (MANAGER, STAFF):
        with refused(stored, RosterRefused, person, "audit officer"):
            stored.appoint(actor=REPRESENTATIVE, user=person, role="auditor")
    stored.appoint(actor=REPRESENTATIVE, user="ogawa", role="representative")
    with refused(stored, RosterRefused, "ogawa", "audit officer"):
        stored.appoint(actor=REPRESENTATIVE, user="ogawa", role="auditor")
    with refused(stored, RosterRefused, AUDITOR, "audit officer"):
        stored.appoint(actor=REPRESENTATIVE, user=AUDITOR, role="representative")


@pytest.mark.parametrize(
    ("actor", "role", "department"),
    [
        (REPRESENTATIVE, "chief", ""),
        (REPRESENTATIVE, "auditor", ""),
        (CHIEF, "manager", "hr"),
        (CHIEF, "staff", "sales"),
        (MANAGER, "staff", "sales"),
        (MANAGER, "handler", "sales"),
    ],
)
def test_nobody_appoints_themselves(
    app: ApprovalsApplication, actor: str, role: str, department: str
) -> None:
    with refused(app, RosterRefused, actor, "cannot appoint themselves"):
        app.appoint(actor=actor, user=actor, role=role, department=department)


def test_a_chief_who_returned_a_case_does_not_consult_on_it(app: ApprovalsApplication) -> None:
    app.appoint(actor=REPRESENTATIVE, user=SECOND_CHIEF, role="chief")
    app.appoint(actor=SECOND_CHIEF, user=CHIEF, role="manager", department="sales")
    ref = file_purpose(app)
    app.act(ref, "consult", actor=MANAGER)
    app.act(ref, "return", actor=CHIEF, comment="Name the retention period")
    app.act(ref, "resubmit", actor=STAFF)
    with refused(app, NotAuthorized, CHIEF, "approval", "consultation"):
        app.act(ref, "consult", actor=CHIEF)
    app.act(ref, "consult", actor=MANAGER)
    app.act(ref, "approve", actor=CHIEF)


# -- audit verify names each in a store written without the rules ----------------------------


def test_audit_verify_names_every_walk_around_in_a_store_written_without_the_rules(
    stored: ApprovalsApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = stored
    monkeypatch.setattr(roster_module, "appointment_conflict", lambda *a, **k: None)
    monkeypatch.setattr(guards, "separation_conflict", lambda *a, **k: None)
    app.appoint(actor=CHIEF, user=CHIEF, role="manager", department="sales")
    app.appoint(actor=REPRESENTATIVE, user=REPRESENTATIVE, role="chief")
    app.appoint(actor=CHIEF, user=AUDITOR, role="manager", department="sales")
    app.appoint(actor=MANAGER, user=AUDITOR, role="staff", department="sales")
    both = file_purpose(app)
    app.act(both, "consult", actor=CHIEF)
    app.act(both, "approve", actor=CHIEF)
    audited = file_purpose(app)
    app.act(audited, "consult", actor=AUDITOR)
    filed = app.file(
        "purpose", actor=AUDITOR, title="x", department="sales", fields=FILINGS["purpose"]
    ).reference
    monkeypatch.undo()
    report = verify_log(app)
    assert not report.ok
    messages = [(f.subject, f.message.en) for f in report.findings if f.code == "rule"]
    for f in report.findings:
        assert f.message.ja
        assert f.message.ja != f.message.en

    def named(subject: str, *phrases: str) -> bool:
        return any(s == subject and all(p in m for p in phrases) for s, m in messages)

    assert named("roster", CHIEF, "appointed themselves"), messages
    assert named("roster", REPRESENTATIVE, "appointed themselves"), messages
    assert named("roster", AUDITOR, "audit officer", "manager"), messages
    assert named("roster", AUDITOR, "audit officer", "staff"), messages
    assert named(both, CHIEF, "'approve'", "consultation"), messages
    assert named(audited, AUDITOR, "audit officer", "'consult'"), messages
    assert named(filed, AUDITOR, "audit officer", "'file'"), messages
    positions = [f.position for f in report.findings if f.code == "rule"]
    assert all(p is not None for p in positions)


def test_audit_verify_finds_nothing_in_a_store_written_with_the_rules(
    stored: ApprovalsApplication,
) -> None:
    app = stored
    app.appoint(actor=REPRESENTATIVE, user=SECOND_CHIEF, role="chief")
    app.appoint(actor=SECOND_CHIEF, user=CHIEF, role="manager", department="sales")
    ref = file_purpose(app)
    app.act(ref, "consult", actor=CHIEF)
    app.act(ref, "approve", actor=SECOND_CHIEF)
    report = verify_log(app)
    assert report.ok, report.findings


# -- the authorisation matrix: every workflow x step x role -----------------------------------

DEPARTMENT = "sales"
START = datetime(2026, 4, 1, 9, 0, tzinfo=JST)

# One person per role holding nothing else, and people holding several roles at once.
PEOPLE: dict[str, tuple[tuple[str, str], ...]] = {
    "rep": (("representative", ""),),
    "chief": (("chief", ""),),
    "auditor": (("auditor", ""),),
    "manager": (("manager", DEPARTMENT),),
    "hr_manager": (("manager", "hr"),),
    "staff": (("staff", DEPARTMENT),),
    "hr_staff": (("staff", "hr"),),
    "handler": (("handler", DEPARTMENT),),
    # staff, manager and chief at once: files, so may consult or approve nothing on the case
    "filer": (("staff", DEPARTMENT), ("manager", DEPARTMENT), ("chief", "")),
    # the chief who is also the department's manager
    "dual": (("chief", ""), ("manager", DEPARTMENT), ("staff", DEPARTMENT)),
}

# The duty a step of a role takes on a case: the regulation's consultation and approval.
DUTY = {"manager": "consultation", "chief": "approval"}


def matrix_roster() -> Roster:
    roster = Roster.establish(representative="rep", actor="rep", at=START)
    for person, terms in PEOPLE.items():
        for role, department in terms:
            if person != "rep":
                roster.appoint(
                    user=person, role=role, department=department, actor="x", actor_role="x",
                    at=START,
                )  # fmt: skip
    return roster


def holds(person: str, role: str) -> bool:
    return any(r == role and d in ("", DEPARTMENT) for r, d in PEOPLE[person])


def case_at(workflow: Workflow, step: Step, earlier: tuple[str, str] | None) -> Case:
    """A case filed by "filer" standing where ``step`` starts; ``earlier`` is a step (person,
    role) already taken on it."""
    case = Case.file(
        reference="X-2026-0001", workflow_id=workflow.id, workflow_version=workflow.version,
        workflow_sha256=workflow.sha256, title="t", department=DEPARTMENT, actor="filer",
        role=workflow.file_role, state=workflow.initial, fields={}, attachments=[], comment="",
        at=START + timedelta(hours=1),
    )  # fmt: skip
    if earlier is not None:
        person, role = earlier
        case.take(
            trigger="earlier", dest=workflow.initial, actor=person, role=role, comment="",
            fields={}, checklist=[], attachments=[], at=START + timedelta(hours=2),
        )  # fmt: skip
    case.state = step.source
    return case


def may_take(case: Case, workflow: Workflow, roster: Roster, step: Step, person: str) -> bool:
    try:
        guards.check_step(
            case, workflow, roster, actor=person, trigger=step.trigger, comment="", fields={},
            checklist=[], at=START + timedelta(hours=3),
        )  # fmt: skip
    except NotAuthorized:
        return False
    except ApprovalsError:
        return True  # authorised; refused later for evidence not given here
    return True


def expected(step: Step, earlier: tuple[str, str] | None) -> set[str]:
    """Who the definition lets take ``step``, less those who took another duty on the case."""
    taken: dict[str, set[str]] = {"filer": {"notice"}}
    if earlier is not None and earlier[1] in DUTY:
        taken.setdefault(earlier[0], set()).add(DUTY[earlier[1]])
    allowed = set()
    for person in PEOPLE:
        if not holds(person, step.role):
            continue
        if step.filer_only and person != "filer":
            continue
        duty = DUTY.get(step.role)
        if duty is not None and taken.get(person, set()) - {duty}:
            continue
        allowed.add(person)
    return allowed


DEFINITIONS = dict(load_directory())


@pytest.mark.parametrize("workflow_id", sorted(DEFINITIONS))
@pytest.mark.parametrize(
    "earlier",
    [None, ("dual", "manager"), ("dual", "chief"), ("dual", "staff")],
    ids=["filed", "dual-consulted", "dual-approved", "dual-recorded"],
)
def test_the_authorisation_matrix(workflow_id: str, earlier: tuple[str, str] | None) -> None:
    workflow = DEFINITIONS[workflow_id]
    roster = matrix_roster()
    roles_seen = set()
    for step in workflow.steps.values():
        case = case_at(workflow, step, earlier)
        allowed = {p for p in PEOPLE if may_take(case, workflow, roster, step, p)}
        assert allowed == expected(step, earlier), (workflow_id, step.source, step.trigger)
        roles_seen.add(step.role)
        # Every role: someone holding only another role never takes it; the auditor and the
        # representative take no step at all.
        for role in set(ROLES) - {step.role}:
            only = {p for p, terms in PEOPLE.items() if {r for r, _ in terms} == {role}}
            assert not allowed & only, (workflow_id, step.trigger, role)
        assert "auditor" not in allowed
        assert "rep" not in allowed
    assert roles_seen <= set(ROLES)
