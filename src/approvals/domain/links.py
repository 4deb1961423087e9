"""Rules across cases: a case checked against the cases it names, as they stand at each step.

Engine-level rules, applied to cases on every definition version; which states count as "in
effect" is the named case's own definition (:func:`running_states`).  The functions here are
pure: the application loads the named case (or the data subjects' requests) and passes what
it found; ``audit verify`` passes the same cases as they stood at the moment of each step.

- A subcontracting (再委託) moves forward only under an entrustment in effect, of the same
  department (001 Art.6, 002 第9: the subcontract is part of the entrustment and cannot
  outlive it).  Steps that end it — a withdrawal, a rejection, the end — stay open: they
  never extend it.
- An entrustment that has ended owes the return or erasure of the data (001 Art.9, 002 第12)
  until an erasure case naming it is closed (:data:`ERASURE_DUTY`).
- A data subject whose refusal of provision to third parties was complied with (Art.19,
  ``stop_provision``) is named by no provision (Art.16, APPI Art.27) — unless the provision
  records the legal ground explicitly: consent ``law_permits`` with the ground written in the
  step's comment (APPI Art.27-1: provision required by law, or by a public authority's
  exercise of a legal power, needs no consent; Art.19's proviso names the same two grounds).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from approvals.domain.case import Case, Entry
from approvals.domain.workflow import Duration, Workflow
from approvals.errors import InvalidValue, Label, Refused

__all__ = [
    "ERASURE",
    "ERASURE_DONE",
    "ERASURE_DUTY",
    "IN_EFFECT_LINKS",
    "KEY_LENGTH",
    "REQUEST",
    "Linked",
    "StopRequest",
    "link_refusal",
    "linked_as_of",
    "linked_in",
    "provision_checked",
    "provision_refusal",
    "running_states",
    "split_subjects",
    "stop_requests",
    "subject_key",
]

IN_EFFECT_LINKS: Mapping[tuple[str, str], str] = {("subcontracting", "entrustment"): "entrustment"}
"""(workflow, field) -> the workflow of the case named: a case of ``workflow`` moves forward
only while the case its ``field`` names is in effect, and of the same department."""

ENTRUSTMENT = "entrustment"
ERASURE = "erasure"
ERASURE_DONE = "closed"
"""The state of an erasure case that discharges the duty: its record confirmed."""


@dataclass(frozen=True, slots=True)
class Duty:
    """A duty one case's end opens and another case discharges."""

    name: str
    label: Label
    within: Duration
    articles: tuple[str, ...]


ERASURE_DUTY = Duty(
    "return_or_erasure",
    Label(
        "return or erasure of the entrusted data (immediately; an erasure case closes it)",
        "預託した個人情報の返還又は廃棄(直ちに。返却・廃棄の案件の完了まで)",
    ),
    Duration(0, "immediately"),
    ("001 Art.9", "002 第12"),
)
"""The return or erasure an ended entrustment owes, from its end until an erasure case naming
it is closed."""

PROVISION = "provision"
SUBJECTS_FIELD = "data_subjects"
REQUEST = "request"
STOP_PROVISION = "stop_provision"
LEGAL_GROUND = "law_permits"

KEY_LENGTH = 500
"""A subject's key is cut here: PostgreSQL cannot index a key of a few thousand bytes."""
_SEPARATORS = re.compile("[,\uff0c\u3001\uff64\r\n]+")  # , ， 、 ､ and new lines


def subject_key(text: str) -> str:
    """Return the form a data subject is found by: NFKC (full-width letters and spaces as
    half-width), case-folded, each run of spaces one space."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())[:KEY_LENGTH]


def split_subjects(text: str) -> list[tuple[str, str]]:
    """Return each data subject named in ``text`` as (spelling, key), in the order named; a
    subject named twice is listed once, with its first spelling."""
    found: dict[str, str] = {}
    for piece in _SEPARATORS.split(text):
        spelling = " ".join(piece.split())
        key = subject_key(spelling)
        if key and key not in found:
            found[key] = spelling
    return [(spelling, key) for key, spelling in found.items()]


def running_states(workflow: Workflow) -> frozenset[str]:
    """The states in which the action is in effect: the workflow's ``effective_states`` and
    every state reached from them without ending (an entrustment with a breach being handled
    still runs)."""
    found = set(workflow.effective_states)
    frontier = list(found)
    while frontier:
        state = frontier.pop()
        for step in workflow.steps.values():
            if step.source == state and step.dest not in found:
                if workflow.states[step.dest].terminal:
                    continue
                found.add(step.dest)
                frontier.append(step.dest)
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class Linked:
    """A named case as it stood at one moment: what the rules ask of it."""

    reference: str
    workflow_id: str
    state: str
    state_label: Label
    department: str
    in_effect: bool


def linked_as_of(
    case: Case, workflow: Workflow, before: Callable[[Entry], bool] | None = None
) -> Linked | None:
    """Return ``case`` as it stood after its entries for which ``before`` holds (all when
    None); None when none does (it was not filed yet)."""
    entries = [e for e in case.history if before is None or before(e)]
    if not entries:
        return None
    return linked_in(case.reference, case.workflow_id, case.department, entries[-1].dest, workflow)


def linked_in(
    reference: str,
    workflow_id: str,
    department: str,
    state: str,
    workflow: Workflow,
    *,
    running: Callable[[Workflow], frozenset[str]] | None = None,
) -> Linked:
    """Return the named case ``reference`` (of ``department``, on ``workflow``) as it stood in
    ``state``; ``running`` gives the workflow's states in effect (:func:`running_states`)."""
    known = workflow.states.get(state)
    return Linked(
        reference=reference,
        workflow_id=workflow_id,
        state=state,
        state_label=known.label if known else Label(state, state),
        department=department,
        in_effect=state in (running or running_states)(workflow),
    )


def link_refusal(
    workflow: Workflow, field: str, department: str, dest: str, linked: Linked
) -> Refused | None:
    """Return why a step of a case of ``workflow`` (of ``department``, going to ``dest``)
    cannot be taken while its ``field`` names ``linked``; None when it can."""
    wanted = IN_EFFECT_LINKS.get((workflow.id, field))
    if wanted is None or linked.workflow_id != wanted:
        return None
    spec = workflow.fields[field]
    if linked.department != department:
        return InvalidValue(
            "link.department",
            field=spec.label,
            reference=linked.reference,
            linked_department=linked.department,
            department=department,
        )
    state = workflow.states.get(dest)
    if state is not None and state.terminal:
        return None  # ending, withdrawing, rejecting it never extends it
    if not linked.in_effect:
        return InvalidValue(
            "link.not_in_effect",
            field=spec.label,
            reference=linked.reference,
            state=linked.state_label,
        )
    return None


@dataclass(frozen=True, slots=True)
class StopRequest:
    """A data subject's refusal of provision that the company complied with (Art.19)."""

    reference: str
    subject: str
    key: str
    at: datetime


def stop_requests(case: Case, before: Callable[[Entry], bool] | None = None) -> list[StopRequest]:
    """Return the refusal of provision complied with in request ``case`` (by its entries for
    which ``before`` holds), as a list of at most one."""
    if case.workflow_id != REQUEST:
        return []
    for entry in case.history:
        if before is not None and not before(entry):
            break
        if entry.trigger == STOP_PROVISION:
            subject = str(case.fields.get("data_subject", ""))
            return [StopRequest(case.reference, subject, subject_key(subject), entry.at)]
    return []


def provision_refusal(
    workflow: Workflow,
    fields: Mapping[str, Any],
    comment: str,
    stops: Iterable[StopRequest],
) -> Refused | None:
    """Return why a provision naming the data subjects in ``fields`` is refused — one of them
    refused provision and the company complied — or None: none did, or the step records the
    legal ground (consent ``law_permits`` and the ground in ``comment``)."""
    if workflow.id != PROVISION or SUBJECTS_FIELD not in fields:
        return None
    named = {key for _, key in split_subjects(str(fields.get(SUBJECTS_FIELD) or ""))}
    hit = next((stop for stop in stops if stop.key in named), None)
    if hit is None:
        return None
    if fields.get("consent") == LEGAL_GROUND and comment.strip():
        return None
    return InvalidValue("link.provision_refused", subject=hit.subject, request=hit.reference)


def provision_checked(workflow: Workflow, step_fields: Sequence[str] | None) -> bool:
    """Return whether a filing (``step_fields`` None) or a step recording ``step_fields`` names
    the data subjects of a provision: the moments the refusal is checked."""
    if workflow.id != PROVISION:
        return False
    return step_fields is None or SUBJECTS_FIELD in step_fields
