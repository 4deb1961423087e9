"""Cases whose events cannot be read, though they were never disposed of: damage, not disposal.

Each case's events are encrypted under a key of its own (see :mod:`approvals.audit.keys`).
Disposal destroys the key on purpose and records it in the case's retention record.  A key that
is missing with no disposal recorded, or that does not decrypt the case's events (written under
a key that was never kept, by a bug of an earlier version, or replaced by someone with the
database), is damage: that one case cannot be read, and is named by its reference — which the
numbering keeps in the clear — so that everything else goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import PersistenceError
from sqlalchemy.exc import SQLAlchemyError

from approvals.audit.findings import Finding
from approvals.audit.keys import CaseDataErased, CaseEventUnreadable
from approvals.domain.case import Case, case_id
from approvals.domain.registry import ReferenceCounter
from approvals.domain.retention import RetentionRecord
from approvals.errors import CaseUnreadable, Label

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication

__all__ = [
    "KEY_MISSING",
    "STORAGE_ERRORS",
    "UNCOMPUTABLE",
    "UNDECRYPTABLE",
    "UNREADABLE",
    "damage_findings",
    "disposed_cases",
    "filings",
    "issued_references",
    "problem_of",
    "read_filings",
]

KEY_MISSING = "case.key_missing"
"""The case's key is gone, and no disposal is recorded."""
UNDECRYPTABLE = "case.unreadable"
"""The case's events do not decrypt under the key kept for it."""
UNCOMPUTABLE = "case.uncomputable"
"""The case reads, but the read models cannot compute its rows (a value no check foresaw)."""
UNREADABLE = (CaseDataErased, CaseEventUnreadable)
"""What reading a case's event raises when it cannot be read (CaseKeyMapper.to_domain_event)."""
STORAGE_ERRORS = (SQLAlchemyError, PersistenceError)
"""What reading an event raises when the database fails (not the event): never taken as damage."""


def problem_of(error: BaseException) -> str:
    """Return the code of the :class:`CaseUnreadable` that ``error``, met reading an event of a
    case not disposed of, means."""
    return KEY_MISSING if isinstance(error, CaseDataErased) else UNDECRYPTABLE


def issued_references(app: ApprovalsApplication) -> dict[UUID, str]:
    """Return the reference of every case id the numbering issued: read from the counters,
    which are not encrypted, it names a case whose own events cannot be read.  A counter that
    does not replay (changed behind the engine's back: ``audit verify`` names its event) names
    nothing."""
    found: dict[UUID, str] = {}
    for notification in app.notifications((ReferenceCounter.Started.TOPIC,)):
        try:
            counter: ReferenceCounter = app.repository.get(notification.originator_id)
            issued, series = int(counter.issued), str(counter.series)
        except STORAGE_ERRORS:
            raise
        except Exception:  # noqa: BLE001 - one counter altered; the others still name cases
            continue
        for number in range(1, issued + 1):
            reference = f"{series}-{number:04d}"  # as ReferenceCounter.reference
            found[case_id(reference)] = reference
    return found


def disposed_cases(app: ApprovalsApplication) -> set[UUID]:
    """Return the ids of the cases whose disposal is recorded (their keys were destroyed on
    purpose): read from the retention records, which are not encrypted.  A record whose
    opening does not decode (changed behind the engine's back: ``audit verify`` names its
    event) proves no disposal."""
    records = {n.originator_id for n in app.notifications((RetentionRecord.Disposed.TOPIC,))}
    if not records:
        return set()
    found: set[UUID] = set()
    for notification in app.notifications((RetentionRecord.Opened.TOPIC,)):
        if notification.originator_id in records:
            try:
                opened: Any = app.mapper.to_domain_event(notification)
                found.add(case_id(str(opened.reference)))
            except STORAGE_ERRORS:
                raise
            except Exception:  # noqa: BLE001 - one record altered; the others still count
                continue
    return found


def _with_keys(
    app: ApprovalsApplication, notices: Iterable[Any], page: int = 2000
) -> Iterator[Any]:
    """Yield ``notices`` as they come, their cases' keys read a page at a time (a few queries
    for a page of cases, not one per case)."""
    batch: list[Any] = []
    for notice in notices:
        batch.append(notice)
        if len(batch) == page:
            app.case_keys.preload(str(n.originator_id) for n in batch)
            yield from batch
            batch = []
    app.case_keys.preload(str(n.originator_id) for n in batch)
    yield from batch


def filings(app: ApprovalsApplication) -> list[tuple[str, CaseUnreadable | None]]:
    """Return each case not disposed of, in the order filed: its reference, and why it cannot
    be read (None when its notice can).  A notice that decrypts but does not decode (written
    behind the engine's back with the case's key) is damage like one that does not decrypt."""

    def decoded() -> Iterator[tuple[int, UUID, str | None, bool]]:
        for notification in _with_keys(app, app.notifications((Case.Filed.TOPIC,))):
            try:
                event: Any = app.mapper.to_domain_event(notification)
                reference: str | None = str(event.reference)
                erased = False
            except STORAGE_ERRORS:
                raise
            except Exception as error:  # noqa: BLE001 - UNREADABLE, or a notice forged by hand
                reference, erased = None, isinstance(error, CaseDataErased)
            yield notification.id, notification.originator_id, reference, erased

    return read_filings(app, decoded())


_WHY = {
    KEY_MISSING: Label(
        "its key is missing although it was never disposed of",
        "廃棄されていないのに鍵がありません",
    ),
    UNDECRYPTABLE: Label(
        "its events do not decrypt under the key kept for it (the key was lost or replaced, or "
        "the events were altered)",
        "イベントが保管されている鍵で復号できません(鍵が失われたか置き換えられたか、"
        "イベントが改変されています)",
    ),
}


def read_filings(
    app: ApprovalsApplication, notices: Iterable[tuple[int, UUID, str | None, bool]]
) -> list[tuple[str, CaseUnreadable | None]]:
    """Return what :func:`filings` returns, from ``notices`` decoded already: (database id,
    case id, its reference or None when it did not decode, whether it failed for want of its
    key), in the order of the log."""
    found: list[tuple[str, CaseUnreadable | None]] = []
    disposed: set[UUID] | None = None
    names: dict[UUID, str] | None = None
    for _, originator, reference, erased in notices:
        if reference is not None:
            found.append((reference, None))
            continue
        if disposed is None:  # read once, and only when a case cannot be read
            disposed = disposed_cases(app)
        if originator in disposed:
            continue  # only its retention record remains, by design
        if names is None:
            names = issued_references(app)
        named = names.get(originator, str(originator))
        code = KEY_MISSING if erased else UNDECRYPTABLE
        found.append((named, CaseUnreadable(code, reference=named)))
    return found


def damage_findings(
    app: ApprovalsApplication,
    problems: Iterable[CaseUnreadable],
    position_of: Callable[[UUID, int], int | None],
) -> list[Finding]:
    """Return a finding for each case that cannot be read (``problems``, in the order filed),
    at the position of its notice: the ledger may well verify its events, yet nothing of them
    can be read."""
    findings = []
    for problem in problems:
        reference, why = problem.reference, _WHY[problem.code]
        message = Label(
            f"{reference} cannot be read: {why.en}. The ledger's hashes are over the stored "
            "ciphertext, so they may still verify; that shows its events are as written, not "
            "that they can be read, and none of its steps can be checked against its rules",
            f"{reference} を読み出せません: {why.ja}。台帳のハッシュは保存された暗号文に対する"
            "ものなので検証に合格することがありますが、それは記録時のままであることを示すだけで、"
            "内容は読めず、手順を規則に照らして確認することもできません",
        )
        position = position_of(case_id(reference), 1)
        findings.append(Finding("unreadable", position, reference, message))
    return findings
