"""The definition loader: the reference workflows load, and every broken file is refused.

Each refusal test starts from ``VALID``, a small definition that loads, breaks exactly one thing
in it and checks that the :class:`DefinitionError` names the file and the offending key.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from approvals.definitions import (
    builtin_workflows_dir,
    find_workflow,
    load_directory,
    load_file,
    parse_definition,
)
from approvals.domain.workflow import Duration, Workflow
from approvals.errors import DefinitionError, WorkflowNotFound

REFERENCE_IDS = (
    "beyond_purpose", "entrustment", "erasure", "incident", "joint_use", "method", "provision",
    "purpose", "request", "sending", "subcontracting", "take_out",
)  # fmt: skip
BROKEN = "broken.toml"

VALID = """\
id = "sample"
version = 1
prefix = "SMP"
title = { en = "Sample", ja = "見本" }
initial = "draft"

[file]
role = "staff"
fields = ["vendor"]

[retention]
starts_on = ["approved", "rejected"]
years = 7

[fields.vendor]
label = { en = "Vendor", ja = "委託先" }
[fields.signed]
label = { en = "Signed", ja = "署名済み" }
kind = "bool"

[checklist.clause]
label = { en = "Clause present", ja = "条項あり" }

[states.draft]
label = { en = "draft", ja = "下書き" }
[states.review]
label = { en = "under review", ja = "審査中" }
[states.approved]
label = { en = "approved", ja = "承認済み" }
terminal = true
[states.rejected]
label = { en = "rejected", ja = "却下" }
terminal = true

[[steps]]
trigger = "submit"
from = "draft"
to = "review"
role = "staff"
label = { en = "submit", ja = "提出" }

[[steps]]
trigger = "approve"
from = "review"
to = "approved"
role = "chief"
label = { en = "approve", ja = "承認" }
fields = ["signed"]
checklist = ["clause"]
expect = { signed = true }

[[steps]]
trigger = "reject"
from = "review"
to = "rejected"
role = "manager"
label = { en = "reject", ja = "却下" }

[[deadlines]]
id = "decision"
label = { en = "decision", ja = "判断" }
states = ["review"]
within = { business_days = 5 }
"""


def broken(old: str, new: str) -> str:
    """Return ``VALID`` with its only occurrence of ``old`` replaced by ``new``."""
    assert VALID.count(old) == 1, f"{old!r} must occur exactly once in VALID"
    return VALID.replace(old, new)


def refusal(text: str) -> DefinitionError:
    """Parse ``text`` as the file ``broken.toml`` and return the error it is refused with."""
    with pytest.raises(DefinitionError) as caught:
        parse_definition(text, BROKEN)
    return caught.value


def assert_names(error: DefinitionError, key: str, problem: str = "") -> None:
    """Check that ``error`` names ``broken.toml`` and exactly ``key`` (and ``problem``)."""
    message = str(error)
    assert error.params["file"] == BROKEN, message
    assert error.params["key"] == key, message
    assert BROKEN in message
    assert key in message
    assert problem in message


@pytest.fixture(scope="module")
def reference_workflows() -> dict[str, Workflow]:
    return load_directory()


# -- the reference workflows -------------------------------------------------------------


def test_the_reference_workflows_load_from_the_default_folder(
    reference_workflows: dict[str, Workflow],
) -> None:
    assert sorted(reference_workflows) == list(REFERENCE_IDS)


@pytest.mark.parametrize("workflow_id", REFERENCE_IDS)
def test_a_reference_workflow_carries_the_sha256_of_its_file_bytes(
    reference_workflows: dict[str, Workflow], workflow_id: str
) -> None:
    workflow = reference_workflows[workflow_id]
    path = builtin_workflows_dir() / f"{workflow_id}.toml"
    assert Path(workflow.path) == path
    assert workflow.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("workflow_id", REFERENCE_IDS)
def test_every_non_terminal_reference_state_has_a_step_and_no_terminal_state_has_one(
    reference_workflows: dict[str, Workflow], workflow_id: str
) -> None:
    workflow = reference_workflows[workflow_id]
    for name, state in workflow.states.items():
        if state.terminal:
            assert workflow.allowed(name) == (), name
        else:
            assert workflow.allowed(name), name


# -- the definition the refusals start from ----------------------------------------------


def test_the_small_definition_the_refusals_start_from_is_valid() -> None:
    workflow = parse_definition(VALID, "sample.toml")
    assert workflow.id == "sample"
    assert workflow.path == "sample.toml"
    assert [step.trigger for step in workflow.allowed("review")] == ["approve", "reject"]
    assert workflow.sha256 == hashlib.sha256(VALID.encode("utf-8")).hexdigest()


# -- refusals: keys ----------------------------------------------------------------------


def test_an_unknown_top_level_key_is_refused_naming_the_file_and_the_key() -> None:
    error = refusal(broken("version = 1\n", 'version = 1\ncolour = "blue"\n'))
    assert_names(error, "colour", "unknown key")


def test_an_unknown_key_inside_a_state_is_refused_naming_the_state_and_the_key() -> None:
    error = refusal(
        broken(
            '[states.review]\nlabel = { en = "under review", ja = "審査中" }\n',
            '[states.review]\nlabel = { en = "under review", ja = "審査中" }\ncolour = "red"\n',
        )
    )
    assert_names(error, "states.review.colour", "unknown key")


# -- refusals: states and the graph ------------------------------------------------------


def test_a_step_going_to_an_unknown_state_is_refused_naming_the_steps_to() -> None:
    error = refusal(broken('to = "approved"', 'to = "nowhere"'))
    assert_names(error, "steps[1] (approve).to", "'nowhere'")


def test_a_step_leaving_an_unknown_state_is_refused_naming_the_steps_from() -> None:
    error = refusal(broken('from = "review"\nto = "approved"', 'from = "limbo"\nto = "approved"'))
    assert_names(error, "steps[1] (approve).from", "'limbo'")


def test_an_unreachable_state_is_refused_naming_the_state() -> None:
    error = refusal(VALID + '[states.orphan]\nlabel = { en = "orphan", ja = "孤児" }\n')
    assert_names(error, "states.orphan", "cannot be reached")


def test_a_non_terminal_state_without_a_step_out_is_refused_as_a_dead_end() -> None:
    error = refusal(
        broken(
            '[states.rejected]\nlabel = { en = "rejected", ja = "却下" }\nterminal = true\n',
            '[states.rejected]\nlabel = { en = "rejected", ja = "却下" }\n',
        )
    )
    assert_names(error, "states.rejected", "dead end")


def test_a_cycle_with_no_way_out_to_a_terminal_state_is_refused_naming_its_first_state() -> None:
    cycle = """
[states.ping]
label = { en = "ping", ja = "ピン" }
[states.pong]
label = { en = "pong", ja = "ポン" }

[[steps]]
trigger = "park"
from = "review"
to = "ping"
role = "manager"
label = { en = "park", ja = "保留" }

[[steps]]
trigger = "bounce"
from = "ping"
to = "pong"
role = "manager"
label = { en = "bounce", ja = "往復" }

[[steps]]
trigger = "bounce"
from = "pong"
to = "ping"
role = "manager"
label = { en = "bounce", ja = "往復" }
"""
    error = refusal(VALID + cycle)
    assert_names(error, "states.ping", "never reach a terminal state")


def test_a_terminal_state_with_a_step_out_of_it_is_refused_naming_the_steps_from() -> None:
    reopen = """
[[steps]]
trigger = "reopen"
from = "approved"
to = "review"
role = "chief"
label = { en = "reopen", ja = "再開" }
"""
    error = refusal(VALID + reopen)
    assert_names(error, "steps[3] (reopen).from", "'approved'")


def test_an_initial_state_that_is_not_declared_is_refused_naming_initial() -> None:
    error = refusal(broken('initial = "draft"', 'initial = "start"'))
    assert_names(error, "initial", "'start'")


# -- refusals: steps ---------------------------------------------------------------------


def test_a_step_without_a_role_is_refused_naming_the_steps_role() -> None:
    error = refusal(
        broken(
            'role = "staff"\nlabel = { en = "submit", ja = "提出" }',
            'label = { en = "submit", ja = "提出" }',
        )
    )
    assert_names(error, "steps[0] (submit).role", "is missing")


@pytest.mark.parametrize("role", ["auditor", "representative"])
def test_a_step_given_a_role_that_may_not_act_is_refused_naming_the_steps_role(
    role: str,
) -> None:
    error = refusal(broken('role = "manager"', f'role = "{role}"'))
    assert_names(error, "steps[2] (reject).role", f"'{role}'")


def test_the_same_trigger_defined_twice_from_one_state_is_refused_naming_the_trigger() -> None:
    again = """
[[steps]]
trigger = "reject"
from = "review"
to = "draft"
role = "manager"
label = { en = "reject again", ja = "再却下" }
"""
    error = refusal(VALID + again)
    assert_names(error, "steps[3] (reject).trigger", "'review'")


def test_a_step_with_an_empty_from_list_is_refused_naming_the_steps_from() -> None:
    nowhere = """
[[steps]]
trigger = "skip"
from = []
to = "approved"
role = "chief"
label = { en = "skip", ja = "省略" }
"""
    error = refusal(VALID + nowhere)
    assert_names(error, "steps[3] (skip).from")


def test_an_upper_case_id_is_refused_as_not_a_lower_case_identifier() -> None:
    error = refusal(broken('id = "sample"', 'id = "Sample"'))
    assert_names(error, "id", "'Sample'")


# -- refusals: evidence ------------------------------------------------------------------


def test_a_checklist_item_used_by_a_step_but_not_declared_is_refused() -> None:
    error = refusal(broken('checklist = ["clause"]', 'checklist = ["clause", "witness"]'))
    assert_names(error, "steps[1] (approve).checklist", "'witness'")


def test_a_field_asked_for_on_filing_but_not_declared_is_refused_naming_file_fields() -> None:
    error = refusal(broken('fields = ["vendor"]', 'fields = ["vendor", "budget"]'))
    assert_names(error, "file.fields", "'budget'")


def test_a_field_asked_for_by_a_step_but_not_declared_is_refused_naming_its_fields() -> None:
    error = refusal(broken('fields = ["signed"]', 'fields = ["signed", "budget"]'))
    assert_names(error, "steps[1] (approve).fields", "'budget'")


def test_an_expect_naming_an_undeclared_field_is_refused_naming_that_expectation() -> None:
    error = refusal(broken("expect = { signed = true }", "expect = { signed = true, budget = 3 }"))
    assert_names(error, "steps[1] (approve).expect.budget", "unknown key")


def test_a_field_of_an_unknown_kind_is_refused_naming_its_kind() -> None:
    error = refusal(broken('kind = "bool"', 'kind = "boolean"'))
    assert_names(error, "fields.signed.kind", "'boolean'")


def test_a_choice_field_without_choices_is_refused_naming_its_choices() -> None:
    error = refusal(broken('kind = "bool"', 'kind = "choice"'))
    assert_names(error, "fields.signed.choices", "'choice'")


# -- refusals: deadlines and retention ---------------------------------------------------


def test_a_deadline_given_in_two_units_is_refused_naming_its_within() -> None:
    error = refusal(
        broken("within = { business_days = 5 }", "within = { business_days = 5, days = 7 }")
    )
    assert_names(error, "deadlines[0].within", "exactly one")


@pytest.mark.parametrize(
    ("within", "key", "problem"),
    [
        ('within = "soon"', "deadlines[0].within", "'soon' is not a term"),
        ("within = { weeks = 1 }", "deadlines[0].within.weeks", "unknown key"),
        ("within = { minutes = -5 }", "deadlines[0].within.minutes", "at least 0"),
    ],
)
def test_a_deadline_in_no_known_unit_or_term_is_refused_naming_its_within(
    within: str, key: str, problem: str
) -> None:
    assert_names(refusal(broken("within = { business_days = 5 }", within)), key, problem)


def test_a_deadline_may_be_given_in_minutes_or_in_one_of_the_regulations_terms() -> None:
    for within, duration in [
        ("within = { minutes = 60 }", Duration(60, "minutes")),
        ('within = "immediately"', Duration(0, "immediately")),
        ('within = "without_delay"', Duration(0, "without_delay")),
        ("within = { years = 1 }", Duration(1, "years")),
    ]:
        workflow = parse_definition(broken("within = { business_days = 5 }", within), BROKEN)
        assert workflow.deadlines[0].within == duration


@pytest.mark.parametrize(
    ("extra", "key", "problem"),
    [
        ('from = ["signed"]', "deadlines[0].from", "not a date or datetime"),
        ('until = "signed_at"', "deadlines[0].until", "'signed_at', which is not declared"),
        ('when = { signed = "maybe" }', "deadlines[0].when.signed", "'maybe'"),
        ("unless = { budget = 3 }", "deadlines[0].unless.budget", "unknown key"),
    ],
)
def test_a_deadline_clock_on_a_wrong_field_is_refused_naming_the_key(
    extra: str, key: str, problem: str
) -> None:
    text = broken("within = { business_days = 5 }", f"within = {{ business_days = 5 }}\n{extra}")
    assert_names(refusal(text), key, problem)


@pytest.mark.parametrize(
    ("within", "extra", "problem"),
    [
        ("{ years = 1 }", "periodic = true", "needs restart_on"),
        ('"promptly"', 'periodic = true\nrestart_on = ["submit"]', "not a term"),
        ("{ days = 0 }", 'periodic = true\nrestart_on = ["submit"]', "more than zero"),
        ("{ years = 1 }", 'periodic = "yes"\nrestart_on = ["submit"]', "true or false"),
    ],
)
def test_a_periodic_deadline_needs_a_step_that_meets_each_period_and_a_span(
    within: str, extra: str, problem: str
) -> None:
    text = broken("within = { business_days = 5 }", f"within = {within}\n{extra}")
    assert_names(refusal(text), "deadlines[0].periodic", problem)
    fine = broken(
        "within = { business_days = 5 }",
        'within = { years = 1 }\nperiodic = true\nrestart_on = ["submit"]',
    )
    assert parse_definition(fine, BROKEN).deadlines[0].periodic


def test_a_case_field_names_the_workflow_of_the_case_it_refers_to() -> None:
    error = refusal(broken('kind = "bool"', 'kind = "case"'))
    assert_names(error, "fields.signed.workflow", "kind 'case'")
    error = refusal(broken('kind = "bool"', 'kind = "text"\nworkflow = "entrustment"'))
    assert_names(error, "fields.signed.workflow", "only for it")


def test_a_deadline_running_in_an_unknown_state_is_refused_naming_its_states() -> None:
    error = refusal(broken('states = ["review"]', 'states = ["review", "appeal"]'))
    assert_names(error, "deadlines[0].states", "'appeal'")


def test_a_retention_starting_on_an_unknown_state_is_refused_naming_starts_on() -> None:
    error = refusal(
        broken('starts_on = ["approved", "rejected"]', 'starts_on = ["approved", "archived"]')
    )
    assert_names(error, "retention.starts_on", "'archived'")


# -- refusals: syntax and the header -----------------------------------------------------


def test_text_that_is_not_valid_toml_is_refused_naming_the_file() -> None:
    error = refusal(broken("version = 1\n", "version = \n"))
    assert_names(error, "(syntax)", "not valid TOML")


def test_a_label_without_its_japanese_text_is_refused_naming_the_missing_ja() -> None:
    error = refusal(
        broken('label = { en = "under review", ja = "審査中" }', 'label = { en = "under review" }')
    )
    assert_names(error, "states.review.label.ja", "is missing")


@pytest.mark.parametrize("version", ["0", "-1", '"1"', "1.5", "true"])
def test_a_version_that_is_not_a_whole_number_of_at_least_one_is_refused(version: str) -> None:
    error = refusal(broken("version = 1\n", f"version = {version}\n"))
    assert_names(error, "version", "whole number")


def test_a_lower_case_prefix_is_refused_naming_the_prefix() -> None:
    error = refusal(broken('prefix = "SMP"', 'prefix = "smp"'))
    assert_names(error, "prefix", "upper-case")


def test_a_refusal_rendered_in_japanese_names_the_same_file_and_key() -> None:
    error = refusal(VALID + '[states.orphan]\nlabel = { en = "orphan", ja = "孤児" }\n')
    japanese = error.render("ja")
    assert BROKEN in japanese
    assert "states.orphan" in japanese
    assert japanese != str(error)
    assert "到達できません" in japanese


# -- folders and files -------------------------------------------------------------------


def test_two_files_with_the_same_id_are_refused_naming_the_second_file(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(VALID, encoding="utf-8")
    second = tmp_path / "b.toml"
    second.write_text(broken('prefix = "SMP"', 'prefix = "OTH"'), encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_directory(tmp_path)
    assert caught.value.params["file"] == str(second)
    assert caught.value.params["key"] == "id"
    assert str(second) in str(caught.value)
    assert str(tmp_path / "a.toml") in str(caught.value)


def test_two_files_with_the_same_prefix_are_refused_naming_the_second_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.toml").write_text(VALID, encoding="utf-8")
    second = tmp_path / "b.toml"
    second.write_text(broken('id = "sample"', 'id = "other"'), encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_directory(tmp_path)
    assert caught.value.params["file"] == str(second)
    assert caught.value.params["key"] == "prefix"
    assert str(second) in str(caught.value)
    assert "SMP" in str(caught.value)


def test_a_folder_that_does_not_exist_is_refused_naming_the_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DefinitionError) as caught:
        load_directory(missing)
    assert caught.value.params["file"] == str(missing)
    assert str(missing) in str(caught.value)
    assert "(folder)" in str(caught.value)


def test_a_file_that_is_not_utf_8_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "shift_jis.toml"
    path.write_bytes(VALID.encode("shift_jis"))
    with pytest.raises(DefinitionError) as caught:
        load_file(path)
    assert caught.value.params["file"] == str(path)
    assert caught.value.params["key"] == "(file)"
    assert str(path) in str(caught.value)
    assert "UTF-8" in str(caught.value)


# -- looking a workflow up ---------------------------------------------------------------


def test_an_unknown_workflow_id_is_refused_listing_the_known_ids(
    reference_workflows: dict[str, Workflow],
) -> None:
    with pytest.raises(WorkflowNotFound) as caught:
        find_workflow(reference_workflows, "nope")
    message = str(caught.value)
    assert "nope" in message
    for workflow_id in REFERENCE_IDS:
        assert workflow_id in message
    assert find_workflow(reference_workflows, "purpose") is reference_workflows["purpose"]


def test_a_date_order_naming_a_field_that_is_not_a_date_is_refused() -> None:
    source = VALID.replace("initial = ", 'date_order = [["nope", "other"]]\ninitial = ', 1)
    with pytest.raises(
        DefinitionError, match=r"date_order\[0\]: 'nope' is not a declared date field"
    ):
        parse_definition(source, "broken.toml")


def test_a_fresh_field_must_be_one_the_step_records() -> None:
    error = refusal(broken('fields = ["signed"]', 'fields = ["signed"]\nfresh = ["vendor"]'))
    assert_names(
        error,
        "steps[1] (approve).fresh",
        "'vendor', which is none of the step's fields or checklist items",
    )
    fine = broken('fields = ["signed"]', 'fields = ["signed"]\nfresh = ["signed"]')
    assert parse_definition(fine, BROKEN).steps[("review", "approve")].fresh == ("signed",)
