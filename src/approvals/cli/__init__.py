"""The ``approvals`` command line: parse, call one application method, print."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import click

from approvals.definitions import builtin_workflows_dir, load_directory, load_file
from approvals.errors import ApprovalsError
from approvals.logging import configure

__all__ = ["cli", "main"]


class Refusal(click.ClickException):
    """An ApprovalsError shown as its one sentence, in the language asked for."""

    exit_code = 1

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.message, err=True)


class ApprovalsGroup(click.Group):
    """A group that turns every refusal into one line on stderr and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ApprovalsError as error:
            lang = (ctx.obj or {}).get("lang", "en")
            raise Refusal(error.render(lang)) from None


@click.group(cls=ApprovalsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--lang",
    type=click.Choice(["en", "ja"]),
    envvar="APPROVALS_LANG",
    default="en",
    show_default=True,
    help="Language of labels and messages (env APPROVALS_LANG).",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Log one structured line per command to stderr."
)
@click.pass_context
def cli(ctx: click.Context, lang: str, verbose: bool) -> None:
    """Run the sign-offs a personal-information regulation requires, and keep their records."""
    configure(verbose=verbose)
    ctx.obj = {"lang": lang}


@cli.group(cls=ApprovalsGroup)
def workflows() -> None:
    """Read and check workflow definitions."""


@workflows.command("list")
@click.pass_context
def workflows_list(ctx: click.Context) -> None:
    """List the workflows new cases are filed on."""
    lang = ctx.obj["lang"]
    for workflow in load_directory().values():
        click.echo(f"{workflow.id:<12} v{workflow.version}  {workflow.title.get(lang)}")


@workflows.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def workflows_validate(paths: tuple[Path, ...]) -> None:
    """Check definition files or folders (default: the reference workflows)."""
    files = list(paths) or sorted(builtin_workflows_dir().glob("*.toml"))
    for path in files:
        found = load_directory(path).values() if path.is_dir() else [load_file(path)]
        for workflow in found:
            click.echo(f"ok  {workflow.path}  ({workflow.id} v{workflow.version})")


def main() -> None:
    """Run the ``approvals`` command."""
    cli(prog_name="approvals")
