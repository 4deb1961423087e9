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
from typing import Any

from approvals.domain.case import Case
from approvals.domain.guards import DOCUMENT_LIMIT, TITLE_LIMIT, check_text, normalise_value
from approvals.domain.roster import DEPARTMENT, PERSON, check_name
from approvals.domain.workflow import Workflow
from approvals.errors import InvalidValue, Label

__all__ = ["Flaw", "flaws"]

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
    found: dict[tuple[str, str], Flaw] = {}

    def check(name: str, value: Any, refuse: Callable[[Any], object]) -> None:
        try:
            refuse(value)
        except InvalidValue as error:
            key = (name, repr(value))
            if key not in found:
                found[key] = Flaw(name, Label(error.render("en"), error.render("ja")))

    check("title", case.title, lambda v: check_name(v.strip(), _TITLE, TITLE_LIMIT))
    check("department", case.department, lambda v: check_name(v, DEPARTMENT))
    check("filer", case.filer, lambda v: check_name(v, PERSON))
    for entry in case.history:
        check("actor", entry.actor, lambda v: check_name(v, PERSON))
        if entry.comment:
            check("comment", entry.comment, lambda v: check_text(v, _COMMENT))
        for document in entry.attachments:
            check("document", document.name, lambda v: check_name(v, _DOCUMENT, DOCUMENT_LIMIT))
        for name, value in entry.fields.items():
            spec = workflow.fields.get(name)
            if spec is not None:
                check(name, value, partial(normalise_value, spec))
    return tuple(found.values())
