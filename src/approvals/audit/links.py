"""The rules across cases replayed: each filing and step against the cases it names as they
stood just before it in the log (:mod:`approvals.domain.links`, the functions the engine
refuses by): a subcontracting moved forward under an entrustment that had ended, or that
belongs to another department; a provision naming a data subject whose refusal of provision
had been complied with, without its legal ground recorded."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from uuid import UUID

from approvals.domain.case import Case, case_id
from approvals.domain.links import (
    IN_EFFECT_LINKS,
    REQUEST,
    STOP_PROVISION,
    StopRequest,
    link_refusal,
    linked_as_of,
    provision_checked,
    provision_refusal,
    stop_requests,
)
from approvals.domain.workflow import Workflow
from approvals.errors import ApprovalsError, Label

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication

__all__ = ["link_violations"]

_NOT_IN_LOG = 2**62


def link_violations(
    app: ApprovalsApplication,
    loaded: Mapping[str, tuple[Case, Workflow]],
    position_of: Callable[[UUID, int], int | None] | None = None,
) -> Iterator[tuple[str, int, Label]]:
    """Yield (reference, version, what is wrong) for every filing and step of the ``loaded``
    cases that breaks a rule across cases, judged on the cases it names as they stood then:
    with their events earlier in the log (positions, not timestamps: two events may share a
    moment); ``position_of`` answers as ``app.position_of`` does (a ledger read once)."""
    positions: dict[tuple[str, int], int] = {}
    find = app.position_of if position_of is None else position_of

    def position(reference: str, version: int) -> int:
        key = (reference, version)
        if key not in positions:
            found = find(case_id(reference), version)
            positions[key] = found if found is not None else _NOT_IN_LOG
        return positions[key]

    requests = [case for case, _ in loaded.values() if case.workflow_id == REQUEST]
    complied: list[tuple[int, StopRequest]] | None = None  # read once, when first needed

    def stops_before(here: int) -> list[StopRequest]:
        """The refusals complied with before position ``here``, in the requests' order: each
        request's first compliance (what ``stop_requests`` finds) and where it is in the log,
        read once for all the provisions rather than once per provision."""
        nonlocal complied
        if complied is None:
            complied = []
            for request in requests:
                found = stop_requests(request)
                if found:
                    entry = next(e for e in request.history if e.trigger == STOP_PROVISION)
                    complied.append((position(request.reference, entry.position), found[0]))
        return [stop for at, stop in complied if at < here]

    for reference, (case, workflow) in loaded.items():
        fields: dict[str, Any] = {}
        for index, entry in enumerate(case.history):
            fields.update(entry.fields)
            here = position(reference, entry.position)

            def earlier(other: str, here: int = here) -> Any:
                return lambda e: position(other, e.position) < here

            for name, spec in workflow.fields.items():
                value = str(fields.get(name) or "")
                if spec.kind != "case" or (workflow.id, name) not in IN_EFFECT_LINKS:
                    continue
                named = loaded.get(value)
                linked = None if named is None else linked_as_of(*named, earlier(value))
                refusal = None if linked is None else link_refusal(
                    workflow, name, case.department, entry.dest, linked
                )  # fmt: skip
                if refusal is not None:
                    yield reference, entry.position, _label(refusal)
            step = workflow.steps.get((entry.source, entry.trigger)) if index else None
            if index and step is None:
                continue  # a step the definition does not allow: case_violations names it
            if provision_checked(workflow, step.fields if step is not None else None):
                refusal = provision_refusal(workflow, fields, entry.comment, stops_before(here))
                if refusal is not None:
                    yield reference, entry.position, _label(refusal)


def _label(error: ApprovalsError) -> Label:
    return Label(error.render("en"), error.render("ja"))
