"""Each reference workflow walked from the notice to its end: the sample company's data; and
the check that a refusal wrote nothing."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from approvals import JST, ApprovalsApplication, ApprovalsError, CaseView
from approvals.definitions import builtin_workflows_dir, load_directory, parse_definition
from approvals.demo import (
    ART6_ITEMS,
    CHIEF,
    CLAUSES,
    FILINGS,
    INVESTIGATION,
    MANAGER,
    PATHS,
    STAFF,
    Move,
    SimulatedClock,
)
from approvals.demo import take as take_now
from approvals.domain.clocks import usable_moment
from approvals.domain.workflow import Workflow

__all__ = [
    "ART6_ITEMS",
    "CLAUSES",
    "FILINGS",
    "INVESTIGATION",
    "PATHS",
    "Move",
    "dated",
    "end_of",
    "happened",
    "older_definition",
    "reads",
    "refused",
    "take",
    "until",
    "walk",
]


def happened(app: ApprovalsApplication, workflow: str, fields: Mapping[str, object]) -> None:
    """Move a simulated clock on to the latest fact ``fields`` record (a date or datetime the
    workflow marks ``past``), when later than now, so that the fact has happened when it is
    recorded: to ten o'clock (JST) of a date's day, a second after a datetime."""
    clock = getattr(app, "_clock", None)
    if not isinstance(clock, SimulatedClock):
        return
    specs = app.workflows[workflow].fields
    latest = clock.now
    for name, value in fields.items():
        spec = specs.get(name)
        if spec is None or not spec.past:
            continue
        moment = usable_moment(value)
        if moment is None:
            continue
        if spec.kind == "date":
            day = moment.astimezone(JST).date()
            if day > latest.astimezone(JST).date():
                latest = datetime.combine(day, time(10), JST)
        elif moment >= latest:
            latest = moment + timedelta(seconds=1)
    clock.now = latest


def dated(app: ApprovalsApplication, workflow: str, move: Move) -> Move:
    """Return ``move`` with its date fields set to the day of the clock, as the demo dates
    them: the sample walk told again later, every fact recorded on the day it happens."""
    specs = app.workflows[workflow].fields
    today = app.now().astimezone(JST).date().isoformat()
    fields = {k: today if k in specs and specs[k].kind == "date" else v
              for k, v in move.fields.items()}  # fmt: skip
    return Move(move.trigger, move.actor, fields, move.checklist, move.comment)


def take(app: ApprovalsApplication, reference: str, move: Move) -> CaseView:
    """Take one ``move`` on case ``reference``, once the facts it records have happened: a
    simulated clock is moved on to the latest of them first (see :func:`happened`)."""
    if move.fields and isinstance(getattr(app, "_clock", None), SimulatedClock):
        try:
            workflow = app.case_aggregate(reference).workflow_id
        except ApprovalsError:
            workflow = ""  # the move is refused as it stands: leave the clock where it is
        if workflow in app.workflows:
            happened(app, workflow, move.fields)
    return take_now(app, reference, move)


def walk(app: ApprovalsApplication, reference: str, moves: list[Move]) -> CaseView:
    """Take ``moves`` in order, each one offered to the case before it is taken."""
    case = app.case(reference)
    for move in moves:
        assert move.trigger in {s.trigger for s in case.next_steps}, (move.trigger, case.state)
        case = take(app, reference, move)
    return case


def end_of(year: int, month: int, day: int) -> datetime:
    """The last moment of a day in JST: when a deadline counted from a date runs out."""
    return datetime.combine(date(year, month, day), time.max, JST)


@contextmanager
def refused(
    app: ApprovalsApplication, error: type[ApprovalsError], code: str, reference: str = ""
) -> Iterator[pytest.ExceptionInfo[ApprovalsError]]:
    """Expect ``error`` with ``code``, and nothing written: no event, no new case, and the
    history of case ``reference`` (when given) as long as before."""
    before = app.recorder.max_notification_id()
    cases = app.references()
    events = len(app.history(reference)) if reference else 0
    with pytest.raises(error) as caught:
        yield caught
    assert caught.value.code == code, str(caught.value)
    assert app.recorder.max_notification_id() == before
    assert app.references() == cases
    if reference:
        assert len(app.history(reference)) == events


def until(
    app: ApprovalsApplication, workflow: str, trigger: str, *, today: bool = False, **filing: Any
) -> str:
    """A case of ``workflow`` filed by the sample company's staff with its sample data (and
    ``filing``), walked along its sample path up to (not including) ``trigger`` — with every
    date the day the step is taken when ``today`` (the same walk told again later)."""
    ref = app.file(workflow, actor=STAFF, title=f"A {workflow}", department="sales",
                   fields={**FILINGS.get(workflow, {}), **filing}).reference  # fmt: skip
    for move in PATHS.get(workflow, []):
        if move.trigger == trigger:
            return ref
        take(app, ref, dated(app, workflow, move) if today else move)
    raise AssertionError(f"{trigger} is not on the sample path of {workflow}")


def reads(app: ApprovalsApplication) -> None:
    """Every read a user makes works: inboxes, registers, reminders for everyone, each case
    and its history."""
    for person in (STAFF, MANAGER, CHIEF):
        app.inbox(person)
    registers = app.registers()
    registers.cases()
    registers.overdue()
    registers.vendors()
    registers.provisions()
    registers.receipts()
    registers.retention()
    app.reminders(actor=CHIEF, everyone=True)
    for reference in app.references():
        app.case(reference)
        app.history(reference)


def older_definition(workflow_id: str, *dropped: str) -> Workflow:
    """The reference definition of ``workflow_id`` as it was one version ago, before the lines
    starting with ``dropped`` (the keys a rule came with) were added to it."""
    current = load_directory()[workflow_id]
    source = (builtin_workflows_dir() / f"{workflow_id}.toml").read_text(encoding="utf-8")
    kept = [line for line in source.splitlines(keepends=True) if not line.startswith(dropped)]
    text = "".join(kept).replace(
        f"version = {current.version}", f"version = {current.version - 1}", 1
    )
    return parse_definition(text, f"{workflow_id} v{current.version - 1}")
