"""A workflow definition as frozen values: states, steps, evidence, deadlines, retention."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Protocol

from approvals.errors import Label

ROLES: Mapping[str, Label] = {
    "staff": Label("staff", "担当者"),
    "handler": Label("data handling officer", "個人情報取扱担当者"),
    "manager": Label("personal information manager", "個人情報管理者"),
    "chief": Label("chief personal information officer", "個人情報管理責任者"),
    "auditor": Label("audit officer", "個人情報保護監査責任者"),
    "representative": Label("representative", "代表者"),
}
"""The roles of the regulation (Art.3, 20, 21) and their names."""

DEPARTMENT_ROLES = frozenset({"staff", "handler", "manager"})
"""Roles held within one department; the others are company-wide."""

ACTING_ROLES = frozenset({"staff", "handler", "manager", "chief"})
"""Roles that may take a workflow step; the auditor and the representative take none."""

FIELD_KINDS = frozenset({"text", "date", "bool", "int", "choice"})


class StateTable(Protocol):
    """What the engine asks of a state machine: the triggers possible from a state."""

    def get_triggers(self, *args: str) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A value a case records, such as the vendor's name or a contract date."""

    name: str
    label: Label
    kind: str = "text"
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """A fact someone confirms, such as a contract clause being present."""

    name: str
    label: Label


@dataclass(frozen=True, slots=True)
class State:
    """A state a case can be in."""

    name: str
    label: Label
    terminal: bool = False


@dataclass(frozen=True, slots=True)
class Step:
    """A transition: who may take ``trigger`` from ``source`` to ``dest`` and what it needs."""

    trigger: str
    source: str
    dest: str
    role: str
    label: Label
    fields: tuple[str, ...] = ()
    checklist: tuple[str, ...] = ()
    comment_required: bool = False
    filer_only: bool = False
    expect: Mapping[str, str | bool | int] = field(default_factory=dict)
    articles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Duration:
    """A span of time in one unit: business days, calendar days or hours."""

    amount: int
    unit: str  # "business_days" | "days" | "hours"


@dataclass(frozen=True, slots=True)
class Deadline:
    """A clock that runs while a case is in one of ``states``.

    It starts when the case enters one of those states, or when one of ``restart_on`` is
    taken, and is overdue once ``within`` has passed.
    """

    name: str
    label: Label
    states: tuple[str, ...]
    within: Duration
    restart_on: tuple[str, ...] = ()
    articles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Retention:
    """How long the case's records are kept after it enters one of ``starts_on``.

    With ``from_field`` (a date field, such as the end of the individual contract) the clock
    starts at that date when it is later than the day the case entered the state.
    """

    starts_on: tuple[str, ...]
    years: int
    articles: tuple[str, ...] = ()
    from_field: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class Workflow:
    """One version of one regulated action's rules."""

    id: str
    version: int
    sha256: str
    source: str
    prefix: str
    title: Label
    articles: tuple[str, ...]
    initial: str
    file_role: str
    file_fields: tuple[str, ...]
    states: Mapping[str, State]
    steps: Mapping[tuple[str, str], Step]
    fields: Mapping[str, FieldSpec]
    checklist: Mapping[str, ChecklistItem]
    deadlines: tuple[Deadline, ...]
    retention: Retention
    machine: StateTable
    path: str = ""
    date_order: tuple[tuple[str, ...], ...] = ()
    """Chains of date fields that must not go backwards (a contract before the handover)."""

    def date_disorder(self, fields: Mapping[str, object]) -> tuple[str, str] | None:
        """Return the first pair (earlier, later) of date fields recorded out of order."""
        for chain in self.date_order:
            recorded = [(name, str(fields[name])) for name in chain if name in fields]
            for (first, a), (second, b) in pairwise(recorded):
                if b < a:
                    return first, second
        return None

    def state(self, name: str) -> State:
        """Return the state called ``name``."""
        return self.states[name]

    def allowed(self, state: str) -> tuple[Step, ...]:
        """Return the steps that may be taken from ``state``, in definition order."""
        triggers = set(self.machine.get_triggers(state))
        return tuple(
            step for (src, trig), step in self.steps.items() if src == state and trig in triggers
        )

    def step(self, state: str, trigger: str) -> Step | None:
        """Return the step ``trigger`` from ``state``, or None when there is none."""
        if trigger not in self.machine.get_triggers(state):
            return None
        return self.steps.get((state, trigger))

    @property
    def effective_states(self) -> frozenset[str]:
        """The states in which the action itself runs (in effect, an active entrustment): the
        non-terminal states it ends from by a step that is not a withdrawal or a rejection."""
        ends = set(self.retention.starts_on)
        return frozenset(
            step.source
            for step in self.steps.values()
            if step.dest in ends
            and step.trigger not in ("withdraw", "reject")
            and not self.states[step.source].terminal
        )

    @property
    def triggers(self) -> tuple[str, ...]:
        """Every trigger of the workflow, each once, in definition order."""
        return tuple(dict.fromkeys(trigger for _, trigger in self.steps))

    def trigger_label(self, trigger: str) -> Label:
        """Return the label of ``trigger`` (the first step that defines it)."""
        for (_, trig), step in self.steps.items():
            if trig == trigger:
                return step.label
        return Label(trigger, trigger)
