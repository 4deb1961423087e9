"""The sample company: its roster, a filing for each workflow, and each walked to its end.

``approvals demo`` runs it on a fresh SQLite file; the tests replay the same data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from approvals.domain.clocks import JST

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication
    from approvals.results import CaseView

# The people of the sample roster, by what they do.
REPRESENTATIVE = "daihyo"
CHIEF = "sato"
AUDITOR = "kansa"
MANAGER = "suzuki"  # sales
OTHER_MANAGER = "takahashi"  # hr
STAFF = "tanaka"  # sales
OTHER_STAFF = "ito"  # sales
HR_STAFF = "watanabe"  # hr
HANDLER = "yamamoto"  # sales


def appoint_sample_roster(app: ApprovalsApplication) -> None:
    """Appoint the sample roster, each by who may appoint them (the roster is established
    first, unless it already is)."""
    if not app.roster():
        app.establish_roster(REPRESENTATIVE)
    app.appoint(actor=REPRESENTATIVE, user=CHIEF, role="chief")
    app.appoint(actor=REPRESENTATIVE, user=AUDITOR, role="auditor")
    app.appoint(actor=CHIEF, user=MANAGER, role="manager", department="sales")
    app.appoint(actor=CHIEF, user=OTHER_MANAGER, role="manager", department="hr")
    app.appoint(actor=MANAGER, user=STAFF, role="staff", department="sales")
    app.appoint(actor=MANAGER, user=OTHER_STAFF, role="staff", department="sales")
    app.appoint(actor=OTHER_MANAGER, user=HR_STAFF, role="staff", department="hr")
    app.appoint(actor=MANAGER, user=HANDLER, role="handler", department="sales")


ART6_ITEMS = [
    "contact", "purpose", "third_party", "entrustment", "disclosure_rights",
    "refusal_rights", "voluntariness", "consequences", "joint_use", "disposal_standard",
    "other_legal_matters", "notice_given",
]  # fmt: skip
CLAUSES = [
    "clause_confidentiality", "clause_custody", "clause_training", "clause_return_erasure",
    "clause_incidents", "clause_subcontracting", "clause_audit",
]  # fmt: skip
INVESTIGATION = {
    "interview_date": "2026-04-03",
    "site_survey_date": "2026-04-06",
    "security_equal_or_higher": "yes",
    "financially_sound": "yes",
    "work_places": "Scanning room, head office of Shred & Scan, Osaka",
    "storage_places": "Locked archive room and the server room of the Osaka data centre",
}


@dataclass(frozen=True)
class Move:
    """One step of a walk: who takes which trigger with what."""

    trigger: str
    actor: str
    fields: dict[str, Any] = field(default_factory=dict)
    checklist: list[str] = field(default_factory=list)
    comment: str = ""


FILINGS: dict[str, dict[str, Any]] = {
    "purpose": {
        "purpose": "Newsletter to customers",
        "data_items": "name, e-mail",
        "data_subjects": "customers",
    },
    "method": {
        "collection": "indirect",
        "method": "List bought from a partner",
        "source": "Partner Co.",
        "data_items": "name, address",
        "purpose": "Direct mail",
    },
    "entrustment": {
        "vendor": "Shred & Scan Ltd.",
        "data_items": "customer files",
        "purpose": "Digitising paper records",
    },
    "provision": {
        "recipient": "Group insurer",
        "data_subjects": "policy holders",
        "data_items": "name, policy number",
        "purpose": "Claims handling",
        "unavoidable_reason": "The insurer settles the claims itself",
    },
    "joint_use": {
        "data_items": "name, membership number",
        "joint_users": "Group companies listed on the website",
        "purpose": "Shared loyalty programme",
        "responsible_party": "Head office",
        "responsible_address": "1-1 Marunouchi, Chiyoda-ku, Tokyo",
        "responsible_representative": "Hanako Sato, President",
    },
}

PROVIDER = {
    "provider_name": "Partner Co.",
    "provider_address": "1-2-3 Otemachi, Chiyoda-ku, Tokyo",
    "provider_representative": "Yamada Hanako, President",
    "provider_acquisition": "Collected from its members with their consent to the provision",
}
"""The provider confirmed on receiving data from a third party (APPI 30-1)."""

APPROVAL = [Move("consult", MANAGER), Move("approve", CHIEF)]

PATHS: dict[str, list[Move]] = {
    "purpose": [
        *APPROVAL,
        Move("record_measures", CHIEF, {"effective_date": "2026-05-01"}, ART6_ITEMS),
        Move("end", MANAGER, {"end_date": "2027-03-31"}),
    ],
    "method": [
        *APPROVAL,
        Move(
            "record_indirect_measures",
            CHIEF,
            {"effective_date": "2026-05-01", **PROVIDER},
            [
                "lawful_and_fair",
                "website_notice",
                "provider_lawful_consent",
                "provider_written_statement",
            ],
        ),
        Move("end", MANAGER, {"end_date": "2027-03-31"}),
    ],
    "entrustment": [
        Move("record_investigation", MANAGER, INVESTIGATION),
        Move("draft_contract", MANAGER, checklist=CLAUSES),
        *APPROVAL,
        Move(
            "conclude_basic_contract",
            MANAGER,
            {"basic_contract_date": "2026-04-20", "reports_yearly": "yes"},
        ),
        Move("conclude_individual_contract", MANAGER, {"individual_contract_date": "2026-04-27"}),
        Move("hand_over", STAFF, {"handover_date": "2026-05-07"}, ["written_notice"]),
        Move("record_compliance_check", OTHER_STAFF, {"check_date": "2026-06-01"}),
        Move("report_breach", STAFF, {"violation": "Copies kept on a laptop"}),
        Move("consult_breach", MANAGER),
        Move("record_measures", CHIEF, {"measures": "Laptop wiped; written warning"}),
        Move("inspect", MANAGER, {"inspection_date": "2026-10-01", "inspection_findings": "OK"}),
        Move("end_contract", MANAGER, {"individual_contract_end_date": "2027-03-31"}),
    ],
    "provision": [
        *APPROVAL,
        Move(
            "record_measures",
            CHIEF,
            {"consent": "obtained"},
            ["consent_confirmed", "recipient_contract", "minimum_items"],
        ),
        Move(
            "record_provision",
            STAFF,
            {
                "provision_date": "2026-05-10",
                "recipient": "Group insurer",
                "data_subjects": "3 policy holders",
                "data_items": "name, policy number",
                "consent": "obtained",
            },
        ),
        Move("end", MANAGER, {"end_date": "2026-12-31"}),
    ],
    "joint_use": [
        *APPROVAL,
        Move(
            "record_measures",
            CHIEF,
            {"announced_on": "2026-04-15"},
            [
                "announce_data_items",
                "announce_joint_users",
                "announce_purpose",
                "announce_responsible_party",
                "announce_responsible_address",
            ],
        ),
        Move("end", MANAGER, {"end_date": "2027-03-31"}),
    ],
}


_SECOND = timedelta(seconds=1)


class SimulatedClock:
    """A clock that moves by hand; every reading moves it on by ``tick``."""

    def __init__(self, start: datetime, tick: timedelta = _SECOND) -> None:
        self.now = start
        self.tick = tick

    def __call__(self) -> datetime:
        moment = self.now
        self.now += self.tick
        return moment

    def advance(self, **delta: float) -> None:
        """Move the clock on by ``delta`` (keywords of :class:`datetime.timedelta`)."""
        self.now += timedelta(**delta)

    def next_morning(self) -> None:
        """Move the clock to ten o'clock (JST) of the next day."""
        tomorrow = self.now.astimezone(JST) + timedelta(days=1)
        self.now = tomorrow.replace(hour=10, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class DemoRun:
    """What the demo filed: every case by what happened to it."""

    finished: dict[str, str]
    returned_and_resubmitted: str
    rejected: str
    open_cases: tuple[str, ...]


def take(app: ApprovalsApplication, reference: str, move: Move) -> CaseView:
    """Take one ``move`` on case ``reference``."""
    return app.act(
        reference,
        move.trigger,
        actor=move.actor,
        fields=move.fields,
        checklist=move.checklist,
        comment=move.comment,
    )


def walk(app: ApprovalsApplication, reference: str, moves: list[Move]) -> None:
    """Take ``moves`` on case ``reference`` in order."""
    for move in moves:
        take(app, reference, move)


def _dated(app: ApprovalsApplication, workflow: str, move: Move, clock: SimulatedClock) -> Move:
    """Return ``move`` with its date fields set to the clock's day, so the story adds up."""
    kinds = app.workflows[workflow].fields
    today = clock.now.astimezone(JST).date().isoformat()
    fields = {k: today if kinds[k].kind == "date" else v for k, v in move.fields.items()}
    return Move(move.trigger, move.actor, fields, move.checklist, move.comment)


APPOINTED_BY = {
    CHIEF: REPRESENTATIVE, AUDITOR: REPRESENTATIVE, MANAGER: CHIEF, OTHER_MANAGER: CHIEF,
    STAFF: MANAGER, OTHER_STAFF: MANAGER, HANDLER: MANAGER, HR_STAFF: OTHER_MANAGER,
}  # fmt: skip
"""Who appointed whom on the sample roster: who registers each person's key."""
DEMO_SERVICE = "approvals-demo"
"""The demo's own service key: it signs for the sample people, as a host signs for its users."""


def begin_signing(app: ApprovalsApplication, service_key: str) -> None:
    """On a new sample store opened with the representative's own key: establish the roster,
    register that key (signing begins) and the demo's service key (64 hex digits)."""
    app.establish_roster(REPRESENTATIVE)
    if app.signer is None:
        raise ValueError("begin_signing needs the store opened with the representative's key")
    app.register_key(actor=REPRESENTATIVE, holder=REPRESENTATIVE, public_key=app.signer.public_key)
    app.register_key(
        actor=REPRESENTATIVE, holder=DEMO_SERVICE, public_key=service_key, service=True
    )


def register_sample_keys(app: ApprovalsApplication, public_keys: dict[str, str]) -> None:
    """Register each sample person's public key, by whoever appointed them."""
    for person, public_key in public_keys.items():
        app.register_key(actor=APPOINTED_BY[person], holder=person, public_key=public_key)


def run_demo(app: ApprovalsApplication, clock: SimulatedClock) -> DemoRun:
    """Appoint the sample roster, then run each of the five workflows to its end.

    The purpose notice is returned once and resubmitted; a third-party provision is rejected;
    two cases are left open so that inboxes have something in them.
    """
    appoint_sample_roster(app)
    finished: dict[str, str] = {}
    for workflow in ("purpose", "method", "entrustment", "joint_use"):
        clock.advance(days=1)
        reference = app.file(
            workflow,
            actor=STAFF,
            title=TITLES[workflow],
            department="sales",
            fields=FILINGS[workflow],
        ).reference
        if workflow == "purpose":
            app.act(reference, "return", actor=MANAGER, comment="Name the data subjects precisely.")
            clock.next_morning()
            app.act(
                reference,
                "resubmit",
                actor=STAFF,
                fields={"data_subjects": "customers who opted in to e-mail"},
                comment="Data subjects narrowed to opted-in customers.",
            )
        for move in PATHS[workflow]:
            clock.next_morning()
            walk(app, reference, [_dated(app, workflow, move, clock)])
        finished[workflow] = reference

    clock.advance(days=1)
    rejected = app.file(
        "provision", actor=STAFF, title=TITLES["provision"], department="sales",
        fields=FILINGS["provision"],
    ).reference  # fmt: skip
    walk(app, rejected, [Move("consult", MANAGER)])
    clock.advance(hours=6)
    walk(app, rejected, [Move("reject", CHIEF, comment="Consent cannot be shown for all.")])

    clock.advance(days=2)
    waiting_for_manager = app.file(
        "entrustment", actor=OTHER_STAFF, title="Payroll outsourcing", department="sales",
        fields={"vendor": "Payroll Partners Inc.", "data_items": "salary records",
                "purpose": "monthly payroll"},
    ).reference  # fmt: skip
    waiting_for_chief = app.file(
        "joint_use", actor=HR_STAFF, title="Group-wide training records", department="hr",
        fields={"data_items": "name, courses taken", "joint_users": "group companies",
                "purpose": "shared training plan", "responsible_party": "HR, head office",
                "responsible_address": "1-1 Marunouchi, Chiyoda-ku, Tokyo",
                "responsible_representative": "Hanako Sato, President"},
    ).reference  # fmt: skip
    clock.advance(hours=2)
    walk(app, waiting_for_chief, [Move("consult", OTHER_MANAGER)])
    return DemoRun(
        finished=finished,
        returned_and_resubmitted=finished["purpose"],
        rejected=rejected,
        open_cases=(waiting_for_manager, waiting_for_chief),
    )


TITLES = {
    "purpose": "Newsletter to customers",
    "method": "Address list bought from a partner",
    "entrustment": "Scanning of paper customer files",
    "provision": "Claims data for the group insurer",
    "joint_use": "Shared loyalty programme",
}
