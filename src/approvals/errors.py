"""Every error approvals raises, each a sentence a person can act on.

The tree::

    ApprovalsError
    ├── DefinitionError (ValueError)        a workflow file is broken
    │   └── DefinitionConflict              a changed file kept its version number
    ├── NotFound (LookupError)
    │   ├── CaseNotFound                    no case has that reference
    │   ├── CaseDisposed                    the case was disposed of; its disposal record remains
    │   ├── WorkflowNotFound                no workflow has that id
    │   └── UnknownPerson                   the person is not on the roster
    ├── Refused                             a rule forbids the command; nothing was written
    │   ├── StepNotAllowed                  the trigger does not exist in the case's state
    │   ├── NotAuthorized (PermissionError) wrong role, department or separation of duties
    │   ├── EvidenceMissing (ValueError)    required fields, checklist items or comment absent
    │   ├── InvalidValue (ValueError)       a value is malformed or not allowed
    │   ├── RosterRefused                   an appointment or dismissal breaks a roster rule
    │   ├── RetentionRefused                a hold, approval or disposal breaks a retention rule
    │   ├── SigningRefused                  the writer's key cannot sign: missing, unregistered
    │   └── LogNotSound                     a checkpoint is refused for a log that fails to verify
    ├── ConcurrencyConflict                 somebody else changed the same thing first
    └── StorageError (OSError)              the database cannot be reached, is not set up, or
        │                                   holds damaged records
        └── CaseUnreadable                  a case's events are stored but cannot be read: its
                                            key is lost or replaced (damage, not disposal)

    FlawedValue                             not raised: a notice that a case holds a value an
                                            earlier version let in and the door refuses today

Each error carries a ``code`` and its ``params``; ``str(error)`` is the English sentence and
``error.render("ja")`` the Japanese one.  Parameters that are :class:`Label` values or tuples of
them are shown in the language asked for.  A template may give a field one of these formats
(see :func:`fill`): ``{count:n}`` a number with thousands separators, ``{count:n/finding/
findings}`` the number and the noun that agrees with it, ``{allowed:or}`` the items of a tuple
joined by "or" (``{allowed:the-or}`` with "the" before each English item that lacks it),
``{role:a}`` the value with "a" or "an" before it in English ("a staff member", "an audit
officer").

An :class:`EvidenceMissing` for fields or checklist items also carries, as structured params,
the keys a caller types to supply them: ``fields`` (the field keys) and ``items`` (the
checklist item keys), so that a command line can name ``--set KEY=…`` and ``--check ITEM``
and a host its own form controls.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from approvals.messages import MESSAGES

__all__ = [
    "ApprovalsError",
    "CaseDisposed",
    "CaseNotFound",
    "CaseUnreadable",
    "ConcurrencyConflict",
    "DefinitionConflict",
    "DefinitionError",
    "EvidenceMissing",
    "FlawedValue",
    "InvalidValue",
    "Label",
    "LogNotSound",
    "NotAuthorized",
    "NotFound",
    "Refused",
    "RetentionRefused",
    "RosterRefused",
    "SigningRefused",
    "StepNotAllowed",
    "StorageError",
    "UnknownPerson",
    "WorkflowNotFound",
]

LANGUAGES = ("en", "ja")


@dataclass(frozen=True, slots=True)
class Label:
    """A text shown to people, in English and Japanese."""

    en: str
    ja: str

    def get(self, lang: str) -> str:
        """Return the text in ``lang``, English when the language is unknown."""
        return self.ja if lang == "ja" else self.en

    def __str__(self) -> str:
        return self.en


Param = str | int | Label | tuple[str | Label, ...]


def _show(value: Param, lang: str) -> str:
    if isinstance(value, Label):
        return value.get(lang)
    if isinstance(value, tuple):
        shown = [_show(item, lang) for item in value]
        if not shown:
            return "なし" if lang == "ja" else "nothing"
        return ("、" if lang == "ja" else ", ").join(shown)
    return str(value)


_ARTICLES = ("the ", "a ", "an ")


class _Filler(string.Formatter):
    """Fills a template in one language, with the formats named in the module docstring."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        # ``{value!s}`` shows the value as every other field is shown, in the language asked.
        return value if conversion == "s" else super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> str:
        lang = self.lang
        if format_spec.startswith("n"):
            return count_phrase(value, format_spec, lang)
        if format_spec in ("or", "the-or"):
            return _joined(value, format_spec, lang)
        if format_spec == "a":
            return _indefinite(_show(value, lang), lang)
        if format_spec:
            return format(value, format_spec)
        return _show(value, lang)


def _joined(value: Any, format_spec: str, lang: str) -> str:
    """Return the items of ``value`` joined by "or" ("the" before each with ``the-or``)."""
    items = value if isinstance(value, tuple) else (value,)
    shown = [_show(item, lang) for item in items]
    if lang == "ja":
        return "または".join(shown)
    if format_spec == "the-or":
        shown = [text if text.startswith(_ARTICLES) else f"the {text}" for text in shown]
    if len(shown) <= 2:
        return " or ".join(shown)
    return f"{', '.join(shown[:-1])} or {shown[-1]}"


def _indefinite(shown: str, lang: str) -> str:
    """Return ``shown`` with "a" or "an" before it in English, unless it has an article."""
    if lang == "ja" or not shown or shown.startswith(_ARTICLES):
        return shown
    return f"{'an' if shown[0].lower() in 'aeiou' else 'a'} {shown}"


def count_phrase(value: Any, format_spec: str, lang: str) -> str:
    """Return the number ``value`` with thousands separators, and with the ``n/one/many`` noun of
    ``format_spec`` in the number that agrees with it (English only: Japanese has no plural)."""
    text = str(value)
    number = int(text) if text.lstrip("-").isdigit() else None
    shown = text if number is None else f"{number:,}"
    nouns = format_spec.split("/")[1:]
    if len(nouns) != 2 or lang == "ja":
        return shown
    return f"{shown} {nouns[0] if number == 1 else nouns[1]}"


def fill(template: str, lang: str, params: Mapping[str, Any]) -> str:
    """Return ``template`` with ``params`` filled in, shown in ``lang``."""
    return _Filler(lang).vformat(template, (), params)


class ApprovalsError(Exception):
    """The base of every error approvals raises on purpose."""

    default_code: ClassVar[str] = "error"

    def __init__(self, code: str | None = None, **params: Param) -> None:
        self.code = code or self.default_code
        self.params: Mapping[str, Param] = params
        super().__init__(self.render("en"))

    def render(self, lang: str = "en") -> str:
        """Return the message as a sentence in ``lang`` ("en" or "ja")."""
        templates = MESSAGES[self.code]
        template = templates.get(lang, templates["en"])
        return fill(template, lang, self.params)

    def __str__(self) -> str:
        return self.render("en")


class DefinitionError(ApprovalsError, ValueError):
    """A workflow definition file is broken; the message names the file and the key."""

    default_code = "definition.invalid"


class DefinitionConflict(DefinitionError):
    """A definition's content changed but its version number did not."""

    default_code = "definition.conflict"


class NotFound(ApprovalsError, LookupError):
    """Something named by the caller does not exist."""


class CaseNotFound(NotFound):
    """No case has the reference given."""

    default_code = "case.not_found"


class CaseDisposed(NotFound):
    """The case's records were disposed of; only its disposal record remains."""

    default_code = "case.disposed"


class WorkflowNotFound(NotFound):
    """No workflow definition has the id given."""

    default_code = "workflow.not_found"


class UnknownPerson(NotFound):
    """The person is not on the roster."""

    default_code = "person.unknown"


class Refused(ApprovalsError):
    """A rule forbids the command; nothing was written."""


class StepNotAllowed(Refused):
    """The trigger is not possible from the case's current state."""

    default_code = "step.not_allowed"


class NotAuthorized(Refused, PermissionError):
    """The person lacks the role, department or independence the step needs."""

    default_code = "step.not_authorized"


class EvidenceMissing(Refused, ValueError):
    """Required fields, checklist items, a comment or positive findings are missing."""

    default_code = "evidence.missing"


class InvalidValue(Refused, ValueError):
    """A value given is malformed or not one the definition allows."""

    default_code = "value.invalid"


class RosterRefused(Refused):
    """An appointment or dismissal breaks a rule of the roster."""

    default_code = "roster.refused"


class RetentionRefused(Refused):
    """A legal hold, a disposal approval or a disposal breaks a retention rule."""

    default_code = "retention.refused"


class SigningRefused(Refused):
    """An event cannot be signed by a key the roster registers for its writer: nothing written."""

    default_code = "signing.refused"


class LogNotSound(Refused):
    """A checkpoint is refused: the log does not verify (or holds nothing yet)."""

    default_code = "audit.not_sound"


class ConcurrencyConflict(ApprovalsError):
    """Somebody else changed the same case or roster first; read it again and retry."""

    default_code = "conflict"


class StorageError(ApprovalsError, OSError):
    """The database cannot be reached, is not set up for approvals, or holds damaged records."""

    default_code = "storage.unreachable"


class CaseUnreadable(StorageError):
    """A case's events are in the log but cannot be read: they do not decrypt under the key kept
    for it ("case.unreadable"), or its key is gone though it was never disposed of
    ("case.key_missing").  The other cases are not affected; ``approvals audit verify`` names
    it.  A case disposed of is not damaged: reading it raises :class:`CaseDisposed`.

    A StorageError rather than a NotFound: the case exists, and what is wrong is the stored
    data, for an administrator to repair (a host answers it as its own fault, not as "no such
    case"); only this case is refused, every other read goes on.
    """

    default_code = "case.unreadable"

    @property
    def reference(self) -> str:
        """The reference of the case that cannot be read."""
        return str(self.params["reference"])


class FlawedValue(ApprovalsError):
    """Not raised: a notice, said beside a list, that a case holds a value kept by an earlier
    version which the door refuses today (a date of 9999-12-31).  The case is listed as
    usual; its deadlines and retention never count from the value.  ``reason`` is what the
    door says of the value (see :class:`InvalidValue`)."""

    default_code = "case.flawed_value"

    @property
    def reference(self) -> str:
        """The reference of the case holding the value."""
        return str(self.params["reference"])
