"""Retention use cases: what is due, legal holds, the chief's approval, disposal (Art.15-7, 31).

Disposal destroys the case's data key in the same transaction as the disposal record, so the
case's events — kept, as the log is append-only — can never be read again, while the log's
hashes over them still verify.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from eventsourcing.application import AggregateNotFoundError

from approvals.domain.case import case_id
from approvals.domain.clocks import JST
from approvals.domain.guards import TITLE_LIMIT, check_text
from approvals.domain.registry import reference_key
from approvals.domain.retention import RetentionRecord, check_disposal, kept_until, retention_id
from approvals.domain.workflow import ROLES
from approvals.errors import Label, NotAuthorized, RetentionRefused

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication

__all__ = ["DEFAULT_METHOD", "Retention", "RetentionItem"]

DEFAULT_METHOD = "the case's data key destroyed (crypto-erasure); its events can no longer be read"

_COMMENT = Label("The comment", "コメント")


@dataclass(frozen=True, slots=True)
class RetentionItem:
    """A case's retention: until when it is kept, any hold, and what happened at disposal."""

    reference: str
    workflow: str
    title: str
    department: str
    state: str
    retained_until: date | None
    due: bool
    hold: str
    approved_by: str
    disposed: dict[str, object]


class Retention:
    """Retention decisions on the cases of one application."""

    def __init__(self, app: ApprovalsApplication) -> None:
        self.app = app

    def record(self, reference: str) -> RetentionRecord | None:
        """Return the retention record of a case, or None when nothing was decided yet."""
        try:
            found: RetentionRecord = self.app.repository.get(retention_id(reference))
        except AggregateNotFoundError:
            return None
        return found

    def _record_or_new(self, reference: str) -> RetentionRecord:
        return self.record(reference) or RetentionRecord.open(reference, self.app.now())

    def _chief(self, actor: str, action: Label, reference: str) -> None:
        roster = self.app.roster_aggregate()
        if roster is None or not roster.holds(actor, "chief", "", self.app.now()):
            raise NotAuthorized(
                "retention.not_authorized",
                person=actor,
                action=action,
                reference=reference,
                allowed=(ROLES["chief"],),
            )

    def hold(self, reference: str, *, actor: str, reason: str) -> RetentionItem:
        """Place a legal hold on a case: no disposal while it stands (the chief)."""
        with self.app.command("retention.hold", actor=actor, case=reference):
            case = self.app.case(reference)
            self._chief(actor, Label("place a legal hold on", "保全措置"), case.reference)
            if not reason.strip():
                raise RetentionRefused("value.empty", what=Label("The reason", "理由"))
            check_text(reason, Label("The reason", "理由"))
            record = self._record_or_new(case.reference)
            if record.held:
                raise RetentionRefused(
                    "retention.already_held", reference=case.reference, reason=record.hold_reason
                )
            record.trigger_event(
                RetentionRecord.HoldPlaced, timestamp=self.app.now(), actor=actor, role="chief",
                reason=reason.strip(),
            )  # fmt: skip
            self.app.commit(case.reference, record)
            return self.item(case.reference)

    def release(self, reference: str, *, actor: str, comment: str = "") -> RetentionItem:
        """Lift the legal hold of a case (the chief)."""
        with self.app.command("retention.release", actor=actor, case=reference):
            case = self.app.case(reference)
            self._chief(actor, Label("release the legal hold of", "保全措置の解除"), case.reference)
            check_text(comment, _COMMENT)
            record = self.record(case.reference)
            if record is None or not record.held:
                raise RetentionRefused("retention.not_held", reference=case.reference)
            record.trigger_event(
                RetentionRecord.HoldReleased, timestamp=self.app.now(), actor=actor, role="chief",
                comment=comment,
            )  # fmt: skip
            self.app.commit(case.reference, record)
            return self.item(case.reference)

    def approve(self, reference: str, *, actor: str, comment: str = "") -> RetentionItem:
        """Approve disposing of a case whose retention has run out (the chief)."""
        with self.app.command("retention.approve", actor=actor, case=reference):
            case = self.app.case(reference)
            self._chief(actor, Label("approve the disposal of", "廃棄の承認"), case.reference)
            check_text(comment, _COMMENT)
            record = self._record_or_new(case.reference)
            check_disposal(record, reference=case.reference, retained_until=case.retention_until,
                           today=self._today(), linked=self.linked(case.reference))  # fmt: skip
            record.trigger_event(
                RetentionRecord.DisposalApproved, timestamp=self.app.now(), actor=actor,
                role="chief", comment=comment,
            )  # fmt: skip
            self.app.commit(case.reference, record)
            return self.item(case.reference)

    def dispose(self, reference: str, *, actor: str, method: str = DEFAULT_METHOD) -> RetentionItem:
        """Dispose of an approved case's records: a data handling officer of its department
        does the work (Art.31-4); the disposal record keeps date, what, count and method."""
        with self.app.command("retention.dispose", actor=actor, case=reference):
            case = self.app.case(reference)
            roster = self.app.roster_aggregate()
            if roster is None or not roster.holds(
                actor, "handler", case.department, self.app.now()
            ):
                raise NotAuthorized(
                    "retention.not_authorized",
                    person=actor,
                    action=Label("dispose of", "廃棄"),
                    reference=case.reference,
                    allowed=(Label(f"a data handling officer of {case.department}",
                                   f"{case.department}の個人情報取扱担当者"),),
                )  # fmt: skip
            check_text(method, Label("The disposal method", "廃棄の方法"), limit=TITLE_LIMIT)
            record = self._record_or_new(case.reference)
            check_disposal(record, reference=case.reference, retained_until=case.retention_until,
                           today=self._today(), linked=self.linked(case.reference))  # fmt: skip
            if not record.approved_by:
                raise RetentionRefused("retention.not_approved", reference=case.reference)
            record.trigger_event(
                RetentionRecord.Disposed, timestamp=self.app.now(), actor=actor, role="handler",
                workflow=case.workflow, title=case.title, department=case.department,
                events=case.version, method=method.strip() or DEFAULT_METHOD,
                retained_until=str(self._kept_until(case.reference)),
            )  # fmt: skip
            originator = case_id(case.reference)
            self.app.commit(case.reference, record, destroy_case_keys=[str(originator)])
            self.app.case_keys.forget(originator)
            return self.item(case.reference)

    def linked(self, reference: str) -> tuple[tuple[str, date | None], ...]:
        """Return the cases ``reference`` names in its fields of kind ``case`` that are not
        disposed of, each with the last day it must be kept (:func:`kept_until`)."""
        return tuple(
            (other, self._kept_until(other, seen=frozenset({reference})))
            for other in self._names(reference)
            if not self._disposed(other)
        )

    def _kept_until(self, reference: str, seen: frozenset[str] = frozenset()) -> date | None:
        """The last day case ``reference`` must be kept, the cases it names included."""
        return kept_until(
            reference, own=lambda ref: self.app.case(ref).retention_until, names=self._names,
            disposed=self._disposed, seen=seen,
        )  # fmt: skip

    def _names(self, reference: str) -> tuple[str, ...]:
        return self.app.workflow_of(reference).named_cases(self.app.case(reference).fields)

    def _disposed(self, reference: str) -> bool:
        record = self.record(reference)
        return record is not None and record.disposed

    def item(self, reference: str) -> RetentionItem:
        """Return the retention of one case (disposed cases included)."""
        record = self.record(reference_key(reference))
        if record is not None and record.disposed:
            return RetentionItem(
                reference=record.reference, workflow="", title="", department="", state="disposed",
                retained_until=None, due=False, hold="", approved_by=record.approved_by,
                disposed=dict(record.disposal),
            )  # fmt: skip
        case = self.app.case(reference)
        until = self._kept_until(case.reference)
        return RetentionItem(
            reference=case.reference, workflow=case.workflow, title=case.title,
            department=case.department, state=case.state, retained_until=until,
            due=until is not None and self._today() > until,
            hold=record.hold_reason if record else "",
            approved_by=record.approved_by if record else "", disposed={},
        )  # fmt: skip

    def due(self, as_of: datetime | None = None) -> tuple[RetentionItem, ...]:
        """Return the cases whose retention has run out (at ``as_of``), held ones included; a
        case kept as long as a case it names is not due before that one."""
        due = self.app.registers().retention(due=True, as_of=as_of)
        return tuple(self.item(entry.reference) for entry in due)

    def _today(self) -> date:
        return self.app.now().astimezone(JST).date()
