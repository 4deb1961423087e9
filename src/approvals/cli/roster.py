"""The roster at the terminal: appoint, dismiss, list (now or as it stood)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from approvals.cli.output import emit_json, table
from approvals.cli.session import Session, as_of_option, pass_session
from approvals.cli.text import moment, say

if TYPE_CHECKING:
    from datetime import datetime

__all__ = ["roster"]

ROLE_NAMES = ["staff", "handler", "manager", "chief", "auditor", "representative"]
role_argument = click.argument("role", type=click.Choice(ROLE_NAMES))
department_option = click.option(
    "--department", "-d", default="", help="For staff, handlers and managers: their department."
)


def _phrases(role: str, department: str, lang: str) -> dict[str, str]:
    from approvals.domain.roster import role_phrase

    name, of = role_phrase(role, department)
    return {"role": name.get(lang), "department": of.get(lang)}


@click.group(short_help="Appoint, dismiss and list the holders of roles.")
def roster() -> None:
    """Who holds which role: appointments and dismissals are events too."""


@roster.command("appoint")
@click.argument("user")
@role_argument
@department_option
@pass_session
def appoint(session: Session, user: str, role: str, department: str) -> None:
    """Appoint USER to ROLE (the representative appoints the chief and the auditor, the chief
    appoints managers, a department's manager its staff and handlers)."""
    done = session.app().appoint(actor=session.actor, user=user, role=role, department=department)
    if session.as_json:
        emit_json(done, session.lang)
    else:
        click.echo(
            say("appointed", session.lang, user=user, **_phrases(role, department, session.lang))
        )


@roster.command("dismiss")
@click.argument("user")
@role_argument
@department_option
@pass_session
def dismiss(session: Session, user: str, role: str, department: str) -> None:
    """End USER's term as ROLE (by whoever may appoint to it)."""
    session.app().dismiss(actor=session.actor, user=user, role=role, department=department)
    if session.as_json:
        emit_json(
            {"user": user, "role": role, "department": department, "dismissed": True}, session.lang
        )
    else:
        click.echo(
            say("dismissed", session.lang, user=user, **_phrases(role, department, session.lang))
        )


@roster.command("list")
@as_of_option
@pass_session
def list_roster(session: Session, as_of: datetime | None) -> None:
    """List who holds which role now, or as it stood at a past moment."""
    app = session.app()
    if app.roster():  # an empty roster can be looked at by anyone setting up the store
        app.identify(session.actor)
    terms = app.roster(as_of=as_of)
    lang = session.lang
    if session.as_json:
        emit_json(terms, lang)
        return
    if not terms:
        click.echo(say("empty.roster.then" if as_of else "empty.roster", lang))
        return
    rows = [
        [t.user, t.role_label.get(lang), t.department, moment(t.start), moment(t.end)]
        for t in terms
    ]
    table([say(f"h.{key}", lang) for key in ("user", "role", "department", "from", "end")], rows)
