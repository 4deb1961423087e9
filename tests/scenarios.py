"""Each reference workflow walked from the notice to its end, as data the tests replay."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.conftest import CHIEF, MANAGER, OTHER_STAFF, STAFF

ART6_ITEMS = [
    "contact", "purpose", "third_party", "entrustment", "disclosure_rights",
    "refusal_rights", "voluntariness", "consequences", "joint_use", "disposal_standard",
    "notice_given",
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
}


@dataclass(frozen=True)
class Move:
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
    },
}

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
            {"effective_date": "2026-05-01"},
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
        Move("conclude_basic_contract", MANAGER, {"basic_contract_date": "2026-04-20"}),
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
            ],
        ),
        Move("end", MANAGER, {"end_date": "2027-03-31"}),
    ],
}
