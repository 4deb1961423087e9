"""The roster at the terminal: appoint, dismiss, list (now or as it stood)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from approvals.cli.output import emit_json, table
from approvals.cli.session import Session, as_of_option, pass_session
from approvals.cli.text import moment, say

if TYPE_CHECKING:
    from datetime import datetime

__all__ = ["roster"]

ROLE_NAMES = ["staff", "handler", "manager", "chief", "auditor", "representative"]
# A short metavar: the six choices in braces are too long for a usage line, which then breaks
# inside a word; the commands' help lists them instead.
role_argument = click.argument("role", type=click.Choice(ROLE_NAMES), metavar="ROLE")
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
    appoints managers, a department's manager its staff and handlers).

    ROLE is one of: staff, handler, manager, chief, auditor, representative.
    """
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
    """End USER's term as ROLE (by whoever may appoint to it).

    ROLE is one of: staff, handler, manager, chief, auditor, representative.
    """
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


@roster.command("register-key", short_help="Register a person's (or a host's) public key.")
@click.argument("holder")
@click.argument(
    "public", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--service", is_flag=True, help="HOLDER is a host application (its service key).")
@pass_session
def register_key(session: Session, holder: str, public: Path, service: bool) -> None:
    """Register HOLDER's public key FILE (from `approvals keys new`): a person's by whoever may
    appoint them, a host's service key by the representative or the chief.  The
    representative's own first key begins signing: from then on every event is signed."""
    from approvals.audit.signing import public_key_hex

    record = session.app().register_key(
        actor=session.actor, holder=holder, public_key=public_key_hex(public), service=service
    )
    if session.as_json:
        emit_json(record, session.lang)
    else:
        click.echo(say("key.registered", session.lang, holder=holder, key_id=record.key_id))


@roster.command("revoke-key", short_help="Revoke a registered key (a lost or leaked key).")
@click.argument("key_id", metavar="KEY_ID")
@pass_session
def revoke_key(session: Session, key_id: str) -> None:
    """Revoke KEY_ID: its holder may, and whoever may register it."""
    session.app().revoke_key(actor=session.actor, key_id=key_id.strip().lower())
    if session.as_json:
        emit_json({"key_id": key_id, "revoked": True}, session.lang)
    else:
        click.echo(say("key.revoked", session.lang, key_id=key_id))


@roster.command("keys", short_help="The writers' keys the roster registered.")
@pass_session
def list_keys(session: Session) -> None:
    """List every registered key: holder, id, by whom, since when, revoked when."""
    app = session.reader()
    records = app.writer_keys()
    if session.as_json:
        emit_json(list(records), session.lang)
        return
    lang = session.lang
    rows = [
        [r.holder + (" (service)" if r.service else ""), r.key_id, r.registered_by,
         moment(r.start), moment(r.end)]
        for r in records
    ]  # fmt: skip
    keys = ("holder", "key", "registered_by", "registered", "revoked")
    table([say(f"h.{key}", lang) for key in keys], rows)
