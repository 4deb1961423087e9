"""A workflow definition as frozen values: states, steps, evidence, deadlines, retention."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Protocol

from approvals.errors import Label

ROLES: Mapping[str, Label] = {
    "staff": Label("staff member", "担当者"),
    "handler": Label("data handling officer", "個人情報取扱担当者"),
    "manager": Label("personal information manager", "個人情報管理者"),
    "chief": Label("chief personal information officer", "個人情報管理責任者"),
    "auditor": Label("audit officer", "個人情報保護監査責任者"),
    "representative": Label("representative", "代表者"),
}
"""The roles of the regulation (Art.3, 20, 21) and their names, each a noun for one person
(messages put "a" or "the" before it: "a staff member of hr")."""

DEPARTMENT_ROLES = frozenset({"staff", "handler", "manager"})
"""Roles held within one department; the others are company-wide."""

ACTING_ROLES = frozenset({"staff", "handler", "manager", "chief"})
"""Roles that may take a workflow step; the auditor and the representative take none."""

FIELD_KINDS = frozenset({"text", "date", "datetime", "bool", "int", "choice", "case"})
"""Kinds of field: ``datetime`` is a moment (JST unless an offset is given); ``case`` is the
reference of another case, of the workflow the field names."""

TERMS: Mapping[str, Label] = {
    "immediately": Label("immediately", "直ちに"),
    "promptly": Label("promptly", "速やかに"),
    "without_delay": Label("without delay", "遅滞なく"),
}
"""The regulation's words for "soon", strongest first.  A deadline may be given in one of them;
what each means in time is the company's setting (see :data:`MEANINGS`)."""

DURATION_UNITS = ("years", "business_days", "days", "civil_days", "hours", "minutes")


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
    workflow: str = ""
    """For kind ``case``: the workflow the referenced case must run on."""
    items: bool = False
    """A list of items (data items, data subjects) written with commas, 、 or line breaks
    between them: once approved, a record may name fewer of them, never others."""
    past: bool = False
    """For a date or datetime: a fact that has happened, never later than the moment it is
    recorded (a contract concluded, data handed over, a report made)."""
    not_before: tuple[str, ...] = ()
    """For a date or datetime: the moments it may not precede, each a step (the moment it was
    taken: the approval that allows the action) or another date or datetime field (the moment
    the company knew).  See :mod:`approvals.domain.dates`."""
    any_of: tuple[str, ...] = ()
    """For a bool: a value the engine derives, never typed — true when any of these bool
    fields is true (a report required by any of the four triggers of the law).  Recorded with
    each step that records one of them.  See :mod:`approvals.domain.derived`."""


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
    """A transition: who may take ``trigger`` from ``source`` to ``dest`` and what it needs.

    ``fields`` must hold a value by the time the step is taken, given now or by an earlier
    step; those also in ``fresh`` must be given by the step itself, because it records a new
    fact each time it is taken (the date of an inspection, of a provision).  A checklist item
    in ``fresh`` is confirmed again each time the step is taken (the announcement of each
    change of a joint use), not once for the case."""

    trigger: str
    source: str
    dest: str
    role: str
    label: Label
    fields: tuple[str, ...] = ()
    fresh: tuple[str, ...] = ()
    checklist: tuple[str, ...] = ()
    comment_required: bool = False
    filer_only: bool = False
    expect: Mapping[str, str | bool | int] = field(default_factory=dict)
    articles: tuple[str, ...] = ()
    fields_if: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """For a bool field: the fields the step needs too while it is recorded true (the
    consent that sensitive personal information needs, APPI 20-2).  Not recorded, or false:
    nothing more."""
    approves: tuple[str, ...] = ()
    """The fields whose values this step approves (承認): once it is taken, no later step may
    record another value of them (see :mod:`approvals.domain.approved`), but a step that
    approves them again (the chief's approval of new places)."""

    @property
    def fresh_items(self) -> frozenset[str]:
        """The checklist items confirmed again each time the step is taken."""
        return frozenset(name for name in self.fresh if name in self.checklist)

    def needs(self, fields: Mapping[str, object]) -> tuple[str, ...]:
        """The fields the step needs on a case recording ``fields``: its own, and those its
        ``fields_if`` asks for while their flag is true."""
        extra = (n for flag, names in self.fields_if.items() if fields.get(flag) is True
                 for n in names)  # fmt: skip
        return tuple(dict.fromkeys([*self.fields, *extra]))


@dataclass(frozen=True, slots=True)
class Duration:
    """A span of time in one unit: years (to the same date, as the Civil Code counts them),
    business days, calendar days, calendar days as the Civil Code counts a period of days
    (``civil_days``: the first day is not counted unless it starts at 00:00, Art.140, and the
    period ends at the end of its last day, Art.141, in JST), hours or minutes; or one of the
    :data:`TERMS` (amount 0), whose meaning the calendar in use gives."""

    amount: int
    unit: str  # one of DURATION_UNITS, or one of TERMS

    @property
    def term(self) -> Label | None:
        """The regulation's word this duration stands for, or None for a plain span."""
        return TERMS.get(self.unit)


MEANINGS: Mapping[str, Duration] = {
    "immediately": Duration(1, "business_days"),
    "promptly": Duration(3, "business_days"),
    "without_delay": Duration(10, "business_days"),
}
"""What the :data:`TERMS` mean unless the company's calendar file says otherwise."""


@dataclass(frozen=True, slots=True)
class Deadline:
    """A clock that runs while a case is in one of ``states``.

    It starts when the case enters one of those states, or when one of ``restart_on`` is
    taken, and is overdue once ``within`` has passed.  With ``from_fields`` the clock starts at
    the first of those date or datetime fields recorded by then (the moment an incident became
    known, the last inspection) instead of the moment of the step; with ``until_field`` it
    stops at the moment recorded in that field (the vendor's report).  ``when`` and ``unless``
    make the deadline depend on what the case records: it applies only when every field of
    ``when`` holds its value, and not when any field of ``unless`` does.

    A ``periodic`` deadline falls due at fixed intervals from its first start ("every time a
    year has passed since the contract"): a restart moves it to the next of those dates after
    both the restart and the date it replaces, not to ``within`` after the restart — a report
    made late does not move the following ones, one made early counts for the period it
    was due in.
    """

    name: str
    label: Label
    states: tuple[str, ...]
    within: Duration
    restart_on: tuple[str, ...] = ()
    articles: tuple[str, ...] = ()
    from_fields: tuple[str, ...] = ()
    until_field: str = ""
    when: Mapping[str, str | bool | int] = field(default_factory=dict)
    unless: Mapping[str, str | bool | int] = field(default_factory=dict)
    periodic: bool = False

    def applies(self, fields: Mapping[str, object]) -> bool:
        """Return whether the deadline applies to a case recording ``fields``."""
        if any(fields.get(name, _UNSET) != value for name, value in self.when.items()):
            return False
        return not any(fields.get(name, _UNSET) == value for name, value in self.unless.items())


_UNSET = object()


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

    def named_cases(self, fields: Mapping[str, object]) -> tuple[str, ...]:
        """Return the references ``fields`` holds in fields of kind ``case`` (an erasure's
        entrustment), each once."""
        return tuple(dict.fromkeys(
            str(fields[name]) for name, spec in self.fields.items()
            if spec.kind == "case" and fields.get(name)
        ))  # fmt: skip

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
    def guarded_fields(self) -> frozenset[str]:
        """The fields a rule depends on (a step's ``expect`` or ``fields_if``, a deadline's
        ``when`` or ``unless``): only a step that names one in its ``fields`` may record it,
        or a step back to the initial state, which sends the revised notice through the chain
        again."""
        return frozenset(
            name
            for rules in (
                *(step.expect for step in self.steps.values()),
                *(step.fields_if for step in self.steps.values()),
                *(deadline.when for deadline in self.deadlines),
                *(deadline.unless for deadline in self.deadlines),
            )
            for name in rules
        )

    def needed_by(self, step: Step, fields: Mapping[str, object]) -> tuple[str, ...]:
        """The fields ``step`` needs on a case recording ``fields``: its own, those its
        ``fields_if`` asks for while their flag is true, and those its ``expect`` names."""
        return tuple(dict.fromkeys([*step.needs(fields), *step.expect]))

    def steps_recording(self, name: str) -> tuple[Step, ...]:
        """The steps that name the field ``name`` in their ``fields``, each trigger once."""
        found = {s.trigger: s for s in self.steps.values() if name in s.fields}
        return tuple(found.values())

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
