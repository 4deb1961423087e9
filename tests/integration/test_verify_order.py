"""`audit verify` on a log altered behind the engine's back: integrity first, then decoding, then
the rules; never a traceback, whoever runs it; case keys that only disposal removes; the
findings summarised; exit codes that say whether a pinned checkpoint was checked.

Each test here was seen to fail on the code before it (or with the check it guards turned
off in a scratch copy): see the report of the change that added them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from click.testing import CliRunner, Result
from sqlalchemy import text

from approvals.audit.checkpoint import load_private_key, sign
from approvals.audit.service import read_checkpoints
from approvals.cli import cli
from approvals.demo import AUDITOR, CHIEF, STAFF
from approvals.domain.case import case_id
from approvals.domain.roster import ROSTER_ID
from tests.integration import test_tamper
from tests.integration.test_tamper import (
    event_of,
    execute,
    recompute_ledger,
    reseal,
    state_of,
    verify,
)

tampered = test_tamper.tampered  # the fixture: a demo log, a checkpoint, the triggers dropped


def run(state: dict[str, Any], *args: str, user: str = AUDITOR) -> Result:
    return CliRunner().invoke(
        cli, ["--db", state["url"], "--user", user, *args], prog_name="approvals"
    )


def roster_event(state: dict[str, Any], version: int) -> tuple[int, int]:
    """Return (database id, position) of a roster event."""
    with state["engine"].connect() as connection:
        row = connection.execute(
            text("SELECT event_id, position FROM approvals_integrity "
                 "WHERE originator_id = :o AND originator_version = :v"),
            {"o": str(ROSTER_ID), "v": version},
        ).one()  # fmt: skip
    return row.event_id, row.position


def drop_key_triggers(state: dict[str, Any]) -> None:
    """What an insider with the owner's rights does before deleting a case key."""
    if state["engine"].dialect.name == "sqlite":
        for name in ("no_update", "no_delete"):
            execute(state, f"DROP TRIGGER IF EXISTS approvals_case_keys_{name}")
    else:
        execute(state, "ALTER TABLE approvals_case_keys DISABLE TRIGGER USER")


def refused(state: dict[str, Any], sql: str, **params: Any) -> bool:
    try:
        execute(state, sql, **params)
    except sqlalchemy.exc.DBAPIError:
        return True
    return False


# -- finding 1: verify never crashes on what it exists to find --------------------------------


def test_a_roster_event_changed_by_one_word_is_reported_and_never_a_traceback(
    tampered: dict[str, Any],
) -> None:
    event_id, position = roster_event(tampered, 3)  # an appointment
    edited = state_of(tampered, event_id).replace(b'"department"', b'"departmenu"', 1)
    execute(tampered, "UPDATE approvals_events SET state = :s WHERE id = :id",
            s=edited, id=event_id)  # fmt: skip
    code, report = verify(tampered)
    assert code == 1
    assert (report["first"]["code"], report["first"]["position"]) == ("altered", position)
    assert report["first"]["subject"] == "roster"
    assert ("unreadable", "roster") in {(f["code"], f["subject"]) for f in report["findings"]}
    shown = run(tampered, "audit", "verify")
    assert shown.exit_code == 1
    assert "Traceback" not in shown.output
    assert shown.exception is None or isinstance(shown.exception, SystemExit)


def test_a_command_that_identifies_its_user_says_the_roster_cannot_be_read(
    tampered: dict[str, Any],
) -> None:
    event_id, _ = roster_event(tampered, 3)
    edited = state_of(tampered, event_id).replace(b'"department"', b'"departmenu"', 1)
    execute(tampered, "UPDATE approvals_events SET state = :s WHERE id = :id",
            s=edited, id=event_id)  # fmt: skip
    for command in (("inbox",), ("list",), ("audit", "export")):
        result = run(tampered, *command, user=CHIEF)
        assert result.exit_code == 1, (command, result.output)
        assert isinstance(result.exception, SystemExit), (command, result.exception)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1, (command, result.output)
        assert "roster cannot be read" in lines[0]
        assert "`approvals audit verify`" in lines[0]


def test_an_event_that_does_not_decode_is_a_finding_naming_its_case_and_position(
    tampered: dict[str, Any],
) -> None:
    reference = tampered["run"].finished["purpose"]
    event_id, position = event_of(tampered, reference, 3)
    forged = reseal(tampered, event_id, lambda plain: b"[" + plain)  # no longer JSON
    execute(tampered, "UPDATE approvals_events SET state = :s WHERE id = :id",
            s=forged, id=event_id)  # fmt: skip
    recompute_ledger(tampered)
    code, report = verify(tampered, checkpoint=False)
    assert code == 1
    found = {(f["code"], f["subject"], f["position"]) for f in report["findings"]}
    assert ("undecodable", reference, position) in found
    assert ("unreadable", reference, None) in found  # its rules cannot be replayed


# -- finding 2: case keys only disposal removes ------------------------------------------------


def test_the_database_refuses_to_delete_a_case_key_without_its_disposal(
    tampered: dict[str, Any],
) -> None:
    reference = tampered["run"].finished["method"]
    key = str(case_id(reference))
    assert refused(tampered, "DELETE FROM approvals_case_keys WHERE originator_id = :o", o=key)
    assert refused(tampered, "DELETE FROM approvals_case_keys")
    if tampered["engine"].dialect.name == "postgresql":
        assert refused(tampered, "TRUNCATE approvals_case_keys")
    assert verify(tampered)[0] == 0


def test_the_database_refuses_to_change_a_case_key(tampered: dict[str, Any]) -> None:
    key = str(case_id(tampered["run"].finished["method"]))
    sql = "UPDATE approvals_case_keys SET data_key = :k WHERE originator_id = :o"
    assert refused(tampered, sql, k="00" * 32, o=key)


def test_a_disposal_record_of_the_database_is_never_removed(tampered: dict[str, Any]) -> None:
    execute(tampered, "INSERT INTO approvals_disposals (originator_id) VALUES (:o)", o="x" * 36)
    assert refused(tampered, "DELETE FROM approvals_disposals")
    assert refused(tampered, "UPDATE approvals_disposals SET originator_id = 'y'")
    if tampered["engine"].dialect.name == "postgresql":
        assert refused(tampered, "TRUNCATE approvals_disposals")


def test_a_case_key_deleted_behind_the_engine_is_a_finding_naming_the_case(
    tampered: dict[str, Any],
) -> None:
    reference = tampered["run"].finished["method"]
    drop_key_triggers(tampered)
    execute(tampered, "DELETE FROM approvals_case_keys WHERE originator_id = :o",
            o=str(case_id(reference)))  # fmt: skip
    code, report = verify(tampered)
    assert code == 1
    assert [(f["code"], f["subject"]) for f in report["findings"]] == [("unreadable", reference)]
    assert "its key is missing although it was never disposed of" in report["first"]["message"]


# -- finding 4: a wiped log is a finding, and verify still runs -------------------------------


def test_a_wiped_log_beside_its_checkpoint_is_truncated_and_verify_still_runs(
    tampered: dict[str, Any],
) -> None:
    execute(tampered, "DELETE FROM approvals_integrity")
    execute(tampered, "DELETE FROM approvals_events")
    code, report = verify(tampered)
    assert code == 1
    assert report["events"] == 0
    assert [f["code"] for f in report["findings"]] == ["truncated"]
    assert "wiped" in report["first"]["message"]
    shown = run(tampered, "audit", "verify", "--checkpoint", str(tampered["folder"]))
    assert shown.exit_code == 1
    assert "not on the roster" not in shown.output
    assert "Traceback" not in shown.output


def test_verify_is_open_to_anyone_who_can_read_the_database(tampered: dict[str, Any]) -> None:
    result = run(tampered, "--json", "audit", "verify", user="nobody-on-the-roster")
    assert result.exit_code == 3, result.output
    assert json.loads(result.stdout)["ok"] is True


# -- finding 3 and the exit codes --------------------------------------------------------------


def test_the_text_report_summarises_many_findings(tampered: dict[str, Any]) -> None:
    execute(tampered, "UPDATE approvals_integrity SET leaf_hash = :h", h="00" * 32)
    code, report = verify(tampered, checkpoint=False)
    assert code == 1
    total = len(report["findings"])
    assert total > 40
    assert report["counts"]["altered"] == report["events"]
    assert sum(report["counts"].values()) == total
    shown = run(tampered, "audit", "verify")
    assert shown.exit_code == 1
    lines = shown.stdout.splitlines()
    assert lines[1].startswith("FAILED: ")
    assert lines[2].startswith("Findings by kind: altered ")
    listed = [line for line in lines if line.startswith("  ")]
    assert len(listed) == 20
    assert f"20 of {total} findings shown; {total - 20} more left out" in shown.stdout
    five = run(tampered, "audit", "verify", "--limit", "5")
    assert len([line for line in five.stdout.splitlines() if line.startswith("  ")]) == 5
    every = run(tampered, "audit", "verify", "--limit", "0")
    assert len([line for line in every.stdout.splitlines() if line.startswith("  ")]) == total
    assert "left out" not in every.stdout


def test_exit_codes_say_whether_a_pinned_checkpoint_was_checked(
    tampered: dict[str, Any],
) -> None:
    code, report = verify(tampered)
    assert (code, report["ok"], report["pinned"]) == (0, True, 1)
    unpinned = run(tampered, "audit", "verify", "--checkpoint", str(tampered["folder"]))
    assert unpinned.exit_code == 3
    assert "internal consistency only" in unpinned.stdout
    keyed = run(tampered, "audit", "verify", "--key", str(tampered["public"]))
    assert keyed.exit_code == 3
    assert "internal consistency only" in keyed.stdout


# -- the verifier's own checks, each caught when turned off ------------------------------------


def test_a_case_s_last_event_deleted_with_its_ledger_row_breaks_the_chain(
    tampered: dict[str, Any],
) -> None:
    reference = tampered["run"].rejected
    event_id, position = event_of(tampered, reference, 3)  # its last event, the rejection
    execute(tampered, "DELETE FROM approvals_integrity WHERE event_id = :id", id=event_id)
    execute(tampered, "DELETE FROM approvals_events WHERE id = :id", id=event_id)
    code, report = verify(tampered, checkpoint=False)
    assert code == 1
    found = {(f["code"], f["position"]) for f in report["findings"]}
    assert ("chain", position + 1) in found
    assert ("position", position + 1) in found


def test_an_approval_forged_for_the_filer_breaks_the_rule_that_the_filer_decides_nothing(
    tampered: dict[str, Any],
) -> None:
    reference = tampered["run"].finished["entrustment"]
    event_id, position = event_of(tampered, reference, 5)  # the chief's approval
    chief, filer = f'"{CHIEF}"'.encode(), f'"{STAFF}"'.encode()
    forged = reseal(tampered, event_id, lambda plain: plain.replace(chief, filer))
    execute(tampered, "UPDATE approvals_events SET state = :s WHERE id = :id",
            s=forged, id=event_id)  # fmt: skip
    recompute_ledger(tampered)
    code, report = verify(tampered, checkpoint=False)
    assert code == 1
    rules = {(f["position"], f["message"]) for f in report["findings"] if f["code"] == "rule"}
    assert (position, f"{STAFF} decided 'approve' on a case they filed") in rules


@pytest.mark.parametrize("table", ["approvals_events", "approvals_integrity"])
def test_the_log_s_own_triggers_refuse_every_change(backend_url: str, table: str) -> None:
    from approvals import open_approvals
    from tests.conftest import appoint_standard_roster

    app = open_approvals(backend_url)
    appoint_standard_roster(app)
    app.close()
    engine = sqlalchemy.create_engine(backend_url)
    try:
        for sql in (f"UPDATE {table} SET originator_version = originator_version",
                    f"DELETE FROM {table}"):  # fmt: skip
            with pytest.raises(sqlalchemy.exc.DBAPIError), engine.begin() as connection:
                connection.execute(text(sql))
        if engine.dialect.name == "postgresql":
            with pytest.raises(sqlalchemy.exc.DBAPIError), engine.begin() as connection:
                connection.execute(text(f"TRUNCATE {table}"))
    finally:
        engine.dispose()


def test_a_case_s_middle_event_deleted_with_its_ledger_row_leaves_a_gap(
    tampered: dict[str, Any],
) -> None:
    reference = tampered["run"].finished["purpose"]
    event_id, position = event_of(tampered, reference, 2)
    execute(tampered, "DELETE FROM approvals_events WHERE id = :id", id=event_id)
    recompute_ledger(tampered)  # positions and the global chain as if nothing were missing
    code, report = verify(tampered, checkpoint=False)
    assert code == 1
    found = {(f["code"], f["subject"], f["position"]) for f in report["findings"]}
    assert ("case_gap", reference, position) in found  # its #3 now stands where #2 stood


def test_a_forged_case_chain_is_named(tampered: dict[str, Any]) -> None:
    reference = tampered["run"].finished["method"]
    _, position = event_of(tampered, reference, 2)
    execute(tampered, "UPDATE approvals_integrity SET case_chain_hash = :h WHERE position = :p",
            h="00" * 32, p=position)  # fmt: skip
    code, report = verify(tampered, checkpoint=False)
    assert code == 1
    assert report["first"]["code"] == "case_chain"
    assert (report["first"]["subject"], report["first"]["position"]) == (reference, position)


def resign(state: dict[str, Any], tmp_path: Path, **changes: Any) -> None:
    """What someone holding the auditor's key could sign: the newest checkpoint, changed."""
    private = load_private_key(next((tmp_path / "keys").glob("*.key")))
    file = max(state["folder"].glob("*.json"))
    (old,) = read_checkpoints([file])
    fields = {"log": old.log, "tree_size": old.tree_size, "root": old.root, "time": old.time,
              "previous": old.previous, "consistency": old.consistency, **changes}  # fmt: skip
    file.write_text(sign(private, **fields).to_json(), encoding="utf-8")


def test_a_checkpoint_of_another_log_is_named(tampered: dict[str, Any], tmp_path: Path) -> None:
    resign(tampered, tmp_path, log="00" * 32)
    code, report = verify(tampered)
    assert code == 1
    assert [f["code"] for f in report["findings"]] == ["checkpoint_log"]


def test_a_checkpoint_whose_consistency_proof_is_forged_is_named(
    tampered: dict[str, Any], tmp_path: Path
) -> None:
    tampered["app"].act(tampered["run"].open_cases[1], "approve", actor=CHIEF)
    private = next((tmp_path / "keys").glob("*.key"))
    run(tampered, "audit", "checkpoint", "--key", str(private), "--dir", str(tampered["folder"]))
    (_, later) = read_checkpoints([tampered["folder"]])
    assert later.consistency
    forged = ("00" * 32, *later.consistency[1:])
    resign(tampered, tmp_path, consistency=forged)
    code, report = verify(tampered)
    assert code == 1
    assert [f["code"] for f in report["findings"]] == ["checkpoint_consistency"]
