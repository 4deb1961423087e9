"""The small frozen values the application returns."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from approvals.errors import InvalidValue, Label

if TYPE_CHECKING:
    # Imported when first used (see __getattr__): the lists' quick read path builds these
    # values without loading the event-sourced domain.
    from approvals.domain.case import Attachment

__all__ = [
    "Appointment",
    "Attachment",
    "CaseEntry",
    "CaseView",
    "DeadlineView",
    "Document",
    "HistoryEntry",
    "InboxItem",
    "NextStep",
    "OverdueEntry",
    "ProvisionEntry",
    "ReceiptEntry",
    "Reminder",
    "RetentionEntry",
    "VendorEntry",
]


ATTACHMENT_LIMIT = 100 * 1024 * 1024
"""The largest attachment, in bytes (100 MiB): its content is hashed, never kept."""

_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class Document:
    """A document to attach: its name and the SHA-256 of its content (the content is not kept)."""

    name: str
    sha256: str
    size: int

    @classmethod
    def of(cls, name: str, content: bytes) -> Document:
        """Return the reference of ``content`` under ``name``; refuse content over the limit."""
        if len(content) > ATTACHMENT_LIMIT:
            raise _refused(name, _too_large(len(content)))
        return cls(name=name, sha256=hashlib.sha256(content).hexdigest(), size=len(content))

    @classmethod
    def from_path(cls, path: str | Path) -> Document:
        """Return the reference of the regular file at ``path`` (links followed), read once in
        blocks; refuse a directory, device, pipe or socket, and a file over the limit."""
        file = Path(path)
        try:
            # The type is checked before opening: opening a pipe would wait for a writer.
            found = os.stat(file)
            if not stat.S_ISREG(found.st_mode):
                raise _refused(str(path), _not_regular(file))
            if found.st_size > ATTACHMENT_LIMIT:
                raise _refused(str(path), _too_large(found.st_size))
            # O_NONBLOCK: should the file be swapped for a pipe meanwhile, open does not wait.
            descriptor = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except OSError as error:
            raise _refused(str(path), _unreadable(error)) from None
        with os.fdopen(descriptor, "rb") as stream:
            if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
                raise _refused(str(path), _not_regular(file))
            digest = hashlib.sha256()
            size = 0
            try:
                while block := stream.read(_BLOCK):
                    size += len(block)
                    if size > ATTACHMENT_LIMIT:  # it may have grown since it was checked
                        raise _refused(str(path), _too_large(size, at_least=True))
                    digest.update(block)
            except OSError as error:
                raise _refused(str(path), _unreadable(error)) from None
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
        from approvals.domain.case import Attachment  # noqa: PLC0415 - see the imports

        return Attachment(self.name, self.sha256, self.size)


def _refused(file: str, problem: Label) -> InvalidValue:
    mib, rest = divmod(ATTACHMENT_LIMIT, 1024 * 1024)
    if rest:
        amount = Label(f"{ATTACHMENT_LIMIT} bytes", f"{ATTACHMENT_LIMIT} バイト")
    else:
        amount = Label(f"{mib} MiB", f"{mib} MiB")
    return InvalidValue("attachment.refused", file=file, problem=problem, limit=amount)


def _too_large(size: int, *, at_least: bool = False) -> Label:
    if at_least:
        return Label(f"it holds at least {size} bytes", f"{size} バイト以上あります")
    return Label(f"it holds {size} bytes", f"{size} バイトあります")


def _not_regular(file: Path) -> Label:
    if file.is_dir():
        return Label("it is a folder", "フォルダです")
    return Label(
        "it is a device, pipe or socket, not a regular file",
        "通常のファイルではなく、デバイス・パイプ・ソケットのいずれかです",
    )


def _unreadable(error: OSError) -> Label:
    reason = error.strerror or type(error).__name__
    return Label(f"it cannot be read ({reason})", f"読み込めません({reason})")


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
    flawed: tuple[Label, ...] = ()
    """Values kept by an earlier version that are refused today (a date of 9999-12-31): what
    the door says of each.  Deadlines and retention never count from them."""


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


@dataclass(frozen=True, slots=True)
class CaseEntry:
    """A case in the register (台帳): workflow, state, department, filer and its dates."""

    reference: str
    workflow: str
    workflow_title: Label
    title: str
    department: str
    filer: str
    state: str
    state_label: Label
    terminal: bool
    events: int
    filed_at: datetime | None
    updated_at: datetime | None
    decision: str | None
    decided_at: datetime | None
    effective_date: date | None
    """The day the action starts, as the case records it (its workflow's ``effective_date``
    field); None when the workflow has no such field or it is not recorded yet."""
    effective_at: datetime | None
    """When the step that put the action in effect was recorded."""
    ended_at: datetime | None
    retention_until: date | None
    disposed_at: datetime | None


@dataclass(frozen=True, slots=True)
class VendorEntry:
    """An entrustment in the vendor register: contracts, checks, inspections, the vendor's
    yearly reports, breaches, and its subcontracting: how many the chief approved, how many
    are in effect, and the names of the subcontractors in effect."""

    reference: str
    vendor: str
    department: str
    state: str
    state_label: Label
    data_items: str
    purpose: str
    approved_at: datetime | None
    basic_contract_date: date | None
    individual_contract_date: date | None
    handover_date: date | None
    individual_contract_end_date: date | None
    last_check: date | None
    checks: int
    last_inspection: date | None
    inspections: int
    next_inspection_due: datetime | None
    inspection_overdue: bool
    last_vendor_report: date | None
    vendor_reports: int
    next_vendor_report_due: datetime | None
    """When the contract asks for the vendor's yearly report: the next one due."""
    vendor_report_overdue: bool
    breaches: int
    open_breaches: int
    subcontracts_approved: int
    subcontracts_in_effect: int
    subcontractors: tuple[str, ...]
    ended_at: datetime | None = None
    """When the entrustment ended: its subcontracts are in effect no more."""
    erasure_due_at: datetime | None = None
    """When the return or erasure the end opened fell due (001 Art.9, 002 第12)."""
    erasure_done_at: datetime | None = None
    """When an erasure case naming the entrustment was closed (None: the duty is open)."""
    erasure_overdue: bool = False


@dataclass(frozen=True, slots=True)
class ProvisionEntry:
    """A provision to a third party, or a joint use, with the items its record keeps and, for
    a provision, the last day its record is kept (three years, or one where a contract
    stands in for the record)."""

    reference: str
    entry: int
    kind: str
    kind_label: Label
    department: str
    on_date: date | None
    recorded_at: datetime
    recorded_by: str
    party: str
    responsible_party: str
    data_subjects: str
    data_items: str
    purpose: str
    consent: str
    record_kept_until: date | None


@dataclass(frozen=True, slots=True)
class ReceiptEntry:
    """A receipt of personal data from a third party with the record APPI 30 asks for (the
    provider's name, address and representative, how it obtained the data), whether the data
    include sensitive personal information and the consent recorded for it, and the last day
    the record is kept (three years from the day it was made)."""

    reference: str
    entry: int
    kind: str
    kind_label: Label
    department: str
    on_date: date | None
    recorded_at: datetime
    recorded_by: str
    provider: str
    provider_address: str
    provider_representative: str
    provider_acquisition: str
    data_items: str
    purpose: str
    sensitive: bool
    sensitive_consent: str
    record_kept_until: date


@dataclass(frozen=True, slots=True)
class RetentionEntry:
    """A case in the retention schedule: kept until when, held, approved, disposed of."""

    reference: str
    workflow: str
    department: str
    title: str
    state: str
    retained_until: date | None
    due: bool
    held: bool
    hold_reason: str
    approved_by: str
    disposed_at: datetime | None
    disposed_by: str
    disposal_method: str
    kept_with: tuple[str, ...] = ()
    """The cases it is kept as long as (Art.15-7: a subcontracting approval, its entrustment)."""


@dataclass(frozen=True, slots=True)
class OverdueEntry:
    """A missed deadline: overdue now (``done_at`` None), or met late."""

    reference: str
    workflow: str
    title: str
    department: str
    state: str
    state_label: Label
    deadline: str
    label: Label
    started_at: datetime
    due_at: datetime
    done_at: datetime | None
    late_by_days: int


@dataclass(frozen=True, slots=True)
class Reminder:
    """A running deadline that is due soon or overdue, and someone who can meet it: a person
    who may take one of the case's next ``steps``."""

    person: str
    reference: str
    workflow: str
    title: str
    department: str
    state: str
    state_label: Label
    deadline: str
    label: Label
    due_at: datetime
    overdue: bool
    steps: tuple[Label, ...]


def __getattr__(name: str) -> Any:
    """``Attachment``, re-exported here, is the domain's: loaded when first asked for."""
    if name == "Attachment":
        from approvals.domain.case import Attachment  # noqa: PLC0415 - see the imports

        return Attachment
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
