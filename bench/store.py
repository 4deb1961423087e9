"""Large, valid, signed stores for the benchmarks, built in bulk through the engine and reused.

A store holds about ``--events`` events: cases of all twelve reference workflows in a mix a
large group company might file (sendings and take-outs most, entrustments with their
subcontracts, vendor incidents and the erasure at their end, provisions, requests of data
subjects, notices of purpose…), each walked along a valid path to its end — some returned and
resubmitted, some rejected, a few withdrawn — with a few hundred cases still open at the end
so that inboxes have items.  Every command goes through the engine with all its checks (roles,
fields, dates, rules across cases), signed with a fixed service key per holder (so a store can
be extended later), on a simulated clock that spreads 14 M events over about seven years.  The
commands are batched a few thousand to a host transaction (``app.joined``) rather than one
transaction each; the read models are brought up to date at the end.

SQLite stores are kept in a directory (default ``~/.approvals-bench``), one file per size and
generator version, built under a temporary name and renamed when complete; ``--db URL``
builds into any store (a PostgreSQL one too), extending what is there.  Run from the
repository root::

    python bench/store.py --events 140000 [--dir DIR] [--db URL] [--batch N] [--per-command]

Other benchmarks import :func:`ensure_store` (or :func:`store_path` and :func:`fill`).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from approvals import (
    JST,
    ApprovalsApplication,
    CaseDisposed,
    CaseNotFound,
    CaseUnreadable,
    open_approvals,
)
from approvals.audit.signing import WriterKey
from approvals.demo import (
    ART6_ITEMS,
    CHIEF,
    DEMO_SERVICE,
    FILINGS,
    HANDLER,
    HR_STAFF,
    MANAGER,
    OTHER_MANAGER,
    OTHER_STAFF,
    PATHS,
    REPRESENTATIVE,
    STAFF,
    Move,
    SimulatedClock,
    appoint_sample_roster,
    begin_signing,
)
from approvals.domain.links import StopRequest, stop_requests
from approvals.domain.workflow import Workflow

GENERATOR = 1
"""The version of what the generator writes: a store of another version is not reused."""
DEFAULT_DIR = Path(os.path.expanduser("~")) / ".approvals-bench"
BATCH = 2000
"""Commands per host transaction."""
IN_FLIGHT = 300
"""Stories being told at once: what is open when the store is complete."""
START = datetime(2020, 4, 1, 9, tzinfo=JST)
PACE = timedelta(seconds=15)
"""How far the clock moves between two commands: 14 M events in about seven years."""

# The hr department gets a second member of staff and a handler, so that either department
# can take every step (a compliance check is made by someone other than the filer).
HR_OTHER_STAFF = "kobayashi"
HR_HANDLER = "nakamura"
PEOPLE = {
    "sales": {STAFF: STAFF, OTHER_STAFF: OTHER_STAFF, MANAGER: MANAGER, HANDLER: HANDLER},
    "hr": {STAFF: HR_STAFF, OTHER_STAFF: HR_OTHER_STAFF, MANAGER: OTHER_MANAGER,
           HANDLER: HR_HANDLER},
}  # fmt: skip


def _key(holder: str, *, service: bool = False) -> WriterKey:
    """A fixed key per holder, so that a store built earlier can be extended later."""
    seed = hashlib.sha256(f"bench/store {holder}".encode()).digest()
    return WriterKey(holder, Ed25519PrivateKey.from_private_bytes(seed), service)


REP = _key(REPRESENTATIVE)
SERVICE = _key(DEMO_SERVICE, service=True)


# -- stories: the cases of one matter, in the order they are filed and walked ------------------


@dataclass(frozen=True)
class Ref:
    """The reference of the story's case filed in ``slot`` (known once it is filed)."""

    slot: int


@dataclass(frozen=True)
class Filing:
    """File a case of ``workflow`` into ``slot``; STAFF in ``fields`` is the filer's role."""

    slot: int
    workflow: str
    title: str
    fields: dict[str, Any]
    actor: str = STAFF


@dataclass(frozen=True)
class Action:
    """Take ``move`` on the story's case in ``slot``."""

    slot: int
    move: Move


Command = Filing | Action

INCIDENT = {"description": "A box of customer files went missing", "at_vendor": "no"}
INCIDENT_REPORT = {
    "summary": "A box of 120 customer files lost in transit",
    "data_items": "name, address, contract number",
    "individuals_count": "120",
}
FINAL_REPORT = {
    **INCIDENT_REPORT,
    "cause": "The courier's van was left unlocked",
    "secondary_harm": "None known",
    "response_to_individuals": "Letters sent; a help line opened",
    "public_announcement": "Announced on the website",
    "recurrence_prevention": "Locked cases; transport by the vendor's own staff",
    "other_matters": "The police were told",
}
NOTICE = {"individuals_notified_on": "", "notice_method": "letter to each individual"}
MORE_FILINGS: dict[str, dict[str, Any]] = {
    "beyond_purpose": {
        "data_items": "name, e-mail",
        "data_subjects": "warranty registrants",
        "collection_purpose": "warranty service",
        "new_use": "newsletter on new products",
        "art10_reason": "no consent, contract, legal duty, vital interest or authority covers it",
    },
    "request": {
        "data_subject": "Hanako Yamada",
        "received_on": "",
        "request_details": "Everything the company holds on her",
        "wished_method": "in_writing",
    },
    "sending": {
        "data_items": "order list: names, addresses, phone numbers",
        "recipient": "Hikari Logistics, shipping desk (orders@example.co.jp)",
        "reason": "delivery of the orders",
        "planned_on": "",
    },
    "take_out": {
        "data_items": "visit list: names, addresses",
        "destination": "customer site, Osaka",
        "reason": "on-site support",
        "return_by": "",
    },
    "subcontracting": {
        "request_date": "",
        "subcontractor": "Scan Sub Co.",
        "subcontractor_address": "1-2-3 Otemachi, Chiyoda-ku, Tokyo",
        "data_items": "customer files",
        "work": "scanning of paper files",
        "equivalent_obligations": "yes",
    },
}
REQUESTS: dict[str, list[Move]] = {
    "disclosure": [Move("disclose", CHIEF, {"disclosed_on": "", "disclosure_method": "in_writing",
                        "data_held": "yes"}, ["all_data_disclosed", "method_as_wished"])],
    "correction": [Move("correct", CHIEF, {"amended_on": "", "amendment": "new address"}),
                   Move("notify_subject", CHIEF, {"subject_notified_on": ""})],
    "deletion": [Move("delete", CHIEF, {"amended_on": "", "amendment": "deleted"}),
                 Move("notify_subject", CHIEF, {"subject_notified_on": ""})],
    "refusal_of_use": [Move("stop_use", CHIEF, {"stopped_on": "", "answered_on": ""},
                            ["stopped_everywhere"])],
    "stop_provision": [Move("stop_provision", CHIEF, {"stopped_on": "", "answered_on": ""},
                            ["stopped_everywhere"])],
    "refusal_of_provision": [Move(
        "continue_provision", CHIEF, {"legal_ground": "legal_duty", "answered_on": ""},
        comment="Withholding tax reports to the tax office are required by law")],
}  # fmt: skip
CONSENT = [Move("consult", MANAGER), Move("approve", CHIEF)]
DATETIMES = {  # minutes before the step: the vendor told the company before it knew itself
    "vendor_noticed_at": 110, "vendor_reported_at": 65, "known_at": 60,
}  # fmt: skip


AHEAD = {"return_by": 30}
"""Dates planned ahead (days after the step); every other date is the day of the step."""


def _pick(luck: random.Random, weights: dict[str, int]) -> str:
    return luck.choices(list(weights), list(weights.values()))[0]


def _acts(slot: int, moves: list[Move]) -> list[Command]:
    return [Action(slot, move) for move in moves]


def incident(luck: random.Random, slot: int, entrustment: int | None) -> list[Command]:
    """An incident (at the vendor of ``entrustment`` when given), reported when it must be."""
    fields: dict[str, Any] = {**INCIDENT, "known_at": ""}
    if entrustment is not None:
        fields.update(at_vendor="yes", entrustment=Ref(entrustment), vendor_noticed_at="",
                      vendor_reported_at="")  # fmt: skip
    triggers = dict.fromkeys(("financial_damage", "improper_purpose", "more_than_1000"), "no")
    reportable = luck.random() < 0.5
    assess = Move("assess", CHIEF, {**triggers, "sensitive_data": "yes" if reportable else "no",
                                    "containment_measures": "Transports stopped"})  # fmt: skip
    moves = [Move("consult", MANAGER), assess]
    if reportable:
        moves += [
            Move("report_preliminary", MANAGER, {"preliminary_report_at": "", **INCIDENT_REPORT}),
            Move("notify_individuals", MANAGER, NOTICE),
            Move("report_final", MANAGER, {"final_report_at": "", **FINAL_REPORT}),
            Move("close", CHIEF),
        ]
    else:
        moves.append(Move("close", CHIEF, comment="Recovered the same day; nobody affected"))
    return [Filing(slot, "incident", "Customer files lost", fields), *_acts(slot, moves)]


def entrustment(luck: random.Random) -> list[Command]:
    """An entrustment from investigation to its end, with what may come with it: a subcontract,
    an incident at the vendor, a breach; then the return or erasure of the data it owes."""
    path = list(PATHS["entrustment"])
    up_to_handover, later = path[:7], path[7:]
    checks = [later[0]] * luck.randint(1, 4)
    breach = later[1:4] if luck.random() < 0.1 else []
    inspections = [later[4]] * luck.randint(0, 3)
    story: list[Command] = [
        Filing(0, "entrustment", "Scanning of paper customer files", dict(FILINGS["entrustment"])),
        *_acts(0, up_to_handover),
    ]
    slot = 1
    if luck.random() < 0.3:
        story += [
            Filing(slot, "subcontracting", "Scanning subcontracted",
                   {**MORE_FILINGS["subcontracting"], "entrustment": Ref(0)}),
            *_acts(slot, [
                Move("consult", MANAGER, checklist=["sufficient_protection"]),
                Move("approve", CHIEF, checklist=["sufficient_protection"]),
                Move("give_written_approval", MANAGER, {"written_approval_date": ""},
                     ["written_approval"]),
            ]),
        ]  # fmt: skip
        ending = [Action(slot, Move("end", MANAGER, {"end_date": ""}))]
        slot += 1
    else:
        ending = []
    story += _acts(0, checks)
    if luck.random() < 0.15:
        story += incident(luck, slot, 0)
        slot += 1
    story += _acts(0, [*breach, *inspections])
    story += [*ending, Action(0, later[-1])]
    method = _pick(luck, {"erasure": 3, "destruction": 1, "return": 1})
    erasure = [Move("record_erasure", OTHER_STAFF, {"erased_on": "", "data_name": "scanned files",
                    "count": "1200", "method": method}, ["copies_included"])]  # fmt: skip
    if method != "return":
        erasure.append(Move("receive_certificate", STAFF, {"certificate_date": ""},
                            ["certificate_received"]))  # fmt: skip
    erasure.append(Move("confirm", MANAGER, checklist=["identifiable", "as_instructed"]))
    story += [
        Filing(slot, "erasure", "Return or erasure of the scanned files",
               {"entrustment": Ref(0), "work_ended_on": "", "instructed_method": method}),
        *_acts(slot, erasure),
    ]  # fmt: skip
    return story


def simple(luck: random.Random, workflow: str) -> list[Command]:
    """A case of a workflow without linked cases, walked along one of its paths."""
    fields = dict(FILINGS.get(workflow) or MORE_FILINGS.get(workflow, {}))
    title = f"A {workflow.replace('_', ' ')} case"
    if workflow == "provision":
        moves = list(PATHS["provision"])
        moves[3:4] = [moves[3]] * luck.randint(1, 6)
    elif workflow in PATHS:
        moves = list(PATHS[workflow])
    elif workflow == "beyond_purpose":
        measures = (
            Move("record_consent", CHIEF, {"notice_sent_on": "", "effective_date": ""},
                 [*ART6_ITEMS[:-1], "written_notice", "prior_consent"])
            if luck.random() < 0.5 else
            Move("record_publication", CHIEF, {"published_on": "", "effective_date": ""},
                 ["website_published", "refusal_opportunity"])
        )  # fmt: skip
        moves = [Move("consult", MANAGER, checklist=["art10_reviewed"]), Move("approve", CHIEF),
                 measures, Move("end", MANAGER, {"end_date": ""})]  # fmt: skip
    elif workflow == "request":
        kind = _pick(luck, {"disclosure": 4, "correction": 2, "deletion": 1,
                            "refusal_of_use": 2, "refusal_of_provision": 1,
                            "stop_provision": 1})  # fmt: skip
        fields["kind"] = "refusal_of_provision" if kind == "stop_provision" else kind
        moves = [Move("consult", MANAGER, checklist=["identity_confirmed"]), *REQUESTS[kind]]
    elif workflow == "sending":
        fields["channel"] = _pick(luck, {"email": 5, "upload": 3, "post": 1, "fax": 1})
        checklist = ["recipient_checked", "second_check", "protected", "identified_tool",
                     "only_needed"]  # fmt: skip
        send = Move("send", STAFF, {"sent_on": ""}, checklist)
        moves = [*CONSENT, send, Move("confirm", MANAGER)]
    elif workflow == "take_out":
        fields["medium"] = medium = _pick(luck, {"laptop": 3, "paper": 1, "copy": 1})
        back = (
            Move("erase_copies", HANDLER, {"erased_on": "", "erasure_method": "erasure_software"},
                 ["copies_erased"])
            if medium == "copy" else
            Move("bring_back", STAFF, {"brought_back_on": ""}, ["nothing_left"])
        )  # fmt: skip
        out = Move("take_out", STAFF, {"taken_out_on": ""}, ["only_needed", "protected"])
        moves = [*CONSENT, out, back, Move("confirm_return", MANAGER)]
    else:
        raise ValueError(f"no story for the workflow {workflow!r}")
    return [Filing(0, workflow, title, fields), *_acts(0, moves)]


MIX = {
    "sending": 25, "take_out": 20, "request": 12, "entrustment": 10, "provision": 8,
    "purpose": 6, "method": 4, "incident": 3, "joint_use": 3, "beyond_purpose": 2,
}  # fmt: skip
"""Stories per hundred; an entrustment brings a subcontract, an incident and an erasure."""


DETOURS = (("return", 0.08), ("reject", 0.11), ("withdraw", 0.13))
"""Of a hundred stories, 8 returned once and resubmitted, 3 rejected, 2 withdrawn."""


def story(luck: random.Random, workflows: dict[str, Workflow]) -> list[Command]:
    """A new story of the mix, with its detours: returned and resubmitted, rejected,
    withdrawn (a rejection or a withdrawal ends the story there)."""
    kind = _pick(luck, MIX)
    if kind == "entrustment":
        told = entrustment(luck)
    elif kind == "incident":
        told = incident(luck, 0, None)
    else:
        told = simple(luck, kind)
    roll = luck.random()
    detour = next((d for d, upto in DETOURS if roll < upto), "")
    return _detoured(told, workflows, detour) if detour else told


def _detoured(told: list[Command], workflows: dict[str, Workflow], detour: str) -> list[Command]:
    """``told`` with its first case returned and resubmitted, or rejected or withdrawn, at the
    first state that allows it."""
    workflow = workflows[cast("Filing", told[0]).workflow]
    state = workflow.initial
    for n, command in enumerate(told):
        if n and isinstance(command, Action) and command.slot == 0:
            found = workflow.step(state, detour)
            if found is not None and found.role in ("manager", "chief", "staff"):
                actor = {"manager": MANAGER, "chief": CHIEF, "staff": STAFF}[found.role]
                turn = Action(0, Move(detour, actor, comment=f"{detour}: see the notes"))
                if detour != "return":
                    return [*told[:n], turn]
                back = workflow.step(found.dest, "resubmit")
                if back is not None and back.dest == state:
                    again = Action(0, Move("resubmit", STAFF, checklist=list(back.checklist),
                                           comment="Corrected as asked"))  # fmt: skip
                    return [*told[:n], turn, again, *told[n:]]
            step = workflow.step(state, command.move.trigger)
            if step is None:
                raise RuntimeError(f"{command.move.trigger} from {state} in {workflow.id}")
            state = step.dest
    return told


# -- telling the stories through the engine ---------------------------------------------------


class StopRequests:
    """The engine's ``stop_requests`` (every refusal of provision complied with, oldest first),
    kept up to date as requests are filed instead of read from every filing in the log.

    Outside a host's unit the engine asks the provision ledger's read model (one query per
    data subject); inside one, as here (commands batched in host transactions), it decodes
    every case filed so far and loads every request, for each filing or recorded provision: a
    cost that grows with the log (73 ms a call at 2,000 events).  The answer here is the same,
    and the engine checks each provision against it as it would against its own: a request's
    refusal counts from the step that complied with it, and a request that has ended never
    changes."""

    def __init__(self, app: ApprovalsApplication) -> None:
        self.app = app
        self.prefix = f"{app.workflows['request'].prefix}-"
        self.requests = [r for r in app.references() if r.startswith(self.prefix)]
        self.settled: dict[str, list[StopRequest]] = {}

    def filed(self, reference: str) -> None:
        """Count the case ``reference`` just filed, if it is a request."""
        if reference.startswith(self.prefix):
            self.requests.append(reference)

    def __call__(self) -> tuple[StopRequest, ...]:
        found: list[StopRequest] = []
        for reference in self.requests:
            known = self.settled.get(reference)
            if known is None:
                try:
                    case = self.app._case_and_roster(reference)[0]  # as the engine reads it
                except (CaseNotFound, CaseDisposed, CaseUnreadable):
                    continue
                known = stop_requests(case)
                if self.app.definition_of(case).states[case.state].terminal:
                    self.settled[reference] = known
            found += known
        return tuple(found)


@dataclass
class Flight:
    """A story being told: its commands left and the references of its cases so far."""

    commands: list[Command]
    department: str
    references: dict[int, str] = field(default_factory=dict)
    workflows: dict[int, str] = field(default_factory=dict)


class Teller:
    """Takes one command at a time from stories told at once, through the engine."""

    def __init__(
        self, app: ApprovalsApplication, clock: SimulatedClock, seed: int, in_flight: int
    ) -> None:
        self.app, self.clock = app, clock
        self.luck = random.Random(seed)
        self.workflows = dict(app.workflows)
        self.flights: list[Flight] = []
        self.in_flight = in_flight
        self.cases = 0
        self.stops = StopRequests(app)
        app.stop_requests = self.stops  # type: ignore[method-assign]

    def next(self) -> None:
        """Take the next command of a story (a new one while fewer than IN_FLIGHT are told)."""
        if len(self.flights) < self.in_flight:
            department = "sales" if self.luck.random() < 0.7 else "hr"
            self.flights.append(Flight(story(self.luck, self.workflows), department))
            flight = self.flights[-1]
        else:
            flight = self.flights[self.luck.randrange(len(self.flights))]
        self.clock.now += PACE
        self.take(flight, flight.commands.pop(0))
        if not flight.commands:
            self.flights.remove(flight)

    def take(self, flight: Flight, command: Command) -> None:
        people = PEOPLE[flight.department]
        if isinstance(command, Filing):
            fields = self.dated(command.workflow, command.fields, flight)
            flight.references[command.slot] = self.app.file(
                command.workflow, actor=people[command.actor], title=command.title,
                department=flight.department, fields=fields,
            ).reference  # fmt: skip
            flight.workflows[command.slot] = command.workflow
            self.stops.filed(flight.references[command.slot])
            self.cases += 1
            return
        move, reference = command.move, flight.references[command.slot]
        workflow = flight.workflows[command.slot]
        self.app.act(
            reference, move.trigger, actor=people.get(move.actor, move.actor),
            fields=self.dated(workflow, move.fields, flight), checklist=move.checklist,
            comment=move.comment,
        )  # fmt: skip

    def dated(self, workflow: str, fields: dict[str, Any], flight: Flight) -> dict[str, Any]:
        """``fields`` with every date the clock's day, every moment a little before now, and the
        cases named by slot named by reference."""
        specs = self.workflows[workflow].fields
        now = self.clock.now.astimezone(JST)
        done: dict[str, Any] = {}
        for name, value in fields.items():
            kind = specs[name].kind
            if isinstance(value, Ref):
                done[name] = flight.references[value.slot]
            elif kind == "date":
                done[name] = (now.date() + timedelta(days=AHEAD.get(name, 0))).isoformat()
            elif kind == "datetime":
                moment = now - timedelta(minutes=DATETIMES.get(name, 1))
                done[name] = moment.strftime("%Y-%m-%dT%H:%M")
            else:
                done[name] = value
        return done


# -- building a store -------------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    """What a build did: the store, its events and cases, how long it took and at what cost."""

    url: str
    events: int
    cases: int
    written: int
    seconds: float
    reused: bool
    peak_mb: float = 0.0
    """Peak resident memory (VmHWM) when the last command was written, before the read models
    were brought up to date."""
    catch_up_seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Events written per second (0 when the store was reused)."""
        return self.written / self.seconds if self.written and self.seconds else 0.0


def _signed(url: str, clock: SimulatedClock) -> ApprovalsApplication:
    """Open ``url`` with the service key, beginning signing and appointing the roster first
    when the store is new."""
    app = open_approvals(url, clock=clock, signer=REP)
    try:
        if not app.roster():
            begin_signing(app, SERVICE.public_key)
    finally:
        app.close()
    app = open_approvals(url, clock=clock, signer=SERVICE)
    if len(app.roster()) < 2:
        appoint_sample_roster(app)
        app.appoint(actor=OTHER_MANAGER, user=HR_OTHER_STAFF, role="staff", department="hr")
        app.appoint(actor=OTHER_MANAGER, user=HR_HANDLER, role="handler", department="hr")
    return app


def _last_moment(app: ApprovalsApplication) -> datetime | None:
    head = app.recorder.max_notification_id()
    if not head:
        return None
    last = app.recorder.select_notifications(head, 1)[0]
    moment: datetime = app.mapper.to_domain_event(last).timestamp  # type: ignore[attr-defined]
    return moment


def fill(
    url: str,
    events: int,
    *,
    batch: int = BATCH,
    joined: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> Built:
    """Tell stories into the store at ``url`` until it holds ``events`` events, ``batch``
    commands to a transaction (each command in a transaction of its own when not ``joined``);
    bring the read models up to date."""
    clock = SimulatedClock(START)
    app = _signed(url, clock)
    try:
        written = first = app.recorder.max_notification_id() or 0
        last = _last_moment(app)
        if last is not None and last > clock.now:
            clock.now = last + timedelta(days=1)
        # A small store keeps fewer stories open, so that entrustments too reach their end.
        teller = Teller(app, clock, seed=first, in_flight=max(10, min(IN_FLIGHT, events // 100)))
        started = time.perf_counter()
        while written < events:
            # Close to the end, fewer commands: each writes one event, a filing two.
            count = max(1, min(batch, (events - written) // 2))
            with _unit(app, joined):
                for _ in range(count):
                    teller.next()
            written = app.recorder.max_notification_id() or 0
            if progress is not None:
                progress(written, events)
        took, peak = time.perf_counter() - started, _peak_mb()
        app.registers().refresh()
        caught = time.perf_counter() - started - took
        return Built(url, written, teller.cases, written - first, took, written == first, peak,
                     caught)  # fmt: skip
    finally:
        app.close()


@contextmanager
def _unit(app: ApprovalsApplication, joined: bool) -> Iterator[None]:
    """One host transaction that the commands join, or none (each its own)."""
    if not joined:
        yield
        return
    with app.engine.begin() as connection, app.joined(connection):
        yield


def store_path(events: int, directory: Path | str | None = None) -> Path:
    """Where the SQLite store of ``events`` events is kept (built or not)."""
    return Path(directory or DEFAULT_DIR) / f"store-{events}-g{GENERATOR}.db"


def _sqlite(path: Path) -> str:
    return f"sqlite:///{path}"


def ensure_store(
    events: int,
    directory: Path | str | None = None,
    *,
    db: str | None = None,
    batch: int = BATCH,
    progress: Callable[[int, int], None] | None = None,
) -> Built:
    """Return the store of ``events`` events, built now unless a complete one is kept: in
    ``directory`` (SQLite; built under a temporary name, renamed when complete), or at ``db``
    (any backend; filled up to ``events``)."""
    if db is not None:
        return fill(db, events, batch=batch, progress=progress)
    path = store_path(events, directory)
    if path.exists():
        return Built(_sqlite(path), events, 0, 0, 0.0, reused=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    beside = [partial.with_name(partial.name + end) for end in ("-wal", "-shm", "-writer")]
    for leftover in (partial, *beside):
        leftover.unlink(missing_ok=True)  # a build that was interrupted starts again
    built = fill(_sqlite(partial), events, batch=batch, progress=progress)
    partial.rename(path)  # the WAL was checkpointed and removed when the store was closed
    beside[-1].unlink(missing_ok=True)  # the writers' queue file of the temporary name
    return replace(built, url=_sqlite(path))


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        print(f"\r  {done:,} / {total:,} events", end="", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=140_000, help="events in the store")
    parser.add_argument("--dir", default=str(DEFAULT_DIR), help="where SQLite stores are kept")
    parser.add_argument("--db", help="a store URL to fill instead (PostgreSQL too)")
    parser.add_argument("--batch", type=int, default=BATCH, help="commands per transaction")
    parser.add_argument("--per-command", action="store_true",
                        help="one transaction per command (to compare)")  # fmt: skip
    args = parser.parse_args()
    if args.events < 1 or args.batch < 1:
        parser.error("--events and --batch must be positive")
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    if args.per_command:
        if not args.db:
            parser.error("--per-command needs --db (a store to compare on)")
        built = fill(args.db, args.events, joined=False, progress=_progress)
    else:
        built = ensure_store(args.events, args.dir, db=args.db, batch=args.batch,
                             progress=_progress)  # fmt: skip
    if sys.stderr.isatty():
        print(file=sys.stderr)
    size = ""
    if built.url.startswith("sqlite:///"):
        size_mb = Path(built.url.removeprefix("sqlite:///")).stat().st_size / 2**20
        size = f", {size_mb:,.0f} MB ({size_mb * 2**20 / max(built.events, 1):,.0f} B/event)"
    what = "reused" if built.reused else (
        f"built {built.written:,} events, {built.cases:,} cases in {built.seconds:,.1f} s, "
        f"{built.rate:,.0f} events/s, peak {built.peak_mb:,.0f} MB; read models caught up in "
        f"{built.catch_up_seconds:,.1f} s"
    )  # fmt: skip
    print(f"{built.url}: {built.events:,} events; {what}; peak {_peak_mb():,.0f} MB{size}")


if __name__ == "__main__":
    main()
