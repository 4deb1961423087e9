"""``approvals upgrade``: bring a store to this release, run with its owner's URL."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from approvals.cli.output import emit_json
from approvals.cli.progress import progress
from approvals.cli.session import Session, pass_session
from approvals.cli.text import say

if TYPE_CHECKING:
    from approvals.errors import Label
    from approvals.upgrade import Upgrade

__all__ = ["upgrade"]


@click.command(short_help="Bring the store to this release: tables, read models, grants.")
@click.option(
    "--grant", "roles", metavar="ROLE", multiple=True,
    help="PostgreSQL: let ROLE run approvals with least privilege too (the roles granted "
    "before are granted again without it).",
)  # fmt: skip
@click.option(
    "--check", is_flag=True,
    help="Say what an upgrade would do and change nothing; exit 1 when one is needed.",
)  # fmt: skip
@pass_session
def upgrade(session: Session, roles: tuple[str, ...], check: bool) -> None:
    """Upgrade the store to this release of approvals, with the owner's URL (--db).

    Migrates approvals' own tables (a store made by 0.1.0 included), makes the append-only
    triggers again where missing, rebuilds the read models whose version changed, and grants
    the PostgreSQL roles that ran approvals before (and those given with --grant) their rights
    again; each upgrade is recorded in the table approvals_upgrades. Safe to repeat: a store
    that is up to date is left as it is. A store of a newer release is refused (never
    downgraded); nothing else of the store (events, cases, keys) is touched.
    """
    from approvals.store import create_engine
    from approvals.upgrade import plan_upgrade, upgrade_store

    if check:
        engine = create_engine(session.url, create=False)
        try:
            plan = plan_upgrade(engine, roles)
        finally:
            engine.dispose()
        _show(session, plan, done=False)
        if plan.needed:
            sys.exit(1)
        return
    with progress(session, "progress.rebuild") as drawn:
        done = upgrade_store(
            session.url, actor=session.actor, roles=roles, holiday=session.holiday(),
            progress=drawn,
        )  # fmt: skip
    _show(session, done, done=True)


def _owner(url: str) -> str | Label:
    from approvals.errors import Label

    return url if url.startswith("sqlite") else Label("OWNER_URL", "所有者のURL")


def _show(session: Session, plan: Upgrade, *, done: bool) -> None:
    lang = session.lang
    rebuilt = [name for name, _, _ in plan.outdated]
    if session.as_json:
        emit_json({
            "url": plan.url, "needed": plan.needed, "done": done and plan.needed,
            "from_release": plan.from_release, "to_release": plan.to_release,
            "from_revision": plan.from_revision, "to_revision": plan.to_revision,
            "revisions": list(plan.revisions), "rebuilt": rebuilt, "events": plan.events,
            "triggers": list(plan.guards), "granted": list(plan.roles) if plan.needed else [],
        }, lang)  # fmt: skip
        return
    if not plan.needed:
        click.echo(say("upgrade.none", lang, url=plan.url, release=plan.to_release))
        return
    old, new = plan.from_release, plan.to_release
    moved = plan.from_revision != plan.to_revision or old != new
    if not done:
        click.echo(say("upgrade.needed", lang, url=plan.url, owner=_owner(plan.url)))
        if moved:
            click.echo(say("upgrade.will_migrate", lang, old=old, new=new))
        if rebuilt:
            click.echo(say("upgrade.will_rebuild", lang, models=", ".join(rebuilt)))
        if plan.guards:
            click.echo(say("upgrade.will_guard", lang, names=", ".join(plan.guards)))
        if plan.roles:
            click.echo(say("upgrade.will_grant", lang, roles=", ".join(plan.roles)))
        return
    if moved:
        click.echo(say("upgrade.done", lang, url=plan.url, old=old, new=new))
    else:
        click.echo(say("upgrade.mended", lang, url=plan.url, new=new))
    if rebuilt:
        click.echo(say("upgrade.rebuilt", lang, models=", ".join(rebuilt), events=plan.events))
    if plan.guards:
        click.echo(say("upgrade.guards", lang, names=", ".join(plan.guards)))
    for role in plan.roles:
        click.echo(say("upgrade.granted", lang, role=role))
