"""Independent oracles for the read models: what each model's rows should say, found by
replaying every case through the application's public read API (``app.case``,
``app.history``, ``app.retention()``, the domain objects), never by the models' own code.

``ORACLES`` has one oracle per read model the projector keeps (``all_models()``).  Each oracle
yields comparisons — what is compared, what the domain says, what the model's live rows say
(mostly through ``app.registers()``, the queries people use; the raw rows where no query shows
a table whole) — for a test to assert, so that a projector that drops or misreads an event
fails.  A registered model without an oracle is a KeyError in :func:`comparisons`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from approvals import ApprovalsApplication
from approvals.audit.damage import issued_references
from approvals.domain.case import Case
from approvals.domain.clocks import JST, Holiday, add, add_years, episodes, usable_day
from approvals.domain.links import ERASURE_DUTY, running_states, split_subjects
from approvals.domain.retention import RetentionRecord
from approvals.domain.workflow import Workflow
from approvals.errors import CaseUnreadable, FlawedValue, Label
from approvals.readmodel import ReadModel, rows_of
from approvals.registers import Registers
from approvals.results import CaseView, HistoryEntry

__all__ = ["ORACLES", "Comparison", "Domain", "comparisons", "read_domain"]

Comparison = tuple[str, Any, Any]
"""What is compared, what the domain says, what the read model says."""


@dataclass(frozen=True)
class Domain:
    """Every case as the application replays it, read once for all the oracles."""

    now: datetime
    holiday: Holiday
    views: dict[str, CaseView]  # readable cases not disposed of, in the order filed
    histories: dict[str, tuple[HistoryEntry, ...]]
    aggregates: dict[str, Case]
    workflows: dict[str, Workflow]
    records: dict[str, RetentionRecord]  # the retention records there are, disposed included
    unreadable: tuple[CaseUnreadable, ...]

    def of(self, workflow: str) -> list[str]:
        """The references of the readable cases of ``workflow``."""
        return [r for r, view in self.views.items() if view.workflow == workflow]

    @property
    def disposed(self) -> dict[str, RetentionRecord]:
        """The records of the cases disposed of."""
        return {r: record for r, record in self.records.items() if record.disposed}


def read_domain(app: ApprovalsApplication) -> Domain:
    """Replay every readable case, and read the retention record of every reference the
    numbering issued (a disposed case has only that left)."""
    views: dict[str, CaseView] = {}
    histories, aggregates, workflows, records = {}, {}, {}, {}
    for reference in app.references():
        views[reference] = app.case(reference)
        histories[reference] = app.history(reference)
        aggregates[reference] = app.case_aggregate(reference)
        workflows[reference] = app.workflow_of(reference)
    for reference in sorted(issued_references(app).values()):
        record = app.retention().record(reference)
        if record is not None:
            records[reference] = record
    return Domain(
        app.now(), app.holiday, views, histories, aggregates, workflows, records, app.unreadable()
    )


class _AsTheyStand(Registers):
    """The registers' queries on the rows as they stand: caught up once, not at each query."""

    def refresh(self) -> int:
        return 0


def comparisons(
    app: ApprovalsApplication, models: Iterable[ReadModel], domain: Domain | None = None
) -> Iterator[Comparison]:
    """Yield every comparison of every model in ``models`` (KeyError: a model no oracle
    covers), once the models have taken in the whole log."""
    app.registers().refresh()
    registers = _AsTheyStand(app, app.registers().projector)
    domain = domain or read_domain(app)
    for model in models:
        yield from ORACLES[model.name](registers, domain)


def _entered(history: Iterable[HistoryEntry], states: Iterable[str]) -> HistoryEntry | None:
    """The first step into one of ``states``."""
    wanted = frozenset(states)
    return next((entry for entry in history if entry.dest in wanted), None)


def _taken(history: Iterable[HistoryEntry], *triggers: str) -> HistoryEntry | None:
    """The first of ``triggers`` taken."""
    return next((entry for entry in history if entry.trigger in triggers), None)


def _at(entry: HistoryEntry | None) -> datetime | None:
    return entry.at if entry is not None else None


def _raw(registers: Registers, name: str) -> dict[str, set[tuple[Any, ...]]]:
    """The live rows of model ``name``, as the registers' projector holds them."""
    projector = registers.projector
    return rows_of(projector.engine, projector.model(name))


def _shown(value: Any) -> Any:
    """A value as ``rows_of`` shows it: moments in UTC, days in ISO form."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


# -- the case register -------------------------------------------------------------------------


def cases(registers: Registers, domain: Domain) -> Iterator[Comparison]:
    """Every field of every register row: decision, effect and end found in the history."""
    expected: list[tuple[Any, ...]] = []
    for reference, view in domain.views.items():
        history, workflow = domain.histories[reference], domain.workflows[reference]
        decision = _taken(history, "approve", "reject")
        expected.append((
            view.filed_at, reference, view.workflow, view.title, view.department, view.filer,
            view.state, view.terminal, view.version, view.updated_at,
            decision.trigger if decision else None, _at(decision),
            # the day recorded, when the workflow asks for one
            usable_day(view.fields.get("effective_date")) if "effective_date" in workflow.fields
            else None,
            _at(_entered(history, workflow.effective_states)),
            _at(_entered(history, workflow.retention.starts_on)),
            view.retention_until, None,
        ))  # fmt: skip
    for reference, record in domain.disposed.items():
        disposal = record.disposal
        expected.append((
            record.disposed_at, reference, disposal["workflow"], "", disposal["department"], "",
            "disposed", True, disposal["count"], None, None, None, None, None, None, None,
            record.disposed_at,
        ))  # fmt: skip
    expected.sort(key=lambda row: (row[0], row[1]))
    actual = [
        (e.filed_at or e.disposed_at, e.reference, e.workflow, e.title, e.department, e.filer,
         e.state, e.terminal, e.events, e.updated_at, e.decision, e.decided_at, e.effective_date,
         e.effective_at, e.ended_at, e.retention_until, e.disposed_at)
        for e in registers.cases()
    ]  # fmt: skip
    yield "cases: the register, in order", expected, actual


# -- the inbox and the roster ------------------------------------------------------------------


def _since(history: tuple[HistoryEntry, ...]) -> datetime:
    """When the case entered the state it is in: its last move, or its filing."""
    moved = [entry for entry in history if entry.source != entry.dest]
    return (moved or list(history))[-1 if moved else 0].at


def inbox(registers: Registers, domain: Domain) -> Iterator[Comparison]:
    """Each person's inbox field by field (who may act from the case view's next steps, due
    from its running deadlines, on the step whose deadline it is); every open step of every
    case; the roster's running terms."""
    terms = registers.app.roster()
    steps: set[tuple[str, str, str]] = set()
    waiting: dict[str, list[tuple[Any, ...]]] = {term.user: [] for term in terms}
    for reference, view in domain.views.items():
        if view.terminal:
            continue
        due = min((d.due_at for d in view.deadlines), default=None)
        since = _since(domain.histories[reference])
        # A step only the filer may take shows no due date while another role may act: the
        # deadline running is theirs (when only the filer may act, it is the filer's).
        allowed = registers.app.definition(view.workflow, view.workflow_version).allowed(view.state)
        filers = {s.trigger for s in allowed if s.filer_only}
        others_act = any(not s.filer_only for s in allowed)
        for step in view.next_steps:
            steps.add((reference, step.trigger, step.role))
            shown = None if step.trigger in filers and others_act else due
            for person in step.people:
                waiting.setdefault(person, []).append((
                    since, reference, step.trigger, view.workflow, view.title, view.department,
                    view.state, step.role, shown,
                    shown is not None and any(d.overdue for d in view.deadlines),
                ))  # fmt: skip
    for person, expected in sorted(waiting.items()):
        actual = [
            (i.since, i.reference, i.trigger, i.workflow, i.title, i.department, i.state, i.role,
             i.due_at, i.overdue)
            for i in registers.inbox(person)
        ]  # fmt: skip
        yield f"inbox: what waits for {person}", sorted(set(expected)), actual
    raw = _raw(registers, "inbox")
    yield "inbox: every open step", steps, {row[:3] for row in raw["rm_inbox"]}
    roster = {(t.user, t.role, t.department, _shown(t.start)) for t in terms}
    yield "inbox: the roster's running terms", roster, raw["rm_roster"]


# -- deadlines and the overdue list ------------------------------------------------------------


def deadlines(registers: Registers, domain: Domain) -> Iterator[Comparison]:
    """The running deadlines as each case view shows them; every run, with when it stopped
    and whether late, from the domain's clocks (the rule that dates a run is the domain's: the
    model uses it too, so these check which runs the projector saw, not the calendar
    arithmetic); the overdue list (missed deadlines and erasure duties) field by field."""
    running: set[tuple[Any, ...]] = set()
    runs: set[tuple[Any, ...]] = set()
    missed: set[tuple[Any, ...]] = set()
    for reference, view in domain.views.items():
        running |= {
            (reference, d.name, _shown(d.started_at), _shown(d.due_at)) for d in view.deadlines
        }
        missed |= {
            (reference, d.name, view.title, view.state, d.started_at, d.due_at, None)
            for d in view.deadlines
            if d.overdue
        }
        case, workflow = domain.aggregates[reference], domain.workflows[reference]
        count: dict[str, int] = {}
        for run in episodes(case.history, workflow.deadlines, domain.holiday):
            name = run.deadline.name
            count[name] = count.get(name, 0) + 1
            late = run.stopped_at is not None and run.stopped_at > run.due_at
            runs.add((reference, name, count[name], _shown(run.started_at), _shown(run.due_at),
                      _shown(run.stopped_at), late))  # fmt: skip
            if late:
                missed.add((reference, name, view.title, view.state, run.started_at,
                            run.due_at, run.stopped_at))  # fmt: skip
    for duty in _erasure_duties(domain):
        missed.add(duty)
    raw = _raw(registers, "deadlines")["rm_deadlines"]
    yield (
        "deadlines: running, as the case views show them",
        running,
        {row[:2] + row[3:5] for row in raw if row[5] is None},
    )
    yield "deadlines: every run", runs, {row[:7] for row in raw}
    actual = {
        (e.reference, e.deadline, e.title, e.state, e.started_at, e.due_at, e.done_at)
        for e in registers.overdue()
    }
    yield "deadlines: the overdue list", missed, actual


def _erasure_duties(domain: Domain) -> Iterator[tuple[Any, ...]]:
    """The return or erasure duty of each ended entrustment, overdue now or met late."""
    closed = _erasures_closed(domain)
    for reference, entry in _entrustments(domain).items():
        ended = entry["ended_at"]
        if ended is None:
            continue
        due, done = entry["erasure_due_at"], closed.get(reference)
        if (done is None and domain.now > due) or (done is not None and done > due):
            view = domain.views[reference]
            yield (reference, ERASURE_DUTY.name, view.title, view.state, ended, due, done)


# -- vendors: entrustments, subcontracts, erasures ---------------------------------------------


def _last(history: tuple[HistoryEntry, ...], trigger: str, field: str) -> tuple[Any, int]:
    taken = [entry for entry in history if entry.trigger == trigger]
    return (usable_day(taken[-1].fields.get(field)) if taken else None), len(taken)


def _entrustments(domain: Domain) -> dict[str, dict[str, Any]]:
    """What the vendor register should say of each entrustment, before joining others."""
    found: dict[str, dict[str, Any]] = {}
    for reference in domain.of("entrustment"):
        view, history = domain.views[reference], domain.histories[reference]
        workflow = domain.workflows[reference]
        breaches = sum(1 for e in history if e.trigger == "report_breach")
        measures = [e for e in history if e.trigger == "record_measures"]
        closed = sum(1 for e in measures if e.source != "approved")
        due = {d.name: d for d in view.deadlines}
        last_check, checks = _last(history, "record_compliance_check", "check_date")
        last_inspection, inspections = _last(history, "inspect", "inspection_date")
        last_report, reports = _last(history, "record_vendor_report", "vendor_report_date")
        # It ends when it leaves effect (or what follows from effect) for a terminal state.
        running = running_states(workflow)
        end = next(
            (e for e in history if e.source in running and workflow.state(e.dest).terminal), None
        )
        inspection, report = due.get("inspection"), due.get("vendor_report")
        found[reference] = {
            "reference": reference,
            "vendor": str(view.fields.get("vendor", "")),
            "department": view.department,
            "state": view.state,
            "data_items": str(view.fields.get("data_items", "")),
            "purpose": str(view.fields.get("purpose", "")),
            "approved_at": _at(_taken(history, "approve")),
            **{
                name: usable_day(view.fields.get(name))
                for name in (
                    "basic_contract_date",
                    "individual_contract_date",
                    "handover_date",
                    "individual_contract_end_date",
                )
            },
            "last_check": last_check,
            "checks": checks,
            "last_inspection": last_inspection,
            "inspections": inspections,
            "next_inspection_due": inspection.due_at if inspection else None,
            "inspection_overdue": bool(inspection and inspection.overdue),
            "last_vendor_report": last_report,
            "vendor_reports": reports,
            "next_vendor_report_due": report.due_at if report else None,
            "vendor_report_overdue": bool(report and report.overdue),
            "breaches": breaches,
            "open_breaches": max(0, breaches - closed),
            "ended_at": _at(end),
            "erasure_due_at": add(end.at, ERASURE_DUTY.within, domain.holiday) if end else None,
        }  # fmt: skip (one line each would run to three screens)
    return found


def _erasures_closed(domain: Domain) -> dict[str, datetime]:
    """When the first erasure case naming each entrustment was closed."""
    closed: dict[str, datetime] = {}
    for reference in domain.of("erasure"):
        entry = _entered(domain.histories[reference], ("closed",))
        named = str(domain.views[reference].fields.get("entrustment", ""))
        if entry is not None and (named not in closed or entry.at < closed[named]):
            closed[named] = entry.at
    return closed


def vendors(registers: Registers, domain: Domain) -> Iterator[Comparison]:
    """The vendor register field by field, joined with the subcontracting and erasure cases
    naming each entrustment; every subcontracting and erasure case's row by its keys."""
    subcontracts: dict[str, list[tuple[str, bool]]] = {}
    sub_rows = set()
    for reference in domain.of("subcontracting"):
        view, history = domain.views[reference], domain.histories[reference]
        named = str(view.fields.get("entrustment", ""))
        approved = _taken(history, "approve")
        effect = view.state in domain.workflows[reference].effective_states
        if approved is not None:
            subcontracts.setdefault(named, []).append((str(view.fields.get("subcontractor", "")),
                                                       effect))  # fmt: skip
        sub_rows.add((reference, named, view.state, effect, _shown(_at(approved))))
    closed = _erasures_closed(domain)
    expected = []
    owed = set()
    for reference, entry in sorted(_entrustments(domain).items()):
        due, done = entry["erasure_due_at"], closed.get(reference)
        if due is not None and (done is None or done > due):  # open, or met late
            owed.add((reference, entry["department"], _shown(due), _shown(done)))
        given = subcontracts.get(reference, [])
        running = [name for name, effect in given if effect and entry["ended_at"] is None]
        done = closed.get(reference) if entry["ended_at"] is not None else None
        due = entry["erasure_due_at"]
        expected.append({
            **entry, "subcontracts_approved": len(given),
            "subcontracts_in_effect": len(running), "subcontractors": tuple(sorted(set(running))),
            "erasure_done_at": done,
            "erasure_overdue": due is not None and done is None and domain.now > due,
        })  # fmt: skip
    keys = list(expected[0]) if expected else []
    actual = [{key: getattr(e, key) for key in keys} for e in registers.vendors()]
    yield "vendors: the register", expected, actual
    raw = _raw(registers, "vendors")
    yield (
        "vendors: every subcontracting case",
        sub_rows,
        {(row[0], row[1], row[4], row[5], row[6]) for row in raw["rm_subcontracting"]},
    )
    erasures = set()
    for reference in domain.of("erasure"):
        view = domain.views[reference]
        closing = _entered(domain.histories[reference], ("closed",))
        erasures.add((reference, str(view.fields.get("entrustment", "")), view.state,
                      _shown(_at(closing))))  # fmt: skip
    yield "vendors: every erasure case", erasures, raw["rm_erasures"]
    yield "vendors: every return or erasure not met in time", owed, raw["rm_erasure_duties"]


# -- provisions (and refusals) and receipts ----------------------------------------------------


def _text(values: Mapping[str, Any], name: str) -> str:
    return str(values.get(name, "") or "")


def _kept(at: datetime, years: int) -> date:
    """The last day of a record made at ``at``: the same date ``years`` later (Civil Code)."""
    return add_years(at.astimezone(JST).date(), years)


def _row(
    view: CaseView, entry: HistoryEntry, kind: str, values: Mapping[str, Any]
) -> dict[str, Any]:
    """A ledger row: the step that records it, with the items ``values`` hold."""
    return {
        "reference": view.reference, "entry": entry.position, "kind": kind,
        "department": view.department, "recorded_at": entry.at, "recorded_by": entry.actor,
        "party": _text(values, "recipient") or _text(values, "joint_users"),
        "responsible_party": _text(values, "responsible_party"),
        "data_subjects": _text(values, "data_subjects"),
        "data_items": _text(values, "data_items"), "purpose": _text(values, "purpose"),
        "consent": _text(values, "consent"), "record_kept_until": None,
        "on_date": usable_day(values.get("provision_date") or values.get("announced_on")),
    }  # fmt: skip


def provisions(registers: Registers, domain: Domain) -> Iterator[Comparison]:
    """The ledger field by field: each ``record_provision`` step with the items the case
    held then, each joint use once in effect, each refusal of provision complied with; the
    data subjects each row names, and the rows a search for each subject finds."""
    rows: list[dict[str, Any]] = []
    for reference, view in domain.views.items():
        history = domain.histories[reference]

        if view.workflow == "provision":
            held: dict[str, Any] = {}
            for entry in history:
                held.update(entry.fields)
                if entry.trigger == "record_provision":
                    years = 1 if held.get("contract_as_record") is True else 3
                    rows.append(_row(view, entry, "provision", held)
                                | {"record_kept_until": _kept(entry.at, years)})  # fmt: skip
        elif view.workflow == "joint_use":
            workflow = domain.workflows[reference]
            start = _entered(history, workflow.effective_states)
            if start is not None:
                rows.append(_row(view, start, "joint_use", view.fields))
        elif view.workflow == "request":
            stop = _taken(history, "stop_provision")
            if stop is not None:
                values = {**view.fields, "data_subjects": view.fields.get("data_subject")}
                rows.append(_row(view, stop, "refusal", values) | {
                    "on_date": usable_day(view.fields.get("stopped_on")), "consent": ""
                })  # fmt: skip
    rows.sort(key=lambda r: (r["on_date"] is None, r["on_date"], r["reference"], r["entry"]))
    keys = list(rows[0]) if rows else []
    actual = [{key: getattr(e, key) for key in keys} for e in registers.provisions()]
    # The order of rows without a date is the backend's (NULLs first or last): compared as
    # a set; the dated ones in order.
    yield "provisions: the ledger, by date", _ordered(rows), _ordered(actual)
    named = {
        (r["reference"], r["entry"], key, spelling)
        for r in rows
        for spelling, key in split_subjects(r["data_subjects"])
    }
    yield (
        "provisions: the data subjects named",
        named,
        _raw(registers, "provisions")["rm_provision_subjects"],
    )
    found: dict[str, set[tuple[str, int]]] = {}
    for reference, entry, key, _spelling in named:
        found.setdefault(key, set()).add((reference, entry))
    for key, expected in sorted(found.items()):
        searched = {(e.reference, e.entry) for e in registers.provisions(subject=key)}
        yield f"provisions: a search for {key!r}", expected, searched


def _ordered(rows: list[dict[str, Any]]) -> tuple[list[tuple[Any, ...]], set[tuple[Any, ...]]]:
    dated = [tuple(r.values()) for r in rows if r["on_date"] is not None]
    return dated, {tuple(r.values()) for r in rows if r["on_date"] is None}


def receipts(registers: Registers, domain: Domain) -> Iterator[Comparison]:
    """The receipts ledger field by field: each confirmation recorded of an indirect
    collection naming its provider, with the items the case held then."""
    rows: list[dict[str, Any]] = []
    for reference in domain.of("method"):
        view, held = domain.views[reference], dict[str, Any]()
        for entry in domain.histories[reference]:
            held.update(entry.fields)
            if entry.trigger != "record_indirect_measures" or not held.get("provider_name"):
                continue
            rows.append({
                "reference": reference, "entry": entry.position, "kind": "receipt",
                "department": view.department, "on_date": usable_day(held.get("effective_date")),
                "recorded_at": entry.at, "recorded_by": entry.actor,
                "provider": " ".join(_text(held, "provider_name").split()),
                "provider_address": _text(held, "provider_address"),
                "provider_representative": _text(held, "provider_representative"),
                "provider_acquisition": _text(held, "provider_acquisition"),
                "data_items": _text(held, "data_items"), "purpose": _text(held, "purpose"),
                "sensitive": held.get("sensitive") is True,
                "sensitive_consent": _text(held, "sensitive_consent"),
                "record_kept_until": _kept(entry.at, 3),
            })  # fmt: skip
    rows.sort(key=lambda r: (r["on_date"] is None, r["on_date"], r["reference"], r["entry"]))
    keys = list(rows[0]) if rows else []
    actual = [{key: getattr(e, key) for key in keys} for e in registers.receipts()]
    yield "receipts: the ledger, by date", _ordered(rows), _ordered(actual)
    for provider in sorted({r["provider"] for r in rows}):
        expected = {(r["reference"], r["entry"]) for r in rows if r["provider"] == provider}
        searched = {(e.reference, e.entry) for e in registers.receipts(provider=provider)}
        yield f"receipts: a search for {provider!r}", expected, searched


# -- retention: schedule, holds, disposals, links ----------------------------------------------


def retention(registers: Registers, domain: Domain) -> Iterator[Comparison]:
    """Each case's retention entry field by field — kept until when (the retention service's
    answer, links included), held, approved, disposed of by whom and how — and the schedule
    (the cases whose clock started, earliest first); the cases each case names."""
    service = registers.app.retention()
    expected: dict[str, tuple[Any, ...]] = {}
    links = set()
    for reference, view in domain.views.items():
        item, record = service.item(reference), domain.records.get(reference)
        kept_with = tuple(other for other, _until in service.linked(reference))
        expected[reference] = (
            reference, view.workflow, view.department, view.title, view.state,
            item.retained_until, item.due, bool(record and record.held),
            record.hold_reason if record else "", record.approved_by if record else "",
            None, "", "", kept_with,
        )  # fmt: skip
        named = domain.workflows[reference].named_cases(view.fields)
        links |= {(reference, other) for other in named}
    for reference, record in domain.disposed.items():
        disposal = record.disposal
        expected[reference] = (
            reference, disposal["workflow"], disposal["department"], disposal["what"],
            "disposed", usable_day(disposal["retained_until"]), False, record.held,
            record.hold_reason, record.approved_by, record.disposed_at, disposal["by"],
            disposal["method"], (),
        )  # fmt: skip
    actual = {}
    for reference in expected:
        for e in registers.retention(reference=reference):
            actual[e.reference] = (
                e.reference, e.workflow, e.department, e.title, e.state, e.retained_until, e.due,
                e.held, e.hold_reason, e.approved_by, e.disposed_at, e.disposed_by,
                e.disposal_method, e.kept_with,
            )  # fmt: skip
    yield "retention: each case's entry", expected, actual
    # The schedule lists the cases whose own clock started, each kept as long as the cases it
    # names (None, last, while one of those runs).
    started = {reference for reference, view in domain.views.items() if view.retention_until}
    started |= {r for r, row in expected.items() if row[4] == "disposed" and row[5] is not None}
    schedule = sorted(
        ((row[5], row[0]) for row in expected.values() if row[0] in started),
        key=lambda row: (row[0] is None, row),
    )
    yield (
        "retention: the schedule, in order",
        schedule,
        [(e.retained_until, e.reference) for e in registers.retention()],
    )
    due = sorted(row[0] for row in expected.values() if row[6])
    yield "retention: what is due", due, sorted(e.reference for e in registers.retention(due=True))
    yield (
        "retention: the cases each names",
        links,
        _raw(registers, "retention")["rm_retention_links"],
    )


# -- unreadable cases and flawed values --------------------------------------------------------


def unreadable(registers: Registers, domain: Domain) -> Iterator[Comparison]:
    """The cases that cannot be read, with why; each value kept that the door refuses today."""
    yield (
        "unreadable: the cases that cannot be read",
        sorted((e.reference, e.code) for e in domain.unreadable),
        [(e.reference, e.code) for e in registers.unreadable()],
    )
    flawed = sorted(
        (reference, label.en, label.ja)
        for reference, view in domain.views.items()
        for label in view.flawed
    )
    found = sorted((e.reference, *_reason(e)) for e in registers.flawed())
    yield "unreadable: the flawed values", flawed, found


def _reason(notice: FlawedValue) -> tuple[str, str]:
    reason = notice.params["reason"]
    return (reason.en, reason.ja) if isinstance(reason, Label) else (str(reason), "")


ORACLES: dict[str, Callable[[Registers, Domain], Iterator[Comparison]]] = {
    "cases": cases,
    "inbox": inbox,
    "deadlines": deadlines,
    "vendors": vendors,
    "provisions": provisions,
    "receipts": receipts,
    "retention": retention,
    "unreadable": unreadable,
}
"""One oracle per read model, by the model's name."""
