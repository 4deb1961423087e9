"""Cases at the terminal: file, act, show, history, the inbox and the list."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.shell_completion import CompletionItem

from approvals.cli.output import emit_json, labelled, name_left_out, table, terminal_safe
from approvals.cli.session import Session, as_of_option, pass_session
from approvals.cli.text import day, moment, say, set_flag

if TYPE_CHECKING:
    from datetime import datetime

    from approvals.domain.workflow import Workflow
    from approvals.offers import Offers, Step
    from approvals.results import CaseEntry, CaseView, Document, HistoryEntry, InboxItem

__all__ = ["COMMANDS"]

# -- parsing and completion ------------------------------------------------------------------


def _pairs(_ctx: click.Context, _param: click.Parameter, values: Sequence[str]) -> dict[str, str]:
    """Read KEY=VALUE options; a key given twice with two values is ambiguous."""
    pairs: dict[str, str] = {}
    for value in values:
        key, sep, text = value.partition("=")
        key = key.strip()
        if not sep or not key:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE (for example vendor=Acme Ltd.)")
        if key in pairs and pairs[key] != text:
            raise click.BadParameter(
                f"{key} is given twice ({pairs[key]!r} and {text!r}); give it once"
            )
        pairs[key] = text
    return pairs


def _documents(paths: Sequence[Path]) -> list[Document]:
    from approvals.results import Document

    return [Document.from_path(path) for path in paths]


def _offer(
    ctx: click.Context, offer: Callable[[Session, Offers], list[CompletionItem]]
) -> list[CompletionItem]:
    """Answer ``offer`` from the read models of the store named on the command line, for the
    person acting (on the roster, as every read command checks); nothing on any failure."""
    from approvals.offers import Offers

    session = _completing(ctx)
    try:
        with Offers(session.url) as offers:
            return offer(session, offers)
    except Exception:  # noqa: BLE001 - completion runs inside a shell: it must never print a traceback
        return []


def _completing(ctx: click.Context) -> Session:
    """The session the command line being completed names (the group's callback has not run)."""
    params = ctx.find_root().params
    lang = params.get("lang")
    return Session(
        db=params.get("db"),
        user=params.get("user"),
        lang=lang if lang in ("en", "ja") else "en",
        as_json=False,
    )


def _may_take(ctx: click.Context) -> Callable[[Step], bool]:
    """Which steps the command being completed takes: its own trigger (a shortcut), any
    (``act``); ``show`` and ``history`` read any case, so they take none of this."""
    name = ctx.command.name
    return (lambda _step: True) if name == "act" else (lambda step: step.trigger == name)


def complete_case(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Offer the cases that start with what was typed: for a step command, those on which the
    person acting can take that step now (``act``: any step); for ``show`` and ``history``,
    every case."""
    wanted = incomplete.upper()

    def offer(session: Session, offers: Offers) -> list[CompletionItem]:
        if ctx.command.name in ("show", "history"):
            references = offers.cases(session.actor)
        else:
            takes = _may_take(ctx)
            steps = [s for s in offers.steps(session.actor) if takes(s)]
            references = tuple(dict.fromkeys(step.reference for step in steps))
        return [CompletionItem(ref) for ref in references if ref.startswith(wanted)]

    return _offer(ctx, offer)


def complete_trigger(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Offer the steps the person acting can take on the case now, with their labels."""
    reference = ctx.params.get("reference") or ""

    def offer(session: Session, offers: Offers) -> list[CompletionItem]:
        steps = [
            s
            for s in offers.steps(session.actor)
            if s.reference == reference and s.trigger.startswith(incomplete)
        ]
        return [CompletionItem(s.trigger, help=_step_label(ctx, s, session.lang)) for s in steps]

    return _offer(ctx, offer)


def _step_label(ctx: click.Context, step: Step, lang: str) -> str | None:
    """The step's label, from its workflow's file (the company's, else the built-in)."""
    from approvals.labels import NotCurrent, read_labels, workflows_dir

    company = ctx.find_root().params.get("workflows")
    for folder in (Path(company) if company else None, workflows_dir()):
        if folder is None:
            continue
        try:
            labels = read_labels(folder, step.workflow, step.workflow_version)
        except NotCurrent:
            continue
        return labels.step(step.state, step.trigger).get(lang)
    return None


def complete_workflow(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Offer the workflows new cases are filed on (the built-ins and the company's own), with
    their titles in the language asked for."""
    from approvals.labels import workflow_titles, workflows_dir

    lang = _completing(ctx).lang
    company = ctx.find_root().params.get("workflows")
    try:
        titles = workflow_titles(workflows_dir(), Path(company) if company else None)
    except Exception:  # noqa: BLE001 - completion runs inside a shell: it must never print a traceback
        return []
    return [
        CompletionItem(workflow, help=title.get(lang))
        for workflow, title in titles.items()
        if workflow.startswith(incomplete)
    ]


case_argument = click.argument("reference", metavar="CASE", shell_complete=complete_case)
comment_option = click.option("--comment", "-m", default="", help="Why: shown in the history.")
set_option = click.option(
    "--set", "values", multiple=True, metavar="KEY=VALUE", callback=_pairs,
    help="Record a field, e.g. --set vendor='Acme Ltd.' (repeatable).",
)  # fmt: skip
check_option = click.option(
    "--check", "items", multiple=True, metavar="ITEM", help="Confirm a checklist item (repeatable)."
)
attach_option = click.option(
    "--attach", "attachments", multiple=True, metavar="FILE",
    type=click.Path(exists=True, path_type=Path),
    help="Attach a document (a regular file) by the SHA-256 of its content (repeatable).",
)  # fmt: skip


# -- printing a case --------------------------------------------------------------------------


def print_case(case: CaseView, lang: str, workflow: Workflow | None = None) -> None:
    """Print one case: state, what may happen next and who may do it, deadlines.  With the
    case's ``workflow``, each field and checklist item is named by its label in ``lang``, with
    the id to type (``--set ID=…``, ``--check ID``) beside it."""

    def field(name: str) -> str:
        spec = workflow.fields.get(name) if workflow else None
        return f"{spec.label.get(lang)} ({name})" if spec else name

    def item(name: str) -> str:
        found = workflow.checklist.get(name) if workflow else None
        return f"{found.label.get(lang)} ({name})" if found else name

    from approvals.domain.guards import kind_phrase

    def wanted(name: str) -> str:
        spec = workflow.fields.get(name) if workflow else None
        return f"({spec.label.get(lang)}, {kind_phrase(spec).get(lang)})" if spec else ""

    def to_check(name: str) -> str:
        found = workflow.checklist.get(name) if workflow else None
        return f"({found.label.get(lang)})" if found else ""

    rows: list[tuple[str, str]] = [
        (say("h.workflow", lang),
         f"{case.workflow} v{case.workflow_version} — {case.workflow_title.get(lang)}"),
        (say("h.department", lang), case.department),
        (say("h.filer", lang), f"{case.filer}, {moment(case.filed_at, offset=True)}"),
        (say("h.state", lang), f"{case.state_label.get(lang)} ({case.state})"),
    ]  # fmt: skip
    rows += [
        (say("h.fields", lang), f"{field(key)}: {_shown(value)}")
        for key, value in case.fields.items()
    ]
    rows += [(say("h.checklist", lang), item(name)) for name in case.checklist]
    rows += [
        (say("h.documents", lang), f"{doc.name}  sha256:{doc.sha256[:16]}…  {doc.size} B")
        for doc in case.attachments
    ]
    for step in case.next_steps:
        people = ", ".join(step.people) or say("nobody", lang)
        where = f" ({step.department})" if step.department else ""
        rows.append((say("h.next", lang), f"{step.trigger} — {step.label.get(lang)}: "
                     f"{step.role_label.get(lang)}{where}: {people}"))  # fmt: skip
        if step.missing_fields:
            given = ", ".join(f"{set_flag(key)} {wanted(key)}" for key in step.missing_fields)
            rows.append(("", f"  {say('to set', lang)}: {given}"))
        if step.missing_checklist:
            confirmed = ", ".join(
                f"--check {key} {to_check(key)}" for key in step.missing_checklist
            )
            rows.append(("", f"  {say('to check', lang)}: {confirmed}"))
        if step.comment_required:
            rows.append(("", f"  {say('needs', lang)}: {say('comment required', lang)}"))
    for deadline in case.deadlines:
        mark = f"  {say('overdue', lang)}" if deadline.overdue else ""
        rows.append(
            (
                say("h.deadlines", lang),
                f"{deadline.label.get(lang)}: {moment(deadline.due_at, offset=True)}{mark}",
            )
        )
    kept = (
        f"{say('until', lang)} {day(case.retention_until)}"
        if case.retention_until
        else say("not started", lang)
    )
    rows.append((say("h.retention", lang), kept))
    rows += [(say("h.flawed", lang), reason.get(lang)) for reason in case.flawed]
    click.echo(terminal_safe(f"{case.reference}  {case.title}"))
    labelled([(label, terminal_safe(text, keep="\n\t")) for label, text in rows])


def _shown(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def _report(session: Session, case: CaseView, key: str, **values: object) -> None:
    if session.as_json:
        emit_json(case, session.lang)
    else:
        click.echo(say(key, session.lang, reference=case.reference, **values))


# -- commands ---------------------------------------------------------------------------------


@click.command("file", short_help="File a notice (届け出); prints the case reference.")
@click.argument("workflow", shell_complete=complete_workflow)
@click.option("--title", required=True, help="What the case is about.")
@click.option("--department", required=True, help="The department the notice belongs to.")
@set_option
@attach_option
@comment_option
@pass_session
def file_command(
    session: Session,
    workflow: str,
    title: str,
    department: str,
    values: dict[str, str],
    attachments: tuple[Path, ...],
    comment: str,
) -> None:
    """File a notice (届け出) on WORKFLOW; prints the case reference."""
    case = session.app().file(
        workflow,
        actor=session.actor,
        title=title,
        department=department,
        fields=values,
        attachments=_documents(attachments),
        comment=comment,
    )
    _report(session, case, "filed", title=case.title)


@click.command("act", short_help="Take a step TRIGGER on CASE, with its evidence.")
@case_argument
@click.argument("trigger", shell_complete=complete_trigger)
@comment_option
@set_option
@check_option
@attach_option
@pass_session
def act_command(
    session: Session,
    reference: str,
    trigger: str,
    comment: str,
    values: dict[str, str],
    items: tuple[str, ...],
    attachments: tuple[Path, ...],
) -> None:
    """Take the step TRIGGER on CASE (see `approvals show CASE` for what is allowed)."""
    _take(
        session,
        reference,
        trigger=trigger,
        comment=comment,
        values=values,
        items=items,
        attachments=attachments,
    )


def _take(
    session: Session,
    reference: str,
    *,
    trigger: str,
    comment: str,
    values: dict[str, str] | None = None,
    items: Sequence[str] = (),
    attachments: Sequence[Path] = (),
) -> None:
    case = session.app().act(
        reference,
        trigger,
        actor=session.actor,
        comment=comment,
        fields=values or {},
        checklist=items,
        attachments=_documents(attachments),
    )
    label = session.app().workflow_of(case.reference).trigger_label(trigger).get(session.lang)
    _report(session, case, "took", step=label, state=case.state_label.get(session.lang))


def _shortcut(trigger: str, summary: str) -> click.Command:
    """The command ``approvals TRIGGER CASE``; its help is one sentence, ``summary`` (which
    ends in its Japanese name, when it has one) and the ``act`` command it stands for."""

    @click.command(
        trigger,
        short_help=f"{summary}.",
        help=f"{summary}; the same as `approvals act CASE {trigger}`.",
    )
    @case_argument
    @comment_option
    @pass_session
    def command(session: Session, reference: str, comment: str) -> None:
        _take(session, reference, trigger=trigger, comment=comment)

    return command


@click.command("show", short_help="Show a case: state, next steps and who, deadlines.")
@case_argument
@as_of_option
@pass_session
def show_command(session: Session, reference: str, as_of: datetime | None) -> None:
    """Show CASE: its state, what may happen next and who may do it, its deadlines."""
    reader = session.reader()
    case = reader.case(reference, as_of=as_of)
    if session.as_json:
        emit_json(case, session.lang)
    else:
        print_case(case, session.lang, reader.definition(case.workflow, case.workflow_version))


@click.command("history", short_help="Show the timeline of a case.")
@case_argument
@pass_session
def history_command(session: Session, reference: str) -> None:
    """Show the timeline of CASE: when, who, as which role, what, comment, evidence."""
    print_history(session, session.reader().history(reference))


def print_history(session: Session, entries: Sequence[HistoryEntry]) -> None:
    """Print a case's timeline (or its JSON)."""
    lang = session.lang
    if session.as_json:
        emit_json(entries, lang)
        return
    rows = []
    for entry in entries:
        notes = [entry.comment] if entry.comment else []
        notes += [f"{k}={_shown(v)}" for k, v in entry.fields.items()]
        notes += [f"✓{item}" for item in entry.checklist]
        notes += [f"📎{doc.name} {doc.sha256[:12]}…" for doc in entry.attachments]
        rows.append([
            str(entry.position), moment(entry.at), entry.actor, entry.role_label.get(lang),
            entry.label.get(lang), entry.dest_label.get(lang), "; ".join(notes),
        ])  # fmt: skip
    keys = ("when", "who", "as", "what", "to", "comment")
    # The comment and evidence, often the longest cell, go under their row when it must fit.
    table(["#", *(say(f"h.{key}", lang) for key in keys)], rows, fit={6: "below"})


@click.command("inbox")
@pass_session
def inbox_command(session: Session) -> None:
    """What waits for me, oldest first; overdue steps are marked."""
    person = session.actor
    found = session.quick(lambda models: (models.inbox(person), models.notices()))
    if found is None:  # the read models are behind: the application catches them up
        app = session.reader()
        found = app.inbox(person), app.registers().notices(refresh=False)
    items, notices = found
    print_inbox(session, items, person)
    name_left_out(notices, session.lang)


def print_inbox(session: Session, items: Sequence[InboxItem], person: str) -> None:
    """Print what waits for ``person`` (or its JSON)."""
    lang = session.lang
    if session.as_json:
        emit_json(items, lang)
        return
    if not items:
        click.echo(say("empty.inbox", lang, user=person))
        return
    overdue = f" {say('overdue', lang)}"
    rows = [
        [item.reference, item.trigger, item.label.get(lang), item.title, item.state_label.get(lang),
         moment(item.since), moment(item.due_at) + (overdue if item.overdue else "")]
        for item in items
    ]  # fmt: skip
    keys = ("reference", "step", "what", "title", "state", "since", "due")
    table([say(f"h.{key}", lang) for key in keys], rows, fit={3: "clip"})  # `show` has it whole


@click.command("list", short_help="List cases (filters, --as-of).")
@click.option("--workflow", help="Only cases of this workflow.")
@click.option("--state", help="Only cases in this state.")
@click.option("--department", help="Only cases of this department.")
@as_of_option
@pass_session
def list_command(
    session: Session,
    workflow: str | None,
    state: str | None,
    department: str | None,
    as_of: datetime | None,
) -> None:
    """List cases in the order filed, optionally filtered (and as they stood at a past moment);
    `approvals register cases` shows the register's dates."""
    if as_of is None:
        quick = session.quick(
            lambda models: (
                models.cases(session.actor, workflow=workflow, state=state, department=department),
                models.notices(),
            )
        )
        if quick is not None:
            print_cases(session, quick[0])
            name_left_out(quick[1], session.lang)
            return
    app = session.reader()
    if workflow is not None:
        from approvals.definitions import find_workflow

        find_workflow(app.workflows, workflow)
    registers = app.registers()
    if as_of is None:
        found = registers.cases(workflow=workflow, state=state, department=department)
    else:
        found = registers.cases_as_of(as_of, workflow=workflow, state=state, department=department)
    print_cases(session, found)
    name_left_out(registers.notices(), session.lang)


def print_cases(session: Session, cases: Sequence[CaseEntry]) -> None:
    """Print cases one a line (or their JSON)."""
    lang = session.lang
    if session.as_json:
        emit_json(cases, lang)
        return
    if not cases:
        click.echo(say("empty.list", lang))
        return
    rows = [
        [c.reference, c.workflow, c.state_label.get(lang), c.department, c.filer, c.title,
         moment(c.updated_at)]
        for c in cases
    ]  # fmt: skip
    keys = ("reference", "workflow", "state", "department", "filer", "title", "updated")
    table([say(f"h.{key}", lang) for key in keys], rows, fit={5: "clip"})  # `show` has it whole


SHORTCUTS: list[tuple[str, str]] = [
    ("consult", "Consult the chief on CASE (協議)"),
    ("approve", "Approve CASE (承認)"),
    ("reject", "Reject CASE"),
    ("return", "Return CASE for revision"),
    ("resubmit", "Resubmit CASE once returned"),
    ("withdraw", "Withdraw CASE, a notice you filed"),
]

COMMANDS: list[click.Command] = [
    file_command,
    act_command,
    *(_shortcut(trigger, summary) for trigger, summary in SHORTCUTS),
    show_command,
    history_command,
    inbox_command,
    list_command,
]
