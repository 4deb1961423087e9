"""Each case checked again against the rules it ran on, with the roster as it stood each time.

The engine refuses these on the way in; here they are checked on what is in the log, so that
an event forged or reordered behind the engine's back breaks a rule an auditor can read:
a step the definition does not allow from that state (handover before the individual
contract), a decision by someone who did not hold the role at that moment (an approval by a
former chief), a filer deciding on their own case, a step dated before the one it follows,
a step taken without the evidence its definition asks for.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from approvals.audit.findings import Finding
from approvals.audit.keys import CaseDataErased
from approvals.domain.case import Case, Entry, case_id
from approvals.domain.roster import Roster
from approvals.domain.workflow import Workflow
from approvals.errors import Label

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication

__all__ = ["case_violations", "check_rules"]


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
    for entry in history[1:]:
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
        if step.role in ("manager", "chief") and entry.actor == filing.actor:
            yield (
                entry.position,
                Label(
                    f"{entry.actor} decided '{entry.trigger}' on a case they filed",
                    f"{entry.actor} は自ら届け出た案件で「{entry.trigger}」を行っています",
                ),
            )
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
        missing = [name for name in step.fields if name not in fields]
        missing += [item for item in step.checklist if item not in checked]
        missing += [n for n, v in step.expect.items() if fields.get(n) != v]
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


def check_rules(app: ApprovalsApplication) -> list[Finding]:
    """Return a finding for every event of every case that breaks its rules."""
    try:
        roster = app.roster_aggregate()
    except Exception:  # noqa: BLE001 - a tampered log may not replay; that is the finding
        return [_unreadable("roster")]
    if roster is None:
        return []
    findings: list[Finding] = []
    for reference in app.references():
        try:
            case: Case = app.repository.get(case_id(reference))
            workflow = app.workflow_of(reference)
        except CaseDataErased:
            continue  # disposed of: its events can no longer be read, by design
        except Exception:  # noqa: BLE001 - a tampered log may not replay; that is the finding
            findings.append(_unreadable(reference))
            continue
        for version, message in case_violations(case.history, workflow, roster, case.department):
            findings.append(
                Finding("rule", app.position_of(case_id(reference), version), reference, message)
            )
    return findings


def _unreadable(subject: str) -> Finding:
    return Finding(
        "unreadable",
        None,
        subject,
        Label(f"{subject} cannot be replayed from the log", f"{subject} をログから再生できません"),
    )
