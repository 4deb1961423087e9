"""`audit verify --since-checkpoint`: every event re-hashed, but the writers' signatures,
decoding and the rules checked only for what came after a checkpoint the auditor signed after
a clean full verification.

Each test starts from a signed store, a clean full verification and a signed checkpoint, then
more events (new cases, and steps on cases filed before the checkpoint), on both backends.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from click.testing import CliRunner
from sqlalchemy import text

from approvals import JST, open_approvals
from approvals.audit.checkpoint import (
    generate_keys,
    load_checkpoint,
    load_private_key,
    load_public_key,
    sign,
)
from approvals.audit.service import create_checkpoint, verify_since
from approvals.audit.verify import verify_log
from approvals.cli import cli
from approvals.cli.text import moment
from approvals.domain import guards
from approvals.domain.case import case_id
from approvals.errors import Refused
from tests.conftest import (
    AUDITOR,
    CHIEF,
    MANAGER,
    REPRESENTATIVE,
    STAFF,
    FakeClock,
    appoint_standard_roster,
    drop_triggers,
)
from tests.integration.test_linked_cases import (
    WORKFLOWS,
    entrustment,
    file_subcontract,
    provision_in_effect,
    record_provision,
    rules_off,
    stopped_provision,
)
from tests.integration.test_signed_writers import HOST, begin_signing, opened
from tests.integration.test_tamper import event_of, execute, reseal
from tests.unit.test_cases import file_case


def audit(url: str, *args: str, lang: str = "en") -> tuple[int, Any, str]:
    """Run `approvals audit ARGS` as the auditor; return the exit code, the JSON (or the
    text) and stderr."""
    result = CliRunner().invoke(
        cli,
        ["--db", url, "--user", AUDITOR, "--lang", lang, "--json", "audit", *args],
        prog_name="approvals",
    )
    try:
        return result.exit_code, json.loads(result.stdout), result.stderr
    except json.JSONDecodeError:
        return result.exit_code, result.stdout, result.stderr


def ledger_size(url: str) -> int:
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as connection:
        size = connection.execute(text("SELECT COUNT(*) FROM approvals_integrity")).scalar_one()
    engine.dispose()
    return int(size)


@pytest.fixture
def store(backend_url: str, tmp_path: Path) -> dict[str, Any]:
    """A signed store; a clean full verification and a checkpoint signed by the auditor's key;
    then more events: two new cases and a step on each of two cases filed before."""
    host = begin_signing(backend_url)
    host.appoint(actor=REPRESENTATIVE, user=CHIEF, role="chief")
    host.appoint(actor=REPRESENTATIVE, user=AUDITOR, role="auditor")
    host.appoint(actor=CHIEF, user=MANAGER, role="manager", department="sales")
    host.appoint(actor=MANAGER, user=STAFF, role="staff", department="sales")
    host.appoint(actor=REPRESENTATIVE, user=MANAGER, role="chief")
    old = [file_case(host, "method").reference for _ in range(4)]
    host.act(old[0], "consult", actor=MANAGER)
    host.close()
    private, public, _ = generate_keys(tmp_path / "keys")
    folder = tmp_path / "checkpoints"
    code, made, _ = audit(backend_url, "checkpoint", "--key", str(private), "--dir", str(folder))
    assert code == 0, made
    size = made["tree_size"]
    host = opened(backend_url, HOST)
    new = [file_case(host, "method").reference for _ in range(2)]
    host.act(new[0], "consult", actor=MANAGER)
    host.act(old[0], "approve", actor=CHIEF)
    host.act(old[1], "consult", actor=MANAGER)
    host.close()
    return {
        "url": backend_url, "private": private, "public": public, "checkpoint": made["path"],
        "size": size, "old": old, "new": new, "keys": tmp_path / "keys",
    }  # fmt: skip


def since(store: dict[str, Any], *extra: str, lang: str = "en") -> tuple[int, Any, str]:
    return audit(
        store["url"], "verify", "--since-checkpoint", store["checkpoint"],
        "--key", str(store["public"]), *extra, lang=lang,
    )  # fmt: skip


def test_verified_since_the_checkpoint_the_new_events_and_their_cases_are_checked(
    store: dict[str, Any],
) -> None:
    code, report, _ = since(store)
    assert (code, report["ok"], report["pinned"]) == (0, True, 1), report
    size, total = store["size"], ledger_size(store["url"])
    assert report["events"] == total
    said = report["since"]
    assert (said["position"], said["events"]) == (size, total - size)
    # the two new cases, and the two old ones with a step since; not the two others
    assert said["cases"] == 4
    assert said["checkpoint"] == store["checkpoint"]


def test_the_report_says_how_much_was_checked_in_english_and_japanese(
    store: dict[str, Any],
) -> None:
    size, total = store["size"], ledger_size(store["url"])
    signed = moment(load_checkpoint(Path(store["checkpoint"])).time, offset=True)
    expected = {
        "en": f"Incremental since position {size} (checkpoint of {signed}): signatures "
        f"and rules checked for {total - size} events of 4 cases; the {size} events before "
        "were re-hashed against the signed root.",
        "ja": f"位置 {size} 以降の差分検証({signed} のチェックポイント): 4 件の案件の "
        f"{total - size} 件のイベントについて署名と規則を確認しました。",
    }
    for lang, words in expected.items():
        result = CliRunner().invoke(
            cli,
            ["--db", store["url"], "--user", AUDITOR, "--lang", lang, "audit", "verify",
             "--since-checkpoint", store["checkpoint"], "--key", str(store["public"])],
            prog_name="approvals",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert words in result.stdout, result.stdout


def test_an_old_event_altered_is_found_by_integrity_and_everything_is_checked(
    store: dict[str, Any],
) -> None:
    drop_triggers(store["url"], ["approvals_events", "approvals_integrity"])
    engine = sqlalchemy.create_engine(store["url"])
    state = {"engine": engine}
    event_id, position = event_of(state, store["old"][3], 1)  # untouched since the checkpoint
    forged = reseal(state, event_id, lambda plain: plain.replace(b"method case", b"method case!"))
    execute(state, "UPDATE approvals_events SET state = :s WHERE id = :id", s=forged, id=event_id)
    engine.dispose()
    code, report, _ = since(store)
    assert code == 1
    assert report["since"] is None  # the checkpoint no longer holds: a full verification
    found = [(f["code"], f["position"]) for f in report["findings"]]
    assert ("altered", position) in found
    assert "rewritten" in [code for code, _ in found]
    assert any("checked in full" in note for note in report["notes"])


def test_a_forged_signature_on_a_new_event_is_found(store: dict[str, Any]) -> None:
    drop_triggers(store["url"], ["approvals_signatures"])
    engine = sqlalchemy.create_engine(store["url"])
    position = event_of({"engine": engine}, store["new"][1], 1)[1]
    assert position >= store["size"]
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE approvals_signatures SET signature = :s WHERE position = :p"),
            {"s": "00" * 64, "p": position},
        )
    engine.dispose()
    code, report, _ = since(store)
    assert code == 1
    assert report["since"] is not None
    assert [(f["code"], f["position"]) for f in report["findings"]] == [("signature", position)]


def approve_after_consulting(url: str, reference: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """Write, through the engine with its separation check switched off (signed, in the
    ledger), the approval of a case by the manager who consulted on it (who is also a chief);
    return its position."""
    host = opened(url, HOST)
    with monkeypatch.context() as patched:
        patched.setattr(guards, "separation_conflict", lambda *args, **kwargs: None)
        host.act(reference, "consult", actor=MANAGER)
        host.act(reference, "approve", actor=MANAGER)
    host.close()
    return ledger_size(url) - 1


def test_a_rule_broken_behind_the_engine_in_a_new_case_is_found(
    store: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    position = approve_after_consulting(store["url"], store["new"][1], monkeypatch)
    code, report, _ = since(store)
    assert code == 1
    assert report["since"] is not None
    rules = [(f["code"], f["position"], f["subject"]) for f in report["findings"]]
    assert rules == [("rule", position, store["new"][1])]
    assert "on a case where they took the consultation" in report["findings"][0]["message"]


def test_a_rule_broken_before_the_checkpoint_in_a_case_untouched_since_is_not_claimed(
    backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the checkpoint's clean verification vouches for: a break it should have found,
    before it, in a case with no event since, is found by the full verification only."""
    host = begin_signing(backend_url)
    host.appoint(actor=REPRESENTATIVE, user=CHIEF, role="chief")
    host.appoint(actor=CHIEF, user=MANAGER, role="manager", department="sales")
    host.appoint(actor=MANAGER, user=STAFF, role="staff", department="sales")
    host.appoint(actor=REPRESENTATIVE, user=MANAGER, role="chief")
    broken = file_case(host, "method").reference
    host.close()
    position = approve_after_consulting(backend_url, broken, monkeypatch)
    private, public, _ = generate_keys(tmp_path / "keys")
    app = opened(backend_url, None, create=False)
    full = verify_log(app)
    assert [(f.code, f.position) for f in full.findings] == [("rule", position)]
    # An auditor who signed without a clean verification (what `audit checkpoint` refuses):
    # the checkpoint says it was verified, and the incremental run takes its word.
    vouched = sign(load_private_key(private), log=full.log, tree_size=full.events,
                   root=full.root, time=app.now(), verified="full")  # fmt: skip
    path = tmp_path / "vouched.json"
    path.write_text(vouched.to_json(), encoding="utf-8")
    app.close()
    host = opened(backend_url, HOST)
    file_case(host, "method")
    host.close()
    app = opened(backend_url, None, create=False)
    report = verify_since(app, load_checkpoint(path), [], [load_public_key(public)])
    assert report.ok, report.findings
    assert report.since is not None
    assert report.since.position == full.events
    assert report.since.cases == 1  # the new case only
    assert [(f.code, f.position) for f in verify_log(app).findings] == [("rule", position)]
    app.close()


def test_a_checkpoint_not_signed_by_a_pinned_key_is_refused_in_one_sentence(
    store: dict[str, Any], tmp_path: Path
) -> None:
    _, stranger, _ = generate_keys(tmp_path / "stranger")
    code, out, err = audit(
        store["url"], "verify", "--since-checkpoint", store["checkpoint"], "--key", str(stranger)
    )
    assert code == 1
    assert out["error"]["code"] == "audit.since_key"
    assert err.count("\n") == 1
    assert "is not one of the keys given with --key" in err
    code, out, err = audit(store["url"], "verify", "--since-checkpoint", store["checkpoint"])
    assert (code, out["error"]["code"]) == (1, "audit.since_unpinned")
    edited = json.loads(Path(store["checkpoint"]).read_text())
    edited["tree_size"] -= 1
    forged = tmp_path / "edited.json"
    forged.write_text(json.dumps(edited))
    code, out, err = audit(store["url"], "verify", "--since-checkpoint", str(forged),
                           "--key", str(store["public"]))  # fmt: skip
    assert (code, out["error"]["code"]) == (1, "audit.since_unsigned")


def test_a_checkpoint_that_does_not_say_it_was_made_after_a_clean_verification_is_refused(
    store: dict[str, Any], tmp_path: Path
) -> None:
    made = load_checkpoint(Path(store["checkpoint"]))
    assert made.verified == "full"
    older = sign(load_private_key(store["private"]), log=made.log, tree_size=made.tree_size,
                 root=made.root, time=made.time)  # fmt: skip
    path = tmp_path / "older.json"
    path.write_text(older.to_json(), encoding="utf-8")
    assert json.loads(path.read_text())["verified"] is None  # signed as saying nothing
    code, out, err = audit(store["url"], "verify", "--since-checkpoint", str(path),
                           "--key", str(store["public"]), lang="ja")  # fmt: skip
    assert (code, out["error"]["code"]) == (1, "audit.since_unverified")
    assert "audit checkpoint" in err
    app = opened(store["url"], None, create=False)
    with pytest.raises(Refused):
        verify_since(app, load_checkpoint(path), [], [load_public_key(store["public"])])
    app.close()


def test_a_checkpoint_with_its_verification_reads_back_and_verifies_as_before(
    store: dict[str, Any],
) -> None:
    code, report, _ = audit(store["url"], "verify", "--checkpoint", store["checkpoint"],
                            "--key", str(store["public"]))  # fmt: skip
    assert (code, report["ok"], report["pinned"], report["since"]) == (0, True, 1, None)


def test_a_case_key_deleted_since_the_checkpoint_is_found_for_a_case_untouched_since(
    store: dict[str, Any],
) -> None:
    drop_triggers(store["url"], ["approvals_case_keys"])
    untouched = store["old"][3]
    engine = sqlalchemy.create_engine(store["url"])
    with engine.begin() as connection:
        connection.execute(
            text("DELETE FROM approvals_case_keys WHERE originator_id = :o"),
            {"o": str(case_id(untouched))},
        )
    engine.dispose()
    code, report, _ = since(store)
    assert code == 1
    assert [(f["code"], f["subject"]) for f in report["findings"]] == [("unreadable", untouched)]


def test_a_new_case_breaking_a_rule_across_cases_with_an_old_case_is_found(
    backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rules across cases judge a new case on the old cases it names, which are read back
    (not reported on): a subcontract under an old entrustment not in effect, a provision
    naming a subject whose old refusal of provision was complied with."""
    clock = FakeClock(datetime(2026, 4, 1, 9, 0, tzinfo=JST))
    app = open_approvals(backend_url, clock=clock, workflows=WORKFLOWS)
    appoint_standard_roster(app)
    pending = entrustment(app, until="consult")
    request = stopped_provision(app)
    private, public, _ = generate_keys(tmp_path / "keys")
    made, path, _ = create_checkpoint(app, load_private_key(private), tmp_path / "checkpoints")
    with monkeypatch.context() as patched:
        rules_off(patched)
        early = file_subcontract(app, pending)
        provided = provision_in_effect(app, "Yamada Taro")
        record_provision(app, provided, "Yamada Taro")
    checkpoint = load_checkpoint(path)
    report = verify_since(app, checkpoint, [], [load_public_key(public)])
    assert report.since is not None
    assert report.since.position == made.tree_size
    assert report.since.cases == 2  # the two new cases; the entrustment and the request are old
    said = [(f.subject, f.message.en) for f in report.findings if f.code == "rule"]
    assert any(s == early and "not in effect" in m for s, m in said), said
    assert sum(1 for s, m in said if s == provided and request in m) == 2, said
    assert {s for s, _ in said} == {early, provided}
    full = [f for f in verify_log(app).findings if f.code == "rule"]
    assert sorted(map(repr, report.findings)) == sorted(map(repr, full))
    app.close()
