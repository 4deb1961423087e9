"""Refusals and help that say what to type: a missing field names ``--set KEY=…`` with its label
and kind, a missing checklist item names ``--check ITEM``, ``show`` lists the two apart,
``workflows show`` lists what filing and each step need, and the sentences read well in both
languages (issue 20, item 2)."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest

from approvals import JST
from approvals.cli.text import say
from approvals.demo import AUDITOR, CHIEF, MANAGER, STAFF
from approvals.errors import fill
from approvals.messages import MESSAGES
from tests.cli.conftest import Run
from tests.cli.test_commands import describe, file_case, ok

LANGS = ("en", "ja")

# -- refusals of missing fields and checklist items ------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_a_filing_without_its_fields_names_each_set_flag_with_its_label_and_kind(
    run: Run, lang: str
) -> None:
    result = run("file", "purpose", "--title", "T", "--department", "sales", user=STAFF, lang=lang)
    assert result.exit_code == 1, describe(result)
    said = result.stderr
    for key in ("purpose", "data_items", "data_subjects"):
        assert f"--set {key}=…" in said, said
    label = "Purpose of collection" if lang == "en" else "収集目的"
    kind = "text" if lang == "en" else "文字列"
    assert label in said, said
    assert kind in said, said
    assert "Traceback" not in said


def _today() -> str:
    return datetime.now(JST).date().isoformat()


def _approved(run: Run) -> str:
    ref = file_case(run)
    ok(run("consult", ref, user=MANAGER))
    ok(run("approve", ref, user=CHIEF))
    return ref


@pytest.mark.parametrize("lang", LANGS)
def test_a_step_without_its_checklist_names_each_check_flag(run: Run, lang: str) -> None:
    ref = _approved(run)
    result = run(
        "act", ref, "record_measures", "--set", f"effective_date={_today()}", user=CHIEF, lang=lang
    )
    assert result.exit_code == 1, describe(result)
    for item in ("contact", "purpose", "third_party", "notice_given"):
        assert f"--check {item}" in result.stderr, result.stderr


def test_a_step_without_its_field_names_the_set_flag(run: Run) -> None:
    ref = _approved(run)
    result = run("act", ref, "record_measures", user=CHIEF)
    assert result.exit_code == 1, describe(result)
    assert "--set effective_date=…" in result.stderr, result.stderr
    assert "date" in result.stderr


def test_json_refusals_carry_the_missing_keys_as_lists(run: Run) -> None:
    result = run("--json", "file", "purpose", "--title", "T", "--department", "sales", user=STAFF)
    assert result.exit_code == 1, describe(result)
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "evidence.fields"
    assert error["missing"] == {
        "fields": ["purpose", "data_items", "data_subjects"],
        "checklist": [],
    }
    ref = _approved(run)
    result = run(
        "--json", "act", ref, "record_measures", "--set", f"effective_date={_today()}", user=CHIEF
    )
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "evidence.checklist"
    assert error["missing"]["fields"] == []
    assert "notice_given" in error["missing"]["checklist"]


# -- show ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_show_lists_the_fields_to_set_and_the_items_to_check_apart(run: Run, lang: str) -> None:
    ref = _approved(run)
    shown = ok(run("show", ref, user=AUDITOR, lang=lang)).stdout
    lines = shown.splitlines()
    fields = [line for line in lines if "--set effective_date=…" in line]
    items = [line for line in lines if "--check purpose" in line]
    assert fields, shown
    assert items, shown
    assert fields[0] != items[0]
    assert not any("--set" in line and "--check" in line for line in lines), shown
    assert "needs: effective_date" not in shown


# -- workflows show --------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_workflows_show_lists_what_filing_and_each_step_need(run: Run, lang: str) -> None:
    shown = ok(run("workflows", "show", "purpose", lang=lang)).stdout
    for key in ("purpose", "data_items", "data_subjects", "effective_date"):
        assert f"--set {key}=…" in shown, shown
    assert "--check notice_given" in shown
    role = "chief personal information officer" if lang == "en" else "個人情報管理責任者"
    assert role in shown
    covers = "approval covers" if lang == "en" else "承認の対象"
    assert covers in shown, shown


def test_workflows_show_as_json_gives_the_filing_fields(run: Run) -> None:
    shown = json.loads(ok(run("--json", "workflows", "show", "purpose")).stdout)
    assert shown["file"]["fields"] == ["purpose", "data_items", "data_subjects"]
    assert shown["file"]["role"] == "staff"


# -- grammar that was seen -------------------------------------------------------------------


def test_a_person_off_the_roster_is_refused_in_a_sentence_without_a_double_negative(
    run: Run,
) -> None:
    result = run("inbox", user="nobody")
    assert result.exit_code == 1
    assert "nobody is not on the roster, so is refused" not in result.stderr
    assert "nobody" in result.stderr
    assert result.stderr.strip().endswith(".")


def test_who_may_appoint_is_named_with_its_article(run: Run) -> None:
    result = run("roster", "appoint", "x", "chief", user="root")
    said = run("roster", "appoint", "x", "chief", user=STAFF).stderr
    assert "only the representative may." in said, said
    assert result.exit_code == 1
    said = run("roster", "appoint", "x", "staff", "--department", "hr", user=STAFF).stderr
    assert "only the department's manager or the chief personal information officer may" in said


def test_counts_agree_with_their_noun_and_have_thousands_separators() -> None:
    assert "1 checkpoint." in say("audit.walked", "en", events=12, root="ab", checkpoints=1)
    assert "150,009 events read" in say("projections.rebuilt", "en", models="all", events=150009)
    assert "150,009 件" in say("projections.rebuilt", "ja", models="all", events=150009)


# -- every message, rendered -----------------------------------------------------------------

# Parameters that are counts: rendered with 1 and a large number, they must agree and be
# separated.
COUNTS = {
    "count", "size", "events", "cases", "shown", "left", "limit", "length", "checkpoints",
    "years", "overdue", "soon", "days", "amount",
}  # fmt: skip


def _sample(name: str, number: int) -> object:
    if name in COUNTS:
        return number
    return f"<{name}>"


def _templates() -> list[tuple[str, str, str]]:
    return [(code, lang, text) for code, texts in MESSAGES.items() for lang, text in texts.items()]


@pytest.mark.parametrize(("code", "lang", "template"), _templates())
@pytest.mark.parametrize("number", [1, 150009])
def test_every_message_renders_as_a_sentence(
    code: str, lang: str, template: str, number: int
) -> None:
    names = set(re.findall(r"{(\w+)", template))
    text = fill(template, lang, {name: _sample(name, number) for name in names})
    assert not re.search(r"{\w+", text), text
    assert "  " not in text, text
    assert "150009" not in text, text
    nouns = "finding|event|case|checkpoint|character|year|day|row"
    assert not re.search(rf"\b1 (?:{nouns})s\b", text), text
    assert not re.search(rf"\b150,009 (?:{nouns})\b", text), text
    if code != "error":
        end = "。" if lang == "ja" else "."
        assert text.endswith(end), text
