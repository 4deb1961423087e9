"""The application service: one method per use case, the same for the CLI and a host backend.

Every method takes ids and primitives, checks the rules before anything is written, saves the
events of one command in one transaction, and returns small frozen results.  A refused command
raises an :class:`~approvals.errors.ApprovalsError` and writes nothing.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from copy import deepcopy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import Engine, inspect

from approvals.audit.damage import UNREADABLE, filings, problem_of
from approvals.audit.signing import SIGNATURES_TABLE, WriterKey
from approvals.definitions import find_workflow, parse_definition
from approvals.domain.case import Case, case_id
from approvals.domain.clocks import JST, Holiday, weekends
from approvals.domain.disclosure import (
    ProvisionRecord,
    records_disclosed,
    records_wanted,
    subject_of,
)
from approvals.domain.guards import check_filing, check_step
from approvals.domain.links import (
    IN_EFFECT_LINKS,
    SUBJECTS_FIELD,
    StopRequest,
    link_refusal,
    linked_as_of,
    provision_checked,
    provision_refusal,
    split_subjects,
    stop_requests,
    subject_key,
)
from approvals.domain.registry import (
    PublishedDefinition,
    ReferenceCounter,
    counter_id,
    definition_id,
    reference_key,
)
from approvals.domain.retention import RetentionRecord, retention_id
from approvals.domain.roster import (
    PERSON,
    ROSTER_ID,
    KeyRecord,
    Roster,
    check_appointment,
    check_dismissal,
    check_key_registration,
    check_key_revocation,
    check_name,
    shown_value,
)
from approvals.domain.workflow import ROLES, Workflow
from approvals.errors import (
    CaseDisposed,
    CaseNotFound,
    CaseUnreadable,
    ConcurrencyConflict,
    DefinitionConflict,
    InvalidValue,
    Label,
    NotAuthorized,
    RosterRefused,
    SigningRefused,
    UnknownPerson,
)
from approvals.logging import get_logger
from approvals.registers import Registers
from approvals.results import (
    Appointment,
    CaseView,
    Document,
    HistoryEntry,
    InboxItem,
    Reminder,
)
from approvals.retention import Retention
from approvals.store import ensure_schema
from approvals.stored import StoredApplication
from approvals.views import case_view, history_entries

__all__ = ["ApprovalsApplication", "Clock", "system_clock"]

Clock = Callable[[], datetime]

_ATTEMPTS = 200
"""How often a filing or a roster change is tried again after another writer changed what it
read (the next reference number, the roster); each lost race is another writer's success, so
this bounds only a pathological storm."""
T = TypeVar("T")
log = get_logger(__name__)


def system_clock() -> datetime:
    """Return the current time, timezone-aware."""
    return datetime.now(UTC)


class ApprovalsApplication(StoredApplication):
    """The approvals engine on one database; build it with :func:`approvals.open_approvals`."""

    name = "approvals"  # eventsourcing names tables after it: approvals_events

    def __init__(
        self,
        *,
        engine: Engine,
        workflows: Mapping[str, Workflow],
        clock: Clock = system_clock,
        holiday: Holiday = weekends,
        owns_engine: bool = False,
        signer: WriterKey | None = None,
    ) -> None:
        self._workflows = dict(workflows)
        self._signer = signer
        self._clock = clock
        self._holiday = holiday
        self._published: dict[tuple[str, int], Workflow] = {}
        self._registers: Registers | None = None
        self._series_locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        super().__init__(engine=engine, owns_engine=owns_engine)

    def after_fork(self) -> None:
        """In a forked child: fresh locks for the numbering and the read models as well."""
        super().after_fork()
        self._locks_lock = threading.Lock()
        self._series_locks = {}
        if self._registers is not None:
            self._registers.projector.after_fork()

    @property
    def workflows(self) -> Mapping[str, Workflow]:
        """The workflow definitions new cases are filed on, by id."""
        return self._workflows

    @property
    def holiday(self) -> Holiday:
        """The calendar business-day deadlines are counted on."""
        return self._holiday

    def now(self) -> datetime:
        """Return the time of the application's clock."""
        moment = self._clock()
        if moment.tzinfo is None:
            raise ValueError("the clock must return timezone-aware datetimes")
        return moment

    # -- the roster ----------------------------------------------------------------------------

    def establish_roster(self, representative: str, *, actor: str | None = None) -> None:
        """Start the roster with the company's representative; done once, at installation."""
        with self.command("roster.establish", actor=actor or representative, user=representative):

            def establish() -> None:
                check_name(representative, PERSON)
                if actor is not None:
                    check_name(actor, PERSON)
                existing = self._roster_or_none()
                if existing is not None:
                    raise RosterRefused(
                        "roster.established", person=", ".join(existing.holders("representative"))
                    )
                roster = Roster.establish(
                    representative=representative, actor=actor or representative, at=self.now()
                )
                self.commit("roster", roster)

            self._until_saved(establish, "roster")

    def appoint(self, *, actor: str, user: str, role: str, department: str = "") -> Appointment:
        """Appoint ``user`` to ``role`` (of ``department``), as ``actor`` may."""
        with self.command(
            "roster.appoint", actor=actor, user=user, role=role, department=department
        ):

            def appoint() -> Appointment:
                roster = self._roster("appoint")
                actor_role = check_appointment(
                    roster, actor=actor, user=user, role=role, department=department
                )
                at = self.now()
                roster.appoint(
                    user=user,
                    role=role,
                    department=department,
                    actor=actor,
                    actor_role=actor_role,
                    at=at,
                )
                self.commit("roster", roster)
                return Appointment(user, role, ROLES[role], department, at, None)

            return self._until_saved(appoint, "roster")

    def dismiss(self, *, actor: str, user: str, role: str, department: str = "") -> None:
        """End ``user``'s term as ``role`` (of ``department``), as ``actor`` may."""
        with self.command(
            "roster.dismiss", actor=actor, user=user, role=role, department=department
        ):

            def dismiss() -> None:
                roster = self._roster("dismiss")
                actor_role = check_dismissal(
                    roster, actor=actor, user=user, role=role, department=department
                )
                roster.dismiss(
                    user=user,
                    role=role,
                    department=department,
                    actor=actor,
                    actor_role=actor_role,
                    at=self.now(),
                )
                self.commit("roster", roster)

            self._until_saved(dismiss, "roster")

    def register_key(
        self, *, actor: str, holder: str, public_key: str, service: bool = False
    ) -> KeyRecord:
        """Register ``holder``'s public key (64 hex digits), as ``actor`` may: a person's key by
        whoever may appoint them, a host application's service key (``service``) by the
        representative or the chief.  The first key of a roster is the representative's own,
        registered by themselves with that key: signing begins there, and from then on every
        event must be signed by a registered key."""
        with self.command("roster.register_key", actor=actor, holder=holder, service=service):

            def register() -> KeyRecord:
                roster = self._roster("register a key")
                actor_role = check_key_registration(
                    roster, actor=actor, holder=holder, service=service, public_key=public_key
                )
                roster.register_key(
                    public_key=public_key.lower(), holder=holder, service=service, actor=actor,
                    actor_role=actor_role, at=self.now(),
                )  # fmt: skip
                self._ensure_signatures_table()
                self.commit("roster", roster)
                return next(k for k in roster.keys.values() if k.public_key == public_key.lower())

            return self._until_saved(register, "roster")

    def revoke_key(self, *, actor: str, key_id: str) -> None:
        """Revoke a registered key, as its holder or whoever may register it may: nothing it
        signs after this is accepted."""
        with self.command("roster.revoke_key", actor=actor, key_id=key_id):

            def revoke() -> None:
                roster = self._roster("revoke a key")
                actor_role = check_key_revocation(roster, actor=actor, key_id=key_id)
                roster.revoke_key(key_id=key_id, actor=actor, actor_role=actor_role, at=self.now())
                self.commit("roster", roster)

            self._until_saved(revoke, "roster")

    def writer_keys(self) -> tuple[KeyRecord, ...]:
        """Every writer's key the roster registered, revoked ones too, in registration order."""
        roster = self._roster_or_none()
        return tuple(getattr(roster, "keys", {}).values()) if roster is not None else ()

    @property
    def signer(self) -> WriterKey | None:
        """The key this application signs its events with (None: it writes unsigned)."""
        return self._signer

    def signing_for(self, aggregates: Any, writer: str | None) -> tuple[WriterKey, str] | None:
        """Decide how the events of ``aggregates`` are signed, with the roster's keys as they
        stood before these events: unsigned until signing began; the key being registered
        for the first registration (it begins signing); after that a key the roster holds for
        the writer (a person's own key, or a service key, which signs for anyone)."""
        roster = next((a for a in aggregates if isinstance(a, Roster)), None)
        if roster is None:  # as this command read it (the writer checks no key event came since)
            roster = self.fresh(ROSTER_ID)
        if roster is None:
            roster = self._roster_or_none()
        keys = dict(getattr(roster, "keys", None) or {})
        pending = [e for a in aggregates for e in a.pending_events]
        if roster is not None:  # the writer checks, in its turn, that no key event came since
            mine = sum(1 for e in pending if e.originator_id == ROSTER_ID)
            self._local.roster_seen = roster.version - mine
        for event in reversed(pending):  # undo this commit's own key events
            if isinstance(event, Roster.KeyRegistered):
                keys.pop(event.key_id, None)
            elif isinstance(event, Roster.KeyRevoked) and event.key_id in keys:
                keys[event.key_id] = replace(keys[event.key_id], end=None, revoked_by="")
        name = writer or (self._signer.holder if self._signer is not None else "")
        if not keys:
            first = next((e for e in pending if isinstance(e, Roster.KeyRegistered)), None)
            if first is None:
                return None  # signing has not begun
            if self._signer is None or self._signer.key_id != first.key_id:
                raise SigningRefused(
                    "signing.unregistered", writer=name, key_id=first.key_id, holder=first.holder
                )
            return self._signer, name
        if self._signer is None:
            raise SigningRefused("signing.no_key", writer=name)
        record = keys.get(self._signer.key_id)
        if record is None or record.end is not None:
            raise SigningRefused(
                "signing.unregistered", writer=name, key_id=self._signer.key_id,
                holder=self._signer.holder,
            )  # fmt: skip
        if not record.service and record.holder != name:
            raise SigningRefused(
                "signing.other_person", writer=name, key_id=record.key_id, holder=record.holder
            )
        return self._signer, name

    def _ensure_signatures_table(self) -> None:
        """Create the signatures table of a store made before signing existed (its owner)."""
        with self.engine.connect() as connection:
            present = inspect(connection).has_table(SIGNATURES_TABLE)
        if not present:
            ensure_schema(self.engine, list(self.recorder.tables))  # type: ignore[attr-defined]

    def roster_aggregate(self) -> Roster | None:
        """Return the roster with its whole history (None before it is established); a copy,
        which changes nothing when changed."""
        return deepcopy(self._roster_or_none())

    def identify(self, person: str) -> tuple[Appointment, ...]:
        """Return the roles ``person`` holds now; refuse someone who holds none, and refuse
        everyone (:class:`StorageError` ``roster.unreadable``) when the roster's events do not
        replay: changed behind the engine's back, which ``approvals audit verify`` (open to
        whoever can read the database) reports."""
        # Imported here to keep this change inside identify (they belong at the top).
        from approvals.audit.damage import STORAGE_ERRORS  # noqa: PLC0415
        from approvals.errors import ApprovalsError, StorageError  # noqa: PLC0415

        try:
            terms = self.roster()
        except (ApprovalsError, *STORAGE_ERRORS):
            raise
        except Exception:  # noqa: BLE001 - a roster altered by hand does not replay; say so
            raise StorageError("roster.unreadable", person=person) from None
        held = tuple(term for term in terms if term.user == person)
        if not held:
            raise UnknownPerson(person=person)
        return held

    def roster(self, *, as_of: datetime | None = None) -> tuple[Appointment, ...]:
        """Return the terms running now, or at ``as_of``, ordered by role, department, person."""
        roster = self._roster_or_none()
        if roster is None:
            return ()
        order = list(ROLES)
        terms = sorted(
            roster.terms_at(as_of),
            key=lambda term: (order.index(term.role), term.department, term.user),
        )
        return tuple(
            Appointment(t.user, t.role, ROLES[t.role], t.department, t.start, t.end) for t in terms
        )

    # -- cases ---------------------------------------------------------------------------------

    def file(
        self,
        workflow: str,
        *,
        actor: str,
        title: str,
        department: str,
        fields: Mapping[str, Any] | None = None,
        attachments: Iterable[Document] = (),
        comment: str = "",
    ) -> CaseView:
        """File a notice (届け出) on ``workflow``; return the new case with its reference."""
        with self.command("case.file", actor=actor, workflow=workflow) as logged:
            definition = find_workflow(self._workflows, workflow)
            docs = [doc.as_attachment().as_record() for doc in attachments]

            def file_once() -> CaseView:
                with self._series_lock(definition.prefix):
                    at = self.now()
                    roster = self._roster("file")
                    role, clean = check_filing(
                        definition,
                        roster,
                        actor=actor,
                        department=department,
                        title=title,
                        fields=fields or {},
                        at=at,
                        comment=comment,
                        documents=[doc["name"] for doc in docs],
                    )
                    self._check_links(definition, clean)
                    self._check_cross(definition, department=department.strip(),
                                      dest=definition.initial, fields=clean, comment=comment,
                                      step_fields=None)  # fmt: skip
                    counter = self._next_reference(definition.prefix, at)
                    case = Case.file(
                        reference=counter.reference,
                        workflow_id=definition.id,
                        workflow_version=definition.version,
                        workflow_sha256=definition.sha256,
                        title=title.strip(),
                        department=department.strip(),
                        actor=actor,
                        role=role,
                        state=definition.initial,
                        fields=clean,
                        attachments=docs,
                        comment=comment,
                        at=at,
                    )
                    published = self._publication(definition, at)
                    self.commit(counter.reference, counter, case, published)
                    logged["case"] = counter.reference
                    return case_view(case, definition, roster, at, holiday=self._holiday)

            return self._until_saved(
                file_once, Label(f"The numbering of {workflow}", f"{workflow} の採番")
            )

    def act(
        self,
        reference: str,
        trigger: str,
        *,
        actor: str,
        comment: str = "",
        fields: Mapping[str, Any] | None = None,
        checklist: Iterable[str] = (),
        attachments: Iterable[Document] = (),
    ) -> CaseView:
        """Take the step ``trigger`` on case ``reference`` as ``actor``; return the case now."""
        with self.command("case.act", actor=actor, case=reference, trigger=trigger) as logged:
            docs = [doc.as_attachment().as_record() for doc in attachments]
            case, roster = self._case_and_roster(reference)
            if roster is None:
                raise RosterRefused("roster.not_established", action="act")
            definition = self.definition_of(case)
            at = self.now()
            decision = check_step(
                case,
                definition,
                roster,
                actor=actor,
                trigger=trigger,
                comment=comment,
                fields=fields or {},
                checklist=checklist,
                at=at,
                documents=[doc["name"] for doc in docs],
            )
            self._check_links(definition, decision.fields)
            self._check_cross(definition, department=case.department, dest=decision.step.dest,
                              fields={**case.fields, **decision.fields}, comment=comment,
                              step_fields=decision.step.fields)  # fmt: skip
            recorded = dict(decision.fields)
            if records_wanted(definition, decision.step):
                subject = subject_of({**case.fields, **decision.fields})
                recorded.update(records_disclosed(self.provision_records(subject)))
            case.take(
                trigger=trigger,
                dest=decision.step.dest,
                actor=actor,
                role=decision.role,
                comment=comment,
                fields=recorded,
                checklist=decision.checklist,
                attachments=docs,
                at=at,
            )
            self.commit(reference, case)
            logged["state"] = case.state
            return case_view(case, definition, roster, at, holiday=self._holiday)

    def case(self, reference: str, *, as_of: datetime | None = None) -> CaseView:
        """Return case ``reference`` as it stands now, or as it stood at ``as_of``."""
        if as_of is None:
            case, roster = self._case_and_roster(reference)
        else:
            case, roster = self._case(reference, as_of=as_of), self._roster_or_none()
        return case_view(
            case,
            self.definition_of(case),
            roster,
            as_of or self.now(),
            holiday=self._holiday,
            as_of=as_of,
        )

    def case_aggregate(self, reference: str, *, as_of: datetime | None = None) -> Case:
        """Return the aggregate of case ``reference`` (as it stood at ``as_of``); a copy, which
        changes nothing when changed."""
        return deepcopy(self._case(reference, as_of=as_of))

    def history(self, reference: str) -> tuple[HistoryEntry, ...]:
        """Return every event of case ``reference``, oldest first."""
        case = self._case(reference)
        definition = self.definition_of(case)
        return history_entries(case, definition)

    def registers(self) -> Registers:
        """The read models: inbox, case register, vendors, provisions, retention, overdue."""
        with self._locks_lock:  # one set of read models per application, whatever the thread
            if self._registers is None:
                self._registers = Registers(self)
            return self._registers

    def retention(self) -> Retention:
        """The retention use cases: due, hold, release, approve, dispose."""
        return Retention(self)

    def cases(
        self,
        *,
        workflow: str | None = None,
        state: str | None = None,
        department: str | None = None,
        as_of: datetime | None = None,
    ) -> tuple[CaseView, ...]:
        """Return every case (as it stood at ``as_of``), filtered, in the order filed.

        This replays each case; the read models of ``projections/`` answer it for large logs.
        """
        now = as_of or self.now()
        roster = self._roster_or_none()
        found: list[CaseView] = []
        for reference in self.references():
            try:
                case = self._case(reference, as_of=as_of)
            except CaseNotFound:
                continue  # filed after as_of
            except CaseUnreadable:
                continue  # damaged past its notice: `approvals audit verify` names it
            if workflow not in (None, case.workflow_id) or department not in (
                None,
                case.department,
            ):
                continue
            if state not in (None, case.state):
                continue
            definition = self.definition_of(case)
            found.append(
                case_view(case, definition, roster, now, holiday=self._holiday, as_of=as_of)
            )
        return tuple(found)

    def inbox(self, person: str) -> tuple[InboxItem, ...]:
        """Return the steps that wait for ``person``, oldest first (from the inbox read model)."""
        return self.registers().inbox(person)

    def reminders(
        self, *, actor: str, within: timedelta = timedelta(days=3), everyone: bool = False
    ) -> tuple[Reminder, ...]:
        """What is overdue or due ``within`` from now: for ``actor``, or with ``everyone`` for
        every person (the chief, the audit officer and the representative may ask, and a mailer
        runs as one of them).  Each overdue deadline is logged."""
        with self.command("remind", actor=actor, everyone=everyone) as logged:
            roster = self._roster("remind")
            at = self.now()
            if not roster.knows(actor):
                raise UnknownPerson(person=actor)
            overseers = ("chief", "auditor", "representative")
            if everyone and not any(roster.holds(actor, role, "", at) for role in overseers):
                raise NotAuthorized(
                    "remind.not_authorized",
                    person=actor,
                    allowed=tuple(ROLES[role] for role in overseers),
                )
            found = self.registers().reminders(
                until=at + within, person=None if everyone else actor
            )
            for item in found:
                if item.overdue:
                    log.info("deadline.overdue", case=item.reference, deadline=item.deadline,
                                person=item.person, due_at=item.due_at.isoformat())  # fmt: skip
            logged["due"] = len(found)
            logged["overdue"] = sum(1 for item in found if item.overdue)
            return found

    def references(self) -> tuple[str, ...]:
        """Return the reference of every case, in the order they were filed: not those disposed
        of (only their retention record remains), nor those :meth:`unreadable` names."""
        with self._storage():
            return tuple(reference for reference, problem in filings(self) if problem is None)

    def unreadable(self) -> tuple[CaseUnreadable, ...]:
        """Return, in the order filed, why each case whose notice cannot be read is refused: its
        events are stored but do not decrypt, or its key is gone though it was never disposed
        of.  Damage, which ``approvals audit verify`` reports; the other cases are not affected."""
        with self._storage():
            return tuple(problem for _, problem in filings(self) if problem is not None)

    def definition(self, workflow_id: str, version: int) -> Workflow:
        """Return version ``version`` of workflow ``workflow_id``: loaded, or published in the
        log by the first case filed on it."""
        key = (workflow_id, version)
        cached = self._published.get(key)
        if cached is not None:
            return cached
        current = self._workflows.get(workflow_id)
        if current is not None and current.version == version:
            return current
        with self._storage():
            stored: PublishedDefinition = self.repository.get(definition_id(*key))
        workflow = parse_definition(stored.source, f"{workflow_id} v{version} (log)")
        self._published[key] = workflow
        return workflow

    def workflow_of(self, reference: str) -> Workflow:
        """Return the definition version case ``reference`` runs on."""
        return self.definition_of(self._case(reference))

    # -- inside --------------------------------------------------------------------------------

    def _roster_or_none(self) -> Roster | None:
        roster: Roster | None = self.current(ROSTER_ID)[0]
        return roster

    def _roster(self, action: str) -> Roster:
        roster = self._roster_or_none()
        if roster is None:
            raise RosterRefused("roster.not_established", action=action)
        return roster

    def _case(self, reference: str, *, as_of: datetime | None = None) -> Case:
        if as_of is None:
            return self._case_and_roster(reference)[0]
        key = reference_key(reference)
        try:
            with self._storage():
                self._refuse_disposed(key)
                events = [
                    e
                    for e in self.events.get(case_id(key))
                    if cast("Case.Event", e).timestamp <= as_of
                ]
                if not events:
                    raise CaseNotFound(reference=shown_value(reference))
                past: Case = self.repository.get(
                    case_id(key), version=events[-1].originator_version
                )
                return past
        except AggregateNotFoundError:
            raise CaseNotFound(reference=shown_value(reference)) from None
        except UNREADABLE:
            self._refuse_unreadable(key)
            raise

    def _case_and_roster(self, reference: str) -> tuple[Case, Roster | None]:
        """The case as it is now, with its retention record and the roster: one query."""
        key = reference_key(reference)
        try:
            case, record, roster = self.current(case_id(key), retention_id(key), ROSTER_ID)
        except UNREADABLE:
            self._refuse_unreadable(key)
            raise
        if record is not None and record.disposed:
            self._aggregates().pop(case_id(key), None)  # its personal data leaves memory too
            self._refuse_disposed(key)
        if case is None:
            raise CaseNotFound(reference=shown_value(reference))
        return cast("Case", case), roster

    def _check_links(self, workflow: Workflow, fields: Mapping[str, Any]) -> None:
        """Refuse a case field naming no case, or a case of another workflow."""
        for name, value in fields.items():
            spec = workflow.fields[name]
            if spec.kind != "case":
                continue
            try:
                linked = self._case_and_roster(str(value))[0]
            except CaseNotFound:
                raise InvalidValue(
                    "value.case_unknown",
                    field=spec.label,
                    reference=value,
                    workflow=self._title(spec.workflow),
                ) from None
            if linked.workflow_id != spec.workflow:
                raise InvalidValue(
                    "value.case_workflow",
                    field=spec.label,
                    reference=value,
                    actual=self._title(linked.workflow_id),
                    workflow=self._title(spec.workflow),
                )

    def _check_cross(
        self,
        workflow: Workflow,
        *,
        department: str,
        dest: str,
        fields: Mapping[str, Any],
        comment: str,
        step_fields: tuple[str, ...] | None,
    ) -> None:
        """Refuse a filing or a step by the rules across cases (:mod:`approvals.domain.links`),
        on the named cases and the data subjects' requests as they stand now."""
        for name, spec in workflow.fields.items():
            if spec.kind != "case" or not fields.get(name):
                continue
            if (workflow.id, name) not in IN_EFFECT_LINKS:
                continue
            other = self._case_and_roster(str(fields[name]))[0]
            linked = linked_as_of(other, self.definition_of(other))
            refusal = None if linked is None else link_refusal(
                workflow, name, department, dest, linked
            )  # fmt: skip
            if refusal is not None:
                raise refusal
        if provision_checked(workflow, step_fields):
            refusal = provision_refusal(workflow, fields, comment, self._stops_naming(fields))
            if refusal is not None:
                raise refusal

    def provision_records(self, subject: str) -> tuple[ProvisionRecord, ...]:
        """Return the provisions to third parties the ledger holds now naming the data subject
        ``subject`` (as the ledger finds a person), oldest first: what a disclosure of
        provision records discloses (APPI Art.33-5, :mod:`approvals.domain.disclosure`)."""
        if not subject.strip():
            return ()
        return tuple(
            ProvisionRecord(row.reference, row.entry, row.on_date, row.party)
            for row in self.registers().provisions(kind="provision", subject=subject)
        )

    def _stops_naming(self, fields: Mapping[str, Any]) -> tuple[StopRequest, ...]:
        """The refusals of provision complied with (Art.19) that name a data subject of
        ``fields``: found in the provision ledger's read model by each subject's key (one
        query each, whatever the log's size), where refusals are rows of their own.  Inside
        a host's unit of work, whose requests may not be committed yet, every request case is
        read (:meth:`stop_requests`), and those the unit wrote."""
        found: dict[str, StopRequest] = {}
        if self.host.connection() is not None:
            for stop in self.stop_requests():  # committed, and those the unit wrote:
                found.setdefault(stop.reference, stop)
            for aggregate in list(self._aggregates().values()):
                if isinstance(aggregate, Case):
                    for stop in stop_requests(aggregate):
                        found.setdefault(stop.reference, stop)
            return tuple(found.values())
        for spelling, _ in split_subjects(str(fields.get(SUBJECTS_FIELD) or "")):
            for row in self.registers().provisions(kind="refusal", subject=spelling):
                subject = row.data_subjects
                found.setdefault(
                    row.reference,
                    StopRequest(row.reference, subject, subject_key(subject), row.recorded_at),
                )
        return tuple(found.values())

    def stop_requests(self) -> tuple[StopRequest, ...]:
        """Every refusal of provision the company complied with (Art.19), oldest first (read
        from every request case: the provision check asks the read model instead)."""
        request = self._workflows.get("request")
        if request is None:
            return ()
        found: list[StopRequest] = []
        for reference in self.references():
            if not reference.startswith(f"{request.prefix}-"):
                continue
            try:
                found += stop_requests(self._case_and_roster(reference)[0])
            except (CaseNotFound, CaseDisposed, CaseUnreadable):
                continue
        return tuple(found)

    def _title(self, workflow_id: str) -> Label:
        known = self._workflows.get(workflow_id)
        return known.title if known is not None else Label(workflow_id, workflow_id)

    def _refuse_unreadable(self, reference: str) -> None:
        """Refuse case ``reference`` when one of its events cannot be read: as disposed of
        when it was, else as damaged (CaseUnreadable); return when every event reads (what
        failed was not the case's)."""
        with self._storage():
            for stored in self.recorder.select_events(case_id(reference)):
                try:
                    self.mapper.to_domain_event(stored)
                except UNREADABLE as error:
                    self._refuse_disposed(reference)
                    raise CaseUnreadable(problem_of(error), reference=reference) from None

    def _refuse_disposed(self, reference: str) -> None:
        try:
            record: RetentionRecord = self.repository.get(retention_id(reference))
        except AggregateNotFoundError:
            return
        if record.disposed:
            self.case_keys.forget(case_id(reference))
            disposal = record.disposal
            raise CaseDisposed(
                reference=reference,
                date=str(disposal["date"])[:10],
                by=str(disposal["by"]),
                method=str(disposal["method"]),
            )

    def _until_saved(self, attempt: Callable[[], T], what: str | Label) -> T:
        """Run ``attempt`` (read, check, save) again while another writer wins the race to
        save first: a filing takes the next number, a roster change is checked again on the
        roster as it is now.  A short random wait keeps the same writers from colliding again
        in step."""
        for tries in range(_ATTEMPTS):
            try:
                return attempt()
            except ConcurrencyConflict:
                time.sleep(random.uniform(0, min(0.05, 0.001 * 2**tries)))
        raise ConcurrencyConflict(what=what if isinstance(what, Label) else Label(what, what))

    def _series_lock(self, prefix: str) -> threading.Lock:
        """The lock this process's filers of one workflow's numbers take turns on: threads of
        one application never race each other for a number."""
        with self._locks_lock:
            return self._series_locks.setdefault(prefix, threading.Lock())

    def _next_reference(self, prefix: str, at: datetime) -> ReferenceCounter:
        series = f"{prefix}-{at.astimezone(JST).year}"
        counter: ReferenceCounter | None = self.current(counter_id(series))[0]
        if counter is None:
            return ReferenceCounter.start(series, at)
        counter.issue(at)
        return counter

    def _publication(self, workflow: Workflow, at: datetime) -> PublishedDefinition | None:
        """Return the definition's first publication, or None when the log has it already."""
        key = (workflow.id, workflow.version)
        if key in self._published and self._published[key].sha256 == workflow.sha256:
            return None
        # Read as the other aggregates of the command are: inside a host's unit of work, a
        # publication the unit made already (not yet committed) is seen.
        stored: PublishedDefinition | None = self.current(definition_id(*key))[0]
        if stored is None:
            return PublishedDefinition.publish(
                workflow_id=workflow.id,
                version=workflow.version,
                sha256=workflow.sha256,
                source=workflow.source,
                at=at,
            )
        if stored.sha256 != workflow.sha256:
            raise DefinitionConflict(
                workflow=workflow.id, version=workflow.version, file=workflow.path
            )
        if self.host.connection() is None:  # committed, not a host's unit that may roll back
            self._published[key] = workflow
        return None

    def definition_of(self, case: Case) -> Workflow:
        """Return the definition version ``case`` runs on (from the log when not loaded)."""
        key = (case.workflow_id, case.workflow_version)
        cached = self._published.get(key)
        if cached is not None and cached.sha256 == case.workflow_sha256:
            return cached
        current = self._workflows.get(case.workflow_id)
        if current is not None and current.sha256 == case.workflow_sha256:
            self._published[key] = current
            return current
        with self._storage():
            stored: PublishedDefinition = self.repository.get(definition_id(*key))
        workflow = parse_definition(
            stored.source, f"{case.workflow_id} v{case.workflow_version} (log)"
        )
        self._published[key] = workflow
        return workflow
