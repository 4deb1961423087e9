"""The ``approvals`` command line: parse, call one application method, print.

Exit codes: 0 done; 1 refused (a rule, an unknown case or person, a lost race, the database);
2 the command line itself is wrong (click's usage errors).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import IO, Any

import click

from approvals.cli.output import terminal_safe
from approvals.cli.session import Session
from approvals.errors import ApprovalsError

__all__ = ["cli", "main"]

EPILOG = """\b
Environment: APPROVALS_DB (the store), APPROVALS_USER (who acts), APPROVALS_LANG (en|ja),
APPROVALS_CALENDAR (the company's calendar file), APPROVALS_WORKFLOWS (its workflow files),
APPROVALS_ZONE (the time zone times are shown in).
The default store is the SQLite file ~/.local/share/approvals/approvals.db ($XDG_DATA_HOME
when set). For PostgreSQL: --db postgresql+psycopg://USER@HOST/DB; a plain path is a SQLite
file.
\b
Exit codes: 0 done; 1 refused (rule, unknown case or person, lost race, database);
2 usage error."""


class Refusal(click.ClickException):
    """A refusal shown as its one sentence, in the language asked for."""

    exit_code = 1

    def __init__(
        self, message: str, code: str, as_json: bool, missing: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__(terminal_safe(message))
        self.code = code
        self.as_json = as_json
        self.missing = missing

    def show(self, file: IO[Any] | None = None) -> None:
        if self.as_json:
            import json

            error: dict[str, Any] = {"code": self.code, "message": self.message}
            if self.missing is not None:
                error["missing"] = self.missing
            click.echo(json.dumps({"error": error}, ensure_ascii=False))
        click.echo(self.message, err=True)


class ApprovalsGroup(click.Group):
    """A group that turns every refusal into one line on stderr and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ApprovalsError as error:
            from approvals.cli.text import missing_keys, refusal

            session = ctx.find_object(Session)
            lang = session.lang if session else "en"
            missing: dict[str, list[str]] | None = missing_keys(error.params)
            if missing is not None and not any(missing.values()):
                missing = None
            message = refusal(error.render(lang), error.params, lang)
            if error.code == "workflow.not_found" and not (session and session.workflows):
                from approvals.cli.text import say

                message += ("" if lang == "ja" else " ") + say("hint.workflows", lang)
            raise Refusal(
                message,
                error.code,
                bool(session and session.as_json),
                missing,
            ) from None
        except BrokenPipeError:
            raise  # the reader of stdout left (| head): click's main stops quietly, exit 1
        except (OSError, UnicodeError, OverflowError) as error:
            # What the engine did not turn into a sentence itself: a file that cannot be
            # written or read, text that is not UTF-8, a number too large to compute with.
            session = ctx.find_object(Session)
            lang = session.lang if session else "en"
            code, message = _stopped(error, lang)
            raise Refusal(message, code, bool(session and session.as_json)) from None


def _key_folder(value: str | None) -> str | None:
    """Refuse a key folder no file system should be asked about: control characters, text that
    is not UTF-8, a file where the folder goes."""
    from pathlib import Path

    if value is None:
        return None
    if any(ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise click.BadParameter("may not hold control characters or bytes that are not UTF-8.")
    try:
        if Path(value).exists() and not Path(value).is_dir():
            raise click.BadParameter("must be a folder, not a file.")
    except OSError as error:
        raise click.BadParameter(f"cannot be used ({error.strerror}).") from None
    return value


def _workflow_folder(value: str | None) -> str | None:
    """Refuse a workflow folder that is not one: a file, a path that is not there, control
    characters (the files in it are read when a command needs the definitions)."""
    from pathlib import Path

    if not value:
        return None
    if any(ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise click.BadParameter("may not hold control characters or bytes that are not UTF-8.")
    try:
        if not Path(value).is_dir():
            raise click.BadParameter(
                f"{value!r} is not a folder; give the folder of the company's workflow files."
            )
    except OSError as error:
        raise click.BadParameter(f"cannot be used ({error.strerror}).") from None
    return value


def _keep_zone(ctx: click.Context, name: str | None) -> None:
    """Keep the zone's name until --lang is known: a name not known is refused in it."""
    ctx.meta["approvals.zone"] = name


def _zone(ctx: click.Context, lang: str) -> tzinfo | None:
    """The zone --zone (or APPROVALS_ZONE) names, None when not given; one sentence for a name
    the time zone database does not know."""
    from approvals.zones import UnknownZone, zone_named

    name = ctx.meta.get("approvals.zone")
    if not name:
        return None
    try:
        return zone_named(name)
    except UnknownZone:
        from approvals.cli.session import quoted
        from approvals.cli.text import say

        sentence = say("zone.unknown", lang, value=quoted(name))
        raise click.BadParameter(sentence, ctx=ctx, param_hint="'--zone'") from None


def _stopped(error: OSError | UnicodeError | OverflowError, lang: str) -> tuple[str, str]:
    """The code and the sentence for an error of the system, not of a rule."""
    if isinstance(error, OSError):
        where = error.filename or ""
        reason = error.strerror or type(error).__name__
        if lang == "ja":
            return (
                "file.unusable",
                f"ファイル {where} を使えません({reason})。コマンドを中止しました。",
            )
        return "file.unusable", f"Cannot use the file {where} ({reason}); the command was stopped."
    if isinstance(error, UnicodeError):
        if lang == "ja":
            return "text.not_utf8", "UTF-8 でない文字列は使えません。コマンドを中止しました。"
        return (
            "text.not_utf8",
            "Text that is not valid UTF-8 cannot be used; the command was stopped.",
        )
    if lang == "ja":
        return "value.too_large", "値が大きすぎて計算できません。コマンドを中止しました。"
    return "value.too_large", "A value is too large to compute with; the command was stopped."


@click.group(
    cls=ApprovalsGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EPILOG,
)
@click.option(
    "--db",
    envvar="APPROVALS_DB",
    metavar="URL",
    help="The store: a SQLAlchemy URL or a SQLite file path.",
)
@click.option(
    "--user", envvar="APPROVALS_USER", metavar="NAME", help="Who acts (default: your login name)."
)
@click.option(
    "--lang",
    type=click.Choice(["en", "ja"]),
    envvar="APPROVALS_LANG",
    default="en",
    show_default=True,
    help="Language of labels and messages.",
)
@click.option(
    "--calendar",
    envvar="APPROVALS_CALENDAR",
    metavar="FILE",
    help="The company's closing days and what 'immediately' means (TOML); default: Japan's "
    "national holidays.",
)
@click.option(
    "--keys",
    envvar="APPROVALS_KEYS",
    metavar="DIR",
    callback=lambda _ctx, _param, value: _key_folder(value),
    help="The folder of your signing key (default: ~/.config/approvals/keys).",
)
@click.option(
    "--workflows",
    envvar="APPROVALS_WORKFLOWS",
    metavar="DIR",
    callback=lambda _ctx, _param, value: _workflow_folder(value),
    help="The folder of the company's own workflow files (*.toml), added beside the built-ins "
    "(docs/workflows.md).",
)
@click.option(
    "--zone",
    envvar="APPROVALS_ZONE",
    metavar="ZONE",
    expose_value=False,
    callback=lambda ctx, _param, value: _keep_zone(ctx, value),
    help="The time zone times are shown in, and dates without an offset mean (an IANA name "
    "such as UTC); default: Asia/Tokyo. Deadlines are counted in Japan's time whatever it is.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (commands that read or decide).")
@click.option(
    "--wide",
    is_flag=True,
    help="Print tables whole, one line a row (default: fitted to the terminal's width).",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Log one structured line per command to stderr."
)
@click.version_option(package_name="approvals-engine")
@click.pass_context
def cli(
    ctx: click.Context,
    db: str | None,
    user: str | None,
    lang: str,
    calendar: str | None,
    keys: str | None,
    workflows: str | None,
    as_json: bool,
    wide: bool,
    verbose: bool,
) -> None:
    """Run the sign-offs the personal-information regulation requires, and keep their records.

    届け出 (notice) → 協議 (consultation) → 承認 (approval) on 12 workflows: the five actions
    the regulation names (a new collection purpose, a new or indirect collection method,
    entrustment to a vendor, third-party provision, joint use) and the duties around them
    (see `approvals workflows list`); a company adds its own with --workflows DIR.
    """
    from approvals.logging import configure

    configure(verbose=verbose)
    session = Session(db=db, user=user, lang=lang, as_json=as_json, calendar=calendar, keys=keys)
    session.workflows = workflows
    session.zone = _zone(ctx, lang)
    session.wide = wide
    ctx.obj = session
    ctx.call_on_close(session.close)


def main() -> None:
    """Run the ``approvals`` command."""
    cli(prog_name="approvals")


def _register() -> None:
    from approvals.cli import (
        admin,
        audit,
        cases,
        keys,
        registers,
        remind,
        retention,
        roster,
        upgrade,
        workflows,
    )

    cli.add_command(admin.init)
    cli.add_command(upgrade.upgrade)
    cli.add_command(admin.demo)
    cli.add_command(roster.roster)
    cli.add_command(keys.keys)
    cli.add_command(workflows.workflows)
    cli.add_command(audit.audit)
    cli.add_command(retention.retention)
    cli.add_command(registers.register)
    cli.add_command(registers.projections)
    cli.add_command(remind.remind)
    for command in cases.COMMANDS:
        cli.add_command(command)
    _accept_output_options(cli)


def _setter(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """A callback setting the session's ``name`` to the option's value, when given."""

    def store(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        session = ctx.find_object(Session)
        if value and session is not None:
            setattr(session, name, value)

    return store


def _accept_output_options(group: click.Group) -> None:
    """Let every command take --json, --wide and --lang after its name too (``approvals remind
    --json``), meaning what they mean before it."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _accept_output_options(command)
            continue
        command.params += [
            click.Option(["--json"], is_flag=True, expose_value=False, callback=_setter("as_json"),
                         help="Print JSON (as approvals --json)."),
            click.Option(["--wide"], is_flag=True, expose_value=False, callback=_setter("wide"),
                         help="Tables whole, one line a row (as approvals --wide)."),
            click.Option(["--lang"], type=click.Choice(["en", "ja"]), expose_value=False,
                         callback=_setter("lang"), help="Language (as approvals --lang)."),
        ]  # fmt: skip


_register()
