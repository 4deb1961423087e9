"""One time convention: tables, JSON and the export show a moment in the same zone, with its
offset (Asia/Tokyo unless --zone or APPROVALS_ZONE names another); a date given to --from is
the start of that day, to --to and --as-of its end, in that zone; the export holds every event
verify walks, each with its kind."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result

from approvals import JST, open_approvals
from approvals.cli import cli
from approvals.demo import AUDITOR, CHIEF, MANAGER, STAFF, SimulatedClock
from approvals.demo import FILINGS as SAMPLE
from tests.cli.conftest import HERMETIC_ENV
from tests.conftest import appoint_standard_roster

D = "2026-11-30"
"""The day the case is filed, late in the evening (Japan's time); consulted on just after
midnight, the next day."""


def approvals(url: str, *args: str, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(
        cli, ["--db", url, "--user", AUDITOR, *args], prog_name="approvals",
        env={**HERMETIC_ENV, **(env or {})},
    )  # fmt: skip


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def exported(url: str, *args: str, env: dict[str, str | None] | None = None) -> list[Any]:
    return [json.loads(line) for line in ok(approvals(url, *args, env=env)).stdout.splitlines()]


@pytest.fixture
def late(backend_url: str) -> tuple[str, str]:
    """A store whose roster was set up the day before D, with one case filed at 23:30 on D and
    consulted on at 00:30 on D+1 (Japan's time)."""
    clock = SimulatedClock(datetime(2026, 11, 29, 9, tzinfo=JST), tick=timedelta(0))
    app = open_approvals(backend_url, clock=clock)
    try:
        appoint_standard_roster(app)
        clock.now = datetime(2026, 11, 30, 23, 30, tzinfo=JST)
        reference = app.file("purpose", actor=STAFF, title="Late", department="sales",
                             fields=SAMPLE["purpose"]).reference  # fmt: skip
        clock.now = datetime(2026, 12, 1, 0, 30, tzinfo=JST)
        app.act(reference, "consult", actor=MANAGER)
    finally:
        app.close()
    return backend_url, reference


@pytest.mark.parametrize(
    ("zone", "env", "filed", "shown"),
    [
        ((), None, "2026-11-30T23:30:00+09:00", "2026-11-30 23:30+09:00"),
        (("--zone", "UTC"), None, "2026-11-30T14:30:00+00:00", "2026-11-30 14:30+00:00"),
        ((), {"APPROVALS_ZONE": "Europe/Berlin"}, "2026-11-30T15:30:00+01:00",
         "2026-11-30 15:30+01:00"),
    ],
    ids=["company", "option", "environment"],
)  # fmt: skip
def test_json_tables_and_the_export_show_one_moment_in_one_zone_with_its_offset(
    late: tuple[str, str],
    zone: tuple[str, ...],
    env: dict[str, str | None] | None,
    filed: str,
    shown: str,
) -> None:
    url, reference = late
    history = json.loads(ok(approvals(url, *zone, "--json", "history", reference, env=env)).stdout)
    assert history[0]["at"] == filed
    table = ok(approvals(url, *zone, "history", reference, env=env)).stdout.splitlines()
    # A table names the zone once, in the header, as it stands today (CET or CEST in
    # Berlin); a cell gives its offset only when it is not today's.
    named = (zone[1:] or [(env or {}).get("APPROVALS_ZONE") or "Asia/Tokyo"])[0]
    today = datetime.now(ZoneInfo(named))
    assert table[0].split()[1:3] == ["when", f"({today:%Z})"]
    same = today.utcoffset() == datetime.fromisoformat(filed).utcoffset()
    cell = shown[:16] if same else shown
    assert table[2].startswith(f"1  {cell}  {STAFF}")
    listed = json.loads(ok(approvals(url, *zone, "--json", "show", reference, env=env)).stdout)
    assert listed["filed_at"] == filed
    assert f"{STAFF}, {shown}" in ok(approvals(url, *zone, "show", reference, env=env)).stdout
    rows = exported(url, *zone, "audit", "export", env=env)
    (filing,) = [row for row in rows if row["subject"] == reference and row["event"] == "Filed"]
    assert filing["at"] == filed
    csv = ok(approvals(url, *zone, "audit", "export", "--format", "csv", env=env)).stdout
    assert f",{filed},case,{reference},Filed," in csv


def test_a_day_given_to_from_and_to_is_that_whole_day_in_the_zone(late: tuple[str, str]) -> None:
    url, reference = late
    everything = exported(url, "audit", "export")
    day = exported(url, "audit", "export", "--from", D, "--to", D)
    assert day == [row for row in everything if row["at"].startswith(D)]
    assert [(row["subject"], row["event"]) for row in day if row["kind"] == "case"] == [
        (reference, "Filed")
    ]  # the consultation, half an hour after midnight, is the next day's
    assert not [row for row in day if row["kind"] == "roster"]  # the day before's
    # the same day in UTC runs from 09:00 to 09:00 in Japan: the consultation is in it
    utc = exported(url, "--zone", "UTC", "audit", "export", "--from", D, "--to", D)
    assert [row["event"] for row in utc if row["kind"] == "case"] == ["Filed", "StepTaken"]
    assert all(row["at"].startswith(D) and row["at"].endswith("+00:00") for row in utc)
    # a time, or an offset, is taken as given
    until = exported(url, "audit", "export", "--from", f"{D}T23:30", "--to", f"{D}T23:30")
    assert {row["at"] for row in until} == {f"{D}T23:30:00+09:00"}
    offset = exported(url, "audit", "export", "--from", f"{D}T15:00+00:00")
    assert [row["event"] for row in offset] == ["StepTaken"]


def test_as_of_a_day_includes_what_happened_late_that_day(late: tuple[str, str]) -> None:
    url, reference = late
    then = json.loads(ok(approvals(url, "--json", "show", reference, "--as-of", D)).stdout)
    assert then["state"] == "notified"
    listed = json.loads(ok(approvals(url, "--json", "list", "--as-of", D)).stdout)
    assert [case["reference"] for case in listed] == [reference]
    after = json.loads(ok(approvals(url, "--json", "show", reference, "--as-of", "2026-12-01"))
                       .stdout)  # fmt: skip
    assert after["state"] != "notified"
    # in UTC, the end of 29 November is 09:00 on the 30th in Japan: nothing was filed yet
    earlier = approvals(url, "--zone", "UTC", "--json", "list", "--as-of", "2026-11-29")
    assert json.loads(ok(earlier).stdout) == []


@pytest.mark.parametrize(
    ("lang", "given", "sentence"),
    [
        ("en", ("--zone", "Mars/Olympus"), "“Mars/Olympus” is not a time zone"),
        ("ja", ("--zone", "../../etc/passwd"), "「../../etc/passwd」というタイムゾーン"),
        ("en", ("--zone", "asia/tokio"), "“asia/tokio” is not a time zone"),
    ],
)
def test_a_zone_the_database_does_not_know_is_refused_in_one_sentence_and_nothing_written(
    late: tuple[str, str], lang: str, given: tuple[str, ...], sentence: str
) -> None:
    url, reference = late
    before = exported(url, "audit", "export")
    for args, env in ((given, None), ((), {"APPROVALS_ZONE": given[1]})):
        result = CliRunner().invoke(
            cli, ["--db", url, "--user", CHIEF, "--lang", lang, *args, "approve", reference],
            prog_name="approvals", env={**HERMETIC_ENV, **(env or {})},
        )  # fmt: skip
        assert result.exit_code == 2
        assert "Traceback" not in result.output
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1
        assert sentence in errors[0]
    assert exported(url, "audit", "export") == before


def test_a_when_that_is_no_moment_is_refused_in_one_sentence_naming_the_zone(
    late: tuple[str, str],
) -> None:
    url, _ = late
    result = approvals(url, "--zone", "UTC", "audit", "export", "--to", "2026-13-01")
    assert result.exit_code == 2
    assert "“2026-13-01” is not a moment" in result.stderr
    assert "(UTC unless an offset" in result.stderr
    japanese = approvals(url, "--lang", "ja", "list", "--as-of", "yesterday")
    assert japanese.exit_code == 2
    assert "「yesterday」は日時ではありません" in japanese.stderr
    assert "Asia/Tokyo" in japanese.stderr


@pytest.fixture
def demo(backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The quickstart's store (every event signed: the writers' keys are in the log), one of
    its open cases held."""
    monkeypatch.chdir(tmp_path)  # the sample people's keys are written beside it
    ok(approvals(backend_url, "demo"))
    keys = str(tmp_path / "approvals-demo.keys")
    held = CliRunner().invoke(
        cli, ["--db", backend_url, "--user", CHIEF, "--keys", keys, "retention", "hold",
              "ENT-2026-0002", "--reason", "A claim is pending"],
        prog_name="approvals", env=HERMETIC_ENV,
    )  # fmt: skip
    ok(held)
    return backend_url


def test_the_export_holds_every_event_verify_walks_each_with_its_kind(demo: str) -> None:
    url = demo
    verify = approvals(url, "--json", "audit", "verify")
    assert verify.exit_code == 3, verify.output  # sound, but pinned to no checkpoint
    verified = json.loads(verify.stdout)
    rows = exported(url, "audit", "export")
    assert len(rows) == verified["events"]
    assert [row["position"] for row in rows] == list(range(verified["events"]))
    kinds = {row["kind"] for row in rows}
    assert kinds == {"case", "roster", "key", "counter", "definition", "retention"}
    counters = [row for row in rows if row["kind"] == "counter"]
    cases = {row["subject"] for row in rows if row["kind"] == "case"}
    assert {row["subject"] for row in counters} == {case.rsplit("-", 1)[0] for case in cases}
    numbers = {(row["subject"], row["fields"]["number"]) for row in counters}
    assert ("ENT-2026", 2) in numbers  # the second entrustment: an Issued event, its series
    definitions = [row for row in rows if row["kind"] == "definition"]
    assert {row["subject"] for row in definitions} == {
        "purpose", "method", "entrustment", "joint_use", "provision",
    }  # fmt: skip
    assert all(len(row["fields"]["sha256"]) == 64 for row in definitions)
    keys = [row for row in rows if row["kind"] == "key"]
    assert keys
    assert all(row["event"] == "KeyRegistered" and row["user"] for row in keys)
    retention = [(row["subject"], row["event"], row["comment"]) for row in rows
                 if row["kind"] == "retention"]  # fmt: skip
    assert retention == [
        ("ENT-2026-0002", "Opened", ""), ("ENT-2026-0002", "HoldPlaced", "A claim is pending"),
    ]  # fmt: skip
    csv = ok(approvals(url, "audit", "export", "--format", "csv")).stdout.splitlines()
    assert csv[0].startswith("position,at,kind,subject,event,")
    assert len(csv) == 1 + verified["events"]
