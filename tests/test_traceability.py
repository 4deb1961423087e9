"""The traceability table (docs/traceability.md) stays true: the tests it cites exist, the
workflow steps, deadlines, fields, checklist items and engine rules it names exist, and every
article of the regulation a workflow cites has its row."""

from __future__ import annotations

import ast
import importlib
import re
from functools import cache
from pathlib import Path

from approvals.definitions import load_directory
from approvals.domain.workflow import Workflow

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "traceability.md").read_text(encoding="utf-8")
WORKFLOWS = load_directory(ROOT / "workflows")

SEED_004 = "Seed 004 (the company regulation)"
VENDORS = "Vendor duties (seeds 000–003)"
CANNOT = "What the engine cannot record, and why"

NODE_ID = re.compile(r"(tests/[\w/]+\.py)::(\w+)")
CODE = re.compile(r"`([^`\n]+)`")
# `workflow:trigger`, `workflow/deadline:id`, `workflow/field:name`, `workflow/checklist:item`,
# `workflow/state:name`; any code span of this shape is a reference and must hold.
REFERENCE = re.compile(r"(?P<workflow>[a-z_]+)(?:/(?P<kind>[a-z]+))?:(?P<name>[a-z0-9_]+)")
DEFINITION_FILE = re.compile(r"(?P<workflow>[a-z_]+)\.toml")
SYMBOL = re.compile(r"approvals(?:\.[A-Za-z_]\w*)+")
ARTICLE = re.compile(r"Art\.\d+(?:-\d+)?(?:\(\d+\))?")


def section(title: str) -> str:
    """The text under the heading ``## title``, up to the next heading of that level."""
    parts = re.split(r"^## ", DOC, flags=re.MULTILINE)
    (found,) = [part for part in parts if part.startswith(title + "\n")]
    return found


def rows(title: str) -> list[list[str]]:
    """The cells of each row of the section's table (the header and the rule left out)."""
    lines = [line for line in section(title).splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[2:]]


def code_spans(text: str | None = None) -> list[str]:
    """The contents of the inline code spans of ``text`` (default: the whole page)."""
    return CODE.findall(DOC if text is None else text)


@cache
def defined_tests(path: str) -> frozenset[str]:
    """The names of the test functions defined in the file, read with ``ast``."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"), filename=path)
    return frozenset(
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    )


def has(workflow: Workflow, kind: str, name: str) -> bool:
    """Whether ``workflow`` holds the ``kind`` called ``name`` (kind "" is a step trigger)."""
    known = {
        "": set(workflow.triggers),
        "deadline": {deadline.name for deadline in workflow.deadlines},
        "field": set(workflow.fields),
        "checklist": set(workflow.checklist),
        "state": set(workflow.states),
    }
    return name in known.get(kind, set())


def resolves(dotted: str) -> bool:
    """Whether ``dotted`` is a module of approvals, or an attribute reached from one."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(target, name):
                return False
            target = getattr(target, name)
        return True
    return False


def seed_004_articles() -> set[str]:
    """The articles of the regulation (``Art.…``) the workflow definitions cite."""
    cited: set[str] = set()
    for workflow in WORKFLOWS.values():
        cited.update(workflow.articles, workflow.retention.articles)
        for step in workflow.steps.values():
            cited.update(step.articles)
        for deadline in workflow.deadlines:
            cited.update(deadline.articles)
    return {article for article in cited if article.startswith("Art.")}


def test_the_page_has_its_three_tables_of_three_columns() -> None:
    for title in (SEED_004, VENDORS, CANNOT):
        table = rows(title)
        assert table, f"the section {title!r} has no rows"
        for row in table:
            assert len(row) == 3, f"{title}: a row without exactly three cells: {row}"


def test_every_row_cites_a_test_or_says_none() -> None:
    for title in (SEED_004, VENDORS, CANNOT):
        for article, _engine, tests in rows(title):
            assert NODE_ID.search(tests) or tests == "—", f"{title}: {article} cites no test"


def test_every_cited_test_exists() -> None:
    cited = NODE_ID.findall(DOC)
    assert cited
    missing = [
        f"{path}::{name}"
        for path, name in cited
        if not (ROOT / path).is_file() or name not in defined_tests(path)
    ]
    assert missing == []


def test_every_workflow_reference_names_what_the_definitions_hold() -> None:
    references = [match for span in code_spans() if (match := REFERENCE.fullmatch(span))]
    assert references
    wrong = [
        match.group(0)
        for match in references
        if match["workflow"] not in WORKFLOWS
        or not has(WORKFLOWS[match["workflow"]], match["kind"] or "", match["name"])
    ]
    assert wrong == []


def test_every_definition_file_named_is_a_workflow_of_that_id() -> None:
    named = [match for span in code_spans() if (match := DEFINITION_FILE.fullmatch(span))]
    assert {match["workflow"] for match in named} == set(WORKFLOWS)
    for match in named:
        workflow = WORKFLOWS[match["workflow"]]
        assert Path(workflow.path).name == match.group(0)


def test_every_engine_rule_named_resolves() -> None:
    named = [span for span in code_spans() if SYMBOL.fullmatch(span)]
    assert named
    assert [name for name in named if not resolves(name)] == []


def test_every_article_a_workflow_cites_has_a_row() -> None:
    """An article is covered by a row naming it, or naming one of its paragraphs (a row on
    Art.15-2 covers Art.15; a row on Art.15 would not cover Art.15-2)."""
    listed = {token for article, _, _ in rows(SEED_004) for token in ARTICLE.findall(article)}
    uncovered = sorted(
        article
        for article in seed_004_articles()
        if not any(
            token == article or token.startswith((f"{article}-", f"{article}(")) for token in listed
        )
    )
    assert uncovered == []


def test_every_step_and_deadline_citing_the_regulation_is_named_in_its_table() -> None:
    named = set(code_spans(section(SEED_004)))
    expected = {
        f"{workflow.id}:{step.trigger}"
        for workflow in WORKFLOWS.values()
        for step in workflow.steps.values()
        if any(article.startswith("Art.") for article in step.articles)
    } | {
        f"{workflow.id}/deadline:{deadline.name}"
        for workflow in WORKFLOWS.values()
        for deadline in workflow.deadlines
        if any(article.startswith("Art.") for article in deadline.articles)
    }
    assert sorted(expected - named) == []
