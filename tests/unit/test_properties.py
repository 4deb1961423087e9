"""Random command sequences by random people: whatever happens, the rules hold."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from approvals import ApprovalsApplication, ApprovalsError, open_approvals
from approvals.definitions import load_directory
from approvals.domain.roster import ROSTER_ID, Roster
from approvals.domain.workflow import FieldSpec, Step, Workflow
from tests.conftest import (
    AUDITOR,
    CHIEF,
    HANDLER,
    HR_STAFF,
    MANAGER,
    OTHER_MANAGER,
    OTHER_STAFF,
    REPRESENTATIVE,
    STAFF,
    FakeClock,
    appoint_standard_roster,
)
from tests.scenarios import FILINGS

WORKFLOWS = load_directory()
PEOPLE = [REPRESENTATIVE, CHIEF, AUDITOR, MANAGER, OTHER_MANAGER, STAFF, OTHER_STAFF, HR_STAFF,
          HANDLER, "stranger"]  # fmt: skip
TRIGGERS = sorted({trigger for w in WORKFLOWS.values() for trigger in w.triggers})
VALUES = {"text": "recorded", "date": "2026-05-01", "bool": True, "int": 3,
          "datetime": "2026-03-31T09:00"}  # fmt: skip


def value(app: ApprovalsApplication, spec: FieldSpec, references: list[str]) -> Any:
    """A valid value of the field ``spec``; for a case link, a case of its workflow if any."""
    if spec.kind == "choice":
        return spec.choices[0]
    if spec.kind == "case":
        linked = [r for r in references if app.workflow_of(r).id == spec.workflow]
        return linked[0] if linked else f"{WORKFLOWS[spec.workflow].prefix}-2026-0001"
    return VALUES[spec.kind]


def evidence(
    app: ApprovalsApplication, workflow: Workflow, step: Step, references: list[str]
) -> tuple[dict[str, Any], list[str]]:
    """Everything ``step`` asks for, with valid values."""
    fields = {name: value(app, workflow.fields[name], references) for name in step.fields}
    fields.update(step.expect)
    return fields, list(step.checklist)


def filing(app: ApprovalsApplication, workflow: Workflow, references: list[str]) -> dict[str, Any]:
    """The sample company's filing, or (for a workflow it has none of) valid values."""
    if workflow.id in FILINGS:
        return dict(FILINGS[workflow.id])
    return {n: value(app, workflow.fields[n], references) for n in workflow.file_fields}


# Mostly staff filing for their own department; sometimes anyone for any department.
filers = st.sampled_from([(STAFF, "sales"), (OTHER_STAFF, "sales"), (HR_STAFF, "hr")]) | st.tuples(
    st.sampled_from([STAFF, HR_STAFF, MANAGER, CHIEF, "stranger"]), st.sampled_from(["sales", "hr"])
)
files = st.builds(
    lambda workflow, filer: ("file", workflow, *filer), st.sampled_from(sorted(WORKFLOWS)), filers
)
acts = st.tuples(
    st.just("act"),
    st.just(-1) | st.just(-1) | st.integers(min_value=0, max_value=5),  # which case
    # Mostly one of the steps offered now, taken by someone the case names, with the evidence
    # the step asks for; sometimes any trigger, anyone, or nothing given.
    st.sampled_from([0, 0, 0, 0, 1, 2, 3, 4]) | st.integers(0, 9) | st.sampled_from(TRIGGERS),
    st.integers(min_value=0, max_value=9) | st.integers(0, 9) | st.sampled_from(PEOPLE),
    st.sampled_from([True, True, True, False]),
)
appointments = st.tuples(
    st.just("appoint"),
    st.sampled_from([REPRESENTATIVE, CHIEF, MANAGER, OTHER_MANAGER]),
    st.sampled_from([CHIEF, MANAGER, OTHER_MANAGER, STAFF, OTHER_STAFF]),
    st.sampled_from(["staff", "manager", "chief"]),
    st.sampled_from(["sales", "hr", ""]),
)
# Episodes: a filing, then steps mostly on that case, now and then a roster change.
episodes = st.tuples(files, st.lists(acts | acts | acts | appointments, max_size=16))
commands = st.lists(episodes, min_size=1, max_size=6).map(
    lambda found: [command for filing, steps in found for command in (filing, *steps)]
)


def run(app: ApprovalsApplication, command: tuple[Any, ...], references: list[str]) -> None:
    kind = command[0]
    if kind == "file":
        _, workflow, actor, department = command
        fields = filing(app, WORKFLOWS[workflow], references)
        if workflow == "method" and department == "hr":
            fields["collection"] = "new_method"  # both kinds of collection get explored
        case = app.file(workflow, actor=actor, title="t", department=department, fields=fields)
        references.append(case.reference)
    elif kind == "act" and references:
        _, index, trigger, actor, complete = command
        reference = references[index] if index < 0 else references[index % len(references)]
        case = app.case(reference)
        workflow = app.workflow_of(reference)
        if isinstance(trigger, int):  # one of the steps offered now, most of the time
            if not case.next_steps:
                return
            offered = case.next_steps[trigger % len(case.next_steps)]
            trigger = offered.trigger
            if isinstance(actor, int) and offered.people:
                actor = offered.people[actor % len(offered.people)]
        if isinstance(actor, int):
            actor = PEOPLE[actor % len(PEOPLE)]
        step = workflow.step(case.state, trigger)
        fields, checklist = (
            evidence(app, workflow, step, references) if step and complete else ({}, [])
        )
        app.act(
            reference,
            trigger,
            actor=actor,
            fields=fields,
            checklist=checklist,
            comment="because" if complete else "",
        )
    elif kind == "appoint":
        _, actor, user, role, department = command
        department = "" if role == "chief" else department or "sales"
        app.appoint(actor=actor, user=user, role=role, department=department)


def check_case(app: ApprovalsApplication, roster: Roster, reference: str) -> None:
    """The case's whole history is a path its definition allows, each step fully evidenced."""
    workflow = app.workflow_of(reference)
    history = app.history(reference)
    filing = history[0]
    assert (filing.trigger, filing.dest, filing.role) == ("file", workflow.initial, "staff")
    case_department = app.case(reference).department
    assert roster.holds(filing.actor, "staff", case_department, filing.at)
    fields: dict[str, Any] = dict(filing.fields)
    checked: set[str] = set()
    state = workflow.initial
    for entry in history[1:]:
        step = workflow.steps.get((state, entry.trigger))
        assert step is not None, f"{entry.trigger} taken from {state}"
        assert (entry.source, entry.dest) == (state, step.dest)
        assert entry.role == step.role
        assert roster.holds(entry.actor, step.role, case_department, entry.at)
        if step.role in ("manager", "chief"):
            assert entry.actor != filing.actor, "the filer decided on their own case"
        if step.filer_only:
            assert entry.actor == filing.actor
        fields.update(entry.fields)
        checked.update(entry.checklist)
        assert all(name in fields for name in step.fields)
        assert all(item in checked for item in step.checklist)
        assert all(fields.get(name) == value for name, value in step.expect.items())
        if step.comment_required:
            assert entry.comment.strip()
        state = step.dest
    assert state in workflow.states
    assert app.case(reference).state == state
    if any(entry.trigger == "approve" for entry in history):
        consult = [e.position for e in history if e.trigger == "consult"]
        approve = next(e.position for e in history if e.trigger == "approve")
        assert consult, "approved without consultation"
        assert min(consult) < approve, "approved before consultation"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commands)
def test_no_command_sequence_breaks_the_rules(sequence: list[tuple[Any, ...]]) -> None:
    from datetime import datetime

    from approvals import JST

    app = open_approvals("sqlite://", clock=FakeClock(datetime(2026, 4, 1, 9, tzinfo=JST)),
                         workflows=WORKFLOWS)  # fmt: skip
    try:
        appoint_standard_roster(app)
        references: list[str] = []
        for command in sequence:
            before = app.recorder.max_notification_id()
            try:
                run(app, command, references)
            except ApprovalsError:
                assert app.recorder.max_notification_id() == before, "a refusal wrote"
        roster: Roster = app.repository.get(ROSTER_ID)
        for reference in references:
            check_case(app, roster, reference)
            event("reached " + app.case(reference).state)
    finally:
        app.close()
