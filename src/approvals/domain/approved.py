"""What was approved is what happens: the values an approval (承認) covers are frozen.

A step with ``approves`` (the chief's approval) fixes the values the case holds for those
fields when it is taken.  From then on a later step may record such a field again only with
the value approved — for a field of ``items`` (data items, data subjects), with some of the
items approved and no others — unless it approves the field itself again (the chief's approval
of new places, 003 第3).  A case sent back to the state its approval was asked in (a path back
to consultation) is approved afresh: its values are open again until then.  Anything else is
a new notice: a provision to another recipient, an entrustment to another vendor.

One rule, checked at the door (:func:`~approvals.domain.guards.check_step`) and by the audit's
replay of every case (:mod:`approvals.audit.rules`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from approvals.domain.case import Entry
from approvals.domain.workflow import Step, Workflow

__all__ = ["Approval", "Conflict", "approvals_in_force", "conflict", "items_of"]

_SEPARATORS = re.compile(r"[,、，;；\n]+")


def items_of(value: Any) -> dict[str, str]:
    """Return the items a list written as text names: each as written, under its key for
    comparing (without case or spacing)."""
    return {
        " ".join(item.split()).casefold(): item.strip()
        for item in _SEPARATORS.split(str(value))
        if item.strip()
    }


def _same(value: Any, other: Any) -> bool:
    if isinstance(value, str) and isinstance(other, str):
        return " ".join(value.split()).casefold() == " ".join(other.split()).casefold()
    return bool(value == other)


@dataclass(frozen=True, slots=True)
class Approval:
    """A field's value as an approval fixed it."""

    value: Any
    step: Step
    entry: Entry


@dataclass(frozen=True, slots=True)
class Conflict:
    """A value given that the approval in force does not cover."""

    field: str
    given: Any
    approval: Approval
    others: tuple[str, ...] = ()
    """For a field of items: the items given that were not approved."""


Approves = Callable[[Step], Sequence[str]]


def _own(step: Step) -> Sequence[str]:
    return step.approves


def approvals_in_force(
    workflow: Workflow, history: Iterable[Entry], approves: Approves = _own
) -> dict[str, Approval]:
    """Return, by field, the approval in force after ``history``.

    ``approves`` says which fields a step approves (by default its own ``approves``; the
    audit passes the newest definition's, to find in an older case what today's rules
    forbid)."""
    held: dict[str, Any] = {}
    found: dict[str, Approval] = {}
    for entry in history:
        held.update(entry.fields)
        if entry.source != entry.dest:
            for name in [n for n, a in found.items() if a.step.source == entry.dest]:
                if found[name].step.source != found[name].step.dest:
                    del found[name]  # back where the approval was asked: asked afresh
        step = workflow.steps.get((entry.source, entry.trigger))
        if step is None or entry.trigger == "file":
            continue
        for name in approves(step):
            if name in held:
                found[name] = Approval(held[name], step, entry)
    return found


def conflict(
    workflow: Workflow,
    history: Iterable[Entry],
    step: Step,
    fields: Mapping[str, Any],
    approves: Approves = _own,
) -> Conflict | None:
    """Return the first value in ``fields`` that ``step``, taken after ``history``, may not
    record because an approval in force fixed another; None when every value is covered."""
    if not fields:
        return None
    force = approvals_in_force(workflow, history, approves)
    again = set(approves(step))
    for name, given in fields.items():
        approval = force.get(name)
        if approval is None or name in again:
            continue
        spec = workflow.fields.get(name)
        if spec is not None and spec.items:
            allowed = items_of(approval.value)
            others = tuple(item for key, item in items_of(given).items() if key not in allowed)
            if others:
                return Conflict(name, given, approval, others)
        elif not _same(given, approval.value):
            return Conflict(name, given, approval)
    return None
