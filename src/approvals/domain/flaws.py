"""Values kept by an earlier version that the door refuses today.

A store is kept seven years and cannot be edited.  An earlier version checked less: it let a
date of 9999-12-31 in, or a NUL in a title.  Such a value stays in the log for ever; the clocks
never compute with it (see :func:`~approvals.domain.clocks.usable_moment`), the read models keep
it out of their columns, and every view of the case names it with the sentence the door says
of it today, so that nobody takes a deadline counted without it for the whole truth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from approvals.domain.case import Case, Entry
from approvals.domain.guards import DOCUMENT_LIMIT, TITLE_LIMIT, check_text, normalise_value
from approvals.domain.roster import DEPARTMENT, PERSON, check_name
from approvals.domain.workflow import Workflow
from approvals.errors import InvalidValue, Label

__all__ = ["Flaw", "Flaws", "flaws"]

_TITLE = Label("The title", "件名")
_COMMENT = Label("The comment", "コメント")
_DOCUMENT = Label("The document's name", "文書名")


@dataclass(frozen=True, slots=True)
class Flaw:
    """A value of a case the door refuses today: where it is, and the door's sentence."""

    field: str
    """The field's name, or ``title``, ``department``, ``filer``, ``actor``, ``comment`` or
    ``document``."""
    reason: Label


def flaws(case: Case, workflow: Workflow) -> tuple[Flaw, ...]:
    """Return every value ``case`` holds that :func:`~approvals.domain.guards.normalise_value`
    (or the check of a title, a name, a comment) refuses today, first occurrence first."""
    return Flaws(case, workflow).now()


class Flaws:
    """:func:`flaws` of one case as its history grows: each call takes in only the entries
    added since the last (a read model asks again after every batch of events).

    The case's history must only grow (as a case's does); :meth:`follows` tells whether it
    did, and whether its title, department and filer are still those checked."""

    __slots__ = ("_found", "_last", "_specs", "_taken", "head", "history", "workflow")

    def __init__(self, case: Case, workflow: Workflow) -> None:
        self.history = case.history
        self.workflow = workflow
        self.head = (case.title, case.department, case.filer)
        self._found: dict[tuple[str, str], Flaw] = {}
        self._specs: dict[str, tuple[Callable[[Any], object], dict[Any, Label | None]] | None]
        self._specs = {}
        self._taken = 0
        self._last: Entry | None = None
        self._check("title", case.title, _title, _KNOWN["title"])
        self._check("department", case.department, _department, _KNOWN["department"])
        self._check("filer", case.filer, _person, _KNOWN["person"])

    def follows(self, case: Case, workflow: Workflow) -> bool:
        """Return whether ``case`` is the one followed, its history grown (and the rest the
        same)."""
        history, taken = case.history, self._taken
        return (
            history is self.history
            and workflow is self.workflow
            and len(history) >= taken
            and (taken == 0 or history[taken - 1] is self._last)
            and (case.title, case.department, case.filer) == self.head
        )

    def now(self) -> tuple[Flaw, ...]:
        """Return :func:`flaws` of the case as it stands now."""
        history, check, specs = self.history, self._check, self._specs
        people, comments, documents = _KNOWN["person"], _KNOWN["comment"], _KNOWN["document"]
        for entry in history[self._taken :]:
            check("actor", entry.actor, _person, people)
            if entry.comment:
                check("comment", entry.comment, _comment, comments)
            for document in entry.attachments:
                check("document", document.name, _document, documents)
            for name, value in entry.fields.items():
                if name not in specs:
                    spec = self.workflow.fields.get(name)
                    specs[name] = (
                        None
                        if spec is None
                        else (partial(normalise_value, spec), _KNOWN.setdefault(spec, {}))
                    )
                checking = specs[name]
                if checking is not None:
                    check(name, value, *checking)
        self._taken = len(history)
        self._last = history[-1] if history else None
        return tuple(self._found.values())

    def _check(
        self, name: str, value: Any, refuse: Callable[[Any], object], known: dict[Any, Label | None]
    ) -> None:
        reason = _verdict(value, refuse, known)
        if reason is not None:
            key = (name, repr(value))
            if key not in self._found:
                self._found[key] = Flaw(name, reason)


def _title(value: Any) -> object:
    return check_name(value.strip(), _TITLE, TITLE_LIMIT)


def _department(value: Any) -> object:
    return check_name(value, DEPARTMENT)


def _person(value: Any) -> object:
    return check_name(value, PERSON)


def _comment(value: Any) -> object:
    return check_text(value, _COMMENT)


def _document(value: Any) -> object:
    return check_name(value, _DOCUMENT, DOCUMENT_LIMIT)


_KNOWN: dict[Any, dict[Any, Label | None]] = {
    kind: {} for kind in ("title", "department", "person", "comment", "document")
}
"""What each check (by kind, or by field spec) said of each value it was asked about: the
checks are pure, and a read model asks about the same names and values again and again."""
_UNKNOWN = object()
_REMEMBERED = 20_000
"""The most values remembered per check (forgotten all at once beyond)."""


def _verdict(
    value: Any, refuse: Callable[[Any], object], known: dict[Any, Label | None]
) -> Label | None:
    """Return the door's sentence refusing ``value`` (None when it lets it in), remembered by
    the value and its type (``True`` and ``1`` are told apart)."""
    key = (value.__class__, value)
    try:
        reason = known.get(key, _UNKNOWN)
    except TypeError:  # a value that cannot be remembered (a list kept by an earlier version)
        return _refusal(value, refuse)
    if reason is not _UNKNOWN:
        return cast("Label | None", reason)
    reason = _refusal(value, refuse)
    if len(known) >= _REMEMBERED:
        known.clear()
    known[key] = reason
    return reason


def _refusal(value: Any, refuse: Callable[[Any], object]) -> Label | None:
    try:
        refuse(value)
    except InvalidValue as error:
        return Label(error.render("en"), error.render("ja"))
    return None
