"""approvals: an event-sourced engine for the sign-offs a personal-information regulation requires.

Open it on a database, manage the roster, file cases and take their steps::

    from approvals import open_approvals

    app = open_approvals("sqlite:///approvals.db")
"""

from approvals.application import ApprovalsApplication, Clock
from approvals.definitions import load_directory, load_file, parse_definition
from approvals.domain.clocks import JST
from approvals.domain.workflow import Workflow
from approvals.errors import (
    ApprovalsError,
    CaseNotFound,
    ConcurrencyConflict,
    DefinitionConflict,
    DefinitionError,
    EvidenceMissing,
    InvalidValue,
    Label,
    NotAuthorized,
    NotFound,
    Refused,
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

__all__ = [
    "JST",
    "Appointment",
    "ApprovalsApplication",
    "ApprovalsError",
    "Attachment",
    "CaseNotFound",
    "CaseView",
    "Clock",
    "ConcurrencyConflict",
    "DeadlineView",
    "DefinitionConflict",
    "DefinitionError",
    "Document",
    "EvidenceMissing",
    "HistoryEntry",
    "InvalidValue",
    "Label",
    "NextStep",
    "NotAuthorized",
    "NotFound",
    "Refused",
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
