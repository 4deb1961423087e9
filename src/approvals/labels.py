"""What the lists show of a workflow — its title, states and steps — read straight from its file.

The quick read path (:mod:`approvals.reading`) and shell completion (:mod:`approvals.offers`)
read labels with ``tomllib`` alone, without the definitions loader: a file that does not hold
the version asked for, or that cannot be read, is :class:`NotCurrent`, and the caller takes
the full path (or offers nothing).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from approvals.errors import Label

__all__ = ["Labels", "NotCurrent", "read_labels", "workflow_titles", "workflows_dir"]

_DEFINITION_LIMIT = 1024 * 1024  # as the definition reader: larger files are refused there


class NotCurrent(Exception):
    """The read models cannot give the full path's answer as they stand: take the full path."""


@dataclass(frozen=True, slots=True)
class Labels:
    """What the lists show of one definition version: its title, states and steps."""

    title: Label
    states: dict[str, Label]
    steps: dict[tuple[str, str], Label]

    def step(self, state: str, trigger: str) -> Label:
        """The label of ``trigger`` from ``state``, else of the first step it names."""
        found = self.steps.get((state, trigger))
        if found is None:
            found = next((label for (_, t), label in self.steps.items() if t == trigger), None)
        return found if found is not None else Label(trigger, trigger)


def workflows_dir() -> Path:
    """The folder of the reference workflows (as :func:`approvals.definitions
    .builtin_workflows_dir` finds it)."""
    packaged = resources.files("approvals") / "workflows"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "workflows"


def _label(value: Any) -> Label:
    if not isinstance(value, dict) or not all(isinstance(value.get(k), str) for k in ("en", "ja")):
        raise NotCurrent("label")
    return Label(value["en"], value["ja"])


def _read(path: Path, *, head: bool = False) -> dict[str, Any]:
    """The TOML document in ``path``; NotCurrent for a file the definition reader refuses.
    With ``head``, the lines before its first table when they hold its id and title (a
    completion reads a dozen files at each TAB), else the whole document."""
    try:
        if not path.is_file() or path.stat().st_size > _DEFINITION_LIMIT:
            raise NotCurrent(path.name)
        text = path.read_bytes().decode("utf-8")
        if head:
            try:
                top = tomllib.loads(text.split("\n[", 1)[0])
            except tomllib.TOMLDecodeError:
                top = {}  # a bracket at a line's start inside a value: read the whole file
            if "id" in top and "title" in top:
                return top
        return tomllib.loads(text)
    except (OSError, UnicodeError, tomllib.TOMLDecodeError):
        raise NotCurrent(path.name) from None


def read_labels(folder: Path, workflow: str, version: int) -> Labels:
    """Read the labels of ``workflow`` from its file in ``folder`` when the file holds that
    version; otherwise the definition is in the log, for the full path to read."""
    if not workflow.replace("_", "").isalnum() or not workflow.isascii():
        raise NotCurrent(workflow)
    data = _read(folder / f"{workflow}.toml")
    if data.get("id") != workflow or data.get("version") != version:
        raise NotCurrent(workflow)
    try:
        states = {name: _label(body["label"]) for name, body in data["states"].items()}
        steps: dict[tuple[str, str], Label] = {}
        for step in data["steps"]:
            sources = step["from"] if isinstance(step["from"], list) else [step["from"]]
            for source in sources:
                steps.setdefault((source, step["trigger"]), _label(step["label"]))
        return Labels(_label(data["title"]), states, steps)
    except (KeyError, TypeError, AttributeError):
        raise NotCurrent(workflow) from None


def workflow_titles(*folders: Path | None) -> dict[str, Label]:
    """Return the id and title of each workflow file in ``folders``, sorted by id; a later
    folder's file replaces an earlier one's of the same id (as the company's own replace the
    built-ins).  A file that cannot be read, or names no id and title, is left out: the
    definitions loader refuses it where a command needs it."""
    found: dict[str, Label] = {}
    for folder in folders:
        if folder is None:
            continue
        try:
            paths = sorted(folder.glob("*.toml"))
        except OSError:
            continue
        for path in paths:
            try:
                data = _read(path, head=True)
                title = _label(data.get("title"))
            except NotCurrent:
                continue
            if isinstance(data.get("id"), str):
                found[data["id"]] = title
    return dict(sorted(found.items()))
