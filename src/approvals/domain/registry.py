"""Small aggregates that keep names unique: case references and published definitions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from approvals.domain.case import NAMESPACE
from approvals.domain.roster import NAME_LIMIT, shown_value
from approvals.errors import CaseNotFound

__all__ = [
    "PublishedDefinition",
    "ReferenceCounter",
    "counter_id",
    "definition_id",
    "reference_key",
]


def counter_id(series: str) -> UUID:
    """Return the id of the counter of references in ``series`` (such as ``ENT-2026``)."""
    return uuid5(NAMESPACE, f"counter:{series}")


def definition_id(workflow_id: str, version: int) -> UUID:
    """Return the id under which version ``version`` of ``workflow_id`` is published."""
    return uuid5(NAMESPACE, f"definition:{workflow_id}:{version}")


def reference_key(reference: str) -> str:
    """Return the key of case ``reference`` as given (any case, spaces around), or refuse
    what no reference can be: not text, longer than a name, or holding a character outside
    printable ASCII (shown escaped, never echoed as typed)."""
    if (
        isinstance(reference, str)
        and len(reference) <= NAME_LIMIT
        and reference.isascii()
        and reference.isprintable()
    ):
        return reference.strip().upper()
    raise CaseNotFound(reference=shown_value(reference))


class ReferenceCounter(Aggregate):
    """Hands out ``ENT-2026-0001``, ``ENT-2026-0002``… once each, even to concurrent filers."""

    TOPIC = "approvals:ReferenceCounter"

    if TYPE_CHECKING:
        series: str
        issued: int

    class Created(Aggregate.Created):
        """Never triggered: eventsourcing defines it for every aggregate, so it gets a topic."""

        TOPIC = "approvals:ReferenceCounter.Created"

    class Started(Aggregate.Created):
        """The first reference of a series was issued."""

        TOPIC = "approvals:ReferenceCounter.Started"
        series: str

        def apply(self, aggregate: ReferenceCounter) -> None:
            aggregate.series = self.series
            aggregate.issued = 1

    class Issued(Aggregate.Event):
        """The next reference of the series was issued."""

        TOPIC = "approvals:ReferenceCounter.Issued"
        number: int

        def apply(self, aggregate: ReferenceCounter) -> None:
            aggregate.issued = self.number

    @classmethod
    def start(cls, series: str, at: datetime) -> ReferenceCounter:
        """Start the series ``series`` with its first number issued."""
        return cls._create(cls.Started, id=counter_id(series), timestamp=at, series=series)

    def issue(self, at: datetime) -> None:
        """Issue the next number."""
        self.trigger_event(self.Issued, timestamp=at, number=self.issued + 1)

    @property
    def reference(self) -> str:
        """The reference last issued."""
        return f"{self.series}-{self.issued:04d}"


class PublishedDefinition(Aggregate):
    """The exact text of a workflow version that cases ran on, kept in the log itself."""

    TOPIC = "approvals:PublishedDefinition"

    if TYPE_CHECKING:
        workflow_id: str
        workflow_version: int
        sha256: str
        source: str

    class Created(Aggregate.Created):
        """Never triggered: eventsourcing defines it for every aggregate, so it gets a topic."""

        TOPIC = "approvals:PublishedDefinition.Created"

    class Published(Aggregate.Created):
        """A definition version was first used by a case."""

        TOPIC = "approvals:PublishedDefinition.Published"
        workflow_id: str
        workflow_version: int
        sha256: str
        source: str

        def apply(self, aggregate: PublishedDefinition) -> None:
            aggregate.workflow_id = self.workflow_id
            aggregate.workflow_version = self.workflow_version
            aggregate.sha256 = self.sha256
            aggregate.source = self.source

    @classmethod
    def publish(
        cls, *, workflow_id: str, version: int, sha256: str, source: str, at: datetime
    ) -> PublishedDefinition:
        """Record the text of a definition version."""
        return cls._create(
            cls.Published,
            id=definition_id(workflow_id, version),
            timestamp=at,
            workflow_id=workflow_id,
            workflow_version=version,
            sha256=sha256,
            source=source,
        )
