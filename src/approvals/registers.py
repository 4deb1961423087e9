"""The lists people look at, read from the read models of ``projections/``.

Each query first lets the models take in what the log gained since the last one (a couple of
small queries when nothing is new), then reads one indexed query: the inbox, the case register
(台帳), the vendor register, the provision ledger, the retention schedule, the overdue list.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import Table

from approvals.domain.clocks import JST
from approvals.domain.links import ERASURE_DUTY
from approvals.domain.registry import reference_key
from approvals.domain.retention import kept_until
from approvals.domain.workflow import ROLES
from approvals.errors import (
    ApprovalsError,
    CaseNotFound,
    CaseUnreadable,
    FlawedValue,
    Label,
    StorageError,
)
from approvals.projections import all_models
from approvals.readmodel import ModelStatus, Projector, chunks, storable
from approvals.results import (
    CaseEntry,
    InboxItem,
    OverdueEntry,
    ProvisionEntry,
    ReceiptEntry,
    Reminder,
    RetentionEntry,
    VendorEntry,
)
from approvals.store import shown_url
from approvals.views import register_values

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication
    from approvals.domain.workflow import Workflow

__all__ = ["KINDS", "Registers"]

SCHEDULE_PAGE = 500
"""Rows of the retention schedule read at once when cases name others (see retention)."""

DISPOSED = Label("disposed", "廃棄済み")
KINDS = {
    "provision": Label("provision to a third party", "第三者提供"),
    "joint_use": Label("joint use", "共同利用"),
    "refusal": Label("refusal of provision complied with (Art.19)", "第三者提供の停止(第19条)"),
    "receipt": Label(
        "receipt from a third party (APPI 30)", "第三者からの受領(個人情報保護法第30条)"
    ),
}


class Registers:
    """Queries on the read models of one application, kept current as they are asked."""

    def __init__(self, app: ApprovalsApplication, projector: Projector | None = None) -> None:
        self.app = app
        self.projector = projector or Projector(app, all_models())
        self._tables = {t.name: t for m in self.projector.models for t in m.tables}
        self._labels: dict[tuple[str, int, str, str, str], tuple[Label, Label, Label, Label]] = {}

    def refresh(self) -> int:
        """Let the read models take in the log's new events; return how many were read.

        Inside a host's transaction on SQLite (``app.joined``), which holds the database's
        only write lock, the models cannot write: they answer as they stand when they have
        taken in everything committed, and a catch-up they would need is refused in one
        sentence (call ``refresh()`` before the transaction begins) rather than waiting on
        the lock the same thread holds."""
        if self.app.host.connection() is not None and self.app.engine.dialect.name == "sqlite":
            if not getattr(self.projector, "_ready", False) or any(
                s.lag for s in self.projector.status()
            ):
                raise StorageError(
                    url=shown_url(self.app.engine.url),
                    reason=Label(
                        "the read models are behind the log, and inside a host's transaction "
                        "on SQLite (which holds the only write lock) they cannot catch up; "
                        "call registers().refresh() before the transaction begins",
                        "読み取りモデルが記録に追いついておらず、SQLite でのホストの"
                        "トランザクション(唯一の書き込みロックを持つ)の中では追いつけません。"
                        "トランザクションを始める前に registers().refresh() を呼んでください",
                    ),
                )
            return 0
        return self.projector.catch_up()

    def status(self) -> tuple[ModelStatus, ...]:
        """Return where each read model stands against the log."""
        return self.projector.status()

    # -- the lists -----------------------------------------------------------------------------

    def inbox(self, person: str) -> tuple[InboxItem, ...]:
        """Return the steps that wait for ``person`` under the roles they hold now, oldest
        first."""
        inbox, roster = self._table("rm_inbox"), self._table("rm_roster")
        query = (
            _waiting_for(sa.select(inbox).distinct(), inbox, roster)
            .where(roster.c.user == _as_stored(roster.c.user, person))
            .order_by(inbox.c.since, inbox.c.reference, inbox.c.trigger)
        )
        now = self.app.now()
        items = []
        for row in self._rows(query):
            title, state, label, role = self._step_labels(
                row.workflow, row.workflow_version, row.state, row.trigger, row.role
            )
            items.append(
                InboxItem(
                    reference=row.reference,
                    workflow=row.workflow,
                    workflow_title=title,
                    title=row.title,
                    department=row.case_department,
                    state=row.state,
                    state_label=state,
                    trigger=row.trigger,
                    label=label,
                    role=row.role,
                    role_label=role,
                    since=row.since,
                    due_at=row.due_at,
                    overdue=row.due_at is not None and now > row.due_at,
                )
            )
        return tuple(items)

    def cases(
        self,
        *,
        workflow: str | None = None,
        state: str | None = None,
        department: str | None = None,
        limit: int | None = None,
    ) -> tuple[CaseEntry, ...]:
        """Return the case register in the order filed (a disposed case where it was disposed
        of), filtered."""
        table = self._table("rm_cases")
        query = sa.select(*[c for c in table.c if c.name != "listed_at"]).order_by(
            table.c.listed_at, table.c.reference
        )
        query = _where(query, table, workflow=workflow, state=state, department=department)
        return tuple(self._case_entry(row) for row in self._rows(query, limit))

    def cases_as_of(
        self,
        as_of: datetime,
        *,
        workflow: str | None = None,
        state: str | None = None,
        department: str | None = None,
    ) -> tuple[CaseEntry, ...]:
        """Return the case register as it stood at ``as_of``, replayed from the log (the read
        model only knows the present)."""
        found = []
        for reference in self.app.references():
            try:
                case = self.app.case_aggregate(reference, as_of=as_of)
            except CaseNotFound:
                continue  # filed after as_of
            except CaseUnreadable:
                continue  # damaged past its notice: `approvals audit verify` names it
            values = register_values(case, self.app.definition_of(case))
            if all(
                wanted in (None, values[name])
                for name, wanted in (("workflow", workflow), ("state", state),
                                     ("department", department))
            ):  # fmt: skip
                found.append(self._case_entry({**values, "disposed_at": None}))
        return tuple(found)

    def vendors(
        self,
        *,
        state: str | None = None,
        department: str | None = None,
        vendor: str | None = None,
        limit: int | None = None,
    ) -> tuple[VendorEntry, ...]:
        """Return the vendor register: each entrustment, in the order filed, with the
        subcontracting approved for it."""
        table = self._table("rm_vendors")
        query = _where(
            sa.select(table).order_by(table.c.reference), table,
            state=state, department=department, vendor=vendor,
        )  # fmt: skip
        now = self.app.now()
        rows = self._rows(query, limit)
        subcontracts = self._subcontracts([row.reference for row in rows])
        erased = self._erasures([row.reference for row in rows if row.ended_at is not None])
        entries = []
        for row in rows:
            values = dict(row._mapping)
            label = self._workflow(values.pop("workflow"), values.pop("workflow_version"))
            approved = subcontracts.get(row.reference, [])
            # A subcontract ends with its entrustment (001 Art.6, 002 第9).
            running = [s for s in approved if s.in_effect and row.ended_at is None]
            done = erased.get(row.reference)
            entries.append(
                VendorEntry(
                    **values,
                    state_label=label.state(row.state).label,
                    inspection_overdue=row.next_inspection_due is not None
                    and now > row.next_inspection_due,
                    vendor_report_overdue=row.next_vendor_report_due is not None
                    and now > row.next_vendor_report_due,
                    subcontracts_approved=len(approved),
                    subcontracts_in_effect=len(running),
                    subcontractors=tuple(sorted({s.subcontractor for s in running})),
                    erasure_done_at=done,
                    erasure_overdue=row.erasure_due_at is not None
                    and done is None
                    and now > row.erasure_due_at,
                )
            )
        return tuple(entries)

    def provisions(
        self,
        *,
        kind: str | None = None,
        department: str | None = None,
        since: date | None = None,
        until: date | None = None,
        subject: str | None = None,
        limit: int | None = None,
    ) -> tuple[ProvisionEntry, ...]:
        """Return the provision and joint-use ledger, by date (``since``/``until`` inclusive);
        ``subject``: only the provisions naming that data subject — the whole subject, in any
        case, full- or half-width, however spaced ("yamada  taro" finds "Yamada Taro", not
        "Yamada Taro Jr." nor "Yamada")."""
        table = self._table("rm_provisions")
        query = _ledger(table, since, until, kind=kind, department=department)
        if subject is not None:
            named = self._table("rm_provision_subjects")
            # One row per subject and provision: the join repeats no provision.
            query = query.join(
                named, sa.and_(named.c.reference == table.c.reference,
                               named.c.entry == table.c.entry),
            ).where(named.c.subject_key == self._subject_key(subject))  # fmt: skip
        entries = []
        for row in self._rows(query, limit):
            values = dict(row._mapping)
            values.pop("state")
            entries.append(
                ProvisionEntry(**values, kind_label=KINDS.get(row.kind, _same(row.kind)))
            )
        return tuple(entries)

    def receipts(
        self,
        *,
        department: str | None = None,
        since: date | None = None,
        until: date | None = None,
        provider: str | None = None,
        limit: int | None = None,
    ) -> tuple[ReceiptEntry, ...]:
        """Return the receipts ledger (APPI 30), by the day collection starts (``since``/
        ``until`` inclusive); ``provider``: only the receipts from that provider — its whole
        name, in any case, full- or half-width, however spaced."""
        table = self._table("rm_receipts")
        query = _ledger(table, since, until, department=department)
        if provider is not None:
            model: Any = self.projector.model("receipts")
            query = query.where(table.c.provider_key == str(model.provider_key(provider)))
        entries = []
        for row in self._rows(query, limit):
            values = dict(row._mapping)
            values.pop("state")
            values.pop("provider_key")
            entries.append(ReceiptEntry(**values, kind_label=KINDS.get(row.kind, _same(row.kind))))
        return tuple(entries)

    def retention(
        self,
        *,
        due: bool = False,
        as_of: datetime | None = None,
        reference: str | None = None,
        limit: int | None = None,
    ) -> tuple[RetentionEntry, ...]:
        """Return the retention schedule: every case whose retention clock has started (it
        ended, was rejected or withdrawn), earliest deadline first, or the one ``reference``;
        ``due``: only those whose retention has run out and that are not disposed of yet (held
        ones included), today or on the day of ``as_of``.

        A case that names another in a field of kind ``case`` (a subcontracting approval, its
        entrustment) is kept as long as that one, while not disposed of, is kept: its
        ``retained_until`` is the later of the two, None while that one runs, and ``kept_with``
        names it."""
        table = self._table("rm_retention")
        today = (as_of or self.app.now()).astimezone(JST).date()  # Japan's day, as counted
        query = sa.select(table).order_by(table.c.retained_until, table.c.reference)
        if reference is not None:
            query = query.where(table.c.reference == reference_key(reference))
        else:
            query = query.where(table.c.retained_until.is_not(None))
        if due:
            query = query.where(table.c.retained_until < today, table.c.disposed_at.is_(None))
        if not self._rows(sa.select(self._table("rm_retention_links").c.reference).limit(1)):
            # no case names another: each case's own period is its schedule
            rows = self._rows(query, limit, refresh=False)
            none: dict[str, tuple[str, ...]] = {row.reference: () for row in rows}
            return tuple(self._scheduled(rows, none, today, due=due))
        # A link can only move a period later: read in the order of the cases' own periods, a
        # page at a time, until the page asked for is known — every case not read yet is kept
        # at least until the last own period read.
        entries: list[RetentionEntry] = []
        page = SCHEDULE_PAGE if not limit else min(SCHEDULE_PAGE, max(2 * limit, 100))
        key = sa.tuple_(table.c.retained_until, table.c.reference)
        after: tuple[date, str] | None = None
        links: dict[str, tuple[str, ...]] = {}
        while True:
            rows = self._rows(query if after is None else query.where(key > after), page,
                              refresh=False)  # fmt: skip
            entries += self._scheduled(rows, links, today, due=due)
            entries.sort(key=lambda e: (e.retained_until is None, e.retained_until, e.reference))
            if reference is not None or len(rows) < page:
                break
            after = (rows[-1].retained_until, rows[-1].reference)
            if limit and len(entries) >= limit:
                # every case not read yet comes after ``after`` in (own period, reference)
                # order, and a link only moves its period later: an entry up to ``after`` in
                # that order comes before all of them
                last = entries[limit - 1]
                if last.retained_until is not None and (
                    (last.retained_until, last.reference) <= after
                ):
                    break
        return tuple(entries[:limit] if limit else entries)

    def _scheduled(
        self, rows: Sequence[Any], links: dict[str, tuple[str, ...]], today: date, *, due: bool
    ) -> list[RetentionEntry]:
        """The schedule's entries of ``rows`` (those due only, when ``due``), each kept as long
        as the cases it names are; ``links`` holds the names read so far, and gains theirs."""
        read = {row.reference: (row.retained_until, row.disposed_at is not None) for row in rows}
        kept = self._kept(links, read)
        own = {ref: until for ref, (until, _) in kept.items()}

        def disposed(ref: str) -> bool:
            return kept[ref][1]

        entries = []
        for row in rows:
            values = dict(row._mapping)
            done = row.disposed_at is not None
            named = () if done else links.get(row.reference, ())
            if not done:
                values["retained_until"] = kept_until(
                    row.reference, own=own.__getitem__, names=lambda ref: links.get(ref, ()),
                    disposed=disposed,
                )  # fmt: skip
            shown = values["retained_until"]
            entry = RetentionEntry(
                **values,
                due=shown is not None and today > shown and not done,
                kept_with=tuple(other for other in named if not disposed(other)),
            )
            if entry.due or not due:
                entries.append(entry)
        return entries

    def _kept(
        self, links: dict[str, tuple[str, ...]], known: dict[str, tuple[date | None, bool]]
    ) -> dict[str, tuple[date | None, bool]]:
        """The cases ``known`` (as read: their own last day of retention, None while it runs,
        and whether they are disposed of) and each they name in turn, read likewise; the names
        of each are read into ``links`` unless there (where a case that names none has
        none)."""
        table = self._table("rm_retention")
        named = self._table("rm_retention_links")
        kept = dict(known)
        batch = sorted(known)
        while batch:
            for chunk in chunks(batch, 500):
                unknown = [o for o in chunk if o not in kept]
                if unknown:
                    query = sa.select(
                        table.c.reference, table.c.retained_until, table.c.disposed_at
                    ).where(table.c.reference.in_(unknown))
                    for row in self._rows(query, refresh=False):
                        kept[row.reference] = (row.retained_until, row.disposed_at is not None)
                unread: dict[str, tuple[str, ...]] = {o: () for o in chunk if o not in links}
                if unread:
                    query = sa.select(named).order_by(named.c.reference, named.c.names)
                    query = query.where(named.c.reference.in_(list(unread)))
                    for row in self._rows(query, refresh=False):
                        unread[row.reference] += (row.names,)
                    links.update(unread)
            for other in batch:
                kept.setdefault(other, (None, False))  # not in the schedule yet: kept
            batch = sorted({n for other in batch for n in links.get(other, ())} - kept.keys())
        return kept

    def overdue(
        self,
        *,
        running: bool = False,
        department: str | None = None,
        limit: int | None = None,
    ) -> tuple[OverdueEntry, ...]:
        """Return every missed deadline, earliest due first: those overdue now and (unless
        ``running``) those met late."""
        table, cases = self._table("rm_deadlines"), self._table("rm_cases")
        now = self.app.now()
        query = (
            sa.select(table, cases.c.title, cases.c.state)
            .join(cases, cases.c.reference == table.c.reference)
            .order_by(table.c.due_at, table.c.reference, table.c.deadline, table.c.run)
        )
        query = _where(query, table, department=department)
        parts = [query.where(table.c.stopped_at.is_(None), table.c.due_at < now)]
        if not running:
            parts.append(query.where(table.c.late.is_(True)))
        rows = sorted(
            (row for part in parts for row in self._rows(part, limit)),
            key=lambda row: (row.due_at, row.reference, row.deadline, row.run),
        )  # each part comes in order from its index; merged, then cut
        entries: list[OverdueEntry] = []
        for row in rows:
            workflow = self._workflow(row.workflow, row.workflow_version)
            deadline = next((d for d in workflow.deadlines if d.name == row.deadline), None)
            done = row.stopped_at
            entries.append(
                OverdueEntry(
                    reference=row.reference,
                    workflow=row.workflow,
                    title=row.title,
                    department=row.department,
                    state=row.state,
                    state_label=workflow.state(row.state).label,
                    deadline=row.deadline,
                    label=deadline.label if deadline else _same(row.deadline),
                    started_at=row.started_at,
                    due_at=row.due_at,
                    done_at=done,
                    late_by_days=((done or now) - row.due_at).days,
                )
            )
        entries += self._erasure_duties(
            now=now, running=running, department=department, limit=limit
        )
        entries.sort(key=lambda e: (e.due_at, e.reference, e.deadline, e.started_at))
        return tuple(entries[:limit] if limit else entries)

    def reminders(self, *, until: datetime, person: str | None = None) -> tuple[Reminder, ...]:
        """Return, person by person, the running deadlines due by ``until`` (overdue ones
        included) of the cases where they may take a next step, earliest due first.  The filer
        whose only step is to withdraw is not reminded of a deadline someone else meets."""
        inbox, roster, table = (self._table(n) for n in ("rm_inbox", "rm_roster", "rm_deadlines"))
        others = inbox.alias("others")
        someone_else = (
            sa.select(others.c.reference)
            .where(others.c.reference == inbox.c.reference, sa.not_(others.c.filer_only))
            .exists()
        )
        columns = (roster.c.user, *(inbox.c[name] for name in _REMINDER_COLUMNS))
        query = (
            _waiting_for(sa.select(*columns, table.c.deadline, table.c.due_at), inbox, roster)
            .join(table, table.c.reference == inbox.c.reference)
            .where(
                table.c.stopped_at.is_(None),
                table.c.due_at <= until,
                sa.or_(sa.not_(inbox.c.filer_only), sa.not_(someone_else)),
            )
            .order_by(roster.c.user, table.c.due_at, inbox.c.reference, table.c.deadline)
        )
        if person is not None:
            query = query.where(roster.c.user == _as_stored(roster.c.user, person))
        now = self.app.now()
        found: dict[tuple[str, str, str], tuple[Any, list[Label]]] = {}
        for row in self._rows(query):
            key = (row.user, row.reference, row.deadline)
            step = self._step_labels(
                row.workflow, row.workflow_version, row.state, row.trigger, row.role
            )[2]
            found.setdefault(key, (row, []))[1].append(step)
        reminders = []
        for (user, reference, name), (row, steps) in found.items():
            workflow = self._workflow(row.workflow, row.workflow_version)
            deadline = next((d for d in workflow.deadlines if d.name == name), None)
            reminders.append(
                Reminder(
                    person=user,
                    reference=reference,
                    workflow=row.workflow,
                    title=row.title,
                    department=row.case_department,
                    state=row.state,
                    state_label=workflow.state(row.state).label,
                    deadline=name,
                    label=deadline.label if deadline else _same(name),
                    due_at=row.due_at,
                    overdue=now > row.due_at,
                    steps=tuple(dict.fromkeys(steps)),
                )
            )
        reminders += self._erasure_reminders(until=until, person=person, now=now)
        reminders.sort(key=lambda r: (r.person, r.due_at, r.reference, r.deadline))
        return tuple(reminders)

    def _erasure_reminders(
        self, *, until: datetime, person: str | None, now: datetime
    ) -> list[Reminder]:
        """The return or erasure an ended entrustment owes (001 Art.9, 002 第12), due by
        ``until`` while no erasure case naming it is closed: for whoever may file that case
        (the staff of the entrustment's department)."""
        erasure = self.app.workflows.get("erasure")
        if erasure is None:
            return []
        duties, table, cases, roster = (
            self._table(n) for n in ("rm_erasure_duties", "rm_vendors", "rm_cases", "rm_roster")
        )
        query = (
            sa.select(duties.c.reference, table.c.workflow, table.c.workflow_version,
                      duties.c.department, duties.c.erasure_due_at, cases.c.title, cases.c.state,
                      roster.c.user)
            .join(table, table.c.reference == duties.c.reference)
            .join(cases, cases.c.reference == duties.c.reference)
            .join(roster, sa.and_(roster.c.role == erasure.file_role,
                                  roster.c.department == duties.c.department))
            .where(duties.c.closed_at.is_(None), duties.c.erasure_due_at <= until)
            .order_by(roster.c.user, duties.c.erasure_due_at, duties.c.reference)
        )  # fmt: skip
        if person is not None:
            query = query.where(roster.c.user == _as_stored(roster.c.user, person))
        rows = self._rows(query)
        step = Label(f"file: {erasure.title.en}", f"届け出: {erasure.title.ja}")
        return [
            Reminder(
                person=row.user,
                reference=row.reference,
                workflow=row.workflow,
                title=row.title,
                department=row.department,
                state=row.state,
                state_label=self._workflow(row.workflow, row.workflow_version)
                .state(row.state)
                .label,
                deadline=ERASURE_DUTY.name,
                label=ERASURE_DUTY.label,
                due_at=row.erasure_due_at,
                overdue=now > row.erasure_due_at,
                steps=(step,),
            )
            for row in rows
        ]

    def unreadable(self, *, refresh: bool = True) -> tuple[CaseUnreadable, ...]:
        """Return why each case the lists leave out cannot be read (damage, which ``approvals
        audit verify`` reports), by reference; ``refresh=False``: as the read model stands."""
        table = self._table("rm_unreadable")
        query = sa.select(table.c.reference, table.c.code).order_by(table.c.reference)
        return tuple(
            CaseUnreadable(row.code, reference=row.reference)
            for row in self._rows(query, refresh=refresh)
        )

    def flawed(self, *, refresh: bool = True) -> tuple[FlawedValue, ...]:
        """Return each value kept by an earlier version that the door refuses today (a date of
        9999-12-31), by reference: the cases are listed as usual, and these notices say which
        of their values the deadlines and retention do not count from."""
        table = self._table("rm_flawed")
        query = sa.select(table.c.reference, table.c.en, table.c.ja).order_by(
            table.c.reference, table.c.position
        )
        return tuple(
            FlawedValue(reference=row.reference, reason=Label(row.en, row.ja))
            for row in self._rows(query, refresh=refresh)
        )

    def notices(self, *, refresh: bool = True) -> tuple[ApprovalsError, ...]:
        """What every list says beside itself: the cases it leaves out because they cannot be
        read (:meth:`unreadable`), then the values it does not count from (:meth:`flawed`)."""
        return (*self.unreadable(refresh=refresh), *self.flawed(refresh=False))

    # -- inside --------------------------------------------------------------------------------

    def _table(self, name: str) -> Table:
        return self._tables[name]

    def _subject_key(self, text: str) -> str:
        # The provisions model says how it indexes a data subject: asked, like its tables.
        model: Any = self.projector.model("provisions")
        return str(model.subject_key(text))

    def _rows(
        self, query: sa.Select[Any], limit: int | None = None, *, refresh: bool = True
    ) -> Sequence[Any]:
        if refresh:
            self.refresh()
        if limit:
            query = query.limit(limit)
        with self.app._storage(), self.projector.engine.connect() as connection:
            return connection.execute(query).all()

    def _step_labels(
        self, workflow_id: str, version: int, state: str, trigger: str, role: str
    ) -> tuple[Label, Label, Label, Label]:
        key = (workflow_id, version, state, trigger, role)
        found = self._labels.get(key)
        if found is None:
            workflow = self._workflow(workflow_id, version)
            step = workflow.step(state, trigger)
            found = self._labels[key] = (
                workflow.title,
                workflow.state(state).label,
                step.label if step else workflow.trigger_label(trigger),
                _role(role),
            )
        return found

    def _workflow(self, workflow_id: str, version: int) -> Workflow:
        return self.app.definition(workflow_id, version)

    def _subcontracts(self, entrustments: Sequence[str]) -> dict[str, list[Any]]:
        """Return the approved subcontracting of each of ``entrustments``, by reference."""
        table = self._table("rm_subcontracting")
        found: dict[str, list[Any]] = {}
        for chunk in chunks(entrustments, 500):
            query = (
                sa.select(table)
                .where(table.c.entrustment.in_(chunk), table.c.approved_at.is_not(None))
                .order_by(table.c.reference)
            )
            for row in self._rows(query):
                found.setdefault(row.entrustment, []).append(row)
        return found

    def _erasures(self, entrustments: Sequence[str]) -> dict[str, datetime]:
        """Return when the first erasure case naming each of ``entrustments`` was closed."""
        table = self._table("rm_erasures")
        found: dict[str, datetime] = {}
        for chunk in chunks(entrustments, 500):
            query = (
                sa.select(table.c.entrustment, sa.func.min(table.c.closed_at).label("closed_at"))
                .where(table.c.entrustment.in_(chunk), table.c.closed_at.is_not(None))
                .group_by(table.c.entrustment)
            )
            for row in self._rows(query):
                found[row.entrustment] = row.closed_at
        return found

    def _erasure_duties(
        self, *, now: datetime, running: bool, department: str | None, limit: int | None = None
    ) -> list[OverdueEntry]:
        """The return or erasure each ended entrustment owes (001 Art.9, 002 第12), missed:
        overdue while no erasure case naming it is closed, or met late.  The read model keeps
        only the duties not met in time, so this reads those alone, the ``limit`` due first:
        an ended entrustment of years past owes one, so they are many."""
        duties, table, cases = (
            self._table(n) for n in ("rm_erasure_duties", "rm_vendors", "rm_cases")
        )
        missed = sa.and_(duties.c.closed_at.is_(None), duties.c.erasure_due_at < now)
        if not running:
            missed = sa.or_(missed, duties.c.closed_at.is_not(None))
        query = (
            sa.select(duties.c.reference, table.c.workflow, table.c.workflow_version,
                      duties.c.department, table.c.ended_at, duties.c.erasure_due_at,
                      cases.c.title, cases.c.state, duties.c.closed_at)
            .join(table, table.c.reference == duties.c.reference)
            .join(cases, cases.c.reference == duties.c.reference)
            .where(missed)
            .order_by(duties.c.erasure_due_at, duties.c.reference)
        )  # fmt: skip
        query = _where(query, duties, department=department)
        found = []
        for row in self._rows(query, limit):
            workflow = self._workflow(row.workflow, row.workflow_version)
            found.append(
                OverdueEntry(
                    reference=row.reference,
                    workflow=row.workflow,
                    title=row.title,
                    department=row.department,
                    state=row.state,
                    state_label=workflow.state(row.state).label,
                    deadline=ERASURE_DUTY.name,
                    label=ERASURE_DUTY.label,
                    started_at=row.ended_at,
                    due_at=row.erasure_due_at,
                    done_at=row.closed_at,
                    late_by_days=((row.closed_at or now) - row.erasure_due_at).days,
                )
            )
        return found

    def _case_entry(self, row: Any) -> CaseEntry:
        values = dict(row) if isinstance(row, dict) else dict(row._mapping)
        version = values.pop("workflow_version")
        if values["state"] == "disposed":
            title, state = _same(values["workflow"]), DISPOSED
        else:
            workflow = self._workflow(values["workflow"], version)
            title, state = workflow.title, workflow.state(values["state"]).label
        return CaseEntry(**values, workflow_title=title, state_label=state)


_REMINDER_COLUMNS = (
    "reference", "trigger", "role", "workflow", "workflow_version", "title", "case_department",
    "state",
)  # fmt: skip


def _waiting_for(query: sa.Select[Any], inbox: Table, roster: Table) -> sa.Select[Any]:
    """Join the inbox's open steps to the people who may take them now: the role (of the
    case's department, for a department role), only the filer where only the filer may, never
    the filer where the filer may not decide."""
    return query.join(
        roster,
        sa.and_(
            roster.c.role == inbox.c.role,
            sa.or_(inbox.c.department == "", roster.c.department == inbox.c.department),
        ),
    ).where(
        sa.not_(sa.and_(inbox.c.filer_only, inbox.c.filer != roster.c.user)),
        sa.not_(sa.and_(inbox.c.not_filer, inbox.c.filer == roster.c.user)),
    )


def _ledger(
    table: Table, since: date | None, until: date | None, **filters: str | None
) -> sa.Select[Any]:
    """The rows of a ledger (provisions, receipts) by date, ``since``/``until`` inclusive."""
    query = _where(
        sa.select(table).order_by(table.c.on_date, table.c.reference, table.c.entry),
        table,
        **filters,
    )
    if since is not None:
        query = query.where(table.c.on_date >= since)
    if until is not None:
        query = query.where(table.c.on_date <= until)
    return query


def _where(query: sa.Select[Any], table: Table, **filters: str | None) -> sa.Select[Any]:
    for name, value in filters.items():
        if value is not None:
            query = query.where(table.c[name] == _as_stored(table.c[name], value))
    return query


def _as_stored(column: sa.ColumnElement[Any], value: str) -> Any:
    """``value`` as a read model's ``column`` holds it (see :func:`storable`)."""
    return storable(value, column.type.length if isinstance(column.type, sa.String) else None)


def _role(role: str) -> Label:
    found = ROLES.get(role)
    return found if found is not None else _same(role)


def _same(text: str) -> Label:
    return Label(text, text)
