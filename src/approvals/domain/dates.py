"""Dates that cannot lie: a date recorded keeps its place among the case's own moments.

A date field may declare, in its definition:

- ``past = true``: it records something that has happened (a contract concluded, data handed
  over, a report made), so it is never later than the day it is recorded;
- ``not_before = [...]``: the moments it may not precede — a step (the day it was taken: a
  contract, a handover, a collection, a take-out, a provision, a sending never before the
  approval that allows it) or another date field (a report to the Commission never before the
  moment the company knew).

A date compares by its day (in JST) with a moment; two moments compare as they are.  A moment
not yet recorded (a step not taken) bounds nothing.  One rule, checked at the door
(:func:`~approvals.domain.guards.check_step`, :func:`~approvals.domain.guards.check_filing`) and
by the audit's replay of every case (:mod:`approvals.audit.rules`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from approvals.domain.case import Entry
from approvals.domain.clocks import JST, usable_moment
from approvals.domain.workflow import FieldSpec, Workflow
from approvals.errors import Label

__all__ = ["DateConflict", "date_conflict"]


@dataclass(frozen=True, slots=True)
class DateConflict:
    """A date given that lies about when something happened."""

    field: FieldSpec
    value: Any
    bound: Label
    """What it may not pass: "today", a step's label, another field's label."""
    bound_value: str
    future: bool
    """True when it is later than the day it is recorded; False when it precedes ``bound``."""
    step: bool = False
    """True when ``bound`` is a step of the case (the approval), False for a field."""


def _day(moment: datetime) -> date:
    return moment.astimezone(JST).date()


def _shown(moment: datetime, kind: str) -> str:
    local = moment.astimezone(JST)
    return local.date().isoformat() if kind == "date" else local.strftime("%Y-%m-%d %H:%M")


def _earlier(spec: FieldSpec, value: datetime, bound: datetime, bound_is_date: bool) -> bool:
    if spec.kind == "date" or bound_is_date:
        return _day(value) < _day(bound)
    return value < bound


def date_conflict(
    workflow: Workflow,
    history: Iterable[Entry],
    fields: Mapping[str, Any],
    at: datetime,
    specs: Mapping[str, FieldSpec] | None = None,
) -> DateConflict | None:
    """Return the first date in ``fields`` (clean values, given at ``at`` after ``history``)
    that breaks its ``past`` or ``not_before``; None when every date keeps its place.

    ``specs`` are the field definitions to judge by (by default the workflow's own; the audit
    passes the newest definition's, to find in an older case what today's rules forbid)."""
    specs = workflow.fields if specs is None else specs
    entries = list(history)
    held: dict[str, Any] = {}
    for entry in entries:
        held.update(entry.fields)
    held.update(fields)
    for name, given in fields.items():
        spec = specs.get(name)
        if spec is None or spec.kind not in ("date", "datetime"):
            continue
        moment = usable_moment(given)
        if moment is None:
            continue
        if spec.past and (_day(moment) > _day(at) if spec.kind == "date" else moment > at):
            return DateConflict(
                spec, given, Label("the moment it is recorded", "記録の時点"),
                _shown(at, spec.kind), future=True,
            )  # fmt: skip
        for bound_name in spec.not_before:
            found = _bound(workflow, entries, held, specs, bound_name)
            if found is None:
                continue
            label, bound, bound_is_date = found
            if _earlier(spec, moment, bound, bound_is_date):
                kind = "date" if bound_is_date else spec.kind
                shown = _shown(bound, kind)
                step = bound_name not in specs
                return DateConflict(spec, given, label, shown, future=False, step=step)
    return None


def _bound(
    workflow: Workflow,
    entries: list[Entry],
    held: Mapping[str, Any],
    specs: Mapping[str, FieldSpec],
    name: str,
) -> tuple[Label, datetime, bool] | None:
    """The moment ``name`` stands for on this case: the last time the step was taken, or the
    value of the field; None while not recorded."""
    other = specs.get(name)
    if other is not None:
        moment = usable_moment(held.get(name))
        return None if moment is None else (other.label, moment, other.kind == "date")
    taken = [entry for entry in entries if entry.trigger == name]
    if not taken:
        return None
    label = workflow.trigger_label(name) if name in workflow.triggers else Label(name, name)
    return label, taken[-1].at, False
