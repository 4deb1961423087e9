"""Check every event's signature against the roster's keys as they stood at its position.

Walks the ledger in position order with the signatures table beside it, replaying the roster's
own events (which are not encrypted) as it goes, so that each event is judged by the keys
registered and not revoked before it.  See :mod:`approvals.audit.signing` for what is signed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import StoredEvent
from sqlalchemy import Connection, and_, case, inspect, select

from approvals.audit.findings import Finding
from approvals.audit.signing import SIGNATURES_TABLE, signature_is_valid
from approvals.domain.roster import ROSTER_ID, Roster, check_key_registration
from approvals.errors import ApprovalsError, Label

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication

__all__ = ["Signatures", "actor_findings", "signature_findings"]

_PAGE = 5000


@dataclass(frozen=True, slots=True)
class Signatures:
    """What the walk found: the findings, and from which position on events are signed."""

    findings: tuple[Finding, ...]
    signed_from: int | None
    events: int

    @property
    def note(self) -> Label:
        """The sentence the report carries about signing."""
        if self.signed_from is None:
            return Label(
                "No writer's key was ever registered: the events are not signed, so a row "
                "appended with the database's credentials alone cannot be told from the "
                "engine's (register the representative's key to begin signing).",
                "書き手の鍵が登録されていません: イベントは署名されておらず、データベースの資格"
                "情報だけで追加された行をエンジンの書き込みと区別できません(代表者の鍵を登録すると"
                "署名が始まります)。",
            )
        if self.signed_from == 0:
            return Label("Every event is signed.", "すべてのイベントが署名されています。")
        return Label(
            f"Events are signed from position {self.signed_from} on; the {self.signed_from:,} "
            "before it were written before signing began.",
            f"位置 {self.signed_from} 以降のイベントが署名されています。それより前の "
            f"{self.signed_from:,} 件は署名開始前に書かれたものです。",
        )


def _rows(app: ApprovalsApplication, connection: Connection) -> Iterator[Any]:
    ledger = app.recorder.ledger  # type: ignore[attr-defined]
    signatures = app.recorder.signatures  # type: ignore[attr-defined]
    events = app.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
    present = inspect(connection).has_table(SIGNATURES_TABLE)
    roster = str(ROSTER_ID)
    columns = [
        ledger.c.position,
        ledger.c.originator_id,
        ledger.c.originator_version,
        ledger.c.leaf_hash,
        case((ledger.c.originator_id == roster, events.c.topic), else_=None).label("topic"),
        case((ledger.c.originator_id == roster, events.c.state), else_=None).label("state"),
    ]
    if present:
        columns += [signatures.c.writer, signatures.c.key_id, signatures.c.signature]
    start = -1
    while True:
        query = select(*columns).outerjoin(events, events.c.id == ledger.c.event_id)
        if present:
            query = query.outerjoin(signatures, signatures.c.position == ledger.c.position)
        page = connection.execute(
            query.where(ledger.c.position > start).order_by(ledger.c.position).limit(_PAGE)
        ).all()
        yield from page
        if len(page) < _PAGE:
            return
        start = page[-1].position


def _orphans(app: ApprovalsApplication, connection: Connection) -> list[int]:
    """Positions of signatures no ledger row has (a signature row inserted on its own)."""
    if not inspect(connection).has_table(SIGNATURES_TABLE):
        return []
    ledger = app.recorder.ledger  # type: ignore[attr-defined]
    signatures = app.recorder.signatures  # type: ignore[attr-defined]
    query = (
        select(signatures.c.position)
        .outerjoin(ledger, ledger.c.position == signatures.c.position)
        .where(and_(ledger.c.position.is_(None)))
        .order_by(signatures.c.position)
        .limit(1000)
    )
    return [int(p) for p in connection.execute(query).scalars()]


class _Walk:
    def __init__(self, app: ApprovalsApplication) -> None:
        self.app = app
        self.roster: Roster | None = None
        self.findings: list[Finding] = []
        self.signed_from: int | None = None

    def add(self, code: str, position: int, en: str, ja: str) -> None:
        self.findings.append(Finding(code, position, "roster" if code == "key_registration"
                                     else f"event {position}", Label(en, ja)))  # fmt: skip

    def roster_event(self, row: Any) -> Any:
        """Decode and apply a roster event; None when it cannot be (the integrity walk names
        an altered event; here it only cannot count)."""
        try:
            stored = StoredEvent(
                originator_id=ROSTER_ID,
                originator_version=row.originator_version,
                topic=row.topic,
                state=bytes(row.state),
            )
            event: Any = self.app.mapper.to_domain_event(stored)
        except Exception:  # noqa: BLE001 - tampered bytes may fail anywhere in decoding
            self.add(
                "signature_roster", row.position,
                f"the roster event at position {row.position} cannot be read: the keys it may "
                "register or revoke are not known after it",
                f"位置 {row.position} の名簿イベントを読めません: それ以降の鍵の登録・失効を"
                "確認できません",
            )  # fmt: skip
            return None
        return event

    def apply(self, event: Any, position: int) -> None:
        try:
            self.roster = event.mutate(self.roster)
        except Exception:  # noqa: BLE001 - an event out of place (tampering) does not apply
            self.add(
                "signature_roster", position,
                f"the roster event at position {position} does not follow the roster before it",
                f"位置 {position} の名簿イベントはそれまでの名簿に続きません",
            )  # fmt: skip

    def row(self, row: Any) -> None:
        position = int(row.position)
        event: Any = self.roster_event(row) if row.topic is not None else None
        registration = isinstance(event, Roster.KeyRegistered)
        keys = getattr(self.roster, "keys", None) or {}
        if self.signed_from is None and registration:
            self.signed_from = position  # signing begins with the first registered key
        if self.signed_from is not None:
            if registration and self.roster is not None:
                self.registration(event, position)
            if not keys and registration:  # the first key signs its own registration
                self.signature(row, {event.key_id: _First(event)}, event)
            else:
                self.signature(row, keys, event)
        if event is not None:
            self.apply(event, position)

    def registration(self, event: Any, position: int) -> None:
        assert self.roster is not None
        try:
            check_key_registration(
                self.roster, actor=event.actor, holder=event.holder, service=event.service,
                public_key=event.public_key,
            )  # fmt: skip
        except ApprovalsError as refusal:
            self.add(
                "key_registration", position,
                f"the key registration at position {position} breaks a roster rule: "
                f"{refusal.render('en')}",
                f"位置 {position} の鍵の登録は名簿の規則に反します: {refusal.render('ja')}",
            )  # fmt: skip

    def signature(self, row: Any, keys: dict[str, Any], event: Any) -> None:
        position = int(row.position)
        key_id = getattr(row, "key_id", None)
        if key_id is None:
            self.add(
                "unsigned", position,
                f"event {position} is not signed, though every event after position "
                f"{self.signed_from} must be: it was appended behind the engine's back",
                f"イベント {position} は署名されていません(位置 {self.signed_from} 以降はすべて"
                "署名が必要です): エンジンを通さずに追加されています",
            )  # fmt: skip
            return
        record = keys.get(key_id)
        if record is None or record.end is not None:
            self.add(
                "signature_key", position,
                f"event {position} is signed by key {key_id}, which the roster did not hold "
                "registered at that moment",
                f"イベント {position} は、その時点で名簿に登録されていない鍵 {key_id} で署名"
                "されています",
            )  # fmt: skip
            return
        try:
            leaf = bytes.fromhex(row.leaf_hash)
        except (TypeError, ValueError):
            return  # a ledger row that is not what was written: the integrity walk names it
        if not signature_is_valid(record.public_key, position, leaf, row.writer, row.signature):
            self.add(
                "signature", position,
                f"the signature of event {position} does not verify with key {key_id}: the "
                "event or its signature was forged",
                f"イベント {position} の署名は鍵 {key_id} で検証できません: イベントか署名が"
                "偽造されています",
            )  # fmt: skip
            return
        actor = getattr(event, "actor", None)
        if (not record.service and record.holder != row.writer) or (
            actor is not None and actor != row.writer
        ):
            self.add(
                "signature_writer", position,
                f"event {position} is signed by {record.holder}'s key for {row.writer}"
                + (f", but {actor} acted" if actor is not None and actor != row.writer else ""),
                f"イベント {position} は {record.holder} の鍵で {row.writer} として署名されて"
                "います" + (f"が、行為者は {actor} です" if actor is not None
                            and actor != row.writer else ""),
            )  # fmt: skip


@dataclass(frozen=True, slots=True)
class _First:
    """The key the first registration registers, as the walk judges its own signature."""

    event: Any

    @property
    def public_key(self) -> str:
        return str(self.event.public_key)

    @property
    def holder(self) -> str:
        return str(self.event.holder)

    @property
    def service(self) -> bool:
        return bool(self.event.service)

    end = None


def signature_findings(app: ApprovalsApplication) -> Signatures:
    """Check the signature of every event after signing began; never raises on what it reads."""
    walk = _Walk(app)
    count = 0
    with app.engine.connect() as connection:
        for row in _rows(app, connection):
            walk.row(row)
            count += 1
        for position in _orphans(app, connection):
            walk.add(
                "signature_orphan", position,
                f"a signature for position {position} has no event in the ledger",
                f"位置 {position} の署名に対応するイベントが台帳にありません",
            )  # fmt: skip
    return Signatures(tuple(walk.findings), walk.signed_from, count)


def actor_findings(app: ApprovalsApplication, signed_from: int | None) -> list[Finding]:
    """Compare the actor inside each signed event (decrypted: a case's events are encrypted)
    with the writer its signature names: someone holding their own key and the database's
    credentials cannot append "the chief approved" under the chief's name.  An event that does
    not decode is left to the decoding layer, which names it."""
    if signed_from is None:
        return []
    ledger = app.recorder.ledger  # type: ignore[attr-defined]
    signatures = app.recorder.signatures  # type: ignore[attr-defined]
    events = app.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
    findings: list[Finding] = []
    start = signed_from - 1
    with app.engine.connect() as connection:
        while True:
            page = connection.execute(
                select(ledger.c.position, events.c.originator_id, events.c.originator_version,
                       events.c.topic, events.c.state, signatures.c.writer)
                .join(events, events.c.id == ledger.c.event_id)
                .join(signatures, signatures.c.position == ledger.c.position)
                .where(ledger.c.position > start, ledger.c.originator_id != str(ROSTER_ID))
                .order_by(ledger.c.position)
                .limit(_PAGE)
            ).all()  # fmt: skip
            for row in page:
                try:
                    event: Any = app.mapper.to_domain_event(
                        StoredEvent(
                            row.originator_id, row.originator_version, row.topic, bytes(row.state)
                        )
                    )
                except Exception:  # noqa: BLE001 - named by the decoding layer
                    continue
                actor = getattr(event, "actor", None)
                if isinstance(actor, str) and actor != row.writer:
                    findings.append(Finding(
                        "signature_writer", row.position, f"event {row.position}", Label(
                            f"event {row.position} says {actor} acted, but it was signed for "
                            f"{row.writer}: it was written under someone else's name",
                            f"イベント {row.position} の行為者は {actor} ですが、{row.writer} として"
                            "署名されています: 他人の名で書き込まれています",
                        )))  # fmt: skip
            if len(page) < _PAGE:
                return findings
            start = page[-1].position
