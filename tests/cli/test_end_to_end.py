"""One entrustment, driven through the installed `approvals` console script on a SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from approvals import JST

CLAUSES = [
    "clause_confidentiality", "clause_custody", "clause_training", "clause_return_erasure",
    "clause_incidents", "clause_subcontracting", "clause_audit",
]  # fmt: skip


Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def approvals(tmp_path: Path) -> Run:
    script = Path(sys.executable).parent / "approvals"
    if not script.exists():
        pytest.fail(f"the console script is not installed next to {sys.executable}")
    env = {**os.environ, "APPROVALS_DB": str(tmp_path / "store.db"), "APPROVALS_LANG": "en",
           "XDG_CONFIG_HOME": str(tmp_path / "config")}  # fmt: skip
    env.pop("APPROVALS_KEYS", None)

    def run(user: str, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(script), "--user", user, *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            check=False,
            timeout=60,
        )
        assert done.returncode == expect, (args, done.stdout, done.stderr)
        return done

    return run


def test_an_entrustment_from_notice_to_the_end_of_the_contract(
    approvals: Run, tmp_path: Path
) -> None:
    run = approvals
    keys = tmp_path / "config" / "approvals" / "keys"
    began = run("daihyo", "init", "--representative", "daihyo")  # signing begins
    assert "Signing began" in began.stdout
    # Each approver makes a key once; whoever appointed them registers its public half.
    for appointer, person, *role in (
        ("daihyo", "sato", "chief"),
        ("sato", "suzuki", "manager", "--department", "sales"),
        ("suzuki", "tanaka", "staff", "--department", "sales"),
    ):
        run(appointer, "roster", "appoint", person, *role)
        unsigned = run(person, "roster", "list")  # reading needs no key
        assert person in unsigned.stdout
        run(person, "keys", "new")
        run(appointer, "roster", "register-key", person, str(keys / f"{person}.pub"))

    contract = tmp_path / "basic-contract.pdf"
    contract.write_bytes(b"%PDF-1.7 basic contract")
    filed = run(
        "tanaka", "--json", "file", "entrustment", "--title", "Scanning of paper files",
        "--department", "sales", "--set", "vendor=Shred & Scan Ltd.",
        "--set", "data_items=customer files", "--set", "purpose=scanning",
    )  # fmt: skip
    reference = json.loads(filed.stdout)["reference"]
    assert reference.startswith("ENT-")

    # The chief cannot be consulted before the investigation and the contract clauses.
    refused = run("suzuki", "consult", reference, expect=1)
    assert "must be given first" in refused.stderr
    assert refused.stderr.count("\n") == 1

    checks = [arg for clause in CLAUSES for arg in ("--check", clause)]
    run(
        "suzuki", "act", reference, "consult",
        "--set", "interview_date=2026-04-03", "--set", "site_survey_date=2026-04-06",
        "--set", "security_equal_or_higher=yes", "--set", "financially_sound=yes",
        "--set", "work_places=Scanning room, Osaka", "--set", "storage_places=Archive, Osaka",
        *checks, "--attach", str(contract),
    )  # fmt: skip
    run("sato", "approve", reference, "--comment", "Vendor checked on site.")
    today = datetime.now(JST).date().isoformat()  # what follows the approval is dated after it
    early = run("tanaka", "act", reference, "hand_over", "--set", "handover_date=2026-05-01",
                "--check", "written_notice", expect=1)  # fmt: skip
    assert "Allowed now: conclude_basic_contract" in early.stderr
    # This contract does not ask the vendor for a yearly report: no clock asks for one.
    run("suzuki", "act", reference, "conclude_basic_contract",
        "--set", f"basic_contract_date={today}", "--set", "reports_yearly=no")  # fmt: skip
    run("suzuki", "act", reference, "conclude_individual_contract",
        "--set", f"individual_contract_date={today}")  # fmt: skip
    handed = run("tanaka", "--json", "act", reference, "hand_over",
                 "--set", f"handover_date={today}", "--check", "written_notice")  # fmt: skip
    assert [d["name"] for d in json.loads(handed.stdout)["deadlines"]] == ["inspection"]
    run("suzuki", "act", reference, "inspect", "--set", f"inspection_date={today}",
        "--set", "inspection_findings=no findings")  # fmt: skip
    ended = run("suzuki", "--json", "act", reference, "end_contract",
                "--set", f"individual_contract_end_date={today}")  # fmt: skip
    case = json.loads(ended.stdout)
    assert (case["state"], case["terminal"]) == ("ended", True)
    assert case["retention_until"] is not None

    history = json.loads(run("sato", "--json", "history", reference).stdout)
    assert [entry["trigger"] for entry in history] == [
        "file", "consult", "approve", "conclude_basic_contract", "conclude_individual_contract",
        "hand_over", "inspect", "end_contract",
    ]  # fmt: skip
    assert [(e["actor"], e["role"]) for e in history][2] == ("sato", "chief")
    (document,) = history[1]["attachments"]
    assert document["name"] == "basic-contract.pdf"
    shown = run("sato", "--lang", "ja", "show", reference).stdout
    assert "個別契約終了" in shown

    # Every event after the establishment of the roster is signed by its writer's own key.
    verified = run("kansa", "audit", "verify", expect=3)  # sound; no checkpoint pinned
    assert "Events are signed from position 1 on" in verified.stdout
