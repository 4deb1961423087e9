"""The roster: who held which role in which department, and when (Art.3, 20, 21)."""

from __future__ import annotations

import hashlib
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from approvals.domain.case import NAMESPACE
from approvals.domain.workflow import DEPARTMENT_ROLES, ROLES
from approvals.errors import InvalidValue, Label, RosterRefused

__all__ = [
    "DEPARTMENT",
    "NAME_LIMIT",
    "PERSON",
    "ROSTER_ID",
    "KeyRecord",
    "Roster",
    "Term",
    "appointment_conflict",
    "bad_character",
    "check_appointment",
    "check_dismissal",
    "check_key_registration",
    "check_key_revocation",
    "check_name",
    "key_id_of",
    "shown_value",
]

ROSTER_ID: UUID = uuid5(NAMESPACE, "roster")


@dataclass(frozen=True, slots=True)
class Term:
    """One person holding one role (in one department) from ``start`` until ``end``."""

    user: str
    role: str
    department: str
    start: datetime
    end: datetime | None = None

    def active_at(self, at: datetime | None) -> bool:
        """Return whether the term was running at ``at`` (now when None)."""
        if at is None:
            return self.end is None
        return self.start <= at and (self.end is None or at < self.end)


def key_id_of(public_key: str) -> str:
    """Return the short id of an Ed25519 public key given as 64 hex digits: the first 16 hex
    digits of the SHA-256 of its 32 bytes (the id checkpoints use for the auditor's key)."""
    return hashlib.sha256(bytes.fromhex(public_key)).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A writer's public key as the roster registered it: a person's own key, or the service
    key of a host application (which signs for the people its sign-on authenticated)."""

    key_id: str
    public_key: str
    holder: str
    service: bool
    registered_by: str
    start: datetime
    end: datetime | None = None
    revoked_by: str = ""


class Roster(Aggregate):
    """The company's one roster; appointments, dismissals and writers' keys are its events."""

    TOPIC = "approvals:Roster"

    if TYPE_CHECKING:
        terms: list[Term]
        keys: dict[str, KeyRecord]

    class Created(Aggregate.Created):
        """Never triggered: eventsourcing defines it for every aggregate, so it gets a topic."""

        TOPIC = "approvals:Roster.Created"

    class Established(Aggregate.Created):
        """The roster began with the company's representative (代表者)."""

        TOPIC = "approvals:Roster.Established"
        representative: str
        actor: str

        def apply(self, aggregate: Roster) -> None:
            aggregate.terms = [Term(self.representative, "representative", "", self.timestamp)]
            aggregate.keys = {}

    class Appointed(Aggregate.Event):
        """Someone was appointed to a role (選任)."""

        TOPIC = "approvals:Roster.Appointed"
        user: str
        role: str
        department: str
        actor: str
        actor_role: str

        def apply(self, aggregate: Roster) -> None:
            aggregate.terms.append(Term(self.user, self.role, self.department, self.timestamp))

    class Dismissed(Aggregate.Event):
        """Someone's role ended (解任)."""

        TOPIC = "approvals:Roster.Dismissed"
        user: str
        role: str
        department: str
        actor: str
        actor_role: str

        def apply(self, aggregate: Roster) -> None:
            for index, term in enumerate(aggregate.terms):
                if (term.user, term.role, term.department) == (
                    self.user,
                    self.role,
                    self.department,
                ) and term.end is None:
                    aggregate.terms[index] = Term(
                        term.user, term.role, term.department, term.start, self.timestamp
                    )

    class KeyRegistered(Aggregate.Event):
        """A writer's public key was registered: from here on, events it signs are theirs."""

        TOPIC = "approvals:Roster.KeyRegistered"
        key_id: str
        public_key: str
        holder: str
        service: bool
        actor: str
        actor_role: str

        def apply(self, aggregate: Roster) -> None:
            aggregate.keys[self.key_id] = KeyRecord(
                self.key_id, self.public_key, self.holder, self.service, self.actor,
                self.timestamp,
            )  # fmt: skip

    class KeyRevoked(Aggregate.Event):
        """A writer's key was revoked: nothing it signs from here on is accepted."""

        TOPIC = "approvals:Roster.KeyRevoked"
        key_id: str
        actor: str
        actor_role: str

        def apply(self, aggregate: Roster) -> None:
            record = aggregate.keys[self.key_id]
            aggregate.keys[self.key_id] = KeyRecord(
                record.key_id, record.public_key, record.holder, record.service,
                record.registered_by, record.start, self.timestamp, self.actor,
            )  # fmt: skip

    @classmethod
    def establish(cls, *, representative: str, actor: str, at: datetime) -> Roster:
        """Start the roster with its representative."""
        return cls._create(
            cls.Established, id=ROSTER_ID, timestamp=at, representative=representative, actor=actor
        )

    def appoint(
        self, *, user: str, role: str, department: str, actor: str, actor_role: str, at: datetime
    ) -> None:
        """Record an appointment the caller has checked with :func:`check_appointment`."""
        self.trigger_event(
            self.Appointed,
            timestamp=at,
            user=user,
            role=role,
            department=department,
            actor=actor,
            actor_role=actor_role,
        )

    def dismiss(
        self, *, user: str, role: str, department: str, actor: str, actor_role: str, at: datetime
    ) -> None:
        """Record a dismissal the caller has checked with :func:`check_dismissal`."""
        self.trigger_event(
            self.Dismissed,
            timestamp=at,
            user=user,
            role=role,
            department=department,
            actor=actor,
            actor_role=actor_role,
        )

    def register_key(
        self, *, public_key: str, holder: str, service: bool, actor: str, actor_role: str,
        at: datetime,
    ) -> None:  # fmt: skip
        """Record a key the caller has checked with :func:`check_key_registration`."""
        self.trigger_event(
            self.KeyRegistered, timestamp=at, key_id=key_id_of(public_key), public_key=public_key,
            holder=holder, service=service, actor=actor, actor_role=actor_role,
        )  # fmt: skip

    def revoke_key(self, *, key_id: str, actor: str, actor_role: str, at: datetime) -> None:
        """Record a revocation the caller has checked with :func:`check_key_revocation`."""
        self.trigger_event(
            self.KeyRevoked, timestamp=at, key_id=key_id, actor=actor, actor_role=actor_role
        )

    # -- questions -------------------------------------------------------------------------

    def key(self, key_id: str) -> KeyRecord | None:
        """Return the key registered under ``key_id`` and not revoked, or None."""
        record = getattr(self, "keys", {}).get(key_id)
        return record if record is not None and record.end is None else None

    @property
    def signing(self) -> bool:
        """Whether a key was ever registered: from then on every event must be signed."""
        return bool(getattr(self, "keys", None))

    def terms_at(self, at: datetime | None = None) -> list[Term]:
        """Return the terms running at ``at`` (now when None)."""
        return [term for term in self.terms if term.active_at(at)]

    def _terms_of(self, user: str) -> Sequence[Term]:
        """The terms ``user`` ever held: looked up, not searched for (a large group's roster
        has thousands, and each step of each case asks), by an index made again after each of
        the roster's events."""
        found: tuple[int, dict[str, list[Term]]] | None = self.__dict__.get("_by_user")
        if found is None or found[0] != self.version:
            index: dict[str, list[Term]] = {}
            for term in self.terms:
                index.setdefault(term.user, []).append(term)
            found = (self.version, index)
            self.__dict__["_by_user"] = found
        return found[1].get(user, ())

    def knows(self, user: str) -> bool:
        """Return whether ``user`` ever held any role."""
        return bool(self._terms_of(user))

    def holds(self, user: str, role: str, department: str = "", at: datetime | None = None) -> bool:
        """Return whether ``user`` held ``role`` (of ``department``) at ``at``."""
        return any(
            term.role == role
            and (role not in DEPARTMENT_ROLES or term.department == department)
            and term.active_at(at)
            for term in self._terms_of(user)
        )

    def holders(self, role: str, department: str = "", at: datetime | None = None) -> list[str]:
        """Return who held ``role`` (of ``department``) at ``at``, sorted."""
        return sorted(
            {
                term.user
                for term in self.terms
                if term.role == role
                and (role not in DEPARTMENT_ROLES or term.department == department)
                and term.active_at(at)
            }
        )

    def roles_of(self, user: str, at: datetime | None = None) -> list[Term]:
        """Return the terms ``user`` held at ``at``."""
        return [term for term in self._terms_of(user) if term.active_at(at)]


def role_phrase(role: str, department: str) -> tuple[Label, Label]:
    """Return the role's name and an " of <department>" phrase, in both languages."""
    name = ROLES[role]
    if role in DEPARTMENT_ROLES and department:
        return name, Label(f" of {department}", f"{department}の")
    return name, Label("", "")


def _authority(roster: Roster, actor: str, role: str, department: str) -> str | None:
    """Return the role under which ``actor`` may appoint or dismiss, or None."""
    if role in ("chief", "auditor", "representative"):
        return "representative" if roster.holds(actor, "representative") else None
    if role == "manager":
        return "chief" if roster.holds(actor, "chief") else None
    # staff and handler: the department's manager (Art.20-3), or the chief over them.
    if roster.holds(actor, "manager", department):
        return "manager"
    return "chief" if roster.holds(actor, "chief") else None


def _check_role(role: str, department: str) -> None:
    if role not in ROLES:
        raise RosterRefused("roster.unknown_role", role=role, known=tuple(ROLES))
    if role in DEPARTMENT_ROLES and not department:
        raise RosterRefused("roster.department_needed", role=ROLES[role])
    if role not in DEPARTMENT_ROLES and department:
        raise RosterRefused("roster.no_department", role=ROLES[role])


def _allowed_appointers(role: str) -> tuple[Label, ...]:
    if role in ("chief", "auditor", "representative"):
        return (ROLES["representative"],)
    if role == "manager":
        return (ROLES["chief"],)
    return (Label("the department's manager", "その部の個人情報管理者"), ROLES["chief"])


PERSON = Label("The person's name", "氏名")
DEPARTMENT = Label("The department", "部")
NAME_LIMIT = 100
"""The longest name of a person, a department or a document (in characters)."""

_CONTROL = Label("control characters", "制御文字")
_SURROGATE = Label("a lone surrogate (not valid Unicode)", "単独のサロゲート(不正な Unicode)")


def bad_character(text: str, allowed: str = "") -> tuple[int, Label] | None:
    """Return the position (from 1) of the first character of ``text`` that may not be stored,
    and what it is: a control character not in ``allowed`` (NUL among them, which PostgreSQL
    cannot store) or a lone surrogate (which no database can store as UTF-8); None when none."""
    for index, character in enumerate(text, start=1):
        category = unicodedata.category(character)
        if category == "Cs":
            return index, _SURROGATE
        if category == "Cc" and character not in allowed:
            return index, _CONTROL
    return None


def shown_value(value: object, limit: int = 40) -> str:
    """Return ``value`` as shown in a refusal: control characters and surrogates escaped,
    and cut at ``limit`` characters, so the sentence stays one short line.  A whole number
    too long for Python to write in decimal (over 4,300 digits) is shown by its magnitude."""
    try:
        text = str(value)
    except ValueError:
        if not isinstance(value, int):
            raise
        digits = int(abs(value).bit_length() * math.log10(2))
        text = f"{'-' if value < 0 else ''}≈10^{digits}"
    cut = text[:limit]
    escaped = "".join(
        ch if unicodedata.category(ch) not in ("Cc", "Cs") else f"\\u{ord(ch):04x}" for ch in cut
    )
    return escaped + ("…" if len(text) > limit else "")


def check_name(value: str, what: Label, limit: int = NAME_LIMIT) -> str:
    """Refuse a name (of a person, a department, a document) that is empty, has a space at
    either end, holds a control character or a lone surrogate, or is longer than ``limit``
    characters; return it.  Any script is allowed: 佐藤 花子 is a name like sato."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue("value.empty", what=what)
    bad = bad_character(value)
    if bad is not None:
        position, kind = bad
        raise InvalidValue(
            "value.character", field=what, what=kind, value=shown_value(value), position=position
        )
    if len(value) > limit:
        raise InvalidValue("value.too_long", field=what, limit=limit, length=len(value))
    if value != value.strip():
        raise InvalidValue("value.padded", field=what, value=f"'{shown_value(value)}'")
    return value


def check_appointment(roster: Roster, *, actor: str, user: str, role: str, department: str) -> str:
    """Refuse an appointment that breaks a roster rule; return the role the actor acts as."""
    check_name(user, PERSON)
    _check_role(role, department)
    if department:
        check_name(department, DEPARTMENT)
    name, of = role_phrase(role, department)
    actor_role = _authority(roster, actor, role, department)
    if actor_role is None:
        raise RosterRefused(
            "roster.not_authorized",
            person=actor,
            action=Label("appoint", "選任"),
            role=name,
            department=of,
            allowed=_allowed_appointers(role),
        )
    if roster.holds(user, role, department):
        raise RosterRefused("roster.already", person=user, role=name, department=of)
    conflict = appointment_conflict(
        roster, actor=actor, user=user, role=role, department=department
    )
    if conflict is not None:
        raise conflict
    return actor_role


def appointment_conflict(
    roster: Roster, *, actor: str, user: str, role: str, department: str
) -> RosterRefused | None:
    """Return the refusal of an appointment that breaks separation of duties on the roster
    as it stands (its running terms), or None; the one statement of these rules, which
    :func:`check_appointment` raises and ``audit verify`` replays on every appointment logged.

    - Nobody appoints themselves (選任する者と選任される者は別人): not the representative
      as chief, not the chief as a department's manager, not a manager as staff.
    - The audit officer (Art.21) holds no other role while audit officer, and nobody holding
      a role is made audit officer: the audit officer takes no step on any case.  The chief
      and the audit officer keep their own sentence (``roster.chief_auditor``).
    """
    if actor == user:
        name, of = role_phrase(role, department)
        return RosterRefused(
            "roster.self", person=user, role=name, department=of, allowed=_allowed_appointers(role)
        )
    if role == "auditor":
        others = [(t.role, t.department) for t in roster.roles_of(user) if t.role != "auditor"]
    elif roster.holds(user, "auditor"):
        others = [(role, department)]
    else:
        return None
    if not others:
        return None
    if any(other == "chief" for other, _ in others):
        return RosterRefused("roster.chief_auditor", person=user)
    name, of = role_phrase(*others[0])
    return RosterRefused("roster.auditor_other", person=user, role=name, department=of)


def check_dismissal(roster: Roster, *, actor: str, user: str, role: str, department: str) -> str:
    """Refuse a dismissal that breaks a roster rule; return the role the actor acts as."""
    _check_role(role, department)
    name, of = role_phrase(role, department)
    actor_role = _authority(roster, actor, role, department)
    if actor_role is None:
        raise RosterRefused(
            "roster.not_authorized",
            person=actor,
            action=Label("dismiss", "解任"),
            role=name,
            department=of,
            allowed=_allowed_appointers(role),
        )
    if not roster.holds(user, role, department):
        raise RosterRefused("roster.not_held", person=user, role=name, department=of)
    if role == "representative" and roster.holders("representative") == [user]:
        raise RosterRefused("roster.last_representative", person=user)
    return actor_role


SERVICE_REGISTRARS = ("representative", "chief")
"""Who registers a host application's service key: it signs for anyone its sign-on admits."""


def check_key_registration(
    roster: Roster, *, actor: str, holder: str, service: bool, public_key: str
) -> str:
    """Refuse a key registration that breaks a roster rule; return the role the actor acts as.

    A person's key is registered by someone who may appoint that person to a role they hold
    now (whoever vouches for the person vouches for their key); a service key by the
    representative or the chief.  Nobody registers their own key — except the representative's
    first key, which begins signing on a roster where no key was ever registered.
    """
    check_name(holder, PERSON)
    try:
        raw = bytes.fromhex(public_key)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise RosterRefused("roster.key_invalid", holder=holder)
    key = roster.keys.get(key_id_of(public_key)) if roster.signing else None
    if key is not None:
        raise RosterRefused("roster.key_known", key_id=key.key_id, holder=key.holder)
    if service:
        for role in SERVICE_REGISTRARS:
            if roster.holds(actor, role):
                return role
        raise RosterRefused(
            "roster.key_not_authorized", person=actor, holder=holder,
            allowed=tuple(ROLES[r] for r in SERVICE_REGISTRARS),
        )  # fmt: skip
    if actor == holder:
        if not roster.signing and roster.holds(actor, "representative"):
            return "representative"
        raise RosterRefused("roster.key_self", person=actor)
    terms = roster.roles_of(holder)
    if not terms:
        raise RosterRefused("roster.key_no_role", holder=holder)
    for term in terms:
        actor_role = _authority(roster, actor, term.role, term.department)
        if actor_role is not None:
            return actor_role
    raise RosterRefused(
        "roster.key_not_authorized", person=actor, holder=holder,
        allowed=_allowed_appointers(terms[0].role),
    )  # fmt: skip


def check_key_revocation(roster: Roster, *, actor: str, key_id: str) -> str:
    """Refuse a revocation that breaks a roster rule; return the role the actor acts as: the
    key's holder may revoke it (a lost key), and so may whoever may register it."""
    key = roster.key(key_id)
    if key is None:
        raise RosterRefused("roster.key_unknown", key_id=key_id)
    if not key.service and actor == key.holder:
        return "holder"
    if key.service:
        for role in SERVICE_REGISTRARS:
            if roster.holds(actor, role):
                return role
    else:
        for term in roster.roles_of(key.holder):
            actor_role = _authority(roster, actor, term.role, term.department)
            if actor_role is not None:
                return actor_role
        if roster.holds(actor, "representative"):  # a former holder's key
            return "representative"
    raise RosterRefused("roster.key_revoke_refused", person=actor, key_id=key_id, holder=key.holder)
