"""The record of each provision to a third party: kept three years from the day it was made,
or one year where a contract stands in for it, and found by each data subject it names."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from approvals import JST, ApprovalsApplication, EvidenceMissing, InvalidValue, open_approvals
from approvals.cli import cli
from approvals.definitions import builtin_workflows_dir, load_directory, parse_definition
from approvals.logging import configure
from approvals.projections import all_models
from approvals.readmodel import Projector
from tests.conftest import AUDITOR, CHIEF, MANAGER, STAFF, FakeClock, appoint_standard_roster
from tests.scenarios import FILINGS, PATHS, Move, refused, take

LEDGER = import_module("approvals.projections.provisions")  # projections/provisions.py

# -- walking provision cases -------------------------------------------------------------------


def in_effect(app: ApprovalsApplication, **filing: Any) -> str:
    """File a provision and take it through approval and the measures; return its reference."""
    reference = app.file(
        "provision", actor=STAFF, title="Claims data for the insurer", department="sales",
        fields={**FILINGS["provision"], **filing},
    ).reference  # fmt: skip
    for move in PATHS["provision"]:
        if move.trigger == "record_provision":
            break
        app.act(reference, move.trigger, actor=move.actor, fields=move.fields,
                checklist=move.checklist)  # fmt: skip
    return reference


def provide(
    app: ApprovalsApplication, reference: str, subjects: str, on: str = "2026-04-01", **extra: Any
) -> int:
    """Record a provision naming ``subjects`` (once the day ``on`` has come); return its entry
    in the case."""
    fields = {"provision_date": on, "data_subjects": subjects, **extra}
    take(app, reference, Move("record_provision", STAFF, fields))
    return app.history(reference)[-1].position


def at(clock: FakeClock, *moment: int) -> None:
    """Set the clock to ``moment`` (year, month, day, hour, minute), Japan time."""
    clock.now = datetime(*moment, tzinfo=JST)


def kept(app: ApprovalsApplication, reference: str) -> dict[int, date | None]:
    """Each provision of the case: its entry and the last day its record is kept."""
    return {
        e.entry: e.record_kept_until
        for e in app.registers().provisions()
        if e.reference == reference
    }


def found(app: ApprovalsApplication, subject: str, **filters: Any) -> set[tuple[str, int]]:
    return {(e.reference, e.entry) for e in app.registers().provisions(subject=subject, **filters)}


# -- how long a record is kept -----------------------------------------------------------------


def test_a_provision_record_is_kept_three_years_from_the_day_it_was_recorded(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    reference = in_effect(app)
    at(clock, 2026, 5, 11, 10, 0)
    entry = provide(app, reference, "Yamada Taro", on="2026-05-08")
    (record,) = [e for e in app.registers().provisions() if e.reference == reference]
    assert (record.entry, record.on_date) == (entry, date(2026, 5, 8))
    # Counted from the day the record was made (here, when it was recorded), not the
    # provided-on date typed in three days before.
    assert record.record_kept_until == date(2029, 5, 11)


def test_a_contract_standing_in_for_the_record_keeps_it_one_year(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    reference = in_effect(app)
    at(clock, 2026, 6, 1, 10, 0)
    with_contract = provide(app, reference, "Yamada Taro", contract_as_record="yes")
    at(clock, 2026, 6, 2, 10, 0)
    without = provide(app, reference, "Yamada Taro", contract_as_record="no")
    assert kept(app, reference) == {with_contract: date(2027, 6, 1), without: date(2029, 6, 2)}


def test_the_contract_counts_as_the_case_holds_it_when_each_provision_is_recorded(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    reference = app.file(
        "provision", actor=STAFF, title="Claims data", department="sales",
        fields=FILINGS["provision"],
    ).reference  # fmt: skip
    at(clock, 2026, 4, 2, 10, 0)
    app.act(reference, "consult", actor=MANAGER)
    app.act(reference, "approve", actor=CHIEF)
    (measures,) = [m for m in PATHS["provision"] if m.trigger == "record_measures"]
    app.act(reference, "record_measures", actor=CHIEF, checklist=measures.checklist,
            fields={**measures.fields, "contract_as_record": "yes"})  # fmt: skip
    at(clock, 2026, 4, 3, 10, 0)
    on = "2026-04-03"  # after the approval: a provision is never dated before it
    first = provide(app, reference, "Yamada Taro", on)  # the chief's "yes" still holds
    second = provide(app, reference, "Suzuki Hanako", on, contract_as_record="no")
    third = provide(app, reference, "Sato Ichiro", on)  # "no" holds from then on
    assert kept(app, reference) == {
        first: date(2027, 4, 3), second: date(2029, 4, 3), third: date(2029, 4, 3),
    }  # fmt: skip


def test_a_record_made_on_29_february_is_kept_until_28_february(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    # The day the record is made is not counted (Civil Code Art.140): counting starts on
    # 1 March 2028 and the years end the day before 1 March (Art.143-2).
    reference = in_effect(app)
    at(clock, 2028, 2, 29, 15, 0)
    record = provide(app, reference, "Yamada Taro", on="2028-02-29")
    contract = provide(app, reference, "Yamada Taro", on="2028-02-29", contract_as_record=True)
    assert kept(app, reference) == {record: date(2031, 2, 28), contract: date(2029, 2, 28)}
    assert LEDGER.record_kept_until(date(2028, 2, 28)) == date(2031, 2, 28)
    assert LEDGER.record_kept_until(date(2028, 3, 1)) == date(2031, 3, 1)
    assert LEDGER.record_kept_until(date(2024, 2, 29), contract=True) == date(2025, 2, 28)


def test_the_day_a_record_is_made_is_the_day_in_japan(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    reference = in_effect(app)
    at(clock, 2028, 3, 1, 0, 30)  # still 29 February in UTC
    entry = provide(app, reference, "Yamada Taro", on="2028-02-29")
    assert kept(app, reference) == {entry: date(2031, 3, 1)}


def test_a_joint_use_has_no_provision_record_to_keep(app: ApprovalsApplication) -> None:
    reference = app.file(
        "joint_use", actor=STAFF, title="Loyalty programme", department="sales",
        fields=FILINGS["joint_use"],
    ).reference  # fmt: skip
    for move in PATHS["joint_use"]:
        take(app, reference, move)
    (joint,) = [e for e in app.registers().provisions() if e.reference == reference]
    assert (joint.kind, joint.record_kept_until) == ("joint_use", None)


def test_a_record_is_never_kept_longer_than_its_case(
    app: ApprovalsApplication, clock: FakeClock
) -> None:
    # Provisions are recorded only while the case is in effect, so before its end, from which
    # the case's seven years run: three years from a record always run out first.
    reference = in_effect(app)
    at(clock, 2027, 3, 31, 23, 59)
    provide(app, reference, "Yamada Taro", on="2027-03-31")
    at(clock, 2027, 4, 1, 0, 0)
    app.act(reference, "end", actor=MANAGER, fields={"end_date": "2027-04-01"})
    (record,) = kept(app, reference).values()
    (case,) = app.registers().retention(reference=reference)
    assert record == date(2030, 3, 31)
    assert case.retained_until == date(2034, 4, 1)
    assert record < case.retained_until


# -- finding every provision concerning one data subject ---------------------------------------


def test_searching_by_a_data_subject_finds_exactly_the_provisions_naming_them(
    app: ApprovalsApplication,
) -> None:
    first = in_effect(app)
    a1 = provide(app, first, "Yamada Taro, Suzuki Hanako")
    a2 = provide(app, first, "Yamada Taro Jr.\nSato Ichiro")
    second = in_effect(app, recipient="Group bank")
    b1 = provide(app, second, "ｙａｍａｄａ　ｔａｒｏ、佐藤 一郎", on="2026-06-01")
    b2 = provide(app, second, "Yamada", on="2026-06-02")
    assert found(app, "YAMADA   taro") == {(first, a1), (second, b1)}
    assert found(app, "  Yamada Taro  ") == {(first, a1), (second, b1)}
    assert found(app, "yamada taro jr.") == {(first, a2)}
    assert found(app, "Yamada") == {(second, b2)}  # the whole subject, not a part of one
    assert found(app, "佐藤　一郎") == {(second, b1)}
    assert found(app, "Sato Ichiro") == {(first, a2)}
    assert found(app, "Hanako") == set()
    assert found(app, "Nobody") == set()
    assert found(app, "") == set()
    # with the other filters
    assert found(app, "yamada taro", department="sales") == {(first, a1), (second, b1)}
    assert found(app, "yamada taro", department="hr") == set()
    assert found(app, "yamada taro", since=date(2026, 5, 1)) == {(second, b1)}
    assert found(app, "yamada taro", kind="joint_use") == set()
    # in the order of the ledger, each provision once, with all it names
    entries = app.registers().provisions(subject="yamada taro")
    assert [(e.reference, e.entry) for e in entries] == [(first, a1), (second, b1)]
    assert entries[1].data_subjects == "ｙａｍａｄａ　ｔａｒｏ、佐藤 一郎"


def test_each_subject_named_is_kept_once_with_its_spelling(app: ApprovalsApplication) -> None:
    reference = in_effect(app)
    entry = provide(
        app, reference,
        "  Yamada   Taro ,Suzuki Hanako、\n\r\n山田　花子，yamada taro\n, ,佐藤 一郎、、",
    )  # fmt: skip
    app.registers().refresh()
    named = LEDGER.subjects
    with app.engine.connect() as connection:
        rows = connection.execute(
            sa.select(named.c.subject, named.c.subject_key)
            .where(named.c.reference == reference, named.c.entry == entry)
        ).all()  # fmt: skip
    assert sorted(rows) == sorted([
        ("Yamada Taro", "yamada taro"), ("Suzuki Hanako", "suzuki hanako"),
        ("山田 花子", "山田 花子"), ("佐藤 一郎", "佐藤 一郎"),
    ])  # fmt: skip


def test_a_provision_takes_the_items_it_does_not_give_again_as_the_case_holds_them(
    app: ApprovalsApplication,
) -> None:
    # As when the step was checked: the filing's subjects, the consent of the measures, and
    # after a provision naming others, those.
    reference = in_effect(app, data_subjects="Policy holders, Yamada Taro")
    app.act(reference, "record_provision", actor=STAFF, fields={"provision_date": "2026-04-01"})
    first = app.history(reference)[-1].position
    second = provide(app, reference, "Suzuki Hanako")
    take(app, reference, Move("record_provision", STAFF, {"provision_date": "2026-04-02"}))
    third = app.history(reference)[-1].position
    # Each provision has its own date: none is recorded on the date of the last one.
    with refused(app, EvidenceMissing, "evidence.fresh", reference) as caught:
        app.act(reference, "record_provision", actor=STAFF, fields={"data_subjects": "Ito Jiro"})
    assert "Provided on (`provision_date`, date) must be given with it" in str(caught.value)
    assert found(app, "policy holders") == {(reference, first)}
    assert found(app, "suzuki hanako") == {(reference, second), (reference, third)}
    (record,) = app.registers().provisions(subject="yamada taro")
    assert (record.party, record.consent) == ("Group insurer", "obtained")


def test_a_withdrawn_provision_names_nobody(app: ApprovalsApplication) -> None:
    reference = app.file(
        "provision", actor=STAFF, title="Never provided", department="sales",
        fields={**FILINGS["provision"], "data_subjects": "Yamada Taro"},
    ).reference  # fmt: skip
    app.act(reference, "withdraw", actor=STAFF)
    assert found(app, "yamada taro") == set()


# -- the definition's versions -----------------------------------------------------------------


def test_cases_filed_on_version_1_stay_readable_and_keep_their_records_three_years(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'approvals.db'}"
    clock = FakeClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    current = load_directory()
    version = current["provision"].version
    assert version >= 2  # contract_as_record came with version 2
    source = (builtin_workflows_dir() / "provision.toml").read_text(encoding="utf-8")
    start, end = source.index("[fields.contract_as_record]"), source.index("[checklist.")
    old = parse_definition(
        source[:start].replace(f"version = {version}", "version = 1") + source[end:],
        "provision v1",
    )
    before = open_approvals(url, clock=clock, workflows={**current, "provision": old})
    try:
        appoint_standard_roster(before)
        old_case = in_effect(before)
        provide(before, old_case, "Yamada Taro")
        with pytest.raises(InvalidValue):
            provide(before, old_case, "Yamada Taro", contract_as_record="yes")
    finally:
        before.close()
    after = open_approvals(url, clock=clock, workflows=current)
    try:
        assert after.workflow_of(old_case).version == 1  # read from the log
        new_case = in_effect(after)
        provide(after, new_case, "Yamada Taro", contract_as_record="yes")
        assert after.workflow_of(new_case).version == version
        assert {(e.reference, e.record_kept_until) for e in after.registers().provisions(
            subject="Yamada Taro")} == {
            (old_case, date(2029, 4, 1)), (new_case, date(2027, 4, 1)),
        }  # fmt: skip
    finally:
        after.close()


# -- on the real backends ----------------------------------------------------------------------


def test_a_store_of_the_previous_ledger_is_rebuilt_with_records_and_subjects(
    backend_url: str,
) -> None:
    clock = FakeClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    app = open_approvals(backend_url, clock=clock)
    try:
        appoint_standard_roster(app)
        reference = in_effect(app)
        entry = provide(app, reference, "Yamada Taro, 山田 花子")
        projector = app.registers().projector
        projector.catch_up()
        # The ledger as version 2 of the model left it: no record column, no subjects table.
        with app.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE rm_provision_subjects"))
            connection.execute(sa.text("ALTER TABLE rm_provisions DROP COLUMN record_kept_until"))
            connection.execute(
                sa.update(projector.tracking)
                .where(projector.tracking.c.name == "provisions")
                .values(version=2)
            )  # fmt: skip
        fresh = Projector(app, all_models())
        fresh.catch_up()
        assert {(e.reference, e.entry, e.record_kept_until) for e in app.registers().provisions(
            subject="山田　花子")} == {(reference, entry, date(2029, 4, 1))}  # fmt: skip
        assert fresh.check() == ()
    finally:
        app.close()


# -- at the command line -----------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A SQLite file with two provisions naming Yamada Taro and one naming someone else."""
    path = tmp_path / "approvals.db"
    clock = FakeClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    app = open_approvals(f"sqlite:///{path}", clock=clock)
    try:
        appoint_standard_roster(app)
        reference = in_effect(app)
        provide(app, reference, "Yamada Taro、Suzuki Hanako")
        at(clock, 2026, 4, 2, 10, 0)
        provide(app, reference, "Yamada Taro Jr.")
        at(clock, 2026, 4, 3, 10, 0)
        provide(app, reference, "yamada taro", contract_as_record="yes")
    finally:
        app.close()
    configure(verbose=False)  # the library's lines stay out of the commands' output
    return path


def approvals(store: Path, *args: str, lang: str = "en") -> Result:
    env = {"APPROVALS_DB": None, "APPROVALS_USER": None, "APPROVALS_LANG": lang}
    argv = ["--db", str(store), "--user", AUDITOR, *args]
    result = CliRunner().invoke(cli, argv, env=env, prog_name="approvals")
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize(
    ("lang", "heading", "subjects"),
    [("en", "record kept until", "data subjects"), ("ja", "記録の保存期限", "情報主体")],
)
def test_the_provisions_register_finds_a_data_subject_in_either_language(
    store: Path, lang: str, heading: str, subjects: str
) -> None:
    shown = approvals(store, "register", "provisions", "--subject", "YAMADA taro", lang=lang)
    lines = shown.stdout.splitlines()
    assert heading in lines[0]
    assert subjects in lines[0]
    rows = [line for line in lines if line.startswith("TP-2026-0001")]
    assert len(rows) == 2
    assert "2029-04-01" in rows[0]
    assert "2027-04-03" in rows[1]
    assert "Jr." not in shown.stdout
    everything = approvals(store, "register", "provisions", lang=lang).stdout
    assert len([line for line in everything.splitlines() if line.startswith("TP-")]) == 3


@pytest.mark.parametrize(
    ("lang", "sentence"),
    [
        ("en", "No provision names the data subject Nobody Here."),
        ("ja", "情報主体「Nobody Here」を含む提供の記録はありません。"),
    ],
)
def test_a_data_subject_no_provision_names_is_said_so(
    store: Path, lang: str, sentence: str
) -> None:
    shown = approvals(store, "register", "provisions", "--subject", " Nobody Here ", lang=lang)
    assert shown.stdout.strip() == sentence


def test_the_provisions_register_gives_json_and_csv_with_the_record_kept(store: Path) -> None:
    entries = json.loads(
        approvals(store, "--json", "register", "provisions", "--subject", "Yamada Taro").stdout
    )
    assert [(e["entry"], e["record_kept_until"]) for e in entries] == [
        (5, "2029-04-01"), (7, "2027-04-03"),
    ]  # fmt: skip
    assert entries[0]["data_subjects"] == "Yamada Taro、Suzuki Hanako"
    assert entries[0]["kind_label"] == "provision to a third party"
    japanese = json.loads(approvals(store, "--json", "register", "provisions", "--subject",
                                    "suzuki hanako", lang="ja").stdout)  # fmt: skip
    assert [(e["entry"], e["kind_label"]) for e in japanese] == [(5, "第三者提供")]
    assert json.loads(approvals(store, "--json", "register", "provisions", "--subject",
                                "nobody").stdout) == []  # fmt: skip
    table = approvals(store, "register", "provisions", "--subject", "yamada taro jr.", "--csv")
    (row,) = csv.DictReader(io.StringIO(table.stdout))
    assert (row["entry"], row["record_kept_until"]) == ("6", "2029-04-02")


def test_the_provisions_help_offers_the_subject_search(store: Path) -> None:
    shown = approvals(store, "register", "provisions", "--help").stdout
    assert "--subject TEXT" in shown
