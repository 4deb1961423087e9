"""Signing keys at the terminal: make your own, see whether the roster registered it."""

from __future__ import annotations

import click

from approvals.cli.output import emit_json
from approvals.cli.session import Session, pass_session
from approvals.cli.text import say

__all__ = ["keys"]


@click.group(short_help="Your signing key: make it, show it.")
def keys() -> None:
    """Once the roster registered a key, every event is signed by its writer's key: yours
    is kept in the key folder (--keys, APPROVALS_KEYS, else ~/.config/approvals/keys), 0600."""


@keys.command("new", short_help="Make your signing key (once); print what to register.")
@click.option(
    "--service", metavar="NAME",
    help="Make a host application's service key NAME instead of your own.",
)  # fmt: skip
@pass_session
def new(session: Session, service: str | None) -> None:
    """Make a new Ed25519 key for you (or for a host application with --service) in the key
    folder; its public half (.pub) is what whoever may appoint you registers with
    `approvals roster register-key`."""
    from approvals.audit.signing import new_writer_key
    from approvals.domain.roster import PERSON, check_name

    holder = check_name(service if service else session.actor, PERSON)
    made, path = new_writer_key(session.key_folder, holder, service=bool(service))
    public = path.with_suffix(".pub")
    if session.as_json:
        emit_json({"holder": holder, "service": bool(service), "key_id": made.key_id,
                   "private": str(path), "public": str(public)}, session.lang)  # fmt: skip
        return
    click.echo(say("keys.made", session.lang, holder=holder, key_id=made.key_id, path=path,
                   public=public))  # fmt: skip


@keys.command("show", short_help="Your key's id and whether the roster holds it.")
@pass_session
def show(session: Session) -> None:
    """Show the key you sign with and whether the roster registered it."""
    signer = session.signer()
    if signer is None:
        raise click.UsageError(say("keys.none", session.lang, folder=session.key_folder))
    record = next((k for k in session.app().writer_keys() if k.key_id == signer.key_id), None)
    state = "unregistered" if record is None else "revoked" if record.end else "registered"
    if session.as_json:
        emit_json({"holder": signer.holder, "key_id": signer.key_id, "state": state},
                  session.lang)  # fmt: skip
        return
    click.echo(say(f"keys.{state}", session.lang, holder=signer.holder, key_id=signer.key_id))
