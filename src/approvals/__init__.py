"""approvals: an event-sourced engine for the sign-offs a personal-information regulation requires.

Open it on a database, manage the roster, file cases and take their steps::

    from approvals import open_approvals

    app = open_approvals("sqlite:///approvals.db")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication, Clock
    from approvals.definitions import load_directory, load_file, parse_definition
    from approvals.domain.clocks import JST
    from approvals.domain.workflow import Workflow
    from approvals.errors import (
        ApprovalsError,
        CaseDisposed,
        CaseNotFound,
        CaseUnreadable,
        ConcurrencyConflict,
        DefinitionConflict,
        DefinitionError,
        EvidenceMissing,
        FlawedValue,
        InvalidValue,
        Label,
        NotAuthorized,
        NotFound,
        Refused,
        RetentionRefused,
        RosterRefused,
        StepNotAllowed,
        StorageError,
        UnknownPerson,
        WorkflowNotFound,
    )
    from approvals.factory import open_approvals
    from approvals.results import (
        Appointment,
        Attachment,
        CaseView,
        DeadlineView,
        Document,
        HistoryEntry,
        NextStep,
    )

# Names are imported on first use, so that `approvals --help` does not load the database stack.
_EXPORTS = {
    "Appointment": "approvals.results",
    "ApprovalsApplication": "approvals.application",
    "ApprovalsError": "approvals.errors",
    "Attachment": "approvals.results",
    "CaseDisposed": "approvals.errors",
    "CaseNotFound": "approvals.errors",
    "CaseUnreadable": "approvals.errors",
    "CaseView": "approvals.results",
    "Clock": "approvals.application",
    "ConcurrencyConflict": "approvals.errors",
    "DeadlineView": "approvals.results",
    "DefinitionConflict": "approvals.errors",
    "DefinitionError": "approvals.errors",
    "Document": "approvals.results",
    "EvidenceMissing": "approvals.errors",
    "FlawedValue": "approvals.errors",
    "HistoryEntry": "approvals.results",
    "InvalidValue": "approvals.errors",
    "JST": "approvals.domain.clocks",
    "Label": "approvals.errors",
    "NextStep": "approvals.results",
    "NotAuthorized": "approvals.errors",
    "NotFound": "approvals.errors",
    "Refused": "approvals.errors",
    "RetentionRefused": "approvals.errors",
    "RosterRefused": "approvals.errors",
    "StepNotAllowed": "approvals.errors",
    "StorageError": "approvals.errors",
    "UnknownPerson": "approvals.errors",
    "Workflow": "approvals.domain.workflow",
    "WorkflowNotFound": "approvals.errors",
    "load_directory": "approvals.definitions",
    "load_file": "approvals.definitions",
    "open_approvals": "approvals.factory",
    "parse_definition": "approvals.definitions",
}


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'approvals' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


__all__ = [
    "JST",
    "Appointment",
    "ApprovalsApplication",
    "ApprovalsError",
    "Attachment",
    "CaseDisposed",
    "CaseNotFound",
    "CaseUnreadable",
    "CaseView",
    "Clock",
    "ConcurrencyConflict",
    "DeadlineView",
    "DefinitionConflict",
    "DefinitionError",
    "Document",
    "EvidenceMissing",
    "FlawedValue",
    "HistoryEntry",
    "InvalidValue",
    "Label",
    "NextStep",
    "NotAuthorized",
    "NotFound",
    "Refused",
    "RetentionRefused",
    "RosterRefused",
    "StepNotAllowed",
    "StorageError",
    "UnknownPerson",
    "Workflow",
    "WorkflowNotFound",
    "load_directory",
    "load_file",
    "open_approvals",
    "parse_definition",
]
