"""The rules across cases replayed: each filing and step against the cases it names as they
stood just before it in the log (:mod:`approvals.domain.links`, the functions the engine
refuses by): a subcontracting moved forward under an entrustment that had ended, or that
belongs to another department; a provision naming a data subject whose refusal of provision
had been complied with, without its legal ground recorded.

The rules read each case through its :class:`LinkSummary`, a few hundred bytes made right
after its replay (in the worker that replayed it): the states it went through, and what its
own steps name.  The cases themselves need not be kept until every case is replayed, and the
summaries of those that replay clean wait on disk (:mod:`approvals.audit.kept`): the rules
read them one at a time, and keep the positions they ask for last."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from sys import intern
from typing import TYPE_CHECKING, Any
from uuid import UUID

from approvals.domain.case import Case, case_id
from approvals.domain.links import (
    IN_EFFECT_LINKS,
    REQUEST,
    STOP_PROVISION,
    SUBJECTS_FIELD,
    Linked,
    StopRequest,
    link_refusal,
    linked_in,
    provision_checked,
    provision_refusal,
    running_states,
    stop_requests,
)
from approvals.domain.workflow import Workflow
from approvals.errors import ApprovalsError, Label

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication

__all__ = [
    "LinkSummary",
    "Naming",
    "link_violations",
    "linked_before",
    "summarized",
    "summary",
    "summary_violations",
]

_NOT_IN_LOG = 2**62
_POSITIONS_KEPT = 65_536
"""Positions of cases' events the rules across cases keep, the last asked for."""
_PROVISION_READS = (SUBJECTS_FIELD, "consent")
"""The fields of a provision :func:`~approvals.domain.links.provision_refusal` reads."""


@dataclass(frozen=True, slots=True)
class Naming:
    """One filing or step of a case, as the rules across cases judge it: its version and the
    state it went to; ``named``, the (field, reference) of each field that must name a case in
    effect (:data:`~approvals.domain.links.IN_EFFECT_LINKS`), in the definition's order; and,
    when the refusal of provision is checked at it, the fields recorded so far that the check
    reads (``provision``) and the step's comment."""

    version: int
    dest: str
    named: tuple[tuple[str, str], ...] = ()
    provision: tuple[tuple[str, Any], ...] | None = None
    comment: str = ""


@dataclass(frozen=True, slots=True)
class LinkSummary:
    """What the rules across cases read of one case: as a case named, the state each of its
    entries reached (``transitions``: (version, state)), its department and workflow; as a
    request, the refusal of provision it complied with and the version that complied
    (``stop``); as a case naming others, its steps that name them (``namings``).  ``broken``
    when the case could not be summarized (the rules then cannot be judged)."""

    reference: str
    workflow_id: str
    workflow_version: int
    department: str
    transitions: tuple[tuple[int, str], ...] = ()
    stop: tuple[int, StopRequest] | None = None
    namings: tuple[Naming, ...] = ()
    broken: bool = False


def summary(case: Case, workflow: Workflow) -> LinkSummary:
    """Return what the rules across cases read of ``case`` (replayed on ``workflow``)."""
    links = [
        name
        for name, spec in workflow.fields.items()
        if spec.kind == "case" and (workflow.id, name) in IN_EFFECT_LINKS
    ]
    namings: list[Naming] = []
    fields: dict[str, Any] = {}
    for index, entry in enumerate(case.history):
        fields.update(entry.fields)
        named = tuple((name, str(fields.get(name) or "")) for name in links)
        step = workflow.steps.get((entry.source, entry.trigger)) if index else None
        checked = (not index or step is not None) and provision_checked(
            workflow, step.fields if step is not None else None
        )
        if not named and not checked:
            continue
        provision = tuple((k, fields[k]) for k in _PROVISION_READS if k in fields)
        namings.append(
            Naming(
                entry.position,
                intern(entry.dest),
                named,
                provision if checked else None,
                entry.comment if checked else "",
            )
        )
    stop: tuple[int, StopRequest] | None = None
    found = stop_requests(case)
    if found:
        entry = next(e for e in case.history if e.trigger == STOP_PROVISION)
        stop = (entry.position, found[0])
    # A summary is kept for every such case of a long log: its words are the same few, and
    # so are the paths the cases take through their workflow, each kept once.
    transitions = tuple((entry.position, intern(entry.dest)) for entry in case.history)
    if len(_PATHS) >= _PATHS_KEPT:
        _PATHS.clear()
    return LinkSummary(
        reference=case.reference,
        workflow_id=intern(case.workflow_id),
        workflow_version=workflow.version,
        department=intern(case.department),
        transitions=_PATHS.setdefault(transitions, transitions),
        stop=stop,
        namings=tuple(namings),
    )


_PATHS: dict[tuple[tuple[int, str], ...], tuple[tuple[int, str], ...]] = {}
"""The transitions of the cases summarized, each kept once (cases share a few paths)."""

_PATHS_KEPT = 4096
"""Paths kept before the store of them starts again (forged cases may take any path)."""


def summarized(case: Case, workflow: Workflow) -> LinkSummary:
    """Return :func:`summary`, or a summary marked ``broken`` when the case does not give one
    (a tampered case: the rules across cases then say they cannot be judged)."""
    try:
        return summary(case, workflow)
    except Exception:  # noqa: BLE001 - a tampered case may not read; that is the finding
        return LinkSummary("", "", 0, "", broken=True)


def linked_before(
    found: LinkSummary,
    workflow: Workflow,
    before: Callable[[int], bool],
    running: Callable[[Workflow], frozenset[str]] = running_states,
) -> Linked | None:
    """Return the case ``found`` tells of as it stood after its entries whose version
    ``before`` holds for, as :func:`~approvals.domain.links.linked_as_of` does from the case
    itself; None when it holds for none (it was not filed yet)."""
    state: str | None = None
    for version, dest in found.transitions:
        if before(version):
            state = dest
    if state is None:
        return None
    return linked_in(found.reference, found.workflow_id, found.department, state, workflow,
                     running=running)  # fmt: skip


def link_violations(
    app: ApprovalsApplication,
    loaded: Mapping[str, tuple[Case, Workflow]],
    position_of: Callable[[UUID, int], int | None] | None = None,
) -> Iterator[tuple[str, int, Label]]:
    """Yield (reference, version, what is wrong) for every filing and step of the ``loaded``
    cases that breaks a rule across cases, judged on the cases it names as they stood then:
    with their events earlier in the log (positions, not timestamps: two events may share a
    moment); ``position_of`` answers as ``app.position_of`` does (a ledger read once)."""
    summaries = {
        r: (summarized(case, workflow), workflow) for r, (case, workflow) in loaded.items()
    }
    return summary_violations(app, summaries, position_of)


def summary_violations(
    app: ApprovalsApplication,
    loaded: Mapping[str, tuple[LinkSummary, Workflow]],
    position_of: Callable[[UUID, int], int | None] | None = None,
) -> Iterator[tuple[str, int, Label]]:
    """:func:`link_violations` from the cases' summaries (:func:`summary`): the same findings
    in the same order.  Raises LookupError when a case could not be summarized."""
    requests: list[LinkSummary] = []  # those that complied with a refusal of provision
    for found, _ in loaded.values():
        if found.broken:
            raise LookupError("a case the rules across cases read does not replay")
        if found.workflow_id == REQUEST and found.stop is not None:
            requests.append(found)
    positions: OrderedDict[tuple[str, int], int] = OrderedDict()  # the last asked for
    find = app.position_of if position_of is None else position_of
    running: dict[tuple[str, int], frozenset[str]] = {}

    def position(reference: str, version: int) -> int:
        key = (reference, version)
        if key in positions:
            positions.move_to_end(key)
            return positions[key]
        found = find(case_id(reference), version)
        at = positions[key] = found if found is not None else _NOT_IN_LOG
        if len(positions) > _POSITIONS_KEPT:
            positions.popitem(last=False)
        return at

    def running_of(workflow: Workflow) -> frozenset[str]:
        key = (workflow.id, workflow.version)
        if key not in running:
            running[key] = running_states(workflow)
        return running[key]

    complied: list[tuple[int, StopRequest]] | None = None  # read once, when first needed

    def stops_before(here: int) -> list[StopRequest]:
        """The refusals complied with before position ``here``, in the requests' order: each
        request's first compliance and where it is in the log, read once for all the
        provisions rather than once per provision."""
        nonlocal complied
        if complied is None:
            complied = [
                (position(request.reference, request.stop[0]), request.stop[1])
                for request in requests
                if request.stop is not None
            ]
        return [stop for at, stop in complied if at < here]

    for reference, (found, workflow) in loaded.items():
        for naming in found.namings:
            here = position(reference, naming.version)
            for name, value in naming.named:
                named = loaded.get(value)
                if named is None:
                    continue

                def earlier(version: int, other: str = value, here: int = here) -> bool:
                    return position(other, version) < here

                linked = linked_before(named[0], named[1], earlier, running_of)
                refusal = None if linked is None else link_refusal(
                    workflow, name, found.department, naming.dest, linked
                )  # fmt: skip
                if refusal is not None:
                    yield reference, naming.version, _label(refusal)
            if naming.provision is not None:
                fields = dict(naming.provision)
                refusal = provision_refusal(workflow, fields, naming.comment, stops_before(here))
                if refusal is not None:
                    yield reference, naming.version, _label(refusal)


def _label(error: ApprovalsError) -> Label:
    return Label(error.render("en"), error.render("ja"))
