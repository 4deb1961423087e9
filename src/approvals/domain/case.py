"""The case: one regulated action, from the staff notice to its end, as a stream of events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

__all__ = ["NAMESPACE", "Attachment", "Case", "case_id"]

NAMESPACE = UUID("6f1b2a0e-5d4c-4f7a-9b1e-3c8d2e7f4a10")
"""The namespace of every id approvals derives from a name."""


def case_id(reference: str) -> UUID:
    """Return the id of the case with the human reference ``reference``."""
    return uuid5(NAMESPACE, f"case:{reference}")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A document referenced by the SHA-256 of its content; the content stays elsewhere."""

    name: str
    sha256: str
    size: int

    def as_record(self) -> dict[str, Any]:
        """Return the attachment as stored in an event."""
        return {"name": self.name, "sha256": self.sha256, "size": self.size}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Attachment:
        """Return the attachment stored in an event."""
        return cls(name=str(record["name"]), sha256=str(record["sha256"]), size=int(record["size"]))


@dataclass(frozen=True, slots=True)
class Entry:
    """One event of a case as people read it in the history."""

    position: int
    at: datetime
    actor: str
    role: str
    trigger: str
    source: str
    dest: str
    comment: str
    fields: dict[str, Any]
    checklist: tuple[str, ...]
    attachments: tuple[Attachment, ...]


class Case(Aggregate):
    """A regulated action's case; its state is only ever changed by its own events.

    Who may do what is decided before an event is triggered (see ``guards``); the events'
    ``apply`` methods only record, so replay always rebuilds the state that was lived.
    """

    TOPIC = "approvals:Case"

    if TYPE_CHECKING:  # set by the events; annotations here would make a dataclass of it
        reference: str
        workflow_id: str
        workflow_version: int
        workflow_sha256: str
        title: str
        department: str
        filer: str
        state: str
        fields: dict[str, Any]
        checked: list[str]
        history: list[Entry]

    class Created(Aggregate.Created):
        """Never triggered: eventsourcing defines it for every aggregate, so it gets a topic."""

        TOPIC = "approvals:Case.Created"

    class Filed(Aggregate.Created):
        """A member of staff filed the notice (届け出)."""

        TOPIC = "approvals:Case.Filed"
        reference: str
        workflow_id: str
        workflow_version: int
        workflow_sha256: str
        title: str
        department: str
        actor: str
        role: str
        state: str
        fields: dict[str, Any]
        attachments: list[dict[str, Any]]
        comment: str

        def apply(self, aggregate: Case) -> None:
            aggregate.reference = self.reference
            aggregate.workflow_id = self.workflow_id
            aggregate.workflow_version = self.workflow_version
            aggregate.workflow_sha256 = self.workflow_sha256
            aggregate.title = self.title
            aggregate.department = self.department
            aggregate.filer = self.actor
            aggregate.state = ""
            aggregate.fields = {}
            aggregate.checked = []
            aggregate.history = []
            _record(aggregate, self, trigger="file", source="", dest=self.state, checklist=())

    class StepTaken(Aggregate.Event):
        """Someone took a step of the case's workflow (協議, 承認, a contract, an inspection…)."""

        TOPIC = "approvals:Case.StepTaken"
        trigger: str
        source: str
        dest: str
        actor: str
        role: str
        comment: str
        fields: dict[str, Any]
        checklist: list[str]
        attachments: list[dict[str, Any]]

        def apply(self, aggregate: Case) -> None:
            _record(
                aggregate,
                self,
                trigger=self.trigger,
                source=self.source,
                dest=self.dest,
                checklist=self.checklist,
            )

    @classmethod
    def file(
        cls,
        *,
        reference: str,
        workflow_id: str,
        workflow_version: int,
        workflow_sha256: str,
        title: str,
        department: str,
        actor: str,
        role: str,
        state: str,
        fields: dict[str, Any],
        attachments: list[dict[str, Any]],
        comment: str,
        at: datetime,
    ) -> Case:
        """Record a filed notice; the caller has checked the filer may file it."""
        return cls._create(
            cls.Filed,
            id=case_id(reference),
            timestamp=at,
            reference=reference,
            workflow_id=workflow_id,
            workflow_version=workflow_version,
            workflow_sha256=workflow_sha256,
            title=title,
            department=department,
            actor=actor,
            role=role,
            state=state,
            fields=fields,
            attachments=attachments,
            comment=comment,
        )

    def take(
        self,
        *,
        trigger: str,
        dest: str,
        actor: str,
        role: str,
        comment: str,
        fields: dict[str, Any],
        checklist: list[str],
        attachments: list[dict[str, Any]],
        at: datetime,
    ) -> None:
        """Record a step; the caller has checked the actor may take it."""
        self.trigger_event(
            self.StepTaken,
            timestamp=at,
            trigger=trigger,
            source=self.state,
            dest=dest,
            actor=actor,
            role=role,
            comment=comment,
            fields=fields,
            checklist=checklist,
            attachments=attachments,
        )


def _record(
    case: Case,
    event: Case.Filed | Case.StepTaken,
    *,
    trigger: str,
    source: str,
    dest: str,
    checklist: Sequence[str],
) -> None:
    """Apply what every case event records: values, confirmed items, the state, the history."""
    case.fields.update(event.fields)
    for item in checklist:
        if item not in case.checked:
            case.checked.append(item)
    case.state = dest
    case.history.append(
        Entry(
            position=event.originator_version,
            at=event.timestamp,
            actor=event.actor,
            role=event.role,
            trigger=trigger,
            source=source,
            dest=dest,
            comment=event.comment,
            fields=dict(event.fields),
            checklist=tuple(checklist),
            attachments=tuple(Attachment.from_record(a) for a in event.attachments),
        )
    )
