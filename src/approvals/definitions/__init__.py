"""Load workflow definition files (TOML) into validated, frozen :class:`Workflow` values.

The built-in workflows (:func:`builtin_workflows_dir`) are always loaded; a company's own
definitions, in a folder of their own, are added beside them (:func:`load_workflows`).  The
format of a file is documented in ``docs/workflows.md``.

A definition is refused with a :class:`DefinitionError` naming the file and the key when it has
an unknown key, an unknown or unreachable state, a non-terminal dead end, a step without a role,
a terminal state with steps out of it, a trigger defined twice from one state, or a field or
checklist item used but not declared; and a file larger than 1 MiB or with tables and arrays
nested more than 32 levels deep (see :mod:`approvals.definitions.reader`).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from approvals.definitions.parser import WorkflowParser
from approvals.definitions.reader import read_limited, toml_tables
from approvals.domain.workflow import Workflow
from approvals.errors import DefinitionError, Label, WorkflowNotFound

__all__ = [
    "builtin_workflows_dir",
    "find_workflow",
    "load_directory",
    "load_file",
    "load_workflows",
    "parse_definition",
]


def builtin_workflows_dir() -> Path:
    """Return the folder of the reference workflows shipped with approvals."""
    packaged = resources.files("approvals") / "workflows"
    if packaged.is_dir():
        return Path(str(packaged))
    # A development checkout keeps them at the top of the repository.
    return Path(__file__).resolve().parents[3] / "workflows"


def load_directory(directory: Path | None = None) -> dict[str, Workflow]:
    """Load every ``*.toml`` definition in ``directory`` (default: the reference workflows)."""
    folder = directory or builtin_workflows_dir()
    if not folder.is_dir():
        raise DefinitionError(
            file=str(folder),
            key="(folder)",
            problem=Label("no such folder", "フォルダがありません"),
        )
    workflows: dict[str, Workflow] = {}
    for path in sorted(folder.glob("*.toml")):
        workflow = load_file(path)
        if workflow.id in workflows:
            raise _twice(workflow, workflows[workflow.id])
        workflows[workflow.id] = workflow
    _check_prefixes(workflows)
    return workflows


def load_workflows(company: Path | None = None) -> dict[str, Workflow]:
    """Load the built-in workflows and, beside them, the company's definitions in ``company``.

    A company file may give a workflow of its own (an id no built-in has) or replace a built-in
    for new filings with a higher ``version`` than the built-in's and the same ``prefix``;
    cases filed under the built-in's version keep it (the log holds each version a case was
    filed under).  The same id with the same or a lower version, two company files with one
    id, or a prefix another workflow uses is refused with a :class:`DefinitionError` naming
    the file.
    """
    builtins = load_directory()
    if company is None:
        return builtins
    workflows = dict(builtins)
    for workflow in load_directory(company).values():  # each file valid, each id once
        builtin = builtins.get(workflow.id)
        if builtin is not None:
            _check_replacement(workflow, builtin)
        workflows[workflow.id] = workflow
    _check_prefixes(workflows)
    return workflows


def _twice(workflow: Workflow, first: Workflow) -> DefinitionError:
    """The refusal of a second file of one folder giving the id ``first`` gives."""
    return DefinitionError(
        file=workflow.path,
        key="id",
        problem=Label(
            f"the id {workflow.id} (version {workflow.version}) is already given by "
            f"{first.path} (version {first.version}); a folder holds one file per workflow, "
            "so keep the newest version only (cases filed under an older one keep it, from "
            "the log)",
            f"id {workflow.id}(版 {workflow.version})は {first.path}(版 {first.version})で"
            "定義済みです。フォルダにはワークフローごとに一つのファイルを置き、最新の版だけを"
            "残してください(古い版で届け出た案件はログの版を使い続けます)",
        ),
    )


def _check_replacement(workflow: Workflow, builtin: Workflow) -> None:
    """Refuse a company file replacing a built-in without a higher version, or under another
    prefix (the built-in's cases are numbered in its series)."""
    if workflow.version <= builtin.version:
        raise DefinitionError(
            file=workflow.path,
            key="version",
            problem=Label(
                f"the id {workflow.id} is that of a built-in workflow, at version "
                f"{builtin.version}, and this file gives version {workflow.version}; a company "
                f"file replaces a built-in only with a higher version ({builtin.version + 1} "
                "or more), else give it an id of its own",
                f"id {workflow.id} は組み込みのワークフロー(版 {builtin.version})の id で、"
                f"このファイルの版は {workflow.version} です。会社のファイルで組み込みを置き換える"
                f"には、より大きい版({builtin.version + 1} 以上)にするか、独自の id にして"
                "ください",
            ),
        )
    if workflow.prefix != builtin.prefix:
        raise DefinitionError(
            file=workflow.path,
            key="prefix",
            problem=Label(
                f"{workflow.prefix} replaces the prefix {builtin.prefix} of the built-in "
                f"workflow {workflow.id}; a replacement keeps the built-in's prefix, so that "
                "its cases stay in one series",
                f"{workflow.prefix} は組み込みのワークフロー {workflow.id} の接頭辞 "
                f"{builtin.prefix} と異なります。置き換えでは整理番号の系列を保つため同じ接頭辞に"
                "してください",
            ),
        )


def _check_prefixes(workflows: Mapping[str, Workflow]) -> None:
    """Refuse two workflows numbering their cases under one prefix."""
    prefixes: dict[str, Workflow] = {}
    for workflow in workflows.values():
        first = prefixes.get(workflow.prefix)
        if first is not None:  # the later one is named: a company's file, beside the built-ins
            raise DefinitionError(
                file=workflow.path,
                key="prefix",
                problem=Label(
                    f"the prefix {workflow.prefix} is already used by {first.id} "
                    f"({first.path}); give each workflow a prefix of its own",
                    f"接頭辞 {workflow.prefix} は {first.id}({first.path})で使われています。"
                    "ワークフローごとに別の接頭辞にしてください",
                ),
            )
        prefixes[workflow.prefix] = workflow


def load_file(path: Path) -> Workflow:
    """Load and validate one definition file."""
    try:
        raw = read_limited(path)
    except OSError as error:
        raise DefinitionError(
            file=str(path),
            key="(file)",
            problem=Label(f"cannot be read ({error.strerror})", "読み込めません"),
        ) from None
    try:
        # Decoded as is (no newline translation), so the hash is the hash of the file's bytes.
        source = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DefinitionError(
            file=str(path),
            key="(file)",
            problem=Label("is not UTF-8 text", "UTF-8 のテキストではありません"),
        ) from None
    return parse_definition(source, str(path))


def parse_definition(source: str, file: str = "<definition>") -> Workflow:
    """Validate definition text and return the workflow it defines."""
    return WorkflowParser(file).workflow(toml_tables(source, file), source)


def find_workflow(workflows: Mapping[str, Workflow], workflow_id: str) -> Workflow:
    """Return the workflow called ``workflow_id`` or refuse with the known ids."""
    try:
        return workflows[workflow_id]
    except KeyError:
        raise WorkflowNotFound(workflow=workflow_id, known=tuple(sorted(workflows))) from None
