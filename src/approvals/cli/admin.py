"""Setting up a store, and the demo that shows the whole engine at work."""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import click

from approvals.cli.output import emit_json
from approvals.cli.session import Session, pass_session
from approvals.cli.text import say

__all__ = ["demo", "init"]

DEMO_FILE = "approvals-demo.db"
DEMO_KEYS = "approvals-demo.keys"


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
    from approvals.audit.signing import key_file, new_writer_key
    from approvals.store import grant_least_privilege, shown_url

    signs = representative is not None and session.actor == representative
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
    began = None
    if signs and representative in holders and not app.writer_keys():
        # The representative sets the store up: their own first key begins signing.
        if app.signer is None:
            new_writer_key(session.key_folder, session.actor)
            session.close()
            app = session.app()
        if app.signer is not None:
            began = app.register_key(
                actor=session.actor, holder=session.actor, public_key=app.signer.public_key
            )
    if session.as_json:
        signing = None if began is None else began.key_id
        emit_json({"url": url, "representatives": holders, "granted": list(roles),
                   "signing_key": signing}, session.lang)  # fmt: skip
        return
    click.echo(say("init.done", session.lang, url=url))
    for role in roles:
        click.echo(say("init.granted", session.lang, role=role))
    if representative is not None:
        click.echo(say("init.roster", session.lang, user=representative))
    if began is not None:
        path = key_file(session.key_folder, session.actor)
        click.echo(say("init.signing", session.lang, key_id=began.key_id, path=path))
    elif representative is not None and not app.writer_keys():
        click.echo(say("init.unsigned", session.lang, user=representative))


@click.command(short_help="Run the quickstart on a fresh store (./approvals-demo.db).")
@pass_session
def demo(session: Session) -> None:
    """The quickstart: a fresh SQLite store (./approvals-demo.db, replaced) with a sample roster,
    each of the five workflows run to its end, then a chief's inbox and a case history.

    With --db (or APPROVALS_DB) the demo runs in that store instead, on SQLite or PostgreSQL; a
    store that holds events already is refused and left as it was. The sample people's keys go
    to ./approvals-demo.keys (replaced) either way."""
    from datetime import datetime

    from approvals.audit.signing import new_writer_key
    from approvals.cli.cases import print_cases, print_history, print_inbox
    from approvals.demo import (
        APPOINTED_BY,
        CHIEF,
        DEMO_SERVICE,
        REPRESENTATIVE,
        SimulatedClock,
        begin_signing,
        register_sample_keys,
        run_demo,
    )
    from approvals.domain.clocks import JST
    from approvals.factory import open_approvals

    keys = Path(DEMO_KEYS)
    url, where, hint = _demo_store(session)
    if keys.is_dir() and not keys.is_symlink():
        shutil.rmtree(keys)
    clock = SimulatedClock(datetime(2026, 4, 1, 9, 0, tzinfo=JST))
    # Every event is signed: the representative's own key begins signing, the demo's service
    # key signs the rest, and each sample person gets a key of their own for the command line.
    representative, _ = new_writer_key(keys, REPRESENTATIVE)
    service, _ = new_writer_key(keys, DEMO_SERVICE, service=True)
    people = {person: new_writer_key(keys, person)[0].public_key for person in APPOINTED_BY}
    app = open_approvals(url, clock=clock, signer=representative)
    try:
        begin_signing(app, service.public_key)
    finally:
        app.close()
    app = open_approvals(url, clock=clock, signer=service)
    try:
        run = run_demo(app, clock)
        register_sample_keys(app, people)
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
        click.echo(say("demo.store", lang, path=where))
        click.echo(f"\n== {say('demo.cases', lang)}")
        print_cases(shown, app.registers().cases())
        click.echo(f"\n== {say('demo.inbox', lang, user=CHIEF, role='chief')}")
        print_inbox(shown, app.inbox(CHIEF), CHIEF)
        reference = run.finished["entrustment"]
        click.echo(f"\n== {say('demo.history', lang, reference=reference)}")
        print_history(shown, app.history(reference))
        click.echo()
        click.echo(say("demo.done", lang, returned=run.returned_and_resubmitted,
                       rejected=run.rejected, url=hint, keys=keys))  # fmt: skip
    finally:
        shown.close()


def _demo_store(session: Session) -> tuple[str, str, str]:
    """Where the demo writes: its URL, the store as shown, and the ``--db`` value its closing
    hint gives. Without --db, ./approvals-demo.db, its leftovers deleted; with --db, that store,
    refused when it holds events already."""
    from approvals.errors import Label, StorageError
    from approvals.store import shown_url, sqlite_url

    path = Path(DEMO_FILE)
    default = sqlite_url(path)
    url = session.url if session.db else default
    if url == default:
        for leftover in (path, *(Path(f"{DEMO_FILE}-{end}") for end in ("wal", "shm", "writer"))):
            leftover.unlink(missing_ok=True)
        return url, str(path.resolve()), DEMO_FILE
    if _holds_events(url):
        raise StorageError(
            url=shown_url(url),
            reason=Label(
                "it holds events already, so the demo writes nothing there; give --db a new file "
                "or an empty database, or leave --db (and APPROVALS_DB) out to use "
                f"./{DEMO_FILE}",
                "すでにイベントがあるため、デモは何も書き込みません。--db には新しいファイルか空の"
                f"データベースを指定するか、--db(と APPROVALS_DB)を省いて ./{DEMO_FILE} を"
                "使ってください",
            ),
        )
    where = shown_url(url)
    given = session.db or where
    return url, where, shlex.quote(where if "://" in given else given)


def _holds_events(url: str) -> bool:
    """Whether the store at ``url`` holds any event: read only, nothing made or written (a
    SQLite file that does not exist, or is empty, holds none)."""
    import sqlalchemy

    from approvals.store import EVENTS_TABLE, create_engine, reachable

    parsed = sqlalchemy.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        file = Path(parsed.database or "").expanduser()
        if not file.exists() or (file.is_file() and file.stat().st_size == 0):
            return False
    engine = create_engine(url, create=False)
    try:
        with reachable(engine), engine.connect() as connection:
            if not sqlalchemy.inspect(connection).has_table(EVENTS_TABLE):
                return False
            table = sqlalchemy.table(EVENTS_TABLE)
            first = connection.execute(
                sqlalchemy.select(sqlalchemy.literal(1)).select_from(table).limit(1)
            )
            return first.first() is not None
    finally:
        engine.dispose()
