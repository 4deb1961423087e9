"""Values the engine derives rather than anyone types: a bool field with ``any_of`` is true
when any of those bool fields is (a report to the Commission is required by any of the four
triggers of the APPI Enforcement Rules Art.7).  The door records the derived value with each
step that records one of its triggers, and refuses a step that expects it false while a
trigger is recorded (closing an incident unreported); ``audit verify`` replays the same rule
(:func:`unmet_requirement`) on every step, by the newest definition too, so that a case
written before the rule, whose requirement was typed, shows what the rule forbids."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from approvals.domain.workflow import FieldSpec, Step

__all__ = ["Requirement", "derive", "unmet_requirement"]


def derive(
    specs: Mapping[str, FieldSpec], before: Mapping[str, Any], given: Mapping[str, Any]
) -> dict[str, bool]:
    """Return the derived values a step recording ``given`` on a case recording ``before``
    records: each field with ``any_of`` one of whose fields ``given`` holds."""
    merged = {**before, **given}
    return {
        name: any(merged.get(other) is True for other in spec.any_of)
        for name, spec in specs.items()
        if spec.any_of and any(other in given for other in spec.any_of)
    }


@dataclass(frozen=True, slots=True)
class Requirement:
    """A derived field a step expects false while some of its triggers are recorded true."""

    field: str
    triggers: tuple[str, ...]


def unmet_requirement(
    specs: Mapping[str, FieldSpec], step: Step, fields: Mapping[str, Any]
) -> Requirement | None:
    """Return the requirement ``step`` would ignore on a case recording ``fields`` (its own
    values included): a field derived by ``specs`` that the step expects false while one of
    its triggers is true.  None when there is none."""
    for name, expected in step.expect.items():
        spec = specs.get(name)
        if spec is None or not spec.any_of or expected is not False:
            continue
        true = tuple(other for other in spec.any_of if fields.get(other) is True)
        if true:
            return Requirement(name, true)
    return None
