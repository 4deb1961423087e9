"""Each case checked again against the rules it ran on, with the roster as it stood each time.

The engine refuses these on the way in; here they are checked on what is in the log, so that
an event forged or reordered behind the engine's back breaks a rule an auditor can read:
a step the definition does not allow from that state (handover before the individual
contract), a decision by someone who did not hold the role at that moment (an approval by a
former chief), a filer deciding on their own case, one person taking two of the notice, the
consultation and the approval on one case, a step by the audit officer, a step dated before
the one it follows, a step taken without the evidence its definition asks for; and each
appointment on the roster against the roster's separation rules.
"""

from __future__ import annotations

import heapq
from collections.abc import ItemsView, Iterable, Iterator, Mapping, Sequence, ValuesView
from typing import TYPE_CHECKING, Any, cast

from approvals.audit.cases import LINKABLE, Replay, Share, linked_workflows
from approvals.audit.findings import Finding, unreplayable
from approvals.audit.kept import Kept, WorkflowKey
from approvals.audit.keys import CaseDataErased
from approvals.audit.links import LinkSummary, summarized, summary_violations
from approvals.audit.pages import Positions
from approvals.domain.approved import conflict
from approvals.domain.case import Case, Entry, case_id
from approvals.domain.clocks import JST
from approvals.domain.dates import DateConflict, date_conflict
from approvals.domain.derived import unmet_requirement
from approvals.domain.guards import (
    DUTIES,
    requirement_refusal,
    separation_conflict,
)
from approvals.domain.roster import (
    ROSTER_ID,
    Roster,
    appointment_conflict,
    role_phrase,
    shown_value,
)
from approvals.domain.workflow import Step, Workflow
from approvals.errors import Label

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication

__all__ = [
    "approval_violations",
    "case_violations",
    "check_rules",
    "date_violations",
    "newest_definition",
    "read_roster",
    "requirement_violations",
    "roster_violations",
]


def case_violations(
    history: Sequence[Entry], workflow: Workflow, roster: Roster, department: str
) -> Iterator[tuple[int, Label]]:
    """Yield (version, what is wrong) for every event of a case that breaks its rules."""
    filing = history[0]
    if (filing.trigger, filing.dest) != ("file", workflow.initial):
        yield (
            filing.position,
            Label(
                f"the case does not start with a notice in '{workflow.initial}'",
                f"案件が「{workflow.initial}」への届け出で始まっていません",
            ),
        )
    if not roster.holds(filing.actor, workflow.file_role, department, filing.at):
        yield (
            filing.position,
            Label(
                f"{filing.actor} filed it without holding the {workflow.file_role} role of "
                f"{department} at that moment",
                f"{filing.actor} は届け出の時点で {department} の {workflow.file_role} ではありません",
            ),
        )
    fields: dict[str, Any] = dict(filing.fields)
    checked: set[str] = set()
    state, previous = workflow.initial, filing.at
    if roster.holds(filing.actor, "auditor", "", filing.at):
        yield filing.position, _auditor_acted(filing)
    for index, entry in enumerate(history[1:], start=1):
        step = workflow.steps.get((state, entry.trigger))
        if step is None or step.dest != entry.dest:
            yield (
                entry.position,
                Label(
                    f"'{entry.trigger}' was taken from '{state}', which the definition does not allow",
                    f"定義上「{state}」から「{entry.trigger}」はできません",
                ),
            )
            state, previous = entry.dest, entry.at
            continue
        if entry.at < previous:
            yield (
                entry.position,
                Label(
                    f"'{entry.trigger}' is dated {entry.at.isoformat()}, before the step it follows",
                    f"「{entry.trigger}」の日時 {entry.at.isoformat()} が直前の手順より前です",
                ),
            )
        if entry.role != step.role or not roster.holds(
            entry.actor, step.role, department, entry.at
        ):
            yield (
                entry.position,
                Label(
                    f"{entry.actor} took '{entry.trigger}' without holding the {step.role} role "
                    "at that moment",
                    f"{entry.actor} はその時点で {step.role} ではないのに「{entry.trigger}」を"
                    "行っています",
                ),
            )
        yield from _separation_violations(history[:index], step, entry, roster)
        if step.filer_only and entry.actor != filing.actor:
            yield (
                entry.position,
                Label(
                    f"{entry.actor} took '{entry.trigger}', which only the filer may take",
                    f"{entry.actor} が届出者のみ可能な「{entry.trigger}」を行っています",
                ),
            )
        fields.update(entry.fields)
        checked.update(entry.checklist)
        missing = [name for name in workflow.needed_by(step, fields) if name not in fields]
        missing += [
            item
            for item in step.checklist
            if item not in checked or (item in step.fresh_items and item not in entry.checklist)
        ]
        missing += [n for n, v in step.expect.items() if n in fields and fields.get(n) != v]
        if step.comment_required and not entry.comment.strip():
            missing.append("comment")
        disorder = workflow.date_disorder(fields)
        if disorder is not None and set(disorder) & set(entry.fields):
            yield (
                entry.position,
                Label(
                    f"{disorder[1]} is dated before {disorder[0]}",
                    f"{disorder[1]} が {disorder[0]} より前の日付です",
                ),
            )
        if missing:
            yield (
                entry.position,
                Label(
                    f"'{entry.trigger}' was taken without {', '.join(missing)}",
                    f"「{entry.trigger}」が {', '.join(missing)} なしに行われています",
                ),
            )
        state, previous = step.dest, entry.at


def _auditor_acted(entry: Entry) -> Label:
    return Label(
        f"{entry.actor} took '{entry.trigger}' while the audit officer, who takes no step (Art.21)",
        f"{entry.actor} は個人情報保護監査責任者でありながら「{entry.trigger}」を行っています"
        "(監査責任者は手順を行いません、第21条)",
    )


def _separation_violations(
    before: Sequence[Entry], step: Step, entry: Entry, roster: Roster
) -> Iterator[tuple[int, Label]]:
    """The separation of duties replayed on one step, by the rule the engine refuses by
    (:func:`~approvals.domain.guards.separation_conflict`), and no step by the audit officer."""
    taken = separation_conflict(before, step.role, entry.actor)
    if taken == "notice":
        yield (
            entry.position,
            Label(
                f"{entry.actor} decided '{entry.trigger}' on a case they filed",
                f"{entry.actor} は自ら届け出た案件で「{entry.trigger}」を行っています",
            ),
        )
    elif taken is not None:
        yield (
            entry.position,
            Label(
                f"{entry.actor} took '{entry.trigger}' on a case where they took "
                f"{DUTIES[taken].en}: one person takes one of the notice, the consultation "
                "and the approval",
                f"{entry.actor} はこの案件で{DUTIES[taken].ja}を行ったのに「{entry.trigger}」を"
                "行っています: 届け出・協議・承認は一人一つです",
            ),
        )
    if roster.holds(entry.actor, "auditor", "", entry.at):
        yield entry.position, _auditor_acted(entry)


def roster_violations(events: Iterable[Any]) -> Iterator[tuple[int, Label]]:
    """Yield (version, what is wrong) for every appointment among the roster's ``events``
    that breaks the roster's separation rules, checked on the roster as it stood just before
    it (see :func:`~approvals.domain.roster.appointment_conflict`): someone appointing
    themselves, the audit officer given another role or a role holder made audit officer."""
    roster: Roster | None = None
    for event in events:
        if isinstance(event, Roster.Appointed) and roster is not None:
            problem = appointment_conflict(
                roster,
                actor=event.actor,
                user=event.user,
                role=event.role,
                department=event.department,
            )
            if problem is not None:
                name, of = role_phrase(event.role, event.department)
                own = event.actor == event.user
                yield (
                    event.originator_version,
                    Label(
                        f"{event.actor} appointed {'themselves' if own else event.user} as the "
                        f"{name.en}{of.en}: {problem.render('en')}",
                        f"{event.actor} が{'自分自身' if own else event.user}を{of.ja}{name.ja}に"
                        f"選任しています: {problem.render('ja')}",
                    ),
                )
        roster = cast("Roster", event.mutate(roster))


RosterRead = tuple[Roster | None, list[Any]] | None
"""The roster as it stands and its events, or None when it does not replay."""


def read_roster(app: ApprovalsApplication) -> RosterRead:
    """Read the roster the rules are checked with: (it, its events), or None when a tampered
    log does not replay it (the finding :func:`check_rules` then gives alone)."""
    try:
        return app.roster_aggregate(), list(app.events.get(ROSTER_ID))
    except Exception:  # noqa: BLE001 - a tampered log may not replay; that is the finding
        return None


def check_rules(
    app: ApprovalsApplication,
    roster_read: RosterRead,
    references: Sequence[str],
    found: Share,
    positions: Positions,
) -> list[Finding]:
    """Return a finding for every event of every case that breaks its rules, and for every
    appointment on the roster that breaks the roster's (see :func:`roster_violations`).

    The cases were replayed by :class:`~approvals.audit.cases.CasePass` (``found``) from the
    events it decoded; a case it could not replay alone (filed under one id and read under
    another) is read back here."""
    if roster_read is None:
        return [unreplayable("roster")]
    roster, roster_events = roster_read
    if roster is None:
        return []
    findings: list[Finding] = []
    try:
        for version, message in roster_violations(roster_events):
            findings.append(Finding("rule", positions(ROSTER_ID, version), "roster", message))
    except Exception:  # noqa: BLE001 - a tampered log may not replay; that is the finding
        findings.append(unreplayable("roster"))
    checked: list[tuple[str, Replay]] = []  # for the rules across cases
    for reference in references:
        replay = found.replays.get(reference)
        if replay is None:
            replay = _read_back(app, roster, reference)
        verdict = _verdict(replay, found)
        if verdict == "erased":
            continue  # disposed of: its events can no longer be read, by design
        if verdict == "unreadable":
            findings.append(unreplayable(reference))
            continue
        checked.append((reference, replay))
        for version, message in replay.violations:
            findings.append(
                Finding("rule", positions(case_id(reference), version), reference, message)
            )
    try:
        links = _links(app, checked, positions, found)
    except Exception:  # noqa: BLE001 - a tampered case may not replay; that is the finding
        links = []
        findings.append(unreplayable("the links between cases"))
    for reference, version, message in links:
        findings.append(Finding("rule", positions(case_id(reference), version), reference, message))
    return findings


def _links(
    app: ApprovalsApplication,
    checked: Sequence[tuple[str, Replay]],
    positions: Positions,
    found: Share,
) -> list[tuple[str, int, Label]]:
    """The rules across cases, over the cases they can concern (the others yield nothing),
    from their summaries (:func:`~approvals.audit.links.summary_violations`): those of the
    cases ``checked`` here and those the walk kept on disk (``found.kept``: cases that
    replayed clean, but for those taken back), in the order the cases were filed; an event
    of any case checked that the ledger holds twice makes them all unreadable, as reading
    its position would."""
    for reference, replay in checked:
        originator = case_id(reference)
        if any(positions.twice(originator, version) for version in replay.versions):
            raise LookupError(f"{reference} has an event the ledger holds twice")
    present = {replay.workflow_id for _, replay in checked}
    if found.kept is not None:
        present |= found.kept.workflows()
    linked = linked_workflows(present)
    here = {
        reference: (replay.links, replay.workflow)
        for reference, replay in checked
        if replay.workflow_id in linked and replay.links is not None and replay.workflow is not None
    }
    if found.kept is None or not linked:
        return list(summary_violations(app, here, positions))
    notices = {reference: notice for notice, _, reference, _ in found.filed if reference in here}
    loaded = _Summaries(
        here, notices, found.kept, workflows=found.workflows, skip=found.taken_back, linked=linked
    )
    return list(summary_violations(app, loaded, positions))


class _Summaries(Mapping[str, tuple[LinkSummary, Workflow]]):
    """The summaries the rules across cases read: those of the cases checked in this process
    (``here``, filed at ``notices``) and those kept on disk but those taken back (``skip``),
    of the ``linked`` workflows, in the order the cases were filed; read from disk as they
    are asked for, never all held."""

    def __init__(
        self,
        here: dict[str, tuple[LinkSummary, Workflow]],
        notices: dict[str, int],
        kept: Kept,
        *,
        workflows: dict[WorkflowKey, Workflow],
        skip: set[str],
        linked: set[str],
    ) -> None:
        self.here, self.notices, self.linked = here, notices, linked
        self.kept, self.workflows, self.skip = kept, workflows, skip

    def __getitem__(self, reference: str) -> tuple[LinkSummary, Workflow]:
        if reference in self.here:
            return self.here[reference]
        found = None if reference in self.skip else self.kept.summary(reference)
        if found is None or found[0][0] not in self.linked:
            raise KeyError(reference)
        return found[1], self.workflows[found[0]]

    def __iter__(self) -> Iterator[str]:
        return (reference for reference, _ in self.items())

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def items(self) -> ItemsView[str, tuple[LinkSummary, Workflow]]:
        return _Streamed(self)

    def values(self) -> ValuesView[tuple[LinkSummary, Workflow]]:
        return _StreamedValues(self)

    def stream(self) -> Iterator[tuple[str, tuple[LinkSummary, Workflow]]]:
        """Every summary, in the order the cases were filed."""
        here = sorted((self.notices[reference], reference) for reference in self.here)
        kept = (
            (notice, reference, key, summary)
            for notice, reference, key, summary in self.kept.summaries()
            if key[0] in self.linked and reference not in self.skip
        )
        mine = ((notice, reference, None, None) for notice, reference in here)
        for _, reference, key, summary in heapq.merge(mine, kept, key=lambda row: row[0]):
            if key is None or summary is None:
                yield reference, self.here[reference]
            else:
                yield reference, (summary, self.workflows[key])


class _Streamed(ItemsView[str, tuple[LinkSummary, Workflow]]):
    _mapping: _Summaries

    def __iter__(self) -> Iterator[tuple[str, tuple[LinkSummary, Workflow]]]:
        return self._mapping.stream()


class _StreamedValues(ValuesView[tuple[LinkSummary, Workflow]]):
    _mapping: _Summaries

    def __iter__(self) -> Iterator[tuple[LinkSummary, Workflow]]:
        return (value for _, value in self._mapping.stream())


def _verdict(replay: Replay, found: Share) -> str:
    """Finish a case replayed: "erased" (skipped, as disposed of), "unreadable", or "ok"; its
    retention record, read with it, has the last word."""
    if replay.stage == "erased":
        return "erased"
    if replay.stage != "checked":
        return "unreadable"
    record = "ok" if replay.record is None else found.records.get(replay.record, "ok")
    if record == "erased":
        return "erased"
    return "ok" if record == "ok" and replay.ok else "unreadable"


def newest_definition(app: ApprovalsApplication, workflow: Workflow) -> Workflow:
    """The definition whose rules a case on ``workflow`` is checked by too: the one new cases
    are filed on, unless ``workflow`` is newer (a company's version of a built-in, read from
    the log by a verifier not given the company's folder)."""
    newest = app.workflows.get(workflow.id, workflow)
    return newest if newest.version >= workflow.version else workflow


def _read_back(app: ApprovalsApplication, roster: Roster, reference: str) -> Replay:
    """Read one case back from the store and check it (a case no share could replay)."""
    try:
        case: Case = app.repository.get(case_id(reference))
        workflow = app.workflow_of(reference)
        newest = newest_definition(app, workflow)
        violations = (
            *case_violations(case.history, workflow, roster, case.department),
            *approval_violations(case.history, workflow, newest),
            *date_violations(case.history, workflow, newest),
            *requirement_violations(case.history, workflow, newest),
        )
    except CaseDataErased:
        return Replay("erased")  # disposed of: its events can no longer be read, by design
    except Exception:  # noqa: BLE001 - a tampered case may not replay; that is the finding
        return Replay("unreadable")
    versions = tuple(entry.position for entry in case.history)
    links = summarized(case, workflow) if workflow.id in LINKABLE else None
    return Replay("checked", None, True, violations, versions, workflow.id, case, workflow, links)


def requirement_violations(
    history: Sequence[Entry], workflow: Workflow, newest: Workflow
) -> Iterator[tuple[int, Label]]:
    """Yield (version, what is wrong) for every step taken although what the case recorded
    required otherwise (:mod:`approvals.domain.derived`: an incident closed unreported with a
    trigger of the law recorded) — by the case's own definition and by the ``newest`` one, so
    that a case written before the rule, whose requirement was typed, shows what it forbids."""
    judges = [workflow]
    if newest is not workflow:
        judges.append(newest)
    fields: dict[str, Any] = {}
    state = ""
    for entry in history:
        fields.update(entry.fields)
        step = workflow.steps.get((state, entry.trigger))
        state = entry.dest
        if step is None:
            continue
        for judge in judges:
            specs = {**workflow.fields, **judge.fields}
            found = unmet_requirement(specs, step, fields)
            if found is not None:
                refusal = requirement_refusal(judge, found, step.label, "")
                triggers, field, required = (
                    refusal.params[name] for name in ("triggers", "field", "required")
                )
                yield (
                    entry.position,
                    Label(
                        f"'{entry.trigger}' was taken with {_en(triggers)} recorded, which makes "
                        f"“{_en(field)}” yes: {_en(required)} were required first",
                        f"「{entry.trigger}」が {_ja(triggers)} の記録があるのに行われています"
                        f"(「{_ja(field)}」に当たり、先に {_ja(required)} が必要です)",
                    ),
                )
                break


def _en(value: Any) -> str:
    return ", ".join(_en(v) for v in value) if isinstance(value, tuple) else value.en


def _ja(value: Any) -> str:
    return "、".join(_ja(v) for v in value) if isinstance(value, tuple) else value.ja


def date_violations(
    history: Sequence[Entry], workflow: Workflow, newest: Workflow
) -> Iterator[tuple[int, Label]]:
    """Yield (version, what is wrong) for every date recorded that lies about when something
    happened (:mod:`approvals.domain.dates`): later than the moment it was recorded, or before
    a moment it may not precede — by the case's own definition and by the ``newest`` one, so
    that a case written before a rule existed shows what that rule forbids."""
    judges = [workflow.fields]
    if newest is not workflow:
        judges.append({**workflow.fields, **newest.fields})
    for index, entry in enumerate(history):
        for specs in judges:
            found = date_conflict(workflow, history[:index], entry.fields, entry.at, specs)
            if found is not None:
                yield entry.position, _date_finding(entry.trigger, found)
                break


def _date_finding(trigger: str, found: DateConflict) -> Label:
    field, value, bound = found.field.label, shown_value(found.value), found.bound
    if found.future:
        return Label(
            f"'{trigger}' recorded {field.en} as {value}, later than the moment it was "
            f"recorded ({found.bound_value})",
            f"「{trigger}」が{field.ja}を {value} と記録していますが、記録の時点"
            f"({found.bound_value})より後です",
        )
    where = (
        Label(f"'{bound.en}' was recorded on the case", f"この案件の「{bound.ja}」")
        if found.step
        else Label(bound.en, bound.ja)
    )
    return Label(
        f"'{trigger}' recorded {field.en} as {value}, before {where.en} ({found.bound_value})",
        f"「{trigger}」が{field.ja}を {value} と記録していますが、{where.ja}"
        f"({found.bound_value})より前です",
    )


def approval_violations(
    history: Sequence[Entry], workflow: Workflow, newest: Workflow
) -> Iterator[tuple[int, Label]]:
    """Yield (version, what is wrong) for every step that recorded a value its case's approval
    did not cover (:mod:`approvals.domain.approved`): by the rules of the case's own definition
    and of the ``newest`` definition of its workflow, so that a case written before a rule
    existed shows what that rule forbids."""

    def approves(step: Step) -> tuple[str, ...]:
        later = newest.steps.get((step.source, step.trigger))
        return tuple(dict.fromkeys([*step.approves, *(later.approves if later else ())]))

    for index, entry in enumerate(history[1:], start=1):
        step = workflow.steps.get((entry.source, entry.trigger))
        if step is None:
            continue  # a step the definition does not allow: case_violations names it
        found = conflict(workflow, history[:index], step, entry.fields, approves)
        if found is not None:
            approval = found.approval
            label = workflow.fields[found.field].label
            on = approval.entry.at.astimezone(JST).date().isoformat()
            given = shown_value(", ".join(found.others) if found.others else found.given, 80)
            approved = shown_value(approval.value, 80)
            yield (
                entry.position,
                Label(
                    f"'{entry.trigger}' recorded {label.en} as '{given}', which the approval "
                    f"('{approval.entry.trigger}', {on}) did not cover: it approved '{approved}'",
                    f"「{entry.trigger}」が{label.ja}を「{given}」と記録していますが、承認"
                    f"(「{approval.entry.trigger}」、{on})の内容ではありません(承認された内容: "
                    f"「{approved}」)",
                ),
            )
