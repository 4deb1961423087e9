"""Who may file and take which step, with what evidence: pure checks that raise before any event."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from approvals.domain.approved import Conflict, conflict
from approvals.domain.case import Case, Entry
from approvals.domain.clocks import EARLIEST, JST, LATEST
from approvals.domain.dates import DateConflict, date_conflict
from approvals.domain.derived import Requirement, derive, unmet_requirement
from approvals.domain.disclosure import computed_refusal
from approvals.domain.roster import (
    DEPARTMENT,
    NAME_LIMIT,
    Roster,
    bad_character,
    check_name,
    role_phrase,
    shown_value,
)
from approvals.domain.workflow import ROLES, FieldSpec, Step, Workflow
from approvals.errors import (
    EvidenceMissing,
    InvalidValue,
    Label,
    NotAuthorized,
    Param,
    StepNotAllowed,
    UnknownPerson,
)

__all__ = [
    "DOCUMENT_LIMIT",
    "DUTIES",
    "EARLIEST",
    "LATEST",
    "TEXT_LIMIT",
    "TITLE_LIMIT",
    "WHOLE_LIMIT",
    "Decision",
    "check_documents",
    "check_filing",
    "check_step",
    "duty_of",
    "normalise_fields",
    "normalise_value",
    "separation_conflict",
]

WHOLE_LIMIT = 10**12
"""The largest whole number recorded (either sign): more than any count of people or records."""

TEXT_LIMIT = 10_000
"""The longest free text recorded (a text field, a comment), in characters."""

TITLE_LIMIT = 200
"""The longest title of a case, in characters."""

DOCUMENT_LIMIT = 255
"""The longest name of an attached document: the longest file name most systems allow."""

_TITLE = Label("The title", "件名")
_COMMENT = Label("The comment", "コメント")
_DOCUMENT = Label("The document's name", "文書名")

_TRUE = {"true", "yes", "y", "1", "はい", "on"}
_FALSE = {"false", "no", "n", "0", "いいえ", "off"}
_KIND_LABELS = {
    "date": Label("a date such as 2026-04-01", "2026-04-01 のような日付"),
    "datetime": Label(
        "a date and time such as 2026-04-01T09:30 (JST unless an offset is given)",
        "2026-04-01T09:30 のような日時(オフセットがなければ日本時間)",
    ),
    "case": Label("a case reference such as ENT-2026-0001", "ENT-2026-0001 のような案件番号"),
    "bool": Label("yes or no", "yes か no"),
    "int": Label(
        "a whole number written in the digits 0-9 such as 120 (a leading - if negative)",
        "120 のような 0-9 の数字で書いた整数(負の数は先頭に -)",
    ),
    "text": Label("some text", "文字列"),
}
_RANGE_KINDS = {
    "date": Label("a date", "日付"),
    "datetime": Label("a date and time", "日時"),
    "int": Label("a whole number", "整数"),
}


@dataclass(frozen=True, slots=True)
class Decision:
    """What a checked step will record: the step, the actor's role and the clean values."""

    step: Step
    role: str
    fields: dict[str, Any]
    checklist: list[str]


def _held(roster: Roster, person: str, at: datetime | None) -> tuple[Label, ...]:
    terms = roster.roles_of(person, at)
    shown: list[Label] = []
    for term in terms:
        name, of = role_phrase(term.role, term.department)
        shown.append(Label(f"{name.en}{of.en}", f"{of.ja}{name.ja}"))
    return tuple(shown) or (Label("no role", "役割なし"),)


def _known(roster: Roster, person: str) -> None:
    # Someone dismissed from every role is still known: they are told what they lack.
    if not roster.knows(person):
        raise UnknownPerson(person=person)


def normalise_fields(
    workflow: Workflow, values: Mapping[str, Any], at: datetime | None = None
) -> dict[str, Any]:
    """Return ``values`` checked against the workflow's fields, in their stored form; with
    ``at``, a datetime field later than ``at`` is refused (what is recorded has happened)."""
    clean: dict[str, Any] = {}
    for name, value in values.items():
        spec = workflow.fields.get(name)
        if spec is None:
            raise InvalidValue(
                "value.unknown_field",
                workflow=workflow.title,
                field=name,
                known=tuple(workflow.fields),
            )
        clean[name] = normalise_value(spec, value)
        if at is not None and spec.kind == "datetime" and datetime.fromisoformat(clean[name]) > at:
            raise InvalidValue(
                "value.future",
                field=spec.label,
                value=clean[name][:16].replace("T", " "),
                now=at.astimezone(JST).isoformat(timespec="minutes").replace("T", " ")[:16],
            )
    return clean


def _as_bool(spec: FieldSpec, value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE:
        return True
    if isinstance(value, str) and value.lower() in _FALSE:
        return False
    return _INVALID


def _within(spec: FieldSpec, day: date, given: Any) -> None:
    if not EARLIEST <= day <= LATEST:
        raise InvalidValue(
            "value.out_of_range",
            field=spec.label,
            kind=_RANGE_KINDS[spec.kind],
            low=EARLIEST.isoformat(),
            high=LATEST.isoformat(),
            value=shown_value(given),
        )


def _as_date(spec: FieldSpec, value: Any) -> Any:
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, str) and value.isascii():
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return _INVALID
    else:
        return _INVALID
    _within(spec, day, value)
    return day.isoformat()


def _as_datetime(spec: FieldSpec, value: Any) -> Any:
    moment = value
    if isinstance(value, str):
        if len(value) < 16 or not value.isascii():  # a date alone says no time of day
            return _INVALID
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return _INVALID
    if not isinstance(moment, datetime):
        return _INVALID
    # Checked before any conversion: near year 1 or 9999 a change of offset overflows.
    _within(spec, moment.date(), value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=JST)
    return moment.astimezone(JST).isoformat(timespec="seconds")


def _as_case(spec: FieldSpec, value: Any) -> Any:
    if not isinstance(value, str) or len(value) > NAME_LIMIT or not value.isascii():
        return _INVALID
    reference = value.strip().upper()
    prefix, _, rest = reference.partition("-")
    year, _, number = rest.partition("-")
    if not (prefix.isalpha() and year.isdigit() and number.isdigit()):
        return _INVALID
    return reference


def _as_int(spec: FieldSpec, value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _WHOLE.fullmatch(value):
        # Never int() a long string: Python refuses more than 4,300 digits with a ValueError.
        digits = value.lstrip("-").lstrip("0")
        number = int(value) if len(digits) <= len(str(WHOLE_LIMIT)) else WHOLE_LIMIT + 1
    else:
        return _INVALID
    if not -WHOLE_LIMIT <= number <= WHOLE_LIMIT:
        raise InvalidValue(
            "value.out_of_range",
            field=spec.label,
            kind=_RANGE_KINDS["int"],
            low=f"{-WHOLE_LIMIT:,}",
            high=f"{WHOLE_LIMIT:,}",
            value=shown_value(value),
        )
    return number


def _as_text(spec: FieldSpec, value: Any) -> Any:
    if not isinstance(value, str) or not value:
        return _INVALID
    return check_text(value, spec.label)


def check_text(value: str, what: Label, limit: int = TEXT_LIMIT) -> str:
    """Refuse free text (a text field, a comment) holding a control character other than a
    line break (LF, or CR as in CRLF text pasted from Windows) or a tab, or a lone surrogate,
    or longer than ``limit`` characters; return it."""
    bad = bad_character(value, allowed="\n\r\t")
    if bad is not None:
        position, kind = bad
        shown = Label(f"{kind.en} other than line breaks and tabs", f"改行とタブ以外の{kind.ja}")
        raise InvalidValue(
            "value.character",
            field=what,
            what=shown if kind.en == "control characters" else kind,
            value=shown_value(value),
            position=position,
        )
    if len(value) > limit:
        raise InvalidValue("value.too_long", field=what, limit=limit, length=len(value))
    return value


_INVALID = object()
_WHOLE = re.compile(r"-?[0-9]+")
_PARSERS = {
    "bool": _as_bool,
    "date": _as_date,
    "datetime": _as_datetime,
    "int": _as_int,
    "text": _as_text,
    "case": _as_case,
}


def normalise_value(spec: FieldSpec, value: Any) -> Any:
    """Return ``value`` in the stored form of the field ``spec``, or refuse it.

    Every kind has bounds, so that nothing stored can break a read later: a date (or the day
    of a datetime) lies between :data:`EARLIEST` and :data:`LATEST`; a whole number is written
    in the ASCII digits 0-9 (a leading ``-`` allowed) and lies within ±:data:`WHOLE_LIMIT`;
    text is valid Unicode without control characters other than line breaks and tabs, at most
    :data:`TEXT_LIMIT` characters; a case reference is ASCII; a choice is one of its choices."""
    text = value.strip() if isinstance(value, str) else value
    if spec.kind == "choice":
        if isinstance(text, str) and text in spec.choices:
            return text
        raise InvalidValue(
            "value.choice", field=spec.label, allowed=spec.choices, value=shown_value(value)
        )
    clean = _PARSERS[spec.kind](spec, text)
    if clean is _INVALID:
        raise InvalidValue(
            "value.invalid",
            field=spec.label,
            kind=_KIND_LABELS[spec.kind],
            value=shown_value(value),
        )
    return clean


def check_documents(names: Iterable[str]) -> None:
    """Refuse the name of an attached document that is not a plain name (see
    :func:`~approvals.domain.roster.check_name`); file names may be up to 255 characters."""
    for name in names:
        check_name(name, _DOCUMENT, DOCUMENT_LIMIT)


def _check_items(workflow: Workflow, items: Iterable[str]) -> list[str]:
    checked: list[str] = []
    for item in items:
        if item not in workflow.checklist:
            raise InvalidValue(
                "value.unknown_item",
                workflow=workflow.title,
                item=item,
                known=tuple(workflow.checklist),
            )
        if item not in checked:
            checked.append(item)
    return checked


def check_filing(
    workflow: Workflow,
    roster: Roster,
    *,
    actor: str,
    department: str,
    title: str,
    fields: Mapping[str, Any],
    at: datetime,
    comment: str = "",
    documents: Iterable[str] = (),
) -> tuple[str, dict[str, Any]]:
    """Refuse a notice that may not be filed; return the filer's role and the clean fields.

    The title and the department are stored without the spaces at their ends; each must be
    a plain name (no control character, the title at most :data:`TITLE_LIMIT` characters),
    the comment and every value within the bounds of :func:`normalise_value`."""
    _known(roster, actor)
    check_name(title.strip(), _TITLE, TITLE_LIMIT)
    check_name(department.strip(), DEPARTMENT)
    check_text(comment, _COMMENT)
    check_documents(documents)
    role = workflow.file_role
    if not roster.holds(actor, role, department, at):
        raise NotAuthorized(
            "file.not_authorized",
            person=actor,
            workflow=workflow.title,
            department=department,
            role=ROLES[role],
            held=_held(roster, actor, at),
        )
    clean = normalise_fields(workflow, fields, at)
    _check_not_derived(workflow, clean)
    clean.update(derive(workflow.fields, {}, clean))
    _check_dates(workflow, (), clean, at)
    absent = tuple(name for name in workflow.file_fields if name not in clean)
    if absent:
        raise EvidenceMissing(
            "evidence.fields",
            trigger=Label("file", "届け出"),
            reference=workflow.title,
            missing=tuple(field_phrase(workflow, name) for name in absent),
            fields=absent,
        )
    return role, clean


def check_step(
    case: Case,
    workflow: Workflow,
    roster: Roster,
    *,
    actor: str,
    trigger: str,
    comment: str,
    fields: Mapping[str, Any],
    checklist: Iterable[str],
    at: datetime,
    documents: Iterable[str] = (),
) -> Decision:
    """Refuse a step that may not be taken now by ``actor``; return what it will record.
    The comment, the names of the documents and every value must be within bounds (see
    :func:`normalise_value`)."""
    _known(roster, actor)
    check_text(comment, _COMMENT)
    check_documents(documents)
    step = _find_step(case, workflow, trigger)
    role = _authorise(case, roster, step, actor, at)
    clean = normalise_fields(workflow, fields, at)
    _check_not_derived(workflow, clean)
    _check_guarded(case, workflow, step, clean)
    _check_approved(case, workflow, step, clean)
    _check_dates(workflow, case.history, clean, at)
    clean.update(derive(workflow.fields, case.fields, clean))
    _check_required(case, workflow, step, clean)
    items = _check_items(workflow, checklist)
    _check_evidence(case, workflow=workflow, step=step, comment=comment, fields=clean, items=items)
    return Decision(step=step, role=role, fields=clean, checklist=items)


def _find_step(case: Case, workflow: Workflow, trigger: str) -> Step:
    step = workflow.step(case.state, trigger)
    if step is not None:
        return step
    state = workflow.state(case.state)
    label = workflow.trigger_label(trigger) if trigger in workflow.triggers else trigger
    if trigger not in workflow.triggers:
        raise StepNotAllowed(
            "step.unknown", workflow=workflow.title, trigger=trigger, known=workflow.triggers
        )
    if state.terminal:
        raise StepNotAllowed(
            "step.final", trigger=label, reference=case.reference, state=state.label
        )
    raise StepNotAllowed(
        "step.not_allowed",
        trigger=label,
        reference=case.reference,
        state=state.label,
        allowed=tuple(
            Label(s.trigger, f"{s.label.ja}({s.trigger})") for s in workflow.allowed(case.state)
        ),
    )


def _authorise(case: Case, roster: Roster, step: Step, actor: str, at: datetime) -> str:
    if step.filer_only and actor != case.filer:
        raise NotAuthorized(
            "step.filer_only",
            person=actor,
            trigger=step.label,
            reference=case.reference,
            filer=case.filer,
        )
    if not roster.holds(actor, step.role, case.department, at):
        if roster.holds(actor, "auditor", "", at) and len(roster.roles_of(actor, at)) == 1:
            raise NotAuthorized(
                "step.auditor", person=actor, trigger=step.label, reference=case.reference
            )
        name, of = role_phrase(step.role, case.department)
        raise NotAuthorized(
            "step.not_authorized",
            person=actor,
            trigger=step.label,
            reference=case.reference,
            role=name,
            department=of,
            held=_held(roster, actor, at),
        )
    taken = separation_conflict(case.history, step.role, actor)
    if taken == "notice":
        raise NotAuthorized(
            "step.own_case",
            person=actor,
            trigger=step.label,
            reference=case.reference,
            role=ROLES[step.role],
        )
    if taken is not None:
        raise NotAuthorized(
            "step.separation",
            person=actor,
            trigger=step.label,
            reference=case.reference,
            taken=DUTIES[taken],
            role=ROLES[step.role],
        )
    return step.role


DUTIES: Mapping[str, Label] = {
    "notice": Label("the notice", "届け出"),
    "consultation": Label("the consultation", "協議"),
    "approval": Label("the approval", "承認"),
}
"""The three duties on a case one person never combines (Art.3, 4-3, 20): see
:func:`separation_conflict`."""

_DUTY_OF_ROLE = {"manager": "consultation", "chief": "approval"}


def duty_of(role: str) -> str | None:
    """Return the duty a step of ``role`` takes on a case: every manager's step is the
    consultation (協議, and what the manager records on the case), every chief's step the
    approval (承認: approve, reject, return, and the chief's later decisions); a staff or
    handler step after the notice records facts and is no duty."""
    return _DUTY_OF_ROLE.get(role)


def separation_conflict(history: Sequence[Entry], role: str, actor: str) -> str | None:
    """Return the duty ``actor`` already took on a case (whose events so far are
    ``history``) that forbids them a step of ``role``, or None when they may take it.

    On a case there are three duties: the notice (届け出) is the filing, ``history[0]``, and
    only that; the consultation (協議) is every step whose role is the manager's, the
    approval (承認) every step whose role is the chief's (see :func:`duty_of`).  One person
    takes at most one of them on a case, whatever roles they hold: the filer takes no manager
    or chief step, whoever consulted takes no chief step, whoever took a chief step takes no
    manager step.  Steps of no duty (staff and handler steps, such as the filer's resubmission
    or a recorded handover) are never refused here, and do not count.  ``"notice"`` is
    returned before the others, so that the filer is told they filed the case.

    The one statement of the rule: :func:`check_step` refuses by it, and ``audit verify``
    replays it on every step logged, whatever definition version the case runs on."""
    duty = duty_of(role)
    if duty is None or not history:
        return None
    if history[0].actor == actor:
        return "notice"
    for entry in history[1:]:
        taken = duty_of(entry.role)
        if entry.actor == actor and taken is not None and taken != duty:
            return taken
    return None


def _check_guarded(case: Case, workflow: Workflow, step: Step, fields: Mapping[str, Any]) -> None:
    """Refuse a step recording a field a rule depends on that the step does not name."""
    if step.dest == workflow.initial:
        return
    guarded = workflow.guarded_fields
    for name in fields:
        if name in guarded and name not in step.fields:
            by = workflow.steps_recording(name)
            raise InvalidValue(
                "value.not_this_step",
                field=workflow.fields[name].label,
                trigger=step.label,
                reference=case.reference,
                steps=tuple(s.label for s in by) or (Label("the notice", "届け出"),),
            )


def _check_not_derived(workflow: Workflow, fields: Mapping[str, Any]) -> None:
    """Refuse a value of a field the engine derives (see :mod:`approvals.domain.derived`) or
    counts from the provision ledger (see :mod:`approvals.domain.disclosure`)."""
    refusal = computed_refusal(workflow, fields)
    if refusal is not None:
        raise refusal
    for name in fields:
        spec = workflow.fields[name]
        if spec.any_of:
            raise InvalidValue(
                "value.derived",
                field=spec.label,
                triggers=tuple(workflow.fields[other].label for other in spec.any_of),
            )


def _check_required(case: Case, workflow: Workflow, step: Step, fields: Mapping[str, Any]) -> None:
    """Refuse a step that ignores a requirement derived from what the case records (closing
    an incident unreported though a trigger of the law is recorded)."""
    found = unmet_requirement(workflow.fields, step, {**case.fields, **fields})
    if found is not None:
        raise requirement_refusal(workflow, found, step.label, case.reference)


def requirement_refusal(
    workflow: Workflow, found: Requirement, trigger: Label, reference: str
) -> EvidenceMissing:
    """The refusal of a step that ignores the requirement ``found`` names: the triggers
    recorded, and the steps the requirement asks for (those expecting it true)."""
    required = {
        s.trigger: s.label
        for s in workflow.steps.values()
        if s.expect.get(found.field) is True and s.label != trigger
    }
    return EvidenceMissing(
        "evidence.required",
        trigger=trigger,
        reference=reference,
        triggers=tuple(workflow.fields[name].label for name in found.triggers),
        field=workflow.fields[found.field].label,
        required=tuple(required.values()),
    )


def _check_dates(
    workflow: Workflow, history: Iterable[Entry], fields: Mapping[str, Any], at: datetime
) -> None:
    """Refuse a date that lies about when something happened (see
    :mod:`approvals.domain.dates`)."""
    found = date_conflict(workflow, history, fields, at)
    if found is not None:
        raise date_refusal(found)


def date_refusal(found: DateConflict) -> InvalidValue:
    """The refusal of the date ``found`` names."""
    value = shown_value(found.value)
    if found.future:
        return InvalidValue(
            "value.not_yet", field=found.field.label, value=value, now=found.bound_value
        )
    return InvalidValue(
        "value.before_step" if found.step else "value.before",
        field=found.field.label,
        value=value,
        bound=found.bound,
        bound_value=found.bound_value,
    )


def _check_approved(case: Case, workflow: Workflow, step: Step, fields: Mapping[str, Any]) -> None:
    """Refuse a value of a field an approval in force fixed otherwise (see
    :mod:`approvals.domain.approved`)."""
    found = conflict(workflow, case.history, step, fields)
    if found is not None:
        raise approval_refusal(workflow, found, step.label, case.reference)


def approval_refusal(
    workflow: Workflow, found: Conflict, trigger: Label, reference: str
) -> InvalidValue:
    """The refusal of a value ``found`` names that the approval in force does not cover."""
    approval = found.approval
    spec = workflow.fields[found.field]
    on = approval.entry.at.astimezone(JST).date().isoformat()
    again = [  # a step that approves the field again on a running case (new places)
        s.label for s in workflow.steps.values() if found.field in s.approves and s.source == s.dest
    ]
    change = Label(
        "".join(f", or approved again by '{label.en}'" for label in again[:1]),
        "".join(f"(「{label.ja}」で改めて承認を受けることもできます)" for label in again[:1]),
    )
    common: dict[str, Param] = {
        "field": spec.label,
        "trigger": trigger,
        "reference": reference,
        "approval": approval.step.label,
        "on": on,
        "approved": shown_value(approval.value, 80),
        "change": change,
    }
    if found.others:
        return InvalidValue("value.approved_items", **common, others=found.others)
    return InvalidValue("value.approved", **common, given=shown_value(found.given, 80))


def _check_evidence(
    case: Case,
    *,
    workflow: Workflow,
    step: Step,
    comment: str,
    fields: Mapping[str, Any],
    items: list[str],
) -> None:
    merged = {**case.fields, **fields}
    for name, expected in step.expect.items():
        actual = merged.get(name)
        if name in merged and actual != expected:
            raise EvidenceMissing(
                "evidence.expected",
                trigger=step.label,
                reference=case.reference,
                field=workflow.fields[name].label,
                expected=_shown(expected),
                actual=_shown(actual),
            )
    needed = workflow.needed_by(step, merged)
    absent = tuple(name for name in needed if name not in merged)
    if absent:
        raise EvidenceMissing(
            "evidence.fields",
            trigger=step.label,
            reference=case.reference,
            missing=tuple(field_phrase(workflow, name) for name in absent),
            fields=absent,
        )
    stale = tuple(name for name in step.fresh if name in step.fields and name not in fields)
    if stale:
        raise EvidenceMissing(
            "evidence.fresh",
            trigger=step.label,
            reference=case.reference,
            missing=tuple(field_phrase(workflow, name) for name in stale),
            fields=stale,
        )
    confirmed = (set(case.checked) - step.fresh_items) | set(items)
    unchecked = tuple(name for name in step.checklist if name not in confirmed)
    if unchecked:
        raise EvidenceMissing(
            "evidence.checklist",
            trigger=step.label,
            reference=case.reference,
            missing=tuple(item_phrase(workflow, name) for name in unchecked),
            items=unchecked,
        )
    disorder = workflow.date_disorder(merged)
    if disorder is not None:
        earlier, later = (workflow.fields[name] for name in disorder)
        raise InvalidValue(
            "value.order",
            later=later.label,
            later_value=str(merged[later.name]),
            earlier=earlier.label,
            earlier_value=str(merged[earlier.name]),
        )
    if step.comment_required and not comment.strip():
        raise EvidenceMissing("evidence.comment", trigger=step.label, reference=case.reference)


KIND_NAMES: Mapping[str, Label] = {
    "text": Label("text", "文字列"),
    "date": Label("date", "日付"),
    "datetime": Label("date and time", "日時"),
    "bool": Label("yes or no", "はい/いいえ"),
    "int": Label("whole number", "整数"),
    "choice": Label("one of", "次のいずれか"),
    "case": Label("case reference", "整理番号"),
}
"""The short name of each kind of field, as a refusal names what is missing."""


def kind_phrase(spec: FieldSpec) -> Label:
    """Return the short name of the field's kind, with its choices when it has them."""
    kind = KIND_NAMES[spec.kind]
    if not spec.choices:
        return kind
    return Label(f"{kind.en} {'/'.join(spec.choices)}", f"{kind.ja} {'/'.join(spec.choices)}")


def field_phrase(workflow: Workflow, name: str) -> Label:
    """Return the field ``name`` as a refusal names it: its label, its key and its kind
    ("Purpose of collection (`purpose`, text)")."""
    spec = workflow.fields[name]
    kind = kind_phrase(spec)
    return Label(f"{spec.label.en} (`{name}`, {kind.en})", f"{spec.label.ja}(`{name}`、{kind.ja})")


def item_phrase(workflow: Workflow, name: str) -> Label:
    """Return the checklist item ``name`` as a refusal names it: its label and its key."""
    label = workflow.checklist[name].label
    return Label(f"{label.en} (`{name}`)", f"{label.ja}(`{name}`)")


def _shown(value: Any) -> Label:
    if value is True:
        return Label("yes", "はい")
    if value is False:
        return Label("no", "いいえ")
    if value is None:
        return Label("not recorded", "未記録")
    return Label(str(value), str(value))
