"""What people read about a case, built from its state, its definition and the roster."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from approvals.domain.case import Case
from approvals.domain.clocks import Holiday, due_dates, retention_until, usable_day, weekends
from approvals.domain.flaws import flaws
from approvals.domain.roster import Roster
from approvals.domain.workflow import DEPARTMENT_ROLES, ROLES, Workflow
from approvals.errors import Label
from approvals.results import CaseView, DeadlineView, HistoryEntry, NextStep

__all__ = ["DECISIONS", "EFFECTIVE_DATE", "case_view", "history_entries", "register_values"]

FILE_LABEL = Label("file", "届け出")

EFFECTIVE_DATE = "effective_date"
"""The field in which a workflow records the day its action starts (the register shows it)."""

DECISIONS = ("approve", "reject")
"""The chief's decisions (承認 or not): the first one taken dates the decision."""


def history_entries(case: Case, workflow: Workflow) -> tuple[HistoryEntry, ...]:
    """Return every event of ``case``, oldest first, with its labels."""
    return tuple(
        HistoryEntry(
            position=entry.position,
            at=entry.at,
            actor=entry.actor,
            role=entry.role,
            role_label=ROLES[entry.role],
            trigger=entry.trigger,
            label=FILE_LABEL if entry.trigger == "file" else workflow.trigger_label(entry.trigger),
            source=entry.source,
            dest=entry.dest,
            dest_label=workflow.state(entry.dest).label,
            comment=entry.comment,
            fields=entry.fields,
            checklist=entry.checklist,
            attachments=entry.attachments,
        )
        for entry in case.history
    )


def case_view(
    case: Case,
    workflow: Workflow,
    roster: Roster | None,
    now: datetime,
    *,
    holiday: Holiday = weekends,
    as_of: datetime | None = None,
) -> CaseView:
    """Return ``case`` as people read it at ``now``: state, next steps and who, deadlines."""
    state = workflow.state(case.state)
    merged = case.fields
    next_steps = tuple(
        NextStep(
            trigger=step.trigger,
            label=step.label,
            role=step.role,
            role_label=ROLES[step.role],
            department=case.department if step.role in DEPARTMENT_ROLES else "",
            people=tuple(
                person
                for person in (roster.holders(step.role, case.department, as_of) if roster else [])
                if not (step.filer_only and person != case.filer)
                and not (step.role in ("manager", "chief") and person == case.filer)
            ),
            target=step.dest,
            target_label=workflow.state(step.dest).label,
            fields=step.needs(merged),
            missing_fields=tuple(
                name for name in step.needs(merged) if name not in merged or name in step.fresh
            ),
            checklist=step.checklist,
            missing_checklist=tuple(
                i for i in step.checklist if i not in case.checked or i in step.fresh_items
            ),
            comment_required=step.comment_required,
            filer_only=step.filer_only,
        )
        for step in workflow.allowed(case.state)
    )
    deadlines = tuple(
        DeadlineView(
            name=due.deadline.name,
            label=due.deadline.label,
            started_at=due.started_at,
            due_at=due.due_at,
            overdue=due.overdue(now),
        )
        for due in due_dates(case.history, workflow.deadlines, holiday)
    )
    return CaseView(
        reference=case.reference,
        workflow=workflow.id,
        workflow_version=workflow.version,
        workflow_sha256=workflow.sha256,
        workflow_title=workflow.title,
        title=case.title,
        department=case.department,
        filer=case.filer,
        state=case.state,
        state_label=state.label,
        terminal=state.terminal,
        fields=dict(case.fields),
        checklist=tuple(case.checked),
        attachments=tuple(a for entry in case.history for a in entry.attachments),
        filed_at=case.created_on,
        updated_at=case.modified_on,
        version=case.version,
        next_steps=next_steps,
        deadlines=deadlines,
        retention_until=retention_until(case.history, workflow.retention),
        flawed=tuple(flaw.reason for flaw in flaws(case, workflow)),
    )


def since(case: Case) -> datetime:
    """Return when ``case`` entered the state it is in."""
    for entry in reversed(case.history):
        if entry.source != entry.dest:
            return entry.at
    return case.history[0].at


def register_values(case: Case, workflow: Workflow) -> dict[str, Any]:
    """Return what the case register (台帳) shows of ``case``: state and the dates of its
    notice, decision, effect (the day the action starts as the case records it, when its
    workflow has an ``effective_date`` field, and the moment the step putting it in effect was
    recorded) and end."""
    history = case.history
    decision = next((e for e in history if e.trigger in DECISIONS), None)
    running = workflow.effective_states
    effective = next((e for e in history if e.dest in running), None)
    ended = next((e for e in history if e.dest in workflow.retention.starts_on), None)
    return {
        "reference": case.reference,
        "workflow": case.workflow_id,
        "workflow_version": case.workflow_version,
        "title": case.title,
        "department": case.department,
        "filer": case.filer,
        "state": case.state,
        "terminal": workflow.state(case.state).terminal,
        "events": case.version,
        "filed_at": case.created_on,
        "updated_at": case.modified_on,
        "decision": decision.trigger if decision else None,
        "decided_at": decision.at if decision else None,
        "effective_date": (
            usable_day(case.fields.get(EFFECTIVE_DATE))
            if EFFECTIVE_DATE in workflow.fields
            else None
        ),
        "effective_at": effective.at if effective else None,
        "ended_at": ended.at if ended else None,
        "retention_until": retention_until(history, workflow.retention),
    }
