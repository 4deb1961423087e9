"""The README's library example: a roster, one entrustment case from notice to approval."""

import tempfile
from pathlib import Path

from approvals import Document, EvidenceMissing, open_approvals

store = Path(tempfile.mkdtemp()) / "approvals.db"
app = open_approvals(f"sqlite:///{store}")  # or open_approvals(engine=your_engine)

# Who holds which role is itself event-sourced (Art.3, 20, 21).
app.establish_roster("daihyo")  # the representative
app.appoint(actor="daihyo", user="sato", role="chief")
app.appoint(actor="sato", user="suzuki", role="manager", department="sales")
app.appoint(actor="suzuki", user="tanaka", role="staff", department="sales")

# Staff notifies the manager in advance (届け出).
case = app.file(
    "entrustment",
    actor="tanaka",
    title="Scanning of paper customer files",
    department="sales",
    fields={"vendor": "Shred & Scan Ltd.", "data_items": "customer files", "purpose": "scanning"},
)
print(case.reference, case.state_label.en)

# The manager investigates the vendor — where it works on the data and keeps it, too — and
# drafts the contract, then consults the chief (協議).
app.act(
    case.reference,
    "record_investigation",
    actor="suzuki",
    fields={
        "interview_date": "2026-04-03",
        "site_survey_date": "2026-04-06",
        "security_equal_or_higher": "yes",
        "financially_sound": "yes",
        "work_places": "Scanning room, Osaka",
        "storage_places": "Locked archive and server room, Osaka",
    },
)
try:
    app.act(case.reference, "consult", actor="suzuki")
except EvidenceMissing as refusal:
    print("refused:", refusal)  # the seven contract clauses are not confirmed yet

clauses = [item for item in app.workflows["entrustment"].checklist if item.startswith("clause_")]
app.act(
    case.reference,
    "draft_contract",
    actor="suzuki",
    checklist=clauses,
    attachments=[Document.of("basic-contract-draft.pdf", b"%PDF-1.7 ...")],
)
app.act(case.reference, "consult", actor="suzuki")

# The chief approves (承認); what may happen next, and who may do it:
case = app.act(case.reference, "approve", actor="sato", comment="Vendor checked on site.")
for step in case.next_steps:
    print("next:", step.trigger, "by", step.role, step.people)
for entry in app.history(case.reference):
    print(entry.at.isoformat(timespec="seconds"), entry.actor, entry.role, entry.trigger)
app.close()
