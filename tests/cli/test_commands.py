"""Every command of `approvals`, in English and Japanese, its JSON, its refusals and its help.

The commands run in-process through click's CliRunner on a SQLite file that holds the sample
roster (see ``approvals.demo``); times are the real clock's.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shlex
import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

import approvals.factory
from approvals import JST, open_approvals
from approvals.cli import cli
from approvals.cli.cases import complete_case, complete_trigger
from approvals.definitions import builtin_workflows_dir, load_directory
from approvals.demo import (
    AUDITOR,
    CHIEF,
    CLAUSES,
    FILINGS,
    HR_STAFF,
    INVESTIGATION,
    MANAGER,
    OTHER_STAFF,
    REPRESENTATIVE,
    STAFF,
)
from tests.cli.conftest import HERMETIC_ENV, Run

LANGS = ["en", "ja"]
WORKFLOW_IDS = [
    "beyond_purpose", "entrustment", "erasure", "incident", "joint_use", "method", "provision",
    "purpose", "request", "sending", "subcontracting", "take_out",
]  # fmt: skip
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")

PURPOSE_VERSION = load_directory()["purpose"].version


# -- helpers ----------------------------------------------------------------------------------


def pick(lang: str, en: str, ja: str) -> str:
    """The English or the Japanese text, as ``lang`` asks."""
    return ja if lang == "ja" else en


def describe(result: Result) -> str:
    return (
        f"exit {result.exit_code}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}\n"
        f"exception: {result.exception!r}"
    )


def ok(result: Result) -> Result:
    """Expect the command to have succeeded."""
    assert result.exit_code == 0, describe(result)
    return result


def data(result: Result) -> Any:
    """The JSON document a successful `--json` command printed."""
    return json.loads(ok(result).stdout)


def sets(fields: dict[str, str]) -> list[str]:
    return [arg for key, value in fields.items() for arg in ("--set", f"{key}={value}")]


def checks(items: list[str]) -> list[str]:
    return [arg for item in items for arg in ("--check", item)]


def file_case(
    run: Run,
    workflow: str = "purpose",
    *,
    user: str = STAFF,
    department: str = "sales",
    title: str = "Newsletter to customers",
) -> str:
    """File a case through the command line; return its reference."""
    filed = data(
        run(
            "--json", "file", workflow, "--title", title, "--department", department,
            *sets(FILINGS[workflow]), user=user,
        )
    )  # fmt: skip
    return str(filed["reference"])


def events(store: Path) -> int:
    """How many events the store holds: what 'nothing was written' is measured by."""
    with closing(sqlite3.connect(store)) as connection:
        (count,) = connection.execute("SELECT COUNT(*) FROM approvals_events").fetchone()
    return int(count)


def one_sentence(result: Result, lang: str) -> str:
    """Expect a refusal: exit 1, one sentence on stderr in ``lang``, no traceback or prefix."""
    assert result.exit_code == 1, describe(result)
    assert isinstance(result.exception, SystemExit), describe(result)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, describe(result)
    assert result.stderr == lines[0] + "\n"
    sentence = lines[0]
    assert not sentence.startswith(("Error", "Usage", "Aborted")), sentence
    assert sentence.endswith(pick(lang, ".", "。")), sentence
    assert bool(JAPANESE.search(sentence)) == (lang == "ja"), sentence
    return sentence


def expect_refusal(
    run: Run,
    store: Path,
    *args: str,
    user: str | None,
    lang: str,
    code: str,
    phrases: dict[str, list[str]],
    db: str | None = None,
) -> str:
    """Run ``args`` plain and with --json: refused both times the same way, nothing written."""
    before = events(store)
    plain = run(*args, user=user, lang=lang, db=db)
    sentence = one_sentence(plain, lang)
    for phrase in phrases[lang]:
        assert phrase in sentence, f"{phrase!r} not in {sentence!r}"
    assert plain.stdout == ""

    as_json = run("--json", *args, user=user, lang=lang, db=db)
    assert one_sentence(as_json, lang) == sentence
    error = json.loads(as_json.stdout)["error"]
    # a refusal naming missing fields or checklist items also lists their keys (test_what_to_type)
    assert {k: v for k, v in error.items() if k != "missing"} == {"code": code, "message": sentence}
    assert events(store) == before
    return sentence


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


# -- init --------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_init_creates_a_store_and_is_safe_to_repeat(run: Run, tmp_path: Path, lang: str) -> None:
    path = tmp_path / "new" / "fresh.db"
    ready = pick(lang, "Store ready at sqlite:///", "保存先を用意しました: sqlite:///")
    for _ in range(2):
        result = ok(run("init", db=str(path), lang=lang))
        assert result.stdout.startswith(ready)
        assert str(path) in result.stdout
        assert result.stderr == ""
    assert path.is_file()
    assert events(path) == 0
    empty = ok(run("roster", "list", db=str(path), lang=lang))
    assert pick(lang, "The roster is empty", "名簿は空です") in empty.stdout
    assert data(run("--json", "roster", "list", db=str(path))) == []


@pytest.mark.parametrize("lang", LANGS)
def test_init_with_a_representative_starts_the_roster_once(
    run: Run, tmp_path: Path, lang: str
) -> None:
    db = str(tmp_path / "fresh.db")
    said = pick(lang, "The roster's representative: boss.", "名簿の代表者: boss")
    first = ok(run("init", "--representative", "boss", db=db, lang=lang))
    assert said in first.stdout
    terms = data(run("--json", "roster", "list", user="boss", db=db))
    assert [(t["user"], t["role"], t["end"]) for t in terms] == [("boss", "representative", None)]
    written = events(Path(db))

    again = ok(run("init", "--representative", "boss", db=db, lang=lang))
    assert said in again.stdout
    assert events(Path(db)) == written
    assert data(run("--json", "init", db=db))["representatives"] == ["boss"]


def test_init_on_a_store_whose_roster_has_that_representative_changes_nothing(
    run: Run, store: Path
) -> None:
    before = events(store)
    ok(run("init", "--representative", REPRESENTATIVE))
    assert events(store) == before


# -- roster ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_a_manager_appoints_and_dismisses_staff_of_their_department(run: Run, lang: str) -> None:
    appointed = ok(run("roster", "appoint", "newbie", "staff", "-d", "sales", user=MANAGER,
                       lang=lang))  # fmt: skip
    assert appointed.stdout.strip() == pick(
        lang,
        "Appointed newbie as a staff member of sales.",
        "newbie をsalesの担当者に選任しました。",
    )
    holders = data(run("--json", "roster", "list", user=MANAGER))
    assert {"user": "newbie", "role": "staff", "department": "sales"}.items() <= next(
        t for t in holders if t["user"] == "newbie"
    ).items()

    dismissed = ok(run("roster", "dismiss", "newbie", "staff", "--department", "sales",
                       user=MANAGER, lang=lang))  # fmt: skip
    assert dismissed.stdout.strip() == pick(
        lang,
        "Dismissed newbie as a staff member of sales.",
        "newbie のsalesの担当者を解任しました。",
    )
    assert "newbie" not in ok(run("roster", "list", user=MANAGER)).stdout


@pytest.mark.parametrize(
    ("lang", "manager", "chief"),
    [
        ("en", "personal information manager", "chief personal information officer"),
        ("ja", "個人情報管理者", "個人情報管理責任者"),
    ],
    ids=LANGS,
)
def test_roster_list_names_each_holder_and_role_in_the_language_asked(
    run: Run, lang: str, manager: str, chief: str
) -> None:
    listed = ok(run("roster", "list", user=AUDITOR, lang=lang)).stdout
    assert pick(lang, "person", "氏名") in listed.splitlines()[0]
    rows = {line.split()[0]: line for line in listed.splitlines()[2:]}
    assert set(rows) == {
        "daihyo", "sato", "kansa", "suzuki", "takahashi", "tanaka", "ito", "watanabe",
        "yamamoto",
    }  # fmt: skip
    assert manager in rows["suzuki"]
    assert "sales" in rows["suzuki"]
    assert chief in rows["sato"]


def test_roster_list_as_of_a_moment_before_an_appointment_does_not_show_it(run: Run) -> None:
    before = now_iso()
    ok(run("roster", "appoint", "newbie", "handler", "-d", "sales", user=MANAGER))

    now = {t["user"] for t in data(run("--json", "roster", "list", user=MANAGER))}
    then = {
        t["user"] for t in data(run("--json", "roster", "list", "--as-of", before, user=MANAGER))
    }
    assert "newbie" in now
    assert "newbie" not in then
    assert then == now - {"newbie"}
    table = ok(run("roster", "list", "--as-of", before, user=MANAGER)).stdout
    assert "suzuki" in table
    assert "newbie" not in table


def test_roster_list_as_of_a_day_before_the_roster_began_is_empty(run: Run) -> None:
    result = ok(run("roster", "list", "--as-of", "2020-01-01", user=CHIEF))
    assert result.stdout.startswith("Nobody held a role at that moment.")
    assert data(run("--json", "roster", "list", "--as-of", "2020-01-01", user=CHIEF)) == []


# -- workflows ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "title"),
    [("en", "New collection purpose"), ("ja", "新たな目的での個人情報の収集")],
    ids=LANGS,
)
def test_workflows_list_names_every_reference_workflow(run: Run, lang: str, title: str) -> None:
    listed = ok(run("workflows", "list", lang=lang)).stdout
    rows = listed.splitlines()[2:]
    assert [row.split()[0] for row in rows] == WORKFLOW_IDS
    purpose = next(row for row in rows if row.startswith("purpose"))
    assert title in purpose
    assert "NP" in purpose
    assert "Art.4" in purpose


@pytest.mark.parametrize(
    ("lang", "consulting"), [("en", "in consultation with the chief"), ("ja", "協議中")], ids=LANGS
)
def test_workflows_show_gives_states_steps_and_deadlines(
    run: Run, lang: str, consulting: str
) -> None:
    shown = ok(run("workflows", "show", "purpose", lang=lang)).stdout
    assert shown.startswith(f"purpose v{PURPOSE_VERSION} — ")
    assert "sha256 " in shown
    assert consulting in shown
    assert re.search(r"^consulting\s+approve\s+approved\s+chief", shown, re.MULTILINE)
    assert re.search(r"^returned\s+resubmit\s+notified\s+staff\s+" + pick(
        lang, "only the filer", "届け出た本人のみ"), shown, re.MULTILINE)  # fmt: skip
    assert f"{pick(lang, 'deadlines', '期限')}: " in shown
    if lang == "ja":
        assert "in consultation with the chief" not in shown
    diagram = ok(run("workflows", "diagram", "purpose", lang=lang)).stdout
    assert f"    consulting : {consulting}" in diagram
    assert "    consulting --> approved : approve (chief)" in diagram


def test_workflows_show_in_japanese_gives_deadlines_and_retention_in_japanese(run: Run) -> None:
    shown = ok(run("workflows", "show", "entrustment", lang="ja")).stdout.splitlines()
    deadlines = [line for line in shown if line.startswith("期限: ")]
    retention = [line for line in shown if line.startswith("保存期間: ")]
    assert len(deadlines) == 7
    assert len(retention) == 1
    inspections = [line for line in shown if " inspect " in line]
    assert len(inspections) == 3  # from each state the inspection may be recorded in
    for line in inspections:
        assert "inspection_date (毎回入力), inspection_findings (毎回入力)" in line
    for line in [*deadlines, *retention]:
        # the state names in brackets are identifiers; the units and words are not
        words = re.sub(r"\([a-z_, ]+\)$", "", line)
        assert not re.search(r"\b(business_days|days|y from)\b", words), line


def test_workflows_diagram_is_a_mermaid_state_diagram(run: Run) -> None:
    diagram = ok(run("workflows", "diagram", "entrustment")).stdout.splitlines()
    assert diagram[0] == "stateDiagram-v2"
    assert diagram[1] == "    [*] --> notified"
    assert "    notified --> consulting : consult (manager)" in diagram
    assert "    rejected --> [*]" in diagram


@pytest.mark.parametrize(("lang", "mark"), [("en", "ok"), ("ja", "OK")], ids=LANGS)
def test_workflows_validate_checks_the_reference_workflows_or_the_files_given(
    run: Run, lang: str, mark: str
) -> None:
    every = ok(run("workflows", "validate", lang=lang)).stdout.splitlines()
    assert len(every) == len(WORKFLOW_IDS)
    assert all(line.startswith(f"{mark}  ") for line in every)
    version = PURPOSE_VERSION
    assert any(line.endswith(pick(lang, f"(purpose v{version})", f"(purpose 版{version})"))
               for line in every)  # fmt: skip

    one = builtin_workflows_dir() / "joint_use.toml"
    checked = ok(run("workflows", "validate", str(one), lang=lang)).stdout.splitlines()
    assert len(checked) == 1
    assert str(one) in checked[0]
    assert "joint_use" in checked[0]


# -- file, act and the shortcuts ---------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_file_prints_the_reference_of_the_new_case(run: Run, lang: str) -> None:
    result = ok(
        run(
            "file", "purpose", "--title", "Newsletter", "--department", "sales",
            *sets(FILINGS["purpose"]), user=STAFF, lang=lang,
        )
    )  # fmt: skip
    ref = f"NP-{datetime.now(JST).year}-0001"
    assert result.stdout == pick(
        lang, f"Filed {ref}: Newsletter.\n", f"{ref} を届け出ました: Newsletter。\n"
    )
    second = file_case(run)
    assert second.endswith("-0002")


def test_file_with_an_attachment_and_a_comment_records_the_documents_digest(
    run: Run, tmp_path: Path
) -> None:
    notice = tmp_path / "notice.pdf"
    notice.write_bytes(b"%PDF-1.7 the notice")
    case = data(
        run(
            "--json", "file", "entrustment", "--title", "Scanning", "--department", "sales",
            *sets(FILINGS["entrustment"]), "--attach", str(notice), "-m", "See the notice.",
            user=STAFF,
        )
    )  # fmt: skip
    assert case["attachments"] == [
        {
            "name": "notice.pdf",
            "sha256": hashlib.sha256(b"%PDF-1.7 the notice").hexdigest(),
            "size": len(b"%PDF-1.7 the notice"),
        }
    ]
    assert case["fields"] == FILINGS["entrustment"]
    (entry,) = data(run("--json", "history", case["reference"], user=STAFF))
    assert entry["comment"] == "See the notice."
    assert entry["attachments"][0]["name"] == "notice.pdf"
    shown = ok(run("show", case["reference"], user=STAFF)).stdout
    assert f"notice.pdf  sha256:{case['attachments'][0]['sha256'][:16]}" in shown


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("en", "{ref}: consult the chief recorded; now 'in consultation with the chief'.\n"),
        ("ja", "{ref}: 協議を記録しました。現在「協議中」です。\n"),
    ],
    ids=LANGS,
)
def test_act_records_fields_checklist_comment_and_attachments(
    run: Run, tmp_path: Path, lang: str, said: str
) -> None:
    ref = file_case(run, "entrustment", title="Scanning of paper files")
    contract = tmp_path / "basic-contract.pdf"
    contract.write_bytes(b"%PDF-1.7 basic contract")
    result = ok(
        run(
            "act", ref, "consult", *sets(INVESTIGATION), *checks(CLAUSES),
            "--attach", str(contract), "--comment", "Vendor visited.", user=MANAGER, lang=lang,
        )
    )  # fmt: skip
    assert result.stdout == said.format(ref=ref)

    last = data(run("--json", "history", ref, user=MANAGER))[-1]
    assert (last["actor"], last["role"], last["trigger"]) == (MANAGER, "manager", "consult")
    assert last["comment"] == "Vendor visited."
    assert last["fields"] == {  # yes/no fields are recorded as booleans
        **INVESTIGATION, "security_equal_or_higher": True, "financially_sound": True,
    }  # fmt: skip
    assert last["checklist"] == CLAUSES
    assert [a["name"] for a in last["attachments"]] == ["basic-contract.pdf"]
    assert data(run("--json", "show", ref, user=MANAGER))["state"] == "consulting"


SHORTCUT_WALKS: dict[str, list[tuple[str, str, tuple[str, ...], str, str]]] = {
    # name: (user, command, extra arguments, state label in English, in Japanese)
    "returned, resubmitted, approved": [
        (MANAGER, "return", ("-m", "Name the data subjects."), "returned for revision", "差し戻し"),
        (STAFF, "resubmit", (), "notified", "届け出済み"),
        (MANAGER, "consult", (), "in consultation with the chief", "協議中"),
        (
            CHIEF,
            "approve",
            ("--comment", "Fine."),
            "approved, measures pending",
            "承認済み(措置待ち)",
        ),
    ],
    "rejected": [
        (MANAGER, "consult", (), "in consultation with the chief", "協議中"),
        (CHIEF, "reject", ("-m", "Consent cannot be shown."), "rejected", "却下"),
    ],
    "withdrawn": [(STAFF, "withdraw", (), "withdrawn", "取り下げ")],
}
STEP_LABELS = {
    "return": ("return for revision", "差し戻し"),
    "resubmit": ("resubmit", "再提出"),
    "consult": ("consult the chief", "協議"),
    "approve": ("approve", "承認"),
    "reject": ("reject", "却下"),
    "withdraw": ("withdraw", "取り下げ"),
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("walk", list(SHORTCUT_WALKS))
def test_the_shortcuts_take_their_step_and_say_the_new_state(
    run: Run, walk: str, lang: str
) -> None:
    ref = file_case(run)
    for user, command, extra, state_en, state_ja in SHORTCUT_WALKS[walk]:
        result = ok(run(command, ref, *extra, user=user, lang=lang))
        step = pick(lang, *STEP_LABELS[command])
        state = pick(lang, state_en, state_ja)
        assert result.stdout == pick(
            lang,
            f"{ref}: {step} recorded; now '{state}'.\n",
            f"{ref}: {step}を記録しました。現在「{state}」です。\n",
        )
    history = data(run("--json", "history", ref, user=STAFF))
    assert [e["trigger"] for e in history] == ["file", *(s[1] for s in SHORTCUT_WALKS[walk])]
    comments = [e["comment"] for e in history[1:]]
    assert comments == [s[2][1] if s[2] else "" for s in SHORTCUT_WALKS[walk]]


# -- show, history, inbox, list ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "en",
            [
                r"^  state\s+notified \(notified\)$",
                r"^  next\s+consult — consult the chief: personal information manager \(sales\): "
                r"suzuki$",
                r"^  next\s+return — return for revision: .*: suzuki$",
                r"^\s+needs: a comment$",
                r"^  next\s+withdraw — withdraw: staff member \(sales\): tanaka$",
                r"^  deadlines\s+consult the chief \(immediately\): "
                r"\d{4}-\d\d-\d\d \d\d:\d\d\+09:00$",
                r"^  recorded\s+Purpose of collection \(purpose\): Newsletter to customers$",
                r"^  kept\s+starts when the case ends$",
            ],
        ),
        (
            "ja",
            [
                r"^  状態\s+届け出済み \(notified\)$",
                r"^  次の手順\s+consult — 協議: 個人情報管理者 \(sales\): suzuki$",
                r"^\s+必要: コメント$",
                r"^  次の手順\s+withdraw — 取り下げ: 担当者 \(sales\): tanaka$",
                r"^  期限\s+.+: \d{4}-\d\d-\d\d \d\d:\d\d\+09:00$",
                r"^  保存期間\s+案件の終了から起算$",
                r"^  記録事項\s+収集目的 \(purpose\): Newsletter to customers$",
            ],
        ),
    ],
    ids=LANGS,
)
def test_show_gives_the_state_the_next_steps_with_their_people_and_the_deadlines(
    run: Run, lang: str, expected: list[str]
) -> None:
    ref = file_case(run)
    shown = ok(run("show", ref, user=AUDITOR, lang=lang)).stdout
    assert shown.startswith(f"{ref}  Newsletter to customers\n")
    for pattern in expected:
        assert re.search(pattern, shown, re.MULTILINE), f"{pattern!r} not in\n{shown}"


def test_show_as_of_gives_the_case_as_it_stood_then(run: Run) -> None:
    ref = file_case(run)
    filed = now_iso()
    ok(run("consult", ref, user=MANAGER))

    then = data(run("--json", "show", ref, "--as-of", filed, user=CHIEF))
    now = data(run("--json", "show", ref, user=CHIEF))
    assert (then["state"], then["version"]) == ("notified", 1)
    assert (now["state"], now["version"]) == ("consulting", 2)
    assert [s["trigger"] for s in then["next_steps"]] == ["consult", "return", "withdraw"]
    table = ok(run("show", ref, "--as-of", filed, user=CHIEF)).stdout
    assert re.search(r"^  state\s+notified \(notified\)$", table, re.MULTILINE)

    today = datetime.now(JST).date().isoformat()  # the end of today: after everything
    assert data(run("--json", "show", ref, "--as-of", today, user=CHIEF))["state"] == "consulting"


def test_show_as_of_a_day_before_the_filing_finds_no_case(run: Run, store: Path) -> None:
    ref = file_case(run)
    expect_refusal(
        run, store, "show", ref, "--as-of", "2020-01-01", user=CHIEF, lang="en",
        code="case.not_found", phrases={"en": [ref]},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("lang", "header", "manager", "consult"),
    [
        ("en", "when", "personal information manager", "consult the chief"),
        ("ja", "日時", "個人情報管理者", "協議"),
    ],
    ids=LANGS,
)
def test_history_lists_every_step_with_who_as_which_role_and_why(
    run: Run, lang: str, header: str, manager: str, consult: str
) -> None:
    ref = file_case(run)
    ok(run("consult", ref, user=MANAGER))
    ok(run("approve", ref, "-m", "Fine.", user=CHIEF))
    lines = ok(run("history", ref, user=AUDITOR, lang=lang)).stdout.splitlines()
    assert header in lines[0]
    rows = lines[2:]
    assert len(rows) == 3
    assert rows[0].startswith("1  ")
    assert STAFF in rows[0]
    assert "purpose=Newsletter to customers" in rows[0]
    assert re.search(rf"^2 .* {MANAGER}\s+{manager}\s+{consult}\s", rows[1])
    assert re.search(rf"^3 .* {CHIEF}\s.*Fine\.$", rows[2])


@pytest.mark.parametrize(
    ("lang", "consult"), [("en", "consult the chief"), ("ja", "協議")], ids=LANGS
)
def test_the_inbox_of_the_manager_lists_a_filed_case(run: Run, lang: str, consult: str) -> None:
    ref = file_case(run)
    lines = ok(run("inbox", user=MANAGER, lang=lang)).stdout.splitlines()
    assert lines[0].split()[0] == pick(lang, "case", "整理番号")
    rows = [line.split("  ") for line in lines[2:]]
    assert [(r[0], r[1]) for r in rows] == [(ref, "consult"), (ref, "return")]
    assert consult in lines[2]
    assert "Newsletter to customers" in lines[2]
    assert pick(lang, "OVERDUE", "期限超過") not in "".join(lines)


@pytest.mark.parametrize("lang", LANGS)
def test_the_inbox_of_someone_with_nothing_waiting_says_so(run: Run, lang: str) -> None:
    file_case(run)
    result = ok(run("inbox", user=AUDITOR, lang=lang))
    assert result.stdout == pick(
        lang, "Nothing waits for kansa.\n", "kansa の対応待ちはありません。\n"
    )
    assert data(run("--json", "inbox", user=AUDITOR)) == []


def test_the_filer_finds_a_returned_case_in_their_inbox(run: Run) -> None:
    ref = file_case(run)
    ok(run("return", ref, "-m", "Be precise.", user=MANAGER))
    waiting = data(run("--json", "inbox", user=STAFF))
    assert [(i["reference"], i["trigger"]) for i in waiting] == [
        (ref, "resubmit"),
        (ref, "withdraw"),
    ]
    assert "Nothing waits for suzuki." in ok(run("inbox", user=MANAGER)).stdout


@pytest.mark.parametrize(
    ("lang", "notified"), [("en", "notified"), ("ja", "届け出済み")], ids=LANGS
)
def test_list_filters_by_workflow_state_and_department(run: Run, lang: str, notified: str) -> None:
    purpose = file_case(run)
    entrustment = file_case(run, "entrustment", title="Scanning")
    hr = file_case(run, user=HR_STAFF, department="hr", title="Training records")
    ok(run("consult", purpose, user=MANAGER))

    def listed(*filters: str) -> list[str]:
        return [c["reference"] for c in data(run("--json", "list", *filters, user=CHIEF))]

    assert listed() == [purpose, entrustment, hr]
    assert listed("--workflow", "purpose") == [purpose, hr]
    assert listed("--state", "consulting") == [purpose]
    assert listed("--department", "hr") == [hr]
    assert listed("--workflow", "purpose", "--state", "notified") == [hr]
    assert listed("--workflow", "method") == []

    table = ok(run("list", "--department", "hr", user=CHIEF, lang=lang)).stdout.splitlines()
    assert table[0].split()[0] == pick(lang, "case", "整理番号")
    assert len(table) == 3
    assert hr in table[2]
    assert notified in table[2]
    assert HR_STAFF in table[2]
    none = ok(run("list", "--department", "legal", user=CHIEF, lang=lang))
    assert none.stdout == pick(lang, "No cases.\n", "案件はありません。\n")


def test_list_as_of_leaves_out_what_came_later(run: Run) -> None:
    first = file_case(run)
    between = now_iso()
    second = file_case(run, title="Second")
    ok(run("consult", first, user=MANAGER))

    then = data(run("--json", "list", "--as-of", between, user=CHIEF))
    assert [(c["reference"], c["state"]) for c in then] == [(first, "notified")]
    today = datetime.now(JST).date().isoformat()
    assert [c["reference"] for c in data(run("--json", "list", "--as-of", today, user=CHIEF))] == [
        first,
        second,
    ]
    assert ok(run("list", "--as-of", "2020-01-01", user=CHIEF)).stdout == "No cases.\n"
    table = ok(run("list", "--as-of", between, user=CHIEF)).stdout
    assert first in table
    assert second not in table


@pytest.mark.parametrize(
    ("when", "states"),
    [
        ("2020-01-05", []),
        ("2020-01-06", ["notified"]),  # a date is the end of that day
        ("2020-01-06T09:59", []),  # a time without an offset is Japan Standard Time
        ("2020-01-06T10:01", ["notified"]),
        ("2020-01-06T00:59+00:00", []),
        ("2020-01-06T01:01+00:00", ["notified"]),
        ("2020-01-07", ["consulting"]),
    ],
)
def test_as_of_reads_a_date_as_its_end_and_a_time_in_japan_standard_time(
    run: Run, past_store: tuple[str, str], when: str, states: list[str]
) -> None:
    db, _ = past_store
    listed = data(run("--json", "list", "--as-of", when, user=CHIEF, db=db))
    assert [case["state"] for case in listed] == states


@pytest.mark.parametrize("lang", LANGS)
def test_an_overdue_step_is_marked_in_the_inbox_and_in_show(
    run: Run, past_store: tuple[str, str], lang: str
) -> None:
    db, ref = past_store
    mark = pick(lang, "OVERDUE", "期限超過")
    rows = ok(run("inbox", user=CHIEF, db=db, lang=lang)).stdout.splitlines()[2:]
    assert [row.split()[1] for row in rows] == ["approve", "reject", "return"]
    # Five business days from Tuesday 7 January 2020: Monday the 13th is Coming of Age Day.
    assert all(row.startswith(ref) and row.endswith(f"2020-01-15 10:00 {mark}") for row in rows)
    assert {item["overdue"] for item in data(run("--json", "inbox", user=CHIEF, db=db))} == {True}
    shown = ok(run("show", ref, user=CHIEF, db=db, lang=lang)).stdout
    deadlines = pick(lang, "deadlines", "期限")
    assert re.search(rf"^  {deadlines}\s+.+: 2020-01-15 10:00\+09:00  {mark}$",
                     shown, re.MULTILINE), shown  # fmt: skip


def test_tables_show_moments_in_japan_standard_time(run: Run, past_store: tuple[str, str]) -> None:
    db, ref = past_store
    history = data(run("--json", "history", ref, user=CHIEF, db=db))
    filed_at = datetime.fromisoformat(history[0]["at"])
    assert filed_at.astimezone(JST).strftime("%Y-%m-%d %H:%M") == "2020-01-06 10:00"
    table = ok(run("history", ref, user=CHIEF, db=db)).stdout.splitlines()
    assert table[0].split()[:3] == ["#", "when", "(JST)"]  # the header names the zone once
    assert table[2].startswith("1  2020-01-06 10:00  tanaka")
    assert table[3].startswith("2  2020-01-07 10:00  suzuki")
    assert "tanaka, 2020-01-06 10:00+09:00" in ok(run("show", ref, user=CHIEF, db=db)).stdout


# -- JSON ----------------------------------------------------------------------------------------

CASE_KEYS = {
    "reference", "workflow", "workflow_version", "workflow_sha256", "workflow_title", "title",
    "department", "filer", "state", "state_label", "terminal", "fields", "checklist",
    "attachments", "filed_at", "updated_at", "version", "next_steps", "deadlines",
    "retention_until", "flawed",
}  # fmt: skip
NEXT_STEP_KEYS = {
    "trigger", "label", "role", "role_label", "department", "people", "target", "target_label",
    "fields", "missing_fields", "checklist", "missing_checklist", "comment_required",
    "filer_only",
}  # fmt: skip
HISTORY_KEYS = {
    "position", "at", "actor", "role", "role_label", "trigger", "label", "source", "dest",
    "dest_label", "comment", "fields", "checklist", "attachments",
}  # fmt: skip
INBOX_KEYS = {
    "reference", "workflow", "workflow_title", "title", "department", "state", "state_label",
    "trigger", "label", "role", "role_label", "since", "due_at", "overdue",
}  # fmt: skip
TERM_KEYS = {"user", "role", "role_label", "department", "start", "end"}


@pytest.mark.parametrize(
    ("lang", "notified"), [("en", "notified"), ("ja", "届け出済み")], ids=LANGS
)
def test_json_file_and_act_print_the_case_with_its_stable_fields(
    run: Run, lang: str, notified: str
) -> None:
    filed = data(
        run(
            "--json", "file", "purpose", "--title", "Newsletter", "--department", "sales",
            *sets(FILINGS["purpose"]), user=STAFF, lang=lang,
        )
    )  # fmt: skip
    assert set(filed) == CASE_KEYS
    assert filed["reference"].startswith("NP-")
    assert (filed["workflow"], filed["state"], filed["state_label"]) == (
        "purpose",
        "notified",
        notified,
    )
    assert (filed["filer"], filed["department"], filed["version"]) == (STAFF, "sales", 1)
    assert filed["terminal"] is False
    assert filed["retention_until"] is None
    assert ISO_WITH_OFFSET.match(filed["filed_at"])

    acted = data(run("--json", "act", filed["reference"], "consult", user=MANAGER, lang=lang))
    assert set(acted) == CASE_KEYS
    assert (acted["state"], acted["version"]) == ("consulting", 2)
    assert acted["state_label"] == pick(lang, "in consultation with the chief", "協議中")
    approved = data(run("--json", "approve", filed["reference"], user=CHIEF, lang=lang))
    assert (approved["state"], approved["version"]) == ("approved", 3)


@pytest.mark.parametrize(
    ("lang", "notified", "manager"),
    [("en", "notified", "personal information manager"), ("ja", "届け出済み", "個人情報管理者")],
    ids=LANGS,
)
def test_json_show_gives_the_state_the_next_steps_with_people_and_the_deadlines(
    run: Run, lang: str, notified: str, manager: str
) -> None:
    ref = file_case(run)
    case = data(run("--json", "show", ref, user=AUDITOR, lang=lang))
    assert set(case) == CASE_KEYS
    assert (case["reference"], case["workflow"], case["state"]) == (ref, "purpose", "notified")
    assert case["state_label"] == notified
    assert case["fields"] == FILINGS["purpose"]
    steps = {step["trigger"]: step for step in case["next_steps"]}
    assert list(steps) == ["consult", "return", "withdraw"]
    assert all(set(step) == NEXT_STEP_KEYS for step in steps.values())
    assert steps["consult"]["people"] == [MANAGER]
    assert steps["consult"]["role"] == "manager"
    assert steps["consult"]["role_label"] == manager
    assert steps["consult"]["department"] == "sales"
    assert steps["return"]["comment_required"] is True
    assert steps["withdraw"]["people"] == [STAFF]
    assert steps["withdraw"]["filer_only"] is True
    assert case["deadlines"], "a notified case has a deadline running"
    for deadline in case["deadlines"]:
        assert set(deadline) == {"name", "label", "started_at", "due_at", "overdue"}
        assert ISO_WITH_OFFSET.match(deadline["due_at"]), deadline["due_at"]
        assert deadline["due_at"].endswith(("+09:00", "+00:00"))
        assert deadline["overdue"] is False
        assert datetime.fromisoformat(deadline["due_at"]) > datetime.fromisoformat(
            deadline["started_at"]
        )


def test_json_history_gives_position_actor_role_and_trigger(run: Run) -> None:
    ref = file_case(run)
    ok(run("consult", ref, user=MANAGER))
    ok(run("reject", ref, "-m", "No consent.", user=CHIEF))
    history = data(run("--json", "history", ref, user=AUDITOR))
    assert all(set(entry) == HISTORY_KEYS for entry in history)
    assert [(e["position"], e["actor"], e["role"], e["trigger"]) for e in history] == [
        (1, STAFF, "staff", "file"),
        (2, MANAGER, "manager", "consult"),
        (3, CHIEF, "chief", "reject"),
    ]
    assert [(e["source"], e["dest"]) for e in history] == [
        ("", "notified"),
        ("notified", "consulting"),
        ("consulting", "rejected"),
    ]
    assert history[2]["comment"] == "No consent."
    assert all(ISO_WITH_OFFSET.match(e["at"]) for e in history)
    ja = data(run("--json", "history", ref, user=AUDITOR, lang="ja"))
    assert [e["dest_label"] for e in ja] == ["届け出済み", "協議中", "却下"]


def test_json_inbox_gives_reference_trigger_and_overdue(run: Run) -> None:
    ref = file_case(run)
    inbox = data(run("--json", "inbox", user=MANAGER))
    assert all(set(item) == INBOX_KEYS for item in inbox)
    assert [(i["reference"], i["trigger"], i["overdue"]) for i in inbox] == [
        (ref, "consult", False),
        (ref, "return", False),
    ]
    assert ISO_WITH_OFFSET.match(inbox[0]["since"])
    assert ISO_WITH_OFFSET.match(inbox[0]["due_at"])
    assert data(run("--json", "inbox", user=MANAGER, lang="ja"))[0]["label"] == "協議"


ENTRY_KEYS = {
    "reference", "workflow", "workflow_title", "title", "department", "filer", "state",
    "state_label", "terminal", "events", "filed_at", "updated_at", "decision", "decided_at",
    "effective_date", "effective_at", "ended_at", "retention_until", "disposed_at",
}  # fmt: skip


def test_json_list_gives_the_register_entries(run: Run) -> None:
    first = file_case(run)
    second = file_case(run, "entrustment", title="Scanning")
    cases = data(run("--json", "list", user=CHIEF))
    assert all(set(case) == ENTRY_KEYS for case in cases)
    assert [(c["reference"], c["workflow"], c["state"]) for c in cases] == [
        (first, "purpose", "notified"),
        (second, "entrustment", "notified"),
    ]


def test_a_register_as_csv_writes_yes_or_no_as_true_or_false(run: Run) -> None:
    reference = file_case(run)
    for lang in ("en", "ja"):
        rows = list(csv.DictReader(io.StringIO(run("register", "cases", "--csv", user=CHIEF,
                                                   lang=lang).stdout)))  # fmt: skip
        (row,) = [r for r in rows if r["reference"] == reference]
        assert row["terminal"] == "false"
        assert row["ended_at"] == ""


def test_json_roster_list_and_appoint_give_terms(run: Run) -> None:
    terms = data(run("--json", "roster", "list", user=CHIEF))
    assert all(set(term) == TERM_KEYS for term in terms)
    by_user = {(t["user"], t["role"]): t for t in terms}
    assert by_user[(MANAGER, "manager")]["department"] == "sales"
    assert by_user[(CHIEF, "chief")]["department"] == ""
    assert all(t["end"] is None and ISO_WITH_OFFSET.match(t["start"]) for t in terms)
    ja = data(run("--json", "roster", "list", user=CHIEF, lang="ja"))
    assert {t["role_label"] for t in ja if t["role"] == "manager"} == {"個人情報管理者"}

    appointed = data(run("--json", "roster", "appoint", "newbie", "staff", "-d", "hr",
                         user="takahashi"))  # fmt: skip
    assert set(appointed) == TERM_KEYS
    assert (appointed["user"], appointed["role"], appointed["department"]) == (
        "newbie",
        "staff",
        "hr",
    )
    dismissed = data(run("--json", "roster", "dismiss", "newbie", "staff", "-d", "hr",
                         user="takahashi"))  # fmt: skip
    assert dismissed == {"user": "newbie", "role": "staff", "department": "hr", "dismissed": True}


def test_json_workflows_list_and_show_give_the_definitions(run: Run) -> None:
    listed = data(run("--json", "workflows", "list"))
    assert [w["id"] for w in listed] == WORKFLOW_IDS
    assert all(set(w) == {"id", "version", "title", "articles", "sha256", "prefix"} for w in listed)
    purpose = next(w for w in listed if w["id"] == "purpose")
    assert (purpose["prefix"], purpose["version"]) == ("NP", PURPOSE_VERSION)
    assert len(purpose["sha256"]) == 64

    shown = data(run("--json", "workflows", "show", "purpose", lang="ja"))
    assert shown["id"] == "purpose"
    assert shown["sha256"] == purpose["sha256"]
    assert shown["initial"] == "notified"
    assert shown["title"] == "新たな目的での個人情報の収集"
    states = {s["name"]: s for s in shown["states"]}
    assert states["consulting"]["label"] == "協議中"
    assert states["rejected"]["terminal"] is True
    assert {"consult", "approve", "reject", "withdraw"} <= {s["trigger"] for s in shown["steps"]}
    assert shown["retention"]["years"] == 7


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_a_step_not_allowed_now_is_refused_naming_the_state_and_what_is_allowed(
    run: Run, store: Path, lang: str
) -> None:
    ref = file_case(run)
    expect_refusal(
        run, store, "approve", ref, user=CHIEF, lang=lang, code="step.not_allowed",
        phrases={
            "en": [ref, "'notified'", "Allowed now: consult, return, withdraw"],
            "ja": [ref, "「承認」", "現在「届け出済み」です", "今できること", "協議(consult)"],
        },
    )  # fmt: skip
    assert data(run("--json", "show", ref, user=CHIEF))["version"] == 1


@pytest.mark.parametrize("lang", LANGS)
def test_a_step_on_a_finished_case_is_refused_as_final(run: Run, store: Path, lang: str) -> None:
    ref = file_case(run)
    ok(run("withdraw", ref, user=STAFF))
    expect_refusal(
        run, store, "consult", ref, user=MANAGER, lang=lang, code="step.final",
        phrases={"en": ["which is final"], "ja": ["終了状態"]},
    )  # fmt: skip


@pytest.mark.parametrize("lang", LANGS)
def test_staff_taking_the_managers_step_is_refused_for_their_role(
    run: Run, store: Path, lang: str
) -> None:
    ref = file_case(run)
    expect_refusal(
        run, store, "consult", ref, user=OTHER_STAFF, lang=lang, code="step.not_authorized",
        phrases={
            "en": [OTHER_STAFF, "personal information manager of sales", "holds staff"],
            "ja": [OTHER_STAFF, "個人情報管理者が必要", "担当者"],
        },
    )  # fmt: skip


@pytest.mark.parametrize("lang", LANGS)
def test_the_filer_is_refused_a_decision_on_their_own_case(
    run: Run, store: Path, lang: str
) -> None:
    ok(run("roster", "appoint", CHIEF, "staff", "-d", "sales", user=MANAGER))
    ref = file_case(run, user=CHIEF, title="My own idea")
    ok(run("consult", ref, user=MANAGER))
    expect_refusal(
        run, store, "approve", ref, user=CHIEF, lang=lang, code="step.own_case",
        phrases={
            "en": [CHIEF, ref, "they filed it", "another chief personal information officer"],
            "ja": [CHIEF, ref, "自ら届け出た案件", "別の個人情報管理責任者"],
        },
    )  # fmt: skip
    assert data(run("--json", "show", ref, user=CHIEF))["state"] == "consulting"


@pytest.mark.parametrize("lang", LANGS)
def test_an_entrustment_consultation_without_the_investigation_is_refused(
    run: Run, store: Path, lang: str
) -> None:
    ref = file_case(run, "entrustment", title="Scanning")
    expect_refusal(
        run, store, "consult", ref, user=MANAGER, lang=lang, code="evidence.fields",
        phrases={
            "en": [ref, "must be given first", "On-site survey"],
            "ja": [ref, "先に", "を入力してください"],
        },
    )  # fmt: skip


@pytest.mark.parametrize("lang", LANGS)
def test_a_rejection_without_a_comment_is_refused(run: Run, store: Path, lang: str) -> None:
    ref = file_case(run)
    ok(run("consult", ref, user=MANAGER))
    expect_refusal(
        run, store, "reject", ref, user=CHIEF, lang=lang, code="evidence.comment",
        phrases={
            "en": ["'reject'", "a comment saying why is required"],
            "ja": ["「却下」", "理由のコメントが必要です"],
        },
    )  # fmt: skip


@pytest.mark.parametrize("lang", LANGS)
def test_a_field_the_workflow_does_not_have_is_refused(run: Run, store: Path, lang: str) -> None:
    expect_refusal(
        run, store, "file", "purpose", "--title", "x", "--department", "sales",
        *sets({**FILINGS["purpose"], "colour": "blue"}), user=STAFF, lang=lang,
        code="value.unknown_field",
        phrases={"en": ["no field called colour"], "ja": ["項目 colour はありません"]},
    )  # fmt: skip


@pytest.mark.parametrize("lang", LANGS)
def test_only_the_filer_may_withdraw_a_notice(run: Run, store: Path, lang: str) -> None:
    ref = file_case(run)
    expect_refusal(
        run, store, "withdraw", ref, user=OTHER_STAFF, lang=lang, code="step.filer_only",
        phrases={"en": ["only the person who filed it, tanaka"], "ja": ["届け出た tanaka だけ"]},
    )  # fmt: skip


@pytest.mark.parametrize("lang", LANGS)
def test_the_audit_officer_is_refused_every_step(run: Run, store: Path, lang: str) -> None:
    ref = file_case(run)
    expect_refusal(
        run, store, "consult", ref, user=AUDITOR, lang=lang, code="step.auditor",
        phrases={"en": ["the audit officer acts on nothing"], "ja": ["閲覧と検証のみ"]},
    )  # fmt: skip


@pytest.mark.parametrize("lang", LANGS)
def test_filing_for_another_department_is_refused(run: Run, store: Path, lang: str) -> None:
    expect_refusal(
        run, store, "file", "purpose", "--title", "x", "--department", "hr",
        *sets(FILINGS["purpose"]), user=STAFF, lang=lang, code="file.not_authorized",
        phrases={"en": ["for hr is refused for tanaka"], "ja": ["hr の「新たな目的"]},
    )  # fmt: skip


@pytest.mark.parametrize("lang", LANGS)
def test_an_unknown_case_is_refused(run: Run, store: Path, lang: str) -> None:
    for args in (("show", "ENT-1999-0001"), ("history", "ENT-1999-0001"),
                 ("consult", "ENT-1999-0001")):  # fmt: skip
        expect_refusal(
            run, store, *args, user=MANAGER, lang=lang, code="case.not_found",
            phrases={"en": ["No case has the reference ENT-1999-0001"],
                     "ja": ["整理番号 ENT-1999-0001 の案件はありません"]},
        )  # fmt: skip


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    "args",
    [
        ("list",),
        ("inbox",),
        ("show", "{ref}"),
        ("history", "{ref}"),
        ("consult", "{ref}"),
        ("file", "purpose", "--title", "x", "--department", "sales", *sets(FILINGS["purpose"])),
    ],
    ids=lambda args: args[0],
)
def test_someone_not_on_the_roster_is_refused(
    run: Run, store: Path, lang: str, args: tuple[str, ...]
) -> None:
    ref = file_case(run)
    expect_refusal(
        run, store, *(arg.format(ref=ref) for arg in args), user="nobody", lang=lang,
        code="person.unknown",
        phrases={"en": ["No one called nobody is on the roster"], "ja": ["nobody は名簿にない"]},
    )  # fmt: skip


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    "args",
    [
        ("file", "nothing", "--title", "x", "--department", "sales"),
        ("list", "--workflow", "nothing"),
        ("workflows", "show", "nothing"),
        ("workflows", "diagram", "nothing"),
    ],
    ids=lambda args: "-".join(args[:2]),
)
def test_an_unknown_workflow_is_refused_naming_the_known_ones(
    run: Run, store: Path, lang: str, args: tuple[str, ...]
) -> None:
    expect_refusal(
        run, store, *args, user=STAFF, lang=lang, code="workflow.not_found",
        phrases={
            "en": ["No workflow is called nothing", "entrustment, erasure, incident, joint_use"],
            "ja": ["ワークフロー nothing はありません", "entrustment、erasure、incident"],
        },
    )  # fmt: skip


@pytest.mark.parametrize("lang", LANGS)
def test_a_postgresql_server_that_does_not_answer_is_refused(
    run: Run, store: Path, lang: str
) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:1/none"
    expect_refusal(
        run, store, "list", user=CHIEF, lang=lang, db=url, code="storage.unreachable",
        phrases={"en": [f"Cannot use the database {url}"],
                 "ja": [f"データベース {url} を使えません"]},
    )  # fmt: skip


@pytest.mark.parametrize("lang", LANGS)
def test_a_sqlite_path_under_a_regular_file_is_refused(
    run: Run, store: Path, tmp_path: Path, lang: str
) -> None:
    regular = tmp_path / "regular"
    regular.write_text("not a folder")
    db = str(regular / "approvals.db")
    expect_refusal(
        run, store, "init", user=CHIEF, lang=lang, db=db, code="storage.unreachable",
        phrases={"en": ["Cannot use the database", str(regular), "cannot be made"],
                 "ja": ["を使えません", "を作れません"]},
    )  # fmt: skip
    assert regular.read_text() == "not a folder"


@pytest.mark.parametrize("lang", LANGS)
def test_a_read_on_a_store_that_does_not_exist_is_refused_and_creates_nothing(
    run: Run, store: Path, tmp_path: Path, lang: str
) -> None:
    db = tmp_path / "typo" / "approvals.db"
    expect_refusal(
        run, store, "list", user=CHIEF, lang=lang, db=str(db), code="storage.unreachable",
        phrases={"en": ["no store is there yet", "approvals init"],
                 "ja": ["まだ保存先がありません", "approvals init"]},
    )  # fmt: skip
    assert not db.parent.exists()


@pytest.mark.parametrize("lang", LANGS)
def test_a_roster_change_the_actor_may_not_make_is_refused(
    run: Run, store: Path, lang: str
) -> None:
    expect_refusal(
        run, store, "roster", "appoint", OTHER_STAFF, "manager", "-d", "sales", user=STAFF,
        lang=lang, code="roster.not_authorized",
        phrases={
            "en": [f"{STAFF} cannot appoint a personal information manager of sales",
                   "only the chief personal information officer may"],
            "ja": [STAFF, "個人情報管理者を選任できません"],
        },
    )  # fmt: skip
    expect_refusal(
        run, store, "roster", "dismiss", REPRESENTATIVE, "representative", user=REPRESENTATIVE,
        lang=lang, code="roster.last_representative",
        phrases={"en": ["the only representative"], "ja": ["唯一の代表者"]},
    )  # fmt: skip


@pytest.mark.parametrize("lang", LANGS)
def test_a_broken_workflow_file_is_refused_naming_the_file_and_the_key(
    run: Run, store: Path, tmp_path: Path, lang: str
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('id = "broken"\nversion = 1\n')
    expect_refusal(
        run, store, "workflows", "validate", str(broken), user=None, lang=lang,
        code="definition.invalid",
        phrases={"en": [str(broken), "prefix"], "ja": [str(broken), "prefix"]},
    )  # fmt: skip


def test_a_second_roster_on_an_established_store_is_refused(run: Run, store: Path) -> None:
    before = events(store)
    result = run("init", "--representative", "someone_else")
    sentence = one_sentence(result, "en")
    assert "already established with representative daihyo" in sentence
    assert result.stdout == ""
    assert events(store) == before


# -- usage errors ------------------------------------------------------------------------------

FILE_PURPOSE = ("file", "purpose", "--title", "x", "--department", "sales")


@pytest.mark.parametrize(
    ("args", "env", "said"),
    [
        pytest.param((*FILE_PURPOSE, "--set", "purpose"), {}, "is not KEY=VALUE", id="set-no-eq"),
        pytest.param((*FILE_PURPOSE, "--set", "=x"), {}, "is not KEY=VALUE", id="set-no-key"),
        pytest.param(
            (*FILE_PURPOSE, *sets(FILINGS["purpose"]), "--set", "purpose=Other"),
            {},
            "purpose is given twice",
            id="set-twice",
        ),
        pytest.param(("frobnicate",), {}, "No such command 'frobnicate'", id="unknown-command"),
        pytest.param(("roster", "frobnicate"), {}, "No such command", id="unknown-subcommand"),
        pytest.param(("list", "--as-of", "yesterday"), {}, "is not a moment", id="as-of"),
        pytest.param(("list", "--as-of", "2026-02-30"), {}, "is not a moment", id="as-of-date"),
        pytest.param(("--lang", "fr", "list"), {}, "'fr' is not one of", id="lang-option"),
        pytest.param(("list",), {"APPROVALS_LANG": "fr"}, "'fr' is not one of", id="lang-env"),
        pytest.param(("act", "NP-2026-0001"), {}, "Missing argument 'TRIGGER'", id="no-trigger"),
        pytest.param(("file", "purpose"), {}, "Missing option '--title'", id="no-title"),
        pytest.param(
            (*FILE_PURPOSE, "--attach", "missing.pdf"), {}, "does not exist", id="attach-missing"
        ),
        pytest.param(
            ("roster", "appoint", "x", "wizard"), {}, "'wizard' is not one of", id="unknown-role"
        ),
        pytest.param(("list", "--colour", "red"), {}, "No such option", id="unknown-option"),
    ],
)
def test_a_wrong_command_line_is_a_usage_error_with_exit_code_2(
    run: Run, store: Path, args: tuple[str, ...], env: dict[str, str], said: str
) -> None:
    before = events(store)
    result = run(*args, user=STAFF, env=env)
    assert result.exit_code == 2, describe(result)
    assert result.stdout == ""
    assert "Usage: approvals" in result.stderr
    assert "Error: " in result.stderr
    assert said in result.stderr
    assert "Traceback" not in result.stderr
    assert events(store) == before


def test_the_same_set_key_twice_with_the_same_value_is_accepted(run: Run) -> None:
    result = ok(run(*FILE_PURPOSE, *sets(FILINGS["purpose"]), "--set", "purpose=Newsletter to "
                    "customers", user=STAFF))  # fmt: skip
    assert result.stdout.startswith("Filed NP-")


# -- a decision lost to a concurrent one -------------------------------------------------------


class RacingClock:
    """The real clock, running ``interleave`` the first time it is read."""

    def __init__(self, interleave: Callable[[], object]) -> None:
        self.interleave: Callable[[], object] | None = interleave

    def __call__(self) -> datetime:
        moment = datetime.now(UTC)
        if self.interleave is not None:
            run, self.interleave = self.interleave, None
            run()
        return moment


@pytest.mark.parametrize(
    ("lang", "said"),
    [("en", "was changed by someone else"), ("ja", "は同時に他の人が変更しました")],
    ids=LANGS,
)
def test_a_decision_lost_to_a_concurrent_one_is_refused_and_only_the_winner_is_recorded(
    run: Run, store: Path, monkeypatch: pytest.MonkeyPatch, lang: str, said: str
) -> None:
    ref = file_case(run)
    ok(run("consult", ref, user=MANAGER))
    real_open = approvals.factory.open_approvals
    opened: list[str | None] = []

    def compete() -> None:
        other = real_open(f"sqlite:///{store}")
        try:
            other.act(ref, "reject", actor=CHIEF, comment="Consent cannot be shown.")
        finally:
            other.close()

    def racing_open(url: str | None = None, **options: Any) -> Any:
        opened.append(url)
        return real_open(url, clock=RacingClock(compete), **options)

    monkeypatch.setattr(approvals.factory, "open_approvals", racing_open)
    result = run("--json", "approve", ref, "-m", "Fine.", user=CHIEF, lang=lang)
    monkeypatch.undo()

    assert len(opened) == 1, "the command opened the store through approvals.factory"
    sentence = one_sentence(result, lang)
    assert ref in sentence
    assert said in sentence
    assert json.loads(result.stdout) == {"error": {"code": "conflict", "message": sentence}}
    history = data(run("--json", "history", ref, user=CHIEF))
    assert [(e["trigger"], e["comment"]) for e in history] == [
        ("file", ""),
        ("consult", ""),
        ("reject", "Consent cannot be shown."),
    ]


# -- the root options ----------------------------------------------------------------------------


def test_the_store_user_and_language_can_come_from_the_environment(store: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["inbox"],
        env={"APPROVALS_DB": str(store), "APPROVALS_USER": AUDITOR, "APPROVALS_LANG": "ja"},
        prog_name="approvals",
    )
    assert result.exit_code == 0, describe(result)
    assert result.stdout == "kansa の対応待ちはありません。\n"


def test_the_lang_option_says_the_language_and_wins_over_the_environment(run: Run) -> None:
    japanese = ok(run("--lang", "ja", "inbox", user=AUDITOR))
    assert japanese.stdout == "kansa の対応待ちはありません。\n"
    english = ok(run("--lang", "en", "inbox", user=AUDITOR, lang="ja"))
    assert english.stdout == "Nothing waits for kansa.\n"
    from_env = ok(run("inbox", user=AUDITOR, lang="ja"))
    assert from_env.stdout == japanese.stdout


def test_verbose_logs_one_structured_line_per_command_on_stderr(run: Run) -> None:
    ref = file_case(run)
    result = ok(run("-v", "consult", ref, user=MANAGER))
    assert result.stdout.startswith(f"{ref}: consult the chief recorded")
    logged = [json.loads(line) for line in result.stderr.splitlines()]
    acts = [line for line in logged if line["event"] == "case.act"]
    assert len(acts) == 1
    assert (acts[0]["case"], acts[0]["trigger"], acts[0]["actor"], acts[0]["outcome"]) == (
        ref,
        "consult",
        MANAGER,
        "recorded",
    )
    quiet = ok(run("withdraw", ref, user=STAFF))
    assert quiet.stderr == ""


def test_version_prints_the_version() -> None:
    result = CliRunner().invoke(cli, ["--version"], prog_name="approvals")
    assert result.exit_code == 0
    assert result.stdout.startswith("approvals, version ")


# -- help --------------------------------------------------------------------------------------

HELP: dict[tuple[str, ...], list[str]] = {
    ("init",): ["--representative NAME", "--grant ROLE"],
    ("demo",): ["approvals-demo.db"],
    ("roster",): ["appoint", "dismiss", "list", "register-key", "revoke-key", "keys"],
    ("roster", "appoint"): ["USER", "staff, handler, manager", "ROLE", "--department"],
    ("roster", "dismiss"): ["USER", "staff, handler, manager", "ROLE", "--department"],
    ("roster", "list"): ["--as-of WHEN"],
    ("roster", "register-key"): ["HOLDER FILE", "--service"],
    ("roster", "revoke-key"): ["KEY_ID"],
    ("roster", "keys"): [],
    ("keys",): ["new", "show"],
    ("keys", "new"): ["--service NAME"],
    ("keys", "show"): [],
    ("workflows",): ["list", "show", "validate", "diagram"],
    ("workflows", "list"): [],
    ("workflows", "show"): ["ID"],
    ("workflows", "validate"): ["[PATHS]..."],
    ("workflows", "diagram"): ["ID", "Mermaid"],
    ("file",): ["WORKFLOW", "--title", "--department", "--set KEY=VALUE", "--attach FILE"],
    ("act",): ["CASE TRIGGER", "--comment", "--set KEY=VALUE", "--check ITEM", "--attach FILE"],
    ("consult",): ["CASE", "--comment", "approvals act CASE consult"],
    ("approve",): ["CASE", "--comment", "approvals act CASE approve"],
    ("reject",): ["CASE", "--comment", "approvals act CASE reject"],
    ("return",): ["CASE", "--comment", "approvals act CASE return"],
    ("resubmit",): ["CASE", "--comment", "approvals act CASE resubmit"],
    ("withdraw",): ["CASE", "--comment", "approvals act CASE withdraw"],
    ("show",): ["CASE", "--as-of WHEN"],
    ("history",): ["CASE"],
    ("inbox",): [],
    ("remind",): ["--days", "--all"],
    ("list",): ["--workflow", "--state", "--department", "--as-of WHEN"],
    ("audit",): ["keygen", "checkpoint", "verify"],
    ("audit", "keygen"): ["--dir"],
    ("audit", "checkpoint"): ["--key FILE", "--dir"],
    ("audit", "verify"): [
        "--checkpoint FILE|DIR",
        "--key FILE",
        "--bundle DIR",
        "--limit",
        "--open-with FILE",
        "--open-with FILE",
    ],
    ("audit", "export"): ["--bundle DIR", "--format", "--from WHEN", "--to WHEN", "--seal-to FILE"],
    ("audit", "timeline"): ["CASE"],
    ("audit", "prove"): ["CASE|POSITION", "--checkpoint FILE", "RFC 9162"],
    ("audit", "report"): ["--year", "--format", "--out"],
    ("retention",): ["due", "show", "hold", "release", "approve", "dispose"],
    ("retention", "due"): ["--as-of WHEN"],
    ("retention", "show"): ["CASE"],
    ("retention", "hold"): ["CASE", "--reason"],
    ("retention", "release"): ["CASE", "--comment"],
    ("retention", "approve"): ["CASE", "--comment"],
    ("retention", "dispose"): ["CASE", "--method"],
    ("register",): ["cases", "vendors", "provisions", "receipts", "retention", "overdue"],
    ("register", "cases"): ["--workflow", "--state", "--department", "--limit N", "--csv"],
    ("register", "vendors"): ["--state", "--department", "--vendor", "--limit N", "--csv"],
    ("register", "provisions"): [
        "--kind",
        "--since",
        "--until",
        "--subject",
        "--limit N",
        "--csv",
    ],
    ("register", "receipts"): ["--since", "--until", "--provider TEXT", "--limit N", "--csv"],
    ("register", "retention"): ["--due", "--limit N", "--csv"],
    ("register", "overdue"): ["--running", "--department", "--limit N", "--csv"],
    ("projections",): ["status", "rebuild", "check", "follow"],
    ("projections", "status"): [],
    ("projections", "rebuild"): ["[NAME]..."],
    ("projections", "check"): ["[NAME]..."],
    ("projections", "follow"): ["--interval SECONDS", "--batch N"],
    ("upgrade",): ["--grant ROLE", "--check", "owner's URL", "approvals_upgrades"],
}


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    for name, command in group.commands.items():
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths += command_paths(command, (*prefix, name))
    return paths


def test_every_command_has_its_help_checked_here() -> None:
    assert sorted(command_paths(cli)) == sorted(HELP)


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_the_root_help_names_the_environment_the_default_store_and_the_exit_codes(
    flag: str,
) -> None:
    result = CliRunner().invoke(cli, [flag], env=HERMETIC_ENV, prog_name="approvals")
    assert result.exit_code == 0, describe(result)
    shown = result.stdout
    assert shown.startswith("Usage: approvals [OPTIONS] COMMAND [ARGS]...")
    for words in ["--db URL", "--user NAME", "--lang [en|ja]", "--json", "--verbose",
                  "APPROVALS_DB", "APPROVALS_USER", "APPROVALS_LANG",
                  "~/.local/share/approvals/approvals.db", "Exit codes", "0 done", "1 refused",
                  "2 usage error"]:  # fmt: skip
        assert words in shown, words
    for name in cli.commands:
        assert re.search(rf"^  {name}\s", shown, re.MULTILINE), name
    assert f"on {len(load_directory())} workflows" in " ".join(shown.split())


@pytest.mark.parametrize("path", list(HELP), ids=" ".join)
def test_every_command_explains_itself_with_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], env=HERMETIC_ENV, prog_name="approvals")
    assert result.exit_code == 0, describe(result)
    shown = result.stdout
    assert shown.startswith(f"Usage: approvals {' '.join(path)} ")
    for words in HELP[path]:
        assert words in shown, f"{words!r} not in the help of {' '.join(path)}:\n{shown}"
    assert "-h, --help" in shown


# -- demo --------------------------------------------------------------------------------------


def demo(*args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "demo"], env=HERMETIC_ENV, prog_name="approvals")


def test_demo_fills_a_fresh_file_and_shows_the_inbox_and_a_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Run
) -> None:
    monkeypatch.chdir(tmp_path)
    result = demo()
    assert result.exit_code == 0, describe(result)
    assert (tmp_path / "approvals-demo.db").is_file()
    shown = result.stdout
    assert f"Demo store: {tmp_path / 'approvals-demo.db'}" in shown
    assert "== Inbox of sato (chief)" in shown
    assert "== History of ENT-2026-0001" in shown
    assert re.search(r"^JU-2026-0002\s+approve\s", shown, re.MULTILINE)
    assert "returned and resubmitted" in shown
    assert "approvals --db approvals-demo.db --keys approvals-demo.keys --user sato inbox" in shown
    # Every event is signed, and each sample person acts with the key the demo made for them.
    from approvals.audit.writers import signature_findings

    app = open_approvals("sqlite:///approvals-demo.db", create=False)
    signed = signature_findings(app)
    app.close()
    assert (signed.findings, signed.signed_from) == ((), 1)
    approved = run("--keys", "approvals-demo.keys", "approve", "JU-2026-0002", "--comment",
                   "ok", user=CHIEF, db="approvals-demo.db")  # fmt: skip
    assert approved.exit_code == 0, describe(approved)

    def references() -> list[str]:
        listed = data(run("--json", "list", user=CHIEF, db="approvals-demo.db"))
        return [case["reference"] for case in listed]

    first = references()
    assert len(first) == 7
    again = demo("--lang", "ja")
    assert again.exit_code == 0, describe(again)
    assert "デモ用の保存先" in again.stdout
    assert "== sato(chief)の対応待ち" in again.stdout
    assert references() == first, "the second run replaced the file instead of adding to it"


def test_demo_replaces_a_leftover_file_of_the_same_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Run
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "approvals-demo.db").write_bytes(b"not a database")
    result = demo()
    assert result.exit_code == 0, describe(result)
    assert len(data(run("--json", "list", user=CHIEF, db="approvals-demo.db"))) == 7


def test_demo_with_json_prints_the_chiefs_inbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = demo("--json")
    assert result.exit_code == 0, describe(result)
    inbox = json.loads(result.stdout)
    assert all(set(item) == INBOX_KEYS for item in inbox)
    assert [(i["reference"], i["trigger"]) for i in inbox] == [
        ("JU-2026-0002", "approve"),
        ("JU-2026-0002", "reject"),
        ("JU-2026-0002", "return"),
    ]
    assert {i["role"] for i in inbox} == {"chief"}


# -- shell completion ------------------------------------------------------------------------


def completion_context(
    db: str, command_name: str, user: str = CHIEF, **params: Any
) -> click.Context:
    """The context a completion runs in; only someone on the roster is offered anything."""
    root = click.Context(cli, info_name="approvals")
    root.params.update(db=db, user=user)
    command = cli.commands[command_name]
    context = click.Context(command, parent=root, info_name=command_name)
    context.params.update(params)
    return context


def parameter(context: click.Context, name: str) -> click.Parameter:
    return next(p for p in context.command.params if p.name == name)


def test_a_case_reference_completes_from_what_was_typed(run: Run, store: Path) -> None:
    purpose = file_case(run)
    entrustment = file_case(run, "entrustment", title="Scanning")
    run("list", user=CHIEF)  # completion reads the read models: caught up by any list
    context = completion_context(str(store), "show")
    reference = parameter(context, "reference")

    def offered(typed: str) -> list[str]:
        return [item.value for item in complete_case(context, reference, typed)]

    assert offered("") == [purpose, entrustment]
    assert offered("EN") == [entrustment]
    assert offered("np") == [purpose]
    assert offered("TP") == []


def test_the_triggers_offered_are_the_next_steps_the_person_can_take(run: Run, store: Path) -> None:
    ref = file_case(run)
    ok(run("consult", ref, user=MANAGER))
    next_steps = data(run("--json", "show", ref, user=CHIEF))["next_steps"]
    run("list", user=CHIEF)  # completion reads the read models: caught up by any list
    context = completion_context(str(store), "act", reference=ref)
    trigger = parameter(context, "trigger")

    offered = complete_trigger(context, trigger, "")
    assert [item.value for item in offered] == [
        step["trigger"] for step in next_steps if CHIEF in step["people"]
    ]
    assert [item.value for item in offered] == ["approve", "reject", "return"]  # not withdraw
    assert offered[0].help == "approve"
    assert [item.value for item in complete_trigger(context, trigger, "re")] == [
        "reject",
        "return",
    ]
    unknown = completion_context(str(store), "act", reference="NP-1999-0001")
    assert complete_trigger(unknown, trigger, "") == []


def bash_complete(words: str, env: dict[str, str | None] | None = None) -> list[str]:
    result = CliRunner().invoke(
        cli,
        [],
        env={
            **HERMETIC_ENV,
            "APPROVALS_USER": CHIEF,
            "_APPROVALS_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(shlex.split(words)) - (0 if words.endswith(" ") else 1)),
            **(env or {}),
        },
        prog_name="approvals",
    )
    assert result.exit_code == 0, describe(result)
    return result.stdout.splitlines()


def test_bash_completion_offers_references_and_the_steps_a_case_allows(
    run: Run, store: Path
) -> None:
    ref = file_case(run)
    run("list", user=CHIEF)  # completion reads the read models: caught up by any list
    db = shlex.quote(str(store))
    manager = {"APPROVALS_USER": MANAGER}
    assert bash_complete(f"approvals --db {db} consult NP", env=manager) == [f"plain,{ref}"]
    assert not any(bash_complete(f"approvals --db {db} approve NP"))  # not consulted yet
    assert bash_complete(f"approvals --db {db} act {ref} ", env=manager) == [
        "plain,consult",
        "plain,return",
    ]
    from_env = bash_complete(
        f"approvals act {ref} w", env={"APPROVALS_DB": str(store), "APPROVALS_USER": STAFF}
    )
    assert from_env == ["plain,withdraw"]  # the filer's own step


def test_completing_against_a_store_that_does_not_exist_offers_nothing_and_creates_nothing(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "typo" / "approvals.db"
    context = completion_context(str(missing), "show")
    assert complete_case(context, parameter(context, "reference"), "") == []
    assert not missing.exists(), "tab completion created a database file"
    assert not missing.parent.exists(), "tab completion created a folder"
