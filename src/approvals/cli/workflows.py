"""Workflow definitions at the terminal: list, show, validate, diagram."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from approvals.cli.output import emit_json, prose, table
from approvals.cli.session import Session, pass_session
from approvals.cli.text import say, set_flag

if TYPE_CHECKING:
    from approvals.domain.workflow import Workflow

__all__ = ["workflows"]


def _one(session: Session, workflow_id: str) -> Workflow:
    from approvals.definitions import find_workflow

    return find_workflow(session.definitions(), workflow_id)


@click.group(short_help="List, show, check and draw the workflow definitions.")
def workflows() -> None:
    """Read and check the workflow definitions (one TOML file per regulated action)."""


@workflows.command("list")
@pass_session
def list_workflows(session: Session) -> None:
    """List the workflows new cases are filed on (the built-ins and --workflows DIR)."""
    found = list(session.definitions().values())
    lang = session.lang
    if session.as_json:
        emit_json(
            [{"id": w.id, "version": w.version, "title": w.title, "articles": w.articles,
              "sha256": w.sha256, "prefix": w.prefix} for w in found],
            lang,
        )  # fmt: skip
        return
    rows = [
        [w.id, str(w.version), w.prefix, w.title.get(lang), ", ".join(w.articles)] for w in found
    ]
    table([say(f"h.{k}", lang) for k in ("id", "version", "reference", "title", "articles")], rows)


@workflows.command("show")
@click.argument("workflow_id", metavar="ID")
@pass_session
def show_workflow(session: Session, workflow_id: str) -> None:
    """Show a workflow's states, steps (who, what they need) and deadlines."""
    workflow = _one(session, workflow_id)
    lang = session.lang
    if session.as_json:
        emit_json(
            {
                "id": workflow.id, "version": workflow.version, "sha256": workflow.sha256,
                "file": {"role": workflow.file_role, "fields": list(workflow.file_fields)},
                "title": workflow.title, "articles": workflow.articles, "initial": workflow.initial,
                "states": list(workflow.states.values()), "steps": list(workflow.steps.values()),
                "fields": list(workflow.fields.values()),
                "checklist": list(workflow.checklist.values()),
                "deadlines": workflow.deadlines, "retention": workflow.retention,
            },
            lang,
        )  # fmt: skip
        return
    articles = ", ".join(workflow.articles)
    prose(f"{workflow.id} v{workflow.version} — {workflow.title.get(lang)} ({articles})")
    click.echo(f"sha256 {workflow.sha256}\n")
    table(
        [say("h.state", lang), "", say("h.final", lang)],
        [[s.name, s.label.get(lang), "✓" if s.terminal else ""] for s in workflow.states.values()],
    )
    click.echo()
    rows = []
    for step in workflow.steps.values():
        fresh = say("new each time", lang)
        needs = [
            *(f"{name} ({fresh})" if name in step.fresh else name for name in step.fields),
            *step.checklist,
            *(f"{k}={v}" for k, v in step.expect.items()),
            *(f"{', '.join(v)} (if {k})" for k, v in step.fields_if.items()),
        ]
        if step.comment_required:
            needs.append(say("comment required", lang))
        if step.filer_only:
            needs.append(say("only the filer", lang))
        rows.append([step.source, step.trigger, step.dest, step.role, ", ".join(needs)])
    table([say("h.from", lang), say("h.step", lang), say("h.to", lang), say("h.role", lang),
           say("needs", lang)], rows)  # fmt: skip
    click.echo()
    from approvals.domain.clocks import meaning

    calendar = session.holiday()
    for deadline in workflow.deadlines:
        span = meaning(deadline.within, calendar)
        unit = say(f"unit.{span.unit}{'.one' if span.amount == 1 else ''}", lang)
        within = say("within", lang, amount=span.amount, unit=unit)
        term = deadline.within.term
        if term is not None:
            within = f"{term.get(lang)} ({term.ja}) = {within}" if lang == "en" else (
                f"{term.ja}(= {within})")  # fmt: skip
        if deadline.from_fields:
            # a periodic clock counts from its first start: the last of its fields, the others
            # being the moments its restarting step records
            first = deadline.from_fields[-1 if deadline.periodic else 0]
            start = workflow.fields[first].label.get(lang)
            if span.amount == 0 and span.unit == "days":
                within = say("on.field", lang, field=start)
            else:
                within += say("from.field", lang, field=start)
        if deadline.periodic:
            within += say("periodic", lang)
        states = ", ".join(workflow.states[name].label.get(lang) for name in deadline.states)
        prose(f"{say('h.deadlines', lang)}: {deadline.label.get(lang)} — {within} ({states})")
    retention = workflow.retention
    ends = " / ".join(workflow.states[name].label.get(lang) for name in retention.starts_on)
    kept = say("retention", lang, years=retention.years, states=ends)
    prose(f"{say('h.retention', lang)}: {kept}")
    click.echo()
    print_what_to_type(workflow, lang)


def print_what_to_type(workflow: Workflow, lang: str) -> None:
    """Print, for filing and for each step, who takes it, the fields to give (``--set KEY=…``,
    with label and kind), the checklist items to confirm (``--check ITEM``), the deadlines
    running while it waits and what its approval covers."""
    from approvals.domain.guards import kind_phrase
    from approvals.domain.workflow import ROLES

    def fields(names: tuple[str, ...]) -> str:
        shown = []
        for name in names:
            spec = workflow.fields[name]
            shown.append(f"{set_flag(name)} ({spec.label.get(lang)}, "
                         f"{kind_phrase(spec).get(lang)})")  # fmt: skip
        return "".join(f"\n    {text}" for text in shown)

    def block(head: str, role: str, given: tuple[str, ...], checked: tuple[str, ...]) -> None:
        prose(f"{head}: {ROLES[role].get(lang)} ({role})")
        if given:
            prose(f"  {say('to set', lang)}:{fields(given)}")
        if checked:
            items = "".join(
                f"\n    --check {name} ({workflow.checklist[name].label.get(lang)})"
                for name in checked
            )
            prose(f"  {say('to check', lang)}:{items}")

    block(say("h.filing", lang), workflow.file_role, workflow.file_fields, ())
    for step in workflow.steps.values():
        head = f"{step.trigger} — {step.label.get(lang)} ({step.source} → {step.dest})"
        block(head, step.role, step.fields, step.checklist)
        for flag, names in step.fields_if.items():
            condition = workflow.fields[flag].label.get(lang)
            prose(f"  {say('if', lang, field=condition)}:{fields(names)}")
        running = [d.label.get(lang) for d in workflow.deadlines if step.source in d.states]
        if running:
            prose(f"  {say('h.deadline_of', lang)}: {', '.join(running)}")
        if step.approves:
            covered = ", ".join(
                f"{workflow.fields[name].label.get(lang)} ({name})" for name in step.approves
            )
            prose(f"  {say('h.covers', lang)}: {covered}")


@workflows.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@pass_session
def validate(session: Session, paths: tuple[Path, ...]) -> None:
    """Check definition files or folders (default: the built-ins and --workflows DIR)."""
    from approvals.definitions import load_directory, load_file

    # Without a path, as every command loads them: a company's file beside the built-ins.
    found = [] if paths else list(session.definitions().values())
    for path in paths:
        found += load_directory(path).values() if path.is_dir() else [load_file(path)]
    for workflow in found:
        click.echo(say("valid", session.lang, path=workflow.path, workflow=workflow.id,
                       version=workflow.version))  # fmt: skip


@workflows.command("diagram")
@click.argument("workflow_id", metavar="ID")
@pass_session
def diagram(session: Session, workflow_id: str) -> None:
    """Print the workflow as a Mermaid state diagram."""
    from approvals.audit.diagram import mermaid

    click.echo(mermaid(_one(session, workflow_id), session.lang))
