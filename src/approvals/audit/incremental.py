"""Verification since a checkpoint: the second and third layers for what came after it only.

The integrity layer always runs over the whole log (:mod:`approvals.audit.verify`): every
event re-hashed, both chains, the Merkle root, and the root at the checkpoint's size compared
with the root it signed.  When that holds and nothing is wrong before the checkpoint's size
``N``, the first ``N`` events are the very bytes the checkpoint signed, and the checkpoint (one
made by ``audit checkpoint`` after a full verification that found nothing, signed by the
auditor's pinned key) vouches for what the other layers said of them then.  What remains is:

- the writers' signatures of the events at positions ``N`` and after (the roster's own events
  before ``N`` are replayed, unverified, for the keys they register and revoke);
- decoding, each signed event's actor, and the rules of every aggregate with at least one event
  at ``N`` or after ("touched"): each such case is decoded and replayed whole, its events before
  ``N`` included, with the roster as it stood at each step;
- the rules across cases for the touched cases, judged on the cases they name as those stood,
  old ones included (read back, not reported on themselves): the entrustment a new
  subcontracting step names, and every request when a provision was touched;
- the roster's own rules, always in full (it is small, and every case depends on it);
- that every case not disposed of still has its key (a key deleted since the checkpoint is
  not an event: only this finds it for a case not touched since).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import StoredEvent
from sqlalchemy import func, select

from approvals.audit.cases import Replay, Share, linked_workflows
from approvals.audit.damage import (
    KEY_MISSING,
    STORAGE_ERRORS,
    damage_findings,
    disposed_cases,
    issued_references,
)
from approvals.audit.findings import Finding, unreplayable
from approvals.audit.links import link_violations
from approvals.audit.pages import Positions, as_bytes, as_uuid, text_id
from approvals.domain.case import Case, case_id
from approvals.domain.links import IN_EFFECT_LINKS, PROVISION, REQUEST
from approvals.errors import CaseUnreadable

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication
    from approvals.domain.workflow import Workflow

__all__ = ["Since", "context_links", "missing_keys", "touched"]


@dataclass(frozen=True, slots=True)
class Since:
    """How much an incremental verification checked beyond re-hashing the whole log."""

    position: int
    """The checkpoint's size: the events before it were re-hashed against its signed root."""
    signed: datetime
    """When the checkpoint was signed."""
    path: str
    """The checkpoint's file."""
    events: int
    """Events at ``position`` and after: their signatures checked."""
    cases: int
    """Cases with an event at ``position`` or after: decoded and replayed whole."""
    aggregates: int
    """Aggregates of every kind (cases, their records, the roster…) with such an event."""


def touched(app: ApprovalsApplication, since: int) -> set[str]:
    """The ids (as text) of the aggregates with an event at position ``since`` or after."""
    ledger = app.recorder.ledger  # type: ignore[attr-defined]
    with app.engine.connect() as connection:
        rows = connection.execute(
            select(ledger.c.originator_id).where(ledger.c.position >= since).distinct()
        ).scalars()
        return {text_id(row) for row in rows}


def events_since(app: ApprovalsApplication, since: int) -> int:
    """How many ledger rows are at position ``since`` or after."""
    ledger = app.recorder.ledger  # type: ignore[attr-defined]
    with app.engine.connect() as connection:
        query = select(func.count()).select_from(ledger).where(ledger.c.position >= since)
        return int(connection.execute(query).scalar_one())


# -- the rules across cases -----------------------------------------------------------------------


def _read_back(app: ApprovalsApplication, references: list[str]) -> Iterator[Any]:
    """Cases not touched since the checkpoint, read from the store for the rules across cases
    (their own rules were vouched for by the checkpoint): their events in a few queries, their
    keys a page at a time; for each reference, its (case, workflow), or the error reading it
    raised."""
    events = app.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
    for start in range(0, len(references), 500):
        chunk = references[start : start + 500]
        ids = {case_id(reference): reference for reference in chunk}
        try:
            app.case_keys.preload(str(originator) for originator in ids)
        except STORAGE_ERRORS:
            raise
        except Exception:  # noqa: BLE001 - a key edited into nonsense: decoding says so
            pass
        read: dict[str, list[Any]] = {}
        with app.engine.connect() as connection:
            rows = connection.execute(
                select(events.c.originator_id, events.c.originator_version, events.c.topic,
                       events.c.state)
                .where(events.c.originator_id.in_(list(ids)))
                .order_by(events.c.originator_id, events.c.originator_version)
            ).all()  # fmt: skip
        for raw, version, topic, state in rows:
            read.setdefault(text_id(raw), []).append((raw, version, topic, state))
        for originator, reference in ids.items():
            try:
                case: Any = None
                for raw, version, topic, state in read.get(str(originator), []):
                    stored = StoredEvent(as_uuid(raw), version, topic, as_bytes(state))
                    event: Any = app.mapper.to_domain_event(stored)
                    case = event.mutate(case)
                if case is None:
                    raise LookupError(reference)
                yield reference, (case, app.definition_of(case))
            except STORAGE_ERRORS:
                raise
            except Exception as error:  # noqa: BLE001 - judged by the caller
                yield reference, error


def _named(case: Case, workflow: Workflow) -> Iterator[str]:
    """The references a case names in the fields the rules across cases follow."""
    for name in workflow.fields:
        if (workflow.id, name) not in IN_EFFECT_LINKS:
            continue
        for entry in case.history:
            value = entry.fields.get(name)
            if value:
                yield str(value)


def _requests(app: ApprovalsApplication) -> list[str]:
    """The reference of every request case in the log, from the notices (decrypted, their
    keys read a page at a time): what a provision's rule reads.  A notice that does not read
    is passed over (damage of a case touched since is named by the walk; of one not touched,
    by :func:`missing_keys`)."""
    found: list[str] = []
    page: list[Any] = []

    def settle() -> None:
        try:
            app.case_keys.preload(str(n.originator_id) for n in page)
        except STORAGE_ERRORS:
            raise
        except Exception:  # noqa: BLE001 - a key edited into nonsense: decoding says so
            pass
        for notification in page:
            try:
                event: Any = app.mapper.to_domain_event(notification)
            except STORAGE_ERRORS:
                raise
            except Exception:  # noqa: BLE001 - a notice that does not read names no request
                continue
            if getattr(event, "workflow_id", None) == REQUEST:
                found.append(str(event.reference))
        page.clear()

    for notification in app.notifications((Case.Filed.TOPIC,)):
        page.append(notification)
        if len(page) >= 2000:
            settle()
    settle()
    return found


def context_links(
    app: ApprovalsApplication,
    checked: Mapping[str, tuple[Case, Workflow]],
    positions: Positions,
) -> list[Finding]:
    """The findings of the rules across cases for the ``checked`` cases (touched since the
    checkpoint), judged with every case they may name loaded, touched or not; findings only
    for the ``checked`` ones."""
    linked = linked_workflows(workflow.id for _, workflow in checked.values())
    loaded = {r: pair for r, pair in checked.items() if pair[1].id in linked}
    if not loaded:
        return []
    findings: list[Finding] = []
    wanted = {named for case, workflow in loaded.values() for named in _named(case, workflow)}
    if any(workflow.id == PROVISION for _, workflow in loaded.values()):
        wanted.update(_requests(app))
    for reference, read in _read_back(app, sorted(wanted - set(loaded))):
        if isinstance(read, LookupError):
            continue  # names no case of the log: the rule itself says what that means
        if isinstance(read, BaseException):
            findings.append(unreplayable(reference))  # a case that cannot be judged by
            continue
        loaded[reference] = read
    try:
        links = list(link_violations(app, loaded, positions))
    except Exception:  # noqa: BLE001 - a tampered case may not replay; that is the finding
        return [*findings, unreplayable("the links between cases")]
    findings += [
        Finding("rule", positions(case_id(reference), version), reference, message)
        for reference, version, message in links
        if reference in checked
    ]
    return findings


def without_cases(share: Share) -> tuple[Share, dict[str, tuple[Case, Workflow]]]:
    """The ``share`` with its replayed cases taken out (so that :func:`check_rules` judges no
    link itself), and those cases, by reference."""
    kept: dict[str, tuple[Case, Workflow]] = {}
    replays: dict[str, Replay | None] = {}
    for reference, replay in share.replays.items():
        if replay is not None and replay.case is not None and replay.workflow is not None:
            kept[reference] = (replay.case, replay.workflow)
            replays[reference] = replace(replay, case=None, workflow=None, links=None)
        else:
            replays[reference] = None if replay is None else replace(replay, links=None)
    return replace(share, replays=replays), kept


# -- keys -----------------------------------------------------------------------------------------


def missing_keys(app: ApprovalsApplication, skip: set[str], positions: Positions) -> list[Finding]:
    """A finding for each case not in ``skip`` (those walked), not disposed of, whose key is
    gone: that the key is there is checked, not that it decrypts the case."""
    events = app.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
    keys = app.case_keys.table
    with app.engine.connect() as connection:
        filed = {
            text_id(row)
            for row in connection.execute(
                select(events.c.originator_id).where(events.c.topic == Case.Filed.TOPIC)
            ).scalars()
        }
        held = {str(row) for row in connection.execute(select(keys.c.originator_id)).scalars()}
    missing = filed - held - skip
    if not missing:
        return []
    missing -= {str(originator) for originator in disposed_cases(app)}
    if not missing:
        return []
    names = issued_references(app)
    by_id: dict[str, str] = {str(originator): reference for originator, reference in names.items()}
    problems = [
        CaseUnreadable(KEY_MISSING, reference=by_id.get(originator, originator))
        for originator in sorted(missing, key=lambda o: by_id.get(o, o))
    ]
    return damage_findings(app, problems, positions)


def count_cases(share: Share) -> int:
    """How many cases the walk of the touched aggregates met (by their notice)."""
    return len({originator for _, originator, _, _ in share.filed})
