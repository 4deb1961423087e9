"""Retention at the terminal: what is due, legal holds, the chief's approval, disposal."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from approvals.cli.output import emit_json, table
from approvals.cli.session import Session, as_of_option, pass_session
from approvals.cli.text import day, say

if TYPE_CHECKING:
    from datetime import datetime

    from approvals.retention import RetentionItem

__all__ = ["retention"]

case_argument = click.argument("reference", metavar="CASE")


def _print(session: Session, items: tuple[RetentionItem, ...] | list[RetentionItem]) -> None:
    lang = session.lang
    if session.as_json:
        emit_json(items, lang)
        return
    if not items:
        click.echo(say("retention.none", lang))
        return
    rows = []
    for item in items:
        if item.disposed:
            status = say("retention.was_disposed", lang, date=str(item.disposed["date"])[:10],
                         by=item.disposed["by"], count=item.disposed["count"])  # fmt: skip
        elif item.hold:
            status = say("retention.on_hold", lang, reason=item.hold)
        elif item.approved_by:
            status = say("retention.approved", lang, by=item.approved_by)
        else:
            status = say("retention.due" if item.due else "retention.kept", lang)
        rows.append([item.reference, item.workflow, item.state, day(item.retained_until), status])
    keys = ("reference", "workflow", "state", "retention", "state")
    headers = [say(f"h.{k}", lang) for k in keys[:-1]] + [say("h.status", lang)]
    table(headers, rows)


@click.group(short_help="Retention: what is due, legal holds, disposal.")
def retention() -> None:
    """Records are kept seven years from the event each workflow names (for entrustment, the
    end of the individual contract); then the chief approves and a data handling officer
    disposes of them. A legal hold blocks disposal."""


@retention.command("due", short_help="Cases whose retention has run out.")
@as_of_option
@pass_session
def due(session: Session, as_of: datetime | None) -> None:
    """List the cases whose retention has run out (now, or at --as-of), held ones included."""
    _print(session, session.reader().retention().due(as_of))


@retention.command("show", short_help="The retention of one case.")
@case_argument
@pass_session
def show(session: Session, reference: str) -> None:
    """Show until when CASE is kept, any hold, and its disposal record once disposed of."""
    _print(session, [session.reader().retention().item(reference)])


@retention.command("hold", short_help="Place a legal hold (the chief).")
@case_argument
@click.option("--reason", required=True, help="Why nothing of the case may be disposed of.")
@pass_session
def hold(session: Session, reference: str, reason: str) -> None:
    """Place a legal hold on CASE: no disposal while it stands."""
    _print(
        session, [session.reader().retention().hold(reference, actor=session.actor, reason=reason)]
    )


@retention.command("release", short_help="Lift a legal hold (the chief).")
@case_argument
@click.option("--comment", "-m", default="", help="Why the hold ends.")
@pass_session
def release(session: Session, reference: str, comment: str) -> None:
    """Lift the legal hold of CASE."""
    item = session.reader().retention().release(reference, actor=session.actor, comment=comment)
    _print(session, [item])


@retention.command("approve", short_help="Approve a disposal (the chief).")
@case_argument
@click.option("--comment", "-m", default="", help="A note for the record.")
@pass_session
def approve(session: Session, reference: str, comment: str) -> None:
    """Approve disposing of CASE: only after its retention has run out, only without a hold."""
    item = session.reader().retention().approve(reference, actor=session.actor, comment=comment)
    _print(session, [item])


@retention.command("dispose", short_help="Dispose of an approved case (a data handling officer).")
@case_argument
@click.option("--method", default="", help="How paper and media were disposed of, if any (Art.31).")
@pass_session
def dispose(session: Session, reference: str, method: str) -> None:
    """Dispose of CASE: its data key is destroyed, a disposal record (date, what, count,
    method) is kept, and the log still verifies."""
    from approvals.retention import DEFAULT_METHOD

    full = f"{DEFAULT_METHOD}; {method.strip()}" if method.strip() else DEFAULT_METHOD
    _print(
        session, [session.reader().retention().dispose(reference, actor=session.actor, method=full)]
    )
