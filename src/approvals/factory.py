"""The one place an approvals application is built from settings."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import Engine, text

from approvals.application import ApprovalsApplication, Clock, system_clock
from approvals.audit.signing import WriterKey
from approvals.calendar import JapaneseCalendar
from approvals.definitions import load_workflows
from approvals.domain.clocks import Holiday
from approvals.domain.workflow import Workflow
from approvals.store import (
    adopt_engine,
    check_schema,
    create_engine,
    default_url,
    ensure_schema,
    reachable,
)

__all__ = ["open_approvals"]


def open_approvals(
    url: str | None = None,
    *,
    engine: Engine | None = None,
    workflows: Path | str | Mapping[str, Workflow] | None = None,
    clock: Clock = system_clock,
    holiday: Holiday | None = None,
    create: bool = True,
    signer: WriterKey | None = None,
) -> ApprovalsApplication:
    """Open approvals on a database and return the application.

    Give a SQLAlchemy ``url`` (default: a SQLite file, see :func:`approvals.store.default_url`)
    or a host's ``engine``, not both.  A host's SQLite Engine is given what approvals gives its
    own (WAL, ``synchronous=FULL``, a 30 s busy timeout, the writers' queue, transactions at the
    driver's default isolation whatever the host chose for its own work); to make the
    host's rows and an approval one unit, see :meth:`ApprovalsApplication.joined`.
    ``workflows`` is the folder of the company's own definition files, added beside the
    built-in workflows: a file with an id of its own adds a workflow, one with a built-in's id
    and a higher ``version`` replaces it for new filings (cases filed before keep their
    version, kept in the log); the same id with the same or a lower version, or two files with
    one id, is refused with a :class:`DefinitionError` naming the file (see
    :func:`approvals.definitions.load_workflows` and ``docs/workflows.md``).  Without it, the
    built-ins alone.  A mapping of already loaded definitions (id to :class:`Workflow`) is
    taken as it is, built-ins or not: exactly the host's set.  ``clock`` returns the current time,
    timezone-aware; tests inject their own.  ``holiday`` is the calendar business days are
    counted on (default: Japan's national holidays, see :func:`approvals.calendar.load_calendar`
    for the company's own days and what "immediately" means).  With ``create`` (the default) a
    missing SQLite file, the event table and its append-only triggers are created; without it
    a database that is not set up is refused with a :class:`StorageError` and nothing is created.
    ``signer`` is the key the events are signed with (:mod:`approvals.audit.signing`): a host
    application's service key (``load_writer_key(path, "intranet", service=True)``), which the
    roster registers and which signs for the people the host's sign-on authenticated; once the
    roster has registered a key, a store refuses to write without one.
    """
    if url is not None and engine is not None:
        raise TypeError("open_approvals() takes a url or an engine, not both")
    owns_engine = engine is None
    if engine is None:
        engine = create_engine(url or default_url(), create=create)
    else:
        engine = adopt_engine(engine)
    try:
        return _open(
            engine, workflows, clock, holiday, create=create, owns_engine=owns_engine,
            signer=signer,
        )  # fmt: skip
    except BaseException:
        if owns_engine:  # refused: no connection of ours is left open
            engine.dispose()
        raise


def _open(
    engine: Engine,
    workflows: Path | str | Mapping[str, Workflow] | None,
    clock: Clock,
    holiday: Holiday | None,
    *,
    create: bool,
    owns_engine: bool,
    signer: WriterKey | None = None,
) -> ApprovalsApplication:
    if isinstance(workflows, Mapping):
        definitions = dict(workflows)
    else:
        definitions = load_workflows(Path(workflows) if workflows is not None else None)
    with reachable(engine), engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    if not create:
        check_schema(engine)
    app = ApprovalsApplication(
        engine=engine,
        workflows=definitions,
        clock=clock,
        holiday=holiday if holiday is not None else JapaneseCalendar(),
        owns_engine=owns_engine,
        signer=signer,
    )
    if create:
        try:
            ensure_schema(engine, list(app.recorder.tables))  # type: ignore[attr-defined]
        except BaseException:
            app.close()
            raise
    return app
