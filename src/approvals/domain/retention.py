"""Retention of a case's records: legal holds, the chief's approval, and disposal (Art.15-7, 31).

A case's record of retention lives apart from the case, so that it outlives the case's data:
after disposal only this record says what was disposed of, when, by whom and how.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from approvals.domain.case import NAMESPACE
from approvals.errors import Label, RetentionRefused

__all__ = ["RetentionRecord", "check_disposal", "kept_until", "retention_id"]


def retention_id(reference: str) -> UUID:
    """Return the id of the retention record of case ``reference``."""
    return uuid5(NAMESPACE, f"retention:{reference}")


class RetentionRecord(Aggregate):
    """Holds placed and released, the disposal approved and done, for one case."""

    TOPIC = "approvals:Retention"

    if TYPE_CHECKING:
        reference: str
        hold_reason: str
        approved_by: str
        disposed_at: datetime | None
        disposal: dict[str, object]

    class Created(Aggregate.Created):
        """Never triggered: eventsourcing defines it for every aggregate, so it gets a topic."""

        TOPIC = "approvals:Retention.Created"

    class Opened(Aggregate.Created):
        """The first retention decision on a case was recorded."""

        TOPIC = "approvals:Retention.Opened"
        reference: str

        def apply(self, aggregate: RetentionRecord) -> None:
            aggregate.reference = self.reference
            aggregate.hold_reason = ""
            aggregate.approved_by = ""
            aggregate.disposed_at = None
            aggregate.disposal = {}

    class HoldPlaced(Aggregate.Event):
        """A legal hold: nothing of the case may be disposed of while it stands."""

        TOPIC = "approvals:Retention.HoldPlaced"
        actor: str
        role: str
        reason: str

        def apply(self, aggregate: RetentionRecord) -> None:
            aggregate.hold_reason = self.reason
            aggregate.approved_by = ""  # an approval given before the hold no longer stands

    class HoldReleased(Aggregate.Event):
        """The legal hold was lifted."""

        TOPIC = "approvals:Retention.HoldReleased"
        actor: str
        role: str
        comment: str

        def apply(self, aggregate: RetentionRecord) -> None:
            aggregate.hold_reason = ""

    class DisposalApproved(Aggregate.Event):
        """The chief approved disposing of the case's records."""

        TOPIC = "approvals:Retention.DisposalApproved"
        actor: str
        role: str
        comment: str

        def apply(self, aggregate: RetentionRecord) -> None:
            aggregate.approved_by = self.actor

    class Disposed(Aggregate.Event):
        """The case's records were disposed of: the disposal record (date, what, count, method)."""

        TOPIC = "approvals:Retention.Disposed"
        actor: str
        role: str
        workflow: str
        title: str
        department: str
        events: int
        method: str
        retained_until: str

        def apply(self, aggregate: RetentionRecord) -> None:
            aggregate.disposed_at = self.timestamp
            aggregate.disposal = {
                "date": self.timestamp.isoformat(),
                "what": f"{aggregate.reference} ({self.workflow}): {self.title}",
                "workflow": self.workflow,
                "department": self.department,
                "count": self.events,
                "method": self.method,
                "by": self.actor,
                "retained_until": self.retained_until,
            }

    @classmethod
    def open(cls, reference: str, at: datetime) -> RetentionRecord:
        """Start the retention record of case ``reference``."""
        return cls._create(
            cls.Opened, id=retention_id(reference), timestamp=at, reference=reference
        )

    @property
    def held(self) -> bool:
        """Whether a legal hold stands."""
        return bool(self.hold_reason)

    @property
    def disposed(self) -> bool:
        """Whether the case's records were disposed of."""
        return self.disposed_at is not None


def check_disposal(
    record: RetentionRecord,
    *,
    reference: str,
    retained_until: date | None,
    today: date,
    linked: Sequence[tuple[str, date | None]] = (),
) -> None:
    """Refuse a disposal (or its approval) before the deadline, under a hold, or twice.

    ``linked`` gives the cases this one names (an erasure its entrustment) with the last day
    each must be kept (None while its clock has not started): the case is kept as long as any
    of them, since its records are among theirs (Art.15-7: the documents of an entrustment are
    kept seven years after its individual contract ends).
    """
    if record.disposed:
        raise RetentionRefused("retention.disposed", reference=reference)
    if record.held:
        raise RetentionRefused("retention.held", reference=reference, reason=record.hold_reason)
    if retained_until is None:
        raise RetentionRefused(
            "retention.running", reference=reference, until=Label("the case's end", "案件の終了")
        )
    if today <= retained_until:
        raise RetentionRefused(
            "retention.running",
            reference=reference,
            until=Label(retained_until.isoformat(), retained_until.isoformat()),
        )
    for other, until in linked:
        if until is None or today <= until:
            shown = (
                Label(until.isoformat(), until.isoformat())
                if until
                else Label("some years after its end", "その終了後の保存期間満了")
            )
            raise RetentionRefused("retention.linked", reference=reference, linked=other,
                                   until=shown)  # fmt: skip


def kept_until(
    reference: str,
    *,
    own: Callable[[str], date | None],
    names: Callable[[str], Sequence[str]],
    disposed: Callable[[str], bool],
    seen: frozenset[str] = frozenset(),
) -> date | None:
    """Return the last day case ``reference`` must be kept: its ``own`` last day, or as long as
    each case it ``names`` (not ``disposed`` of) is kept in turn, whichever is later; None while
    the clock of either has not started (Art.15-7: the records of an entrustment are kept seven
    years after its individual contract ends, an erasure or a subcontracting approval among
    them).  A case met again in a circle of names counts once."""
    until = own(reference)
    for other in names(reference):
        if other in seen or disposed(other):
            continue
        theirs = kept_until(other, own=own, names=names, disposed=disposed,
                            seen=seen | {reference})  # fmt: skip
        if until is not None:
            until = None if theirs is None else max(until, theirs)
    return until
