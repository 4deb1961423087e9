"""Setting up a store, and the demo that shows the whole engine at work."""

from __future__ import annotations

from pathlib import Path

import click

from approvals.cli.output import emit_json
from approvals.cli.session import Session, pass_session
from approvals.cli.text import say

__all__ = ["demo", "init"]

DEMO_FILE = "approvals-demo.db"


@click.command()
@click.option(
    "--representative", metavar="NAME", help="Start the roster with the company's representative."
)
@click.option(
    "--grant",
    "roles",
    metavar="ROLE",
    multiple=True,
    help="PostgreSQL: let ROLE run approvals with least privilege (SELECT and INSERT on the log).",
)
@pass_session
def init(session: Session, representative: str | None, roles: tuple[str, ...]) -> None:
    """Create the store (safe to repeat); optionally start the roster and grant roles."""
    from approvals.store import grant_least_privilege, shown_url

    app = session.app(create=True)
    projector = app.registers().projector
    projector.ensure()  # the read-model tables, before several users start
    read_tables = [projector.tracking.name] + [t.name for m in projector.models for t in m.tables]
    for role in roles:
        grant_least_privilege(app.engine, role, read_tables)
    url = shown_url(session.url)
    holders = [t.user for t in app.roster() if t.role == "representative"]
    if representative is not None and representative not in holders:
        app.establish_roster(representative)
        holders = [representative]
    if session.as_json:
        emit_json({"url": url, "representatives": holders, "granted": list(roles)}, session.lang)
        return
    click.echo(say("init.done", session.lang, url=url))
    for role in roles:
        click.echo(say("init.granted", session.lang, role=role))
    if representative is not None:
        click.echo(say("init.roster", session.lang, user=representative))


@click.command(short_help="Run the quickstart on a fresh SQLite file.")
@pass_session
def demo(session: Session) -> None:
    """The quickstart: a fresh SQLite store (./approvals-demo.db, replaced) with a sample roster,
    each of the five workflows run to its end, then a chief's inbox and a case history."""
    from datetime import datetime

    from approvals.cli.cases import print_cases, print_history, print_inbox
    from approvals.demo import CHIEF, SimulatedClock, run_demo
    from approvals.domain.clocks import JST
    from approvals.factory import open_approvals
    from approvals.store import sqlite_url

    path = Path(DEMO_FILE)
    for leftover in (path, *(Path(f"{DEMO_FILE}-{end}") for end in ("wal", "shm", "writer"))):
        leftover.unlink(missing_ok=True)
    url = sqlite_url(path)
    clock = SimulatedClock(datetime(2026, 4, 1, 9, 0, tzinfo=JST))
    app = open_approvals(url, clock=clock)
    try:
        run = run_demo(app, clock)
    finally:
        app.close()

    # What the demo left, read at the demo's own time so that deadlines make sense.
    shown = Session(db=url, user=CHIEF, lang=session.lang, as_json=session.as_json)
    shown._app = open_approvals(url, clock=clock)
    try:
        app = shown.app()
        if session.as_json:
            print_inbox(shown, app.inbox(CHIEF), CHIEF)
            return
        lang = session.lang
        click.echo(say("demo.store", lang, path=path.resolve()))
        click.echo(f"\n== {say('demo.cases', lang)}")
        print_cases(shown, app.registers().cases())
        click.echo(f"\n== {say('demo.inbox', lang, user=CHIEF, role='chief')}")
        print_inbox(shown, app.inbox(CHIEF), CHIEF)
        reference = run.finished["entrustment"]
        click.echo(f"\n== {say('demo.history', lang, reference=reference)}")
        print_history(shown, app.history(reference))
        click.echo()
        click.echo(say("demo.done", lang, returned=run.returned_and_resubmitted,
                       rejected=run.rejected, url=path))  # fmt: skip
    finally:
        shown.close()
