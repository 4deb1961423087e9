"""The case register's dates of effect: "in effect from" is the day the case records (its
workflow's effective_date), "put in effect" the moment the step putting it in effect was
recorded — in the table, the JSON and the CSV, whether the read models were behind or current.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from approvals import open_approvals
from approvals.demo import ART6_ITEMS, CHIEF, MANAGER, STAFF
from tests.cli.conftest import Run
from tests.scenarios import FILINGS


def cases_in_effect(store: Path) -> tuple[str, str]:
    """A purpose case whose measures were recorded with effective_date 2027-04-01, and an
    entrustment (a workflow without that field) just filed."""
    app = open_approvals(f"sqlite:///{store}", create=False)
    try:
        purpose = app.file("purpose", actor=STAFF, title="Newsletter", department="sales",
                           fields=FILINGS["purpose"]).reference  # fmt: skip
        app.act(purpose, "consult", actor=MANAGER)
        app.act(purpose, "approve", actor=CHIEF)
        app.act(purpose, "record_measures", actor=CHIEF, fields={"effective_date": "2027-04-01"},
                checklist=ART6_ITEMS)  # fmt: skip
        entrustment = app.file("entrustment", actor=STAFF, title="Scanning", department="sales",
                               fields=FILINGS["entrustment"]).reference  # fmt: skip
    finally:
        app.close()
    return purpose, entrustment


def test_the_register_shows_the_recorded_effective_date_in_table_json_and_csv(
    run: Run, store: Path
) -> None:
    purpose, entrustment = cases_in_effect(store)
    for _ in ("behind", "current"):
        data = {e["reference"]: e for e in json.loads(run("--json", "register", "cases",
                                                          user=CHIEF).stdout)}  # fmt: skip
        assert data[purpose]["effective_date"] == "2027-04-01"
        assert data[purpose]["effective_at"].startswith(data[purpose]["updated_at"][:10])
        assert data[purpose]["effective_at"][:10] != "2027-04-01"  # recorded now, not then
        assert data[entrustment]["effective_date"] is None

        rows = {r["reference"]: r for r in csv.DictReader(io.StringIO(
            run("register", "cases", "--csv", user=CHIEF).stdout))}  # fmt: skip
        assert rows[purpose]["effective_date"] == "2027-04-01"
        assert rows[purpose]["effective_at"] == data[purpose]["effective_at"]
        assert rows[entrustment]["effective_date"] == ""

        for lang, heading in (("en", "in effect from"), ("ja", "実施開始日")):
            table = run("register", "cases", user=CHIEF, lang=lang, env={"COLUMNS": "400"})
            header, _rule, *lines = table.stdout.splitlines()
            assert heading in header
            (line,) = [line for line in lines if line.startswith(purpose)]
            assert "2027-04-01" in line
            (other,) = [line for line in lines if line.startswith(entrustment)]
            assert "2027-04-01" not in other
    shown = " ".join(run("register", "cases", "--help").stdout.lower().split())
    assert '"in effect from" is the day the action starts as the case records it' in shown


def test_list_json_gives_the_effective_date_beside_the_moment_put_in_effect(
    run: Run, store: Path
) -> None:
    purpose, _ = cases_in_effect(store)
    entries = json.loads(run("--json", "list", "--state", "in_effect", user=CHIEF).stdout)
    assert [(e["reference"], e["effective_date"]) for e in entries] == [(purpose, "2027-04-01")]
