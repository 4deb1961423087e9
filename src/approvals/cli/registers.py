"""The registers and the read models at the terminal: print, JSON or CSV; status, rebuild,
check, follow."""

from __future__ import annotations

import csv
import dataclasses
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import click

from approvals.cli.output import emit_json, name_left_out, plain, table, terminal_safe
from approvals.cli.progress import progress
from approvals.cli.session import Session, pass_session
from approvals.cli.text import day, moment, say

if TYPE_CHECKING:
    from approvals.registers import Registers

__all__ = ["projections", "register"]

Column = tuple[str, Callable[[Any, str], str]]


def _open(session: Session) -> Registers:
    return session.reader().registers()


def emit(
    session: Session, entries: Sequence[Any], columns: Sequence[Column], *, as_csv: bool,
    limit: int,
) -> None:  # fmt: skip
    """Print register entries as a table, JSON (--json) or CSV (--csv, every field); name on
    stderr the cases left out because they cannot be read."""
    _print_entries(session, entries, columns, as_csv=as_csv, limit=limit)
    name_left_out(_open(session).notices(refresh=False), session.lang)


def _print_entries(
    session: Session, entries: Sequence[Any], columns: Sequence[Column], *, as_csv: bool,
    limit: int,
) -> None:  # fmt: skip
    lang = session.lang
    if limit and len(entries) > limit:
        entries = entries[:limit]
        click.echo(say("register.more", lang, limit=limit), err=True)
    if session.as_json:
        emit_json(list(entries), lang)
        return
    if as_csv:
        names = [f.name for f in dataclasses.fields(entries[0])] if entries else []
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(names)
        for entry in entries:
            values = plain(entry, lang)
            writer.writerow([_csv_cell(values[n]) for n in names])
        return
    if not entries:
        click.echo(say("empty.register", lang))
        return
    table(
        [say(f"h.{key}", lang) for key, _ in columns],
        [[show(entry, lang) for _, show in columns] for entry in entries],
    )


def _csv_cell(value: Any) -> Any:
    """A value as a CSV cell: nothing for None, true/false for a yes-or-no (as JSON writes
    them, in any language), the rest as it is."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _field(name: str) -> Callable[[Any, str], str]:
    def show(entry: Any, _lang: str) -> str:
        value = getattr(entry, name)
        if value is None:
            return ""
        if isinstance(value, date) and not hasattr(value, "hour"):
            return day(value)
        if hasattr(value, "astimezone"):
            return moment(value)
        return str(value)

    return show


def _label(name: str) -> Callable[[Any, str], str]:
    return lambda entry, lang: getattr(entry, name).get(lang)


def _limit(function: Any) -> Any:
    function = click.option(
        "--csv", "as_csv", is_flag=True, help="Print CSV with every field (for spreadsheets)."
    )(function)
    return click.option(
        "--limit",
        type=click.IntRange(min=0, max=10**9),
        default=0,
        metavar="N",
        help="Show the first N entries only (0, the default: all).",
    )(function)


def _fetch(limit: int) -> int | None:
    return limit + 1 if limit else None  # one more, to tell that more exist


@click.group(short_help="Registers: cases, vendors, provisions, receipts, retention, overdue.")
def register() -> None:
    """The registers an auditor and the personal-information office keep, read from the read
    models (kept current from the log as they are asked). Each prints a table, --json, or
    --csv."""


@register.command("cases", short_help="The case register (台帳).")
@click.option("--workflow", help="Only cases of this workflow.")
@click.option("--state", help="Only cases in this state.")
@click.option("--department", help="Only cases of this department.")
@_limit
@pass_session
def cases(
    session: Session, workflow: str | None, state: str | None, department: str | None,
    limit: int, as_csv: bool,
) -> None:  # fmt: skip
    """Every case: workflow, state, department, filer, and the dates of its notice, decision,
    effect and end, in the order filed. "In effect from" is the day the action starts as the
    case records it (the effective_date of the workflows that ask for one; empty for the
    others); "put in effect" is when the step that put it in effect was recorded."""
    quick = session.quick(
        lambda models: (
            models.cases(
                session.actor,
                workflow=workflow,
                state=state,
                department=department,
                limit=_fetch(limit),
            ),
            models.notices(),
        )
    )
    if quick is None:  # the read models are behind: the application catches them up
        registers = _open(session)
        if workflow is not None:
            from approvals.definitions import find_workflow

            find_workflow(registers.app.workflows, workflow)
        entries = registers.cases(
            workflow=workflow, state=state, department=department, limit=_fetch(limit)
        )
        notices = registers.notices(refresh=False)
    else:
        entries, notices = quick
    columns: list[Column] = [
        ("reference", _field("reference")), ("workflow", _field("workflow")),
        ("state", _label("state_label")), ("department", _field("department")),
        ("filer", _field("filer")), ("filed", _field("filed_at")),
        ("decided", _field("decided_at")), ("effective", _field("effective_date")),
        ("put_in_effect", _field("effective_at")),
        ("ended", _field("ended_at")), ("retention", _field("retention_until")),
    ]  # fmt: skip
    _print_entries(session, entries, columns, as_csv=as_csv, limit=limit)
    name_left_out(notices, session.lang)


@register.command("vendors", short_help="The vendor register: entrustments (Art.15).")
@click.option("--state", help="Only entrustments in this state (active, ended, …).")
@click.option("--department", help="Only entrustments of this department.")
@click.option("--vendor", help="Only this vendor.")
@_limit
@pass_session
def vendors(
    session: Session, state: str | None, department: str | None, vendor: str | None,
    limit: int, as_csv: bool,
) -> None:  # fmt: skip
    """Each entrusted vendor: contracts, handover, end, inspections (the next one due, marked
    when overdue), the vendor's next yearly report due, breaches of contract still without
    measures, and the subcontracting the chief approved (in effect / approved, and the
    subcontractors in effect)."""
    entries = _open(session).vendors(
        state=state, department=department, vendor=vendor, limit=_fetch(limit)
    )

    def next_due(due: str, overdue: str) -> Callable[[Any, str], str]:
        def show(entry: Any, lang: str) -> str:
            shown = moment(getattr(entry, due))
            return f"{shown} {say('overdue', lang)}" if getattr(entry, overdue) else shown

        return show

    def subcontracting(entry: Any, _lang: str) -> str:
        counts = f"{entry.subcontracts_in_effect}/{entry.subcontracts_approved}"
        return " ".join([counts, ", ".join(entry.subcontractors)]).rstrip()

    columns: list[Column] = [
        ("reference", _field("reference")), ("vendor", _field("vendor")),
        ("state", _label("state_label")), ("basic", _field("basic_contract_date")),
        ("individual", _field("individual_contract_date")),
        ("handover", _field("handover_date")),
        ("contract_end", _field("individual_contract_end_date")),
        ("inspected", _field("last_inspection")),
        ("next_inspection", next_due("next_inspection_due", "inspection_overdue")),
        ("next_vendor_report", next_due("next_vendor_report_due", "vendor_report_overdue")),
        ("breaches", lambda e, _l: f"{e.breaches} ({e.open_breaches})"),
        ("subcontracting", subcontracting),
    ]  # fmt: skip
    emit(session, entries, columns, as_csv=as_csv, limit=limit)


@register.command("provisions", short_help="Third-party provisions and joint uses (Art.16-17).")
@click.option(
    "--kind",
    type=click.Choice(["provision", "joint_use", "refusal"]),
    help="Only provisions, joint uses or refusals of provision (Art.19).",
)
@click.option("--department", help="Only this department's.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="From this date (inclusive).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="To this date (inclusive).")
@click.option(
    "--subject", metavar="TEXT",
    help="Only provisions naming this data subject (the whole subject; any case or spacing).",
)  # fmt: skip
@_limit
@pass_session
def provisions(
    session: Session, kind: str | None, department: str | None, since: Any, until: Any,
    subject: str | None, limit: int, as_csv: bool,
) -> None:  # fmt: skip
    """Each provision to a third party with the items its record keeps (date, recipient, data
    subjects, data items, consent) and the last day its record is kept (three years, or one
    where the contract stands in for the record), and each joint use in effect with the items
    announced. --subject finds every provision concerning one data subject."""
    entries = _open(session).provisions(
        kind=kind, department=department, since=since.date() if since else None,
        until=until.date() if until else None, subject=subject, limit=_fetch(limit),
    )  # fmt: skip
    if subject is not None and not entries and not (session.as_json or as_csv):
        shown = terminal_safe(subject.strip())
        click.echo(say("empty.subject", session.lang, subject=shown))
        return
    columns: list[Column] = [
        ("reference", _field("reference")), ("kind", _label("kind_label")),
        ("date", _field("on_date")), ("party", _field("party")),
        ("subjects", _field("data_subjects")), ("items", _field("data_items")),
        ("consent", _field("consent")), ("who", _field("recorded_by")),
        ("record_kept", _field("record_kept_until")),
    ]  # fmt: skip
    emit(session, entries, columns, as_csv=as_csv, limit=limit)


@register.command("receipts", short_help="Data received from third parties (APPI 30).")
@click.option("--department", help="Only this department's.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="From this date (inclusive).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="To this date (inclusive).")
@click.option(
    "--provider", metavar="TEXT",
    help="Only receipts from this provider (its whole name; any case or spacing).",
)  # fmt: skip
@_limit
@pass_session
def receipts(
    session: Session, department: str | None, since: Any, until: Any, provider: str | None,
    limit: int, as_csv: bool,
) -> None:  # fmt: skip
    """Each receipt of personal data from a third party (an indirect collection in effect)
    with the record APPI 30 asks for: the provider's name, address and representative, how
    it obtained the data; whether the data are sensitive and the consent recorded; the last
    day the record is kept (three years from the day it was made)."""
    entries = _open(session).receipts(
        department=department, since=since.date() if since else None,
        until=until.date() if until else None, provider=provider, limit=_fetch(limit),
    )  # fmt: skip
    columns: list[Column] = [
        ("reference", _field("reference")), ("date", _field("on_date")),
        ("provider", _field("provider")), ("address", _field("provider_address")),
        ("representative", _field("provider_representative")),
        ("obtained", _field("provider_acquisition")), ("items", _field("data_items")),
        ("sensitive", _field("sensitive")), ("consent", _field("sensitive_consent")),
        ("who", _field("recorded_by")), ("record_kept", _field("record_kept_until")),
    ]  # fmt: skip
    emit(session, entries, columns, as_csv=as_csv, limit=limit)


@register.command("retention", short_help="The retention schedule: kept until, holds, disposal.")
@click.option("--due", is_flag=True, help="Only cases whose retention has run out.")
@_limit
@pass_session
def retention(session: Session, due: bool, limit: int, as_csv: bool) -> None:
    """Every case's retention deadline (seven years from its end, or as long as the entrustment
    it belongs to), legal holds, the chief's approval of disposal and the disposal record;
    --due: what may be disposed of now."""
    entries = _open(session).retention(due=due, limit=_fetch(limit))

    def status(entry: Any, lang: str) -> str:
        if entry.disposed_at is not None:
            return say("h.disposed", lang) + " " + moment(entry.disposed_at)
        if entry.held:
            return say("retention.on_hold", lang, reason=entry.hold_reason)
        if entry.approved_by:
            return say("retention.approved", lang, by=entry.approved_by)
        return say("retention.due" if entry.due else "retention.kept", lang)

    columns: list[Column] = [
        ("reference", _field("reference")), ("workflow", _field("workflow")),
        ("department", _field("department")), ("state", _field("state")),
        ("retention", _field("retained_until")),
        ("kept_with", lambda entry, _lang: ", ".join(entry.kept_with)), ("status", status),
    ]  # fmt: skip
    emit(session, entries, columns, as_csv=as_csv, limit=limit)


@register.command("overdue", short_help="Every missed deadline: overdue now, or met late.")
@click.option("--running", is_flag=True, help="Only deadlines overdue now.")
@click.option("--department", help="Only this department's cases.")
@_limit
@pass_session
def overdue(
    session: Session, running: bool, department: str | None, limit: int, as_csv: bool
) -> None:
    """Every missed deadline, earliest first: those overdue now (no "done" date) and those
    met late, with how many days late."""
    entries = _open(session).overdue(running=running, department=department, limit=_fetch(limit))
    columns: list[Column] = [
        ("reference", _field("reference")), ("deadline", _label("label")),
        ("state", _label("state_label")), ("department", _field("department")),
        ("due", _field("due_at")), ("done", _field("done_at")),
        ("late", _field("late_by_days")),
    ]  # fmt: skip
    emit(session, entries, columns, as_csv=as_csv, limit=limit)


# -- the read models themselves ---------------------------------------------------------------


@click.group(short_help="The read models: status, rebuild, check, follow.")
def projections() -> None:
    """The read models the registers and inboxes read are built from the log and can be
    dropped and rebuilt at any time; nothing is lost with them."""


@projections.command("status", short_help="Each read model's position against the log.")
@pass_session
def status(session: Session) -> None:
    """Show each read model's position in the log and how far behind it is (without catching
    up)."""
    registers = session.reader().registers()
    found = registers.status()
    name_left_out(registers.notices(refresh=False), session.lang)
    if session.as_json:
        emit_json([{**plain(s, session.lang), "lag": s.lag} for s in found], session.lang)
        return
    table(
        [say(f"h.{k}", session.lang) for k in ("model", "version", "position", "log", "lag")]
        + [say("h.updated", session.lang)],
        [[s.name, str(s.version), str(s.position), str(s.head), str(s.lag), moment(s.updated_at)]
         for s in found],
    )  # fmt: skip


def _names(_ctx: click.Context, _param: click.Parameter, values: Sequence[str]) -> list[str]:
    from approvals.projections import MODULES

    for value in values:
        if value not in MODULES:
            raise click.BadParameter(f"{value!r} is not a read model; the read models are "
                                     f"{', '.join(MODULES)}")  # fmt: skip
    return list(values)


@projections.command("rebuild", short_help="Drop read models and build them again from the log.")
@click.argument("names", nargs=-1, metavar="[NAME]...", callback=_names)
@pass_session
def rebuild(session: Session, names: list[str]) -> None:
    """Drop the read models NAME (all when none is given) and build them again from the log."""
    registers = session.reader().registers()
    with progress(session, "progress.rebuild") as drawn:
        events = registers.projector.rebuild(names, progress=drawn)
    shown = ", ".join(names or [m.name for m in registers.projector.models])
    if session.as_json:
        emit_json({"rebuilt": names or [m.name for m in registers.projector.models],
                   "events": events}, session.lang)  # fmt: skip
        return
    click.echo(say("projections.rebuilt", session.lang, models=shown, events=events))


@projections.command("check", short_help="Compare the read models with a fresh rebuild.")
@click.argument("names", nargs=-1, metavar="[NAME]...", callback=_names)
@pass_session
def check(session: Session, names: list[str]) -> None:
    """Rebuild the read models NAME (all when none is given) into a scratch database and
    compare them row by row with the live ones; exit 1 when they differ."""
    registers = session.reader().registers()
    differences = registers.projector.check(names)
    position = min(s.position for s in registers.status())
    lang = session.lang
    if session.as_json:
        emit_json({"position": position, "differences": [
            {"model": d.model, "table": d.table, "side": d.side, "row": [str(v) for v in d.row]}
            for d in differences]}, lang)  # fmt: skip
    elif not differences:
        click.echo(say("projections.same", lang, position=position))
    else:
        for d in differences[:20]:
            click.echo(f"{d.model}.{d.table} [{d.side}] {d.row}")
    if differences:
        models = " ".join(sorted({d.model for d in differences}))
        click.echo(say("projections.differ", lang, count=len(differences), models=models),
                   err=True)  # fmt: skip
        sys.exit(1)


@projections.command("follow", short_help="Keep the read models current (a long-lived process).")
@click.option(
    "--interval", type=click.FloatRange(min=0.05, max=3600), default=0.5, show_default=True,
    metavar="SECONDS", help="How long to wait when the log has nothing new.",
)  # fmt: skip
@click.option(
    "--batch", type=click.IntRange(min=1, max=1_000_000), default=1000, show_default=True,
    metavar="N", help="Events taken in per transaction.",
)  # fmt: skip
@pass_session
def follow(session: Session, interval: float, batch: int) -> None:
    """Take in the log's new events as they are written, until stopped (Ctrl-C or SIGTERM):
    for an intranet deployment with several writers, so that reads never wait."""
    registers = session.reader().registers()
    registers.projector.batch = batch
    stopping: list[int] = []

    def stop(signum: int, _frame: Any) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    from approvals.store import shown_url

    click.echo(say("projections.following", session.lang, url=shown_url(session.url)), err=True)
    with progress(session, "progress.catch_up") as shown:
        events = registers.projector.follow(
            stop=lambda: bool(stopping), interval=interval, progress=shown
        )
    click.echo(say("projections.stopped", session.lang, events=events), err=True)
