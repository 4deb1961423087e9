"""Auditors' tools beyond tamper detection: bundles, exports, replay as of any moment."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from approvals import JST, ApprovalsApplication, open_approvals
from approvals.audit.checkpoint import generate_keys
from approvals.cli import cli
from approvals.definitions import load_directory
from approvals.demo import AUDITOR, PATHS, STAFF, SimulatedClock, appoint_sample_roster, run_demo
from approvals.demo import FILINGS as SAMPLE
from tests.scenarios import take

CURRENT = load_directory()


@pytest.fixture
def demo(backend_url: str) -> Iterator[tuple[str, ApprovalsApplication, Any]]:
    clock = SimulatedClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    app = open_approvals(backend_url, clock=clock)
    run = run_demo(app, clock)
    yield backend_url, app, run
    app.close()


def approvals(url: str, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--db", url, "--user", AUDITOR, *args], prog_name="approvals")


@pytest.fixture
def bundle(demo: tuple[str, ApprovalsApplication, Any], tmp_path: Path) -> Path:
    url = demo[0]
    private, public, _ = generate_keys(tmp_path / "keys")
    made = approvals(
        url, "audit", "checkpoint", "--key", str(private), "--dir", str(tmp_path / "cp")
    )
    assert made.exit_code == 0, made.output
    folder = tmp_path / "bundle"
    exported = approvals(url, "audit", "export", "--bundle", str(folder),
                         "--checkpoint", str(tmp_path / "cp"), "--key", str(public))  # fmt: skip
    assert exported.exit_code == 0, exported.output
    return folder


def verify_bundle(folder: Path, *pinned: str) -> Any:
    # No database: the store named does not even exist.
    return approvals(
        str(folder / "no-such.db"), "--json", "audit", "verify", "--bundle", str(folder), *pinned
    )


def test_a_clean_bundle_verifies_with_no_database(bundle: Path) -> None:
    public = next((bundle.parent / "keys").glob("*.pub"))
    result = verify_bundle(bundle, "--key", str(public), "--checkpoint", str(bundle.parent / "cp"))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["checkpoints"]
    assert sorted(p.name for p in (bundle / "definitions").iterdir()) == [
        f"{w}-v{CURRENT[w].version}.toml"
        for w in ("entrustment", "joint_use", "method", "provision", "purpose")
    ]
    assert not (bundle / "no-such.db").exists()


@pytest.mark.parametrize(
    "target",
    [
        "events.jsonl",
        f"definitions/entrustment-v{CURRENT['entrustment'].version}.toml",
        "checkpoints",
        "MANIFEST.json",
    ],
)
def test_a_bundle_edited_by_one_byte_fails(bundle: Path, target: str) -> None:
    path = bundle / target
    if path.is_dir():
        path = next(path.iterdir())
    content = bytearray(path.read_bytes())
    index = len(content) // 2
    content[index] = ord("x") if content[index] != ord("x") else ord("y")
    path.write_bytes(bytes(content))
    result = verify_bundle(bundle)
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith("{"), result.output
    assert json.loads(result.stdout)["ok"] is False, result.output


def test_a_bundle_goes_only_into_a_new_folder(
    demo: tuple[str, ApprovalsApplication, Any], tmp_path: Path
) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    result = approvals(demo[0], "audit", "export", "--bundle", str(tmp_path / "full"))
    assert result.exit_code == 1
    assert "a new or empty folder" in result.stderr
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


def test_the_log_exports_as_json_lines_and_csv_within_dates(
    demo: tuple[str, ApprovalsApplication, Any],
) -> None:
    url, _, run = demo
    lines = [json.loads(line) for line in approvals(url, "audit", "export").stdout.splitlines()]
    subjects = {line["subject"] for line in lines}
    assert {"roster", run.rejected, *run.finished.values()} <= subjects
    rejection = next(
        line for line in lines if line["subject"] == run.rejected and line["trigger"] == "reject"
    )
    assert (rejection["actor"], rejection["role"], rejection["to"]) == ("sato", "chief", "rejected")
    assert rejection["comment"] == "Consent cannot be shown for all."

    table = list(
        csv.DictReader(io.StringIO(approvals(url, "audit", "export", "--format", "csv").stdout))
    )
    assert len(table) == len(lines)
    assert [row["position"] for row in table] == [str(line["position"]) for line in lines]

    dated = approvals(url, "audit", "export", "--from", "2026-04-20", "--to", "2026-04-22")
    within = [json.loads(line) for line in dated.stdout.splitlines()]
    assert within
    # --to names the last day exported, whole: the 22nd is in
    assert all("2026-04-20" <= line["at"][:10] <= "2026-04-22" for line in within)
    assert within == [line for line in lines if "2026-04-20" <= line["at"][:10] <= "2026-04-22"]


def test_a_case_read_as_of_each_of_its_events_is_the_case_as_it_was(backend_url: str) -> None:
    clock = SimulatedClock(datetime(2026, 4, 1, 9, tzinfo=JST), tick=timedelta(0))
    app = open_approvals(backend_url, clock=clock)
    try:
        appoint_sample_roster(app)
        clock.advance(hours=1)
        lived = [app.file("entrustment", actor=STAFF, title="t", department="sales",
                          fields=SAMPLE["entrustment"])]  # fmt: skip
        ref = lived[0].reference
        moments = [clock.now]
        for move in PATHS["entrustment"]:
            clock.advance(hours=3)
            lived.append(take(app, ref, move))  # on the day its facts happened, at the latest
            moments.append(clock.now)
        clock.advance(days=30)
        for moment, then in zip(moments, lived, strict=True):
            for at in (moment, moment + timedelta(hours=2, minutes=59)):
                replayed = app.case(ref, as_of=at)
                assert (replayed.version, replayed.state, replayed.fields, replayed.checklist) == (
                    then.version, then.state, then.fields, then.checklist)  # fmt: skip
                assert [s.trigger for s in replayed.next_steps] == [
                    s.trigger for s in then.next_steps
                ]
        before = moments[0] - timedelta(seconds=1)
        assert [c.reference for c in app.cases(as_of=before)] == []
        assert app.cases(as_of=moments[3])[0].state == lived[3].state
    finally:
        app.close()


@pytest.mark.parametrize("given", ["private key as public", "text as checkpoint"])
def test_a_bundle_refused_for_what_it_was_given_leaves_no_folder(
    demo: tuple[str, ApprovalsApplication, Any], tmp_path: Path, given: str
) -> None:
    url = demo[0]
    private, public, _ = generate_keys(tmp_path / "keys")
    note = tmp_path / "note.json"
    note.write_text("not a checkpoint\n", encoding="utf-8")
    extra = ["--key", str(private)] if given.startswith("private") else ["--checkpoint", str(note)]
    folder = tmp_path / "bundle"
    refused = approvals(url, "audit", "export", "--bundle", str(folder), *extra)
    assert refused.exit_code == 1, refused.output
    assert "Traceback" not in refused.output
    assert not folder.exists()
    assert public.exists()
