"""The small frozen values the application returns."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from approvals.domain.case import Attachment
from approvals.errors import InvalidValue, Label

__all__ = [
    "Appointment",
    "Attachment",
    "CaseView",
    "DeadlineView",
    "Document",
    "HistoryEntry",
    "InboxItem",
    "NextStep",
]


@dataclass(frozen=True, slots=True)
class Document:
    """A document to attach: its name and the SHA-256 of its content (the content is not kept)."""

    name: str
    sha256: str
    size: int

    @classmethod
    def of(cls, name: str, content: bytes) -> Document:
        """Return the reference of ``content`` under ``name``."""
        return cls(name=name, sha256=hashlib.sha256(content).hexdigest(), size=len(content))

    @classmethod
    def from_path(cls, path: str | Path) -> Document:
        """Return the reference of the file at ``path``, read in blocks."""
        file = Path(path)
        digest = hashlib.sha256()
        size = 0
        with file.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
        return cls(name=file.name, sha256=digest.hexdigest(), size=size)

    def as_attachment(self) -> Attachment:
        """Return the attachment recorded in the event."""
        if len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256):
            raise InvalidValue(
                "value.invalid",
                field=Label(f"The SHA-256 of {self.name}", f"{self.name} の SHA-256"),
                kind=Label("64 lower-case hexadecimal digits", "64 桁の16進数(小文字)"),
                value=self.sha256,
            )
        return Attachment(self.name, self.sha256, self.size)


@dataclass(frozen=True, slots=True)
class NextStep:
    """A step that may be taken now, who may take it and what it still needs."""

    trigger: str
    label: Label
    role: str
    role_label: Label
    department: str
    people: tuple[str, ...]
    target: str
    target_label: Label
    fields: tuple[str, ...]
    missing_fields: tuple[str, ...]
    checklist: tuple[str, ...]
    missing_checklist: tuple[str, ...]
    comment_required: bool
    filer_only: bool


@dataclass(frozen=True, slots=True)
class DeadlineView:
    """A running deadline of a case."""

    name: str
    label: Label
    started_at: datetime
    due_at: datetime
    overdue: bool


@dataclass(frozen=True, slots=True)
class CaseView:
    """A case as it stands (or stood at ``as_of``)."""

    reference: str
    workflow: str
    workflow_version: int
    workflow_sha256: str
    workflow_title: Label
    title: str
    department: str
    filer: str
    state: str
    state_label: Label
    terminal: bool
    fields: Mapping[str, Any]
    checklist: tuple[str, ...]
    attachments: tuple[Attachment, ...]
    filed_at: datetime
    updated_at: datetime
    version: int
    next_steps: tuple[NextStep, ...]
    deadlines: tuple[DeadlineView, ...]
    retention_until: date | None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One event of a case: when, who, as which role, what, why, with which evidence."""

    position: int
    at: datetime
    actor: str
    role: str
    role_label: Label
    trigger: str
    label: Label
    source: str
    dest: str
    dest_label: Label
    comment: str
    fields: Mapping[str, Any]
    checklist: tuple[str, ...]
    attachments: tuple[Attachment, ...]


@dataclass(frozen=True, slots=True)
class Appointment:
    """One term on the roster."""

    user: str
    role: str
    role_label: Label
    department: str
    start: datetime
    end: datetime | None


@dataclass(frozen=True, slots=True)
class InboxItem:
    """A step that waits for someone: which case, what to do, since when, due when."""

    reference: str
    workflow: str
    workflow_title: Label
    title: str
    department: str
    state: str
    state_label: Label
    trigger: str
    label: Label
    role: str
    role_label: Label
    since: datetime
    due_at: datetime | None
    overdue: bool
