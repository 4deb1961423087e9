"""Sensitive personal information (要配慮個人情報; the heading before Art.6, APPI 20-2 and 27-2)
flagged on collection and provision, with the prior consent its collection needs recorded; the
eleventh notice item of Art.6; and the confirmation on receiving data from a third party (APPI
30) kept three years in the receipts ledger, found by provider."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from approvals import (
    JST,
    ApprovalsApplication,
    DefinitionError,
    EvidenceMissing,
    InvalidValue,
    open_approvals,
)
from approvals.audit.rules import case_violations
from approvals.cli import cli
from approvals.definitions import builtin_workflows_dir, load_directory, parse_definition
from approvals.demo import PROVIDER
from approvals.logging import configure
from tests.conftest import AUDITOR, CHIEF, MANAGER, STAFF, FakeClock, appoint_standard_roster
from tests.scenarios import FILINGS, PATHS

SENSITIVE_CONSENT = "sensitive_consent"


def _approved(app: ApprovalsApplication, workflow: str, **filing: Any) -> str:
    """File a ``workflow`` case with ``filing`` added and take it through approval."""
    reference = app.file(
        workflow, actor=STAFF, title="Sensitive data", department="sales",
        fields={**FILINGS[workflow], **filing},
    ).reference  # fmt: skip
    app.act(reference, "consult", actor=MANAGER)
    app.act(reference, "approve", actor=CHIEF)
    return reference


def _measures(workflow: str) -> Any:
    (move,) = [m for m in PATHS[workflow] if m.trigger.endswith("measures")]
    return move


def _put_in_effect(app: ApprovalsApplication, reference: str, workflow: str, **extra: Any) -> Any:
    move = _measures(workflow)
    return app.act(reference, move.trigger, actor=CHIEF, fields={**move.fields, **extra},
                   checklist=move.checklist)  # fmt: skip


# -- Art.6-11 -----------------------------------------------------------------------------------


def test_the_purpose_measures_confirm_the_eleventh_notice_item() -> None:
    purpose = load_directory()["purpose"]
    assert "Art.6-11" in purpose.checklist["other_legal_matters"].label.en
    (step,) = [s for s in purpose.steps.values() if s.trigger == "record_measures"]
    assert "other_legal_matters" in step.checklist


# -- sensitive personal information -------------------------------------------------------------


@pytest.mark.parametrize("workflow", ["purpose", "method"])
def test_sensitive_collection_takes_effect_only_with_the_prior_consent_recorded(
    app: ApprovalsApplication, workflow: str
) -> None:
    reference = _approved(app, workflow, sensitive="yes")
    label = app.workflows[workflow].fields[SENSITIVE_CONSENT].label.en
    trigger = _measures(workflow).trigger
    (offered,) = [s for s in app.case(reference).next_steps if s.trigger == trigger]
    assert SENSITIVE_CONSENT in offered.missing_fields  # what the step will ask for, shown
    with pytest.raises(EvidenceMissing) as refusal:
        _put_in_effect(app, reference, workflow)
    assert label in str(refusal.value)
    case = _put_in_effect(app, reference, workflow, sensitive_consent="obtained")
    assert case.state == "in_effect"
    assert case.fields[SENSITIVE_CONSENT] == "obtained"


@pytest.mark.parametrize("workflow", ["purpose", "method"])
def test_collection_not_flagged_sensitive_needs_no_consent(
    app: ApprovalsApplication, workflow: str
) -> None:
    reference = _approved(app, workflow, sensitive="no")
    offered = [s for s in app.case(reference).next_steps if s.trigger.endswith("measures")]
    assert all(SENSITIVE_CONSENT not in s.fields for s in offered)
    assert _put_in_effect(app, reference, workflow).state == "in_effect"


@pytest.mark.parametrize("workflow", ["purpose", "method", "provision"])
def test_the_sensitive_flag_is_fixed_with_the_notice_and_its_approval(
    app: ApprovalsApplication, workflow: str
) -> None:
    # Collection: a rule depends on it, so only the notice (or a revised one) records it.
    assert ("sensitive" in app.workflows[workflow].guarded_fields) is (workflow != "provision")
    reference = _approved(app, workflow, sensitive="yes")
    move = _measures(workflow)
    # The measures cannot unsay it (not their field; or another value than approved).
    with pytest.raises(InvalidValue):
        app.act(reference, move.trigger, actor=CHIEF,
                fields={**move.fields, "sensitive": "no"}, checklist=move.checklist)  # fmt: skip
    assert app.case(reference).fields["sensitive"] is True


def test_a_sensitive_provision_records_the_consent_or_legal_ground_never_opt_out(
    app: ApprovalsApplication,
) -> None:
    provision = app.workflows["provision"]
    assert set(provision.fields["consent"].choices) == {"obtained", "law_permits"}
    reference = _approved(app, "provision", sensitive="yes")
    move = _measures("provision")
    with pytest.raises(EvidenceMissing):
        app.act(reference, move.trigger, actor=CHIEF, checklist=move.checklist)
    case = app.act(reference, move.trigger, actor=CHIEF, fields=move.fields,
                   checklist=move.checklist)  # fmt: skip
    assert (case.state, case.fields["sensitive"]) == ("in_effect", True)


def test_audit_replay_finds_sensitive_collection_without_consent(clock: FakeClock) -> None:
    source = (builtin_workflows_dir() / "purpose.toml").read_text(encoding="utf-8")
    rule = 'fields_if = { sensitive = ["sensitive_consent"] }\n'
    assert rule in source
    lax = parse_definition(source.replace(rule, ""))
    app = open_approvals("sqlite://", clock=clock, workflows={"purpose": lax})
    try:
        appoint_standard_roster(app)
        reference = _approved(app, "purpose", sensitive="yes")
        _put_in_effect(app, reference, "purpose")  # the lax definition lets it through
        case, roster = app._case(reference), app.roster_aggregate()
        assert roster is not None
        strict = load_directory()["purpose"]
        assert list(case_violations(case.history, lax, roster, case.department)) == []
        found = [m.en for _, m in case_violations(case.history, strict, roster, case.department)]
        assert any("record_measures" in m and SENSITIVE_CONSENT in m for m in found), found
    finally:
        app.close()


def test_fields_if_names_a_bool_field() -> None:
    source = (builtin_workflows_dir() / "purpose.toml").read_text(encoding="utf-8")
    wrong = source.replace("fields_if = { sensitive =", "fields_if = { purpose =")
    with pytest.raises(DefinitionError, match="bool"):
        parse_definition(wrong)
    unknown = source.replace('["sensitive_consent"]', '["no_such_field"]')
    with pytest.raises(DefinitionError, match="no_such_field"):
        parse_definition(unknown)


# -- receipt from a third party (APPI 30) -------------------------------------------------------


@pytest.mark.parametrize("missing", sorted(PROVIDER))
def test_indirect_collection_takes_effect_only_with_the_provider_confirmed(
    app: ApprovalsApplication, missing: str
) -> None:
    reference = _approved(app, "method")
    move = _measures("method")
    label = app.workflows["method"].fields[missing].label.en
    fields = {k: v for k, v in move.fields.items() if k != missing}
    with pytest.raises(EvidenceMissing) as refusal:
        app.act(reference, move.trigger, actor=CHIEF, fields=fields, checklist=move.checklist)
    assert label in str(refusal.value)


def test_the_receipts_ledger_keeps_the_confirmation_three_years_and_finds_the_provider(
    backend_url: str,
) -> None:
    clock = FakeClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    app = open_approvals(backend_url, clock=clock)
    try:
        appoint_standard_roster(app)
        sensitive = _approved(app, "method", sensitive="yes")
        other = _approved(app, "method", source="Other Co.")
        clock.now = datetime(2026, 5, 11, 10, tzinfo=JST)
        _put_in_effect(app, sensitive, "method", sensitive_consent="obtained")
        _put_in_effect(app, other, "method", provider_name="Other Co.")
        direct = _approved(app, "method", collection="new_method")
        app.act(direct, "record_measures", actor=CHIEF, fields={"effective_date": "2026-05-12"},
                checklist=["lawful_and_fair", "notice_given"])  # fmt: skip
        registers = app.registers()
        everything = registers.receipts()
        assert {e.reference for e in everything} == {sensitive, other}  # not the direct one
        (found,) = registers.receipts(provider="  PARTNER   co. ")
        assert found.reference == sensitive
        assert (found.kind, found.kind_label.en) == (
            "receipt",
            "receipt from a third party (APPI 30)",
        )
        assert (found.provider, found.provider_address, found.provider_representative,
                found.provider_acquisition) == tuple(PROVIDER.values())  # fmt: skip
        assert (found.sensitive, found.sensitive_consent) == (True, "obtained")
        assert found.on_date == date(2026, 5, 1)
        assert found.record_kept_until == date(2029, 5, 11)  # three years from the record
        assert registers.receipts(provider="Partner") == ()  # the whole name, not a part
        assert [e.reference for e in registers.receipts(provider="other co.")] == [other]
    finally:
        app.close()


def test_the_receipts_register_prints_the_provider_search(tmp_path: Path) -> None:
    path = tmp_path / "approvals.db"
    clock = FakeClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    app = open_approvals(f"sqlite:///{path}", clock=clock)
    try:
        appoint_standard_roster(app)
        reference = _approved(app, "method")
        _put_in_effect(app, reference, "method")
    finally:
        app.close()
    configure(verbose=False)
    env = {"APPROVALS_DB": None, "APPROVALS_USER": None, "APPROVALS_LANG": "en"}
    base = ["--db", str(path), "--user", AUDITOR]
    shown = CliRunner().invoke(cli, [*base, "register", "receipts", "--provider", "partner co."],
                               env=env, prog_name="approvals")  # fmt: skip
    assert shown.exit_code == 0, shown.output
    assert "record kept until" in shown.stdout.splitlines()[0]
    (row,) = [line for line in shown.stdout.splitlines() if line.startswith(reference)]
    assert "2029-04-01" in row
    listed = CliRunner().invoke(cli, [*base, "--json", "register", "receipts"], env=env,
                                prog_name="approvals")  # fmt: skip
    (entry,) = json.loads(listed.stdout)
    assert entry["provider_address"] == PROVIDER["provider_address"]
