"""Who runs the command, on which store, in which language; the application opened on demand."""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from collections.abc import Callable

    from approvals.application import ApprovalsApplication
    from approvals.audit.signing import WriterKey
    from approvals.calendar import JapaneseCalendar
    from approvals.domain.workflow import Workflow
    from approvals.reading import ReadModels

T = TypeVar("T")

__all__ = ["Session", "as_of_option", "parse_moment", "pass_session", "shown_zone"]


@dataclass
class Session:
    """The settings of one command line run."""

    db: str | None
    user: str | None
    lang: str
    as_json: bool
    calendar: str | None = None
    keys: str | None = None
    workflows: str | None = None
    zone: tzinfo | None = None  # None: the company's (see approvals.zones)
    wide: bool = False  # tables whole, one line a row, however wide the terminal
    _app: ApprovalsApplication | None = field(default=None, repr=False)
    _head: int = field(default=0, repr=False)  # the log's last position when it was opened

    @property
    def url(self) -> str:
        """The store's SQLAlchemy URL; a plain path means a SQLite file."""
        from approvals.urls import store_url

        return store_url(self.db)

    def quick(self, question: Callable[[ReadModels], T]) -> T | None:
        """Answer ``question`` from the read-model tables alone when they are current (see
        :mod:`approvals.reading`), without opening the application; None when the full path
        must answer: the models are behind, or anything is unsure."""
        if self._app is not None:
            return None  # opened already: the full path costs nothing more
        from approvals.reading import answer

        return answer(self.url, self.holiday(), question, workflows=self.company_folder)

    def app(self, *, create: bool = False) -> ApprovalsApplication:
        """Open the application on the store, once; only ``create`` makes a missing store."""
        if self._app is None:
            from approvals.factory import open_approvals

            self._app = open_approvals(
                self.url, create=create, holiday=self.holiday(), signer=self.signer(),
                workflows=self.company_folder,
            )  # fmt: skip
            self._head = self._app.recorder.max_notification_id() or 0
        return self._app

    @property
    def company_folder(self) -> Path | None:
        """The folder of the company's own workflow files: --workflows, else
        APPROVALS_WORKFLOWS, else none (the built-ins alone)."""
        return Path(self.workflows) if self.workflows else None

    def definitions(self) -> dict[str, Workflow]:
        """The workflows new cases are filed on: the built-ins and the company's own."""
        if self._app is not None:
            return dict(self._app.workflows)
        from approvals.definitions import load_workflows

        return load_workflows(self.company_folder)

    @property
    def key_folder(self) -> Path:
        """Where the user's signing key is kept: --keys, else APPROVALS_KEYS, else
        $XDG_CONFIG_HOME/approvals/keys (~/.config/approvals/keys)."""
        import os

        if self.keys:
            return Path(self.keys)
        config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        return Path(config) / "approvals" / "keys"

    def signer(self) -> WriterKey | None:
        """The acting user's own key, when its file is in the key folder."""
        from approvals.audit.signing import key_file, load_writer_key

        path = key_file(self.key_folder, self.actor)
        return load_writer_key(path, self.actor) if path.is_file() else None

    def holiday(self) -> JapaneseCalendar:
        """The calendar: --calendar, else APPROVALS_CALENDAR, else Japan's national holidays."""
        from pathlib import Path

        from approvals.calendar import JapaneseCalendar, load_calendar

        return load_calendar(Path(self.calendar)) if self.calendar else JapaneseCalendar()

    def reader(self) -> ApprovalsApplication:
        """Open the application for someone on the roster; refuse anyone else."""
        app = self.app()
        app.identify(self.actor)
        return app

    @property
    def actor(self) -> str:
        """Who acts: --user, else APPROVALS_USER, else the login name."""
        return self.user or getpass.getuser()

    def close(self) -> None:
        """Close the application if it was opened, the read models first brought up to date
        when the command appended to the log."""
        if self._app is not None:
            try:
                self._follow_writes(self._app)
            finally:
                self._app.close()
                self._app = None

    def _follow_writes(self, app: ApprovalsApplication) -> None:
        """After a command that appended to the log, let the read models take it in, so that
        the next quick read (an inbox, a completion) answers at once.  A catch-up that cannot
        run here (a role that may not rebuild a model, a read-only copy) is left to the next
        full read, which names what is wrong."""
        from sqlalchemy.exc import SQLAlchemyError

        from approvals.errors import ApprovalsError

        try:
            if (app.recorder.max_notification_id() or 0) > self._head:
                app.registers().refresh()
        except (ApprovalsError, SQLAlchemyError, OSError):
            return


pass_session = click.make_pass_decorator(Session)


def _running() -> Session | None:
    """The session of the command running, if any."""
    context = click.get_current_context(silent=True)
    return None if context is None else context.find_object(Session)


def shown_zone() -> tzinfo:
    """The zone of the command running (--zone, else APPROVALS_ZONE, else the company's): the
    one times are shown in and moments without an offset are read in."""
    from approvals.zones import company_zone

    session = _running()
    zone = None if session is None else session.zone
    return company_zone() if zone is None else zone


def parse_moment(value: str, *, end: bool = True) -> datetime:
    """Read a WHEN: a date and time, or a date meaning the end of that day (``end``: --to,
    --as-of) or its start (--from); in the command's zone unless an offset is given."""
    from approvals.cli.text import say
    from approvals.zones import moment_given, zone_called

    zone = shown_zone()
    try:
        return moment_given(value, zone, end=end)
    except ValueError:
        session = _running()
        lang = "en" if session is None else session.lang
        sentence = say("when.bad", lang, value=quoted(value), zone=zone_called(zone))
        raise click.BadParameter(sentence) from None


def quoted(value: str) -> str:
    """``value``, given on the command line, as a sentence may quote it: at most 40
    characters, nothing that could steer the terminal."""
    from approvals.cli.output import terminal_safe

    return terminal_safe(value if len(value) <= 40 else value[:40] + "…")


def _as_of(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    return None if value is None else parse_moment(value, end=True)


def as_of_option(function: Any) -> Any:
    """The --as-of WHEN option."""
    return click.option(
        "--as-of",
        "as_of",
        metavar="WHEN",
        callback=_as_of,
        help="As things stood then: 2026-04-30 (the end of that day) or 2026-04-30T17:00, in "
        "the zone (--zone) unless an offset is given.",
    )(function)
