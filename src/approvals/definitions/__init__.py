"""Load workflow definition files (TOML) into validated, frozen :class:`Workflow` values.

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
            raise DefinitionError(
                file=str(path),
                key="id",
                problem=Label(
                    f"the id {workflow.id} is already used by {workflows[workflow.id].path}",
                    f"id {workflow.id} は {workflows[workflow.id].path} で使われています",
                ),
            )
        workflows[workflow.id] = workflow
    prefixes: dict[str, str] = {}
    for workflow in workflows.values():
        if workflow.prefix in prefixes:
            raise DefinitionError(
                file=workflow.path,
                key="prefix",
                problem=Label(
                    f"the prefix {workflow.prefix} is already used by {prefixes[workflow.prefix]}",
                    f"接頭辞 {workflow.prefix} は {prefixes[workflow.prefix]} で使われています",
                ),
            )
        prefixes[workflow.prefix] = workflow.id
    return workflows


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
