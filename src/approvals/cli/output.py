"""Tables for people and JSON for programs."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import click

from approvals.cli.session import Session
from approvals.errors import ApprovalsError, Label

if TYPE_CHECKING:
    from approvals.cli.tables import Fit

__all__ = ["emit_json", "labelled", "name_left_out", "plain", "table", "terminal_safe", "width"]


def plain(value: Any, lang: str) -> Any:
    """Return ``value`` as JSON data: labels in ``lang``, times in ISO 8601 in the command's
    zone, with its offset."""
    if isinstance(value, Label):
        return value.get(lang)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: plain(getattr(value, field.name), lang)
            for field in dataclasses.fields(value)
        }
    if isinstance(value, datetime | date):
        if isinstance(value, datetime) and value.tzinfo is not None:
            from approvals.cli.session import shown_zone

            value = value.astimezone(shown_zone())  # the command's zone (--zone)
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): plain(item, lang) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item, lang) for item in value]
    return value


def emit_json(value: Any, lang: str) -> None:
    """Print ``value`` as one JSON document."""
    click.echo(json.dumps(plain(value, lang), ensure_ascii=False, indent=2))


_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if "\udc80" <= char <= "\udcff":  # a byte that was not UTF-8, as Python kept it from argv
        return f"\\x{ord(char) - 0xDC00:02x}"
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def terminal_safe(text: str, keep: str = "") -> str:
    """Return ``text`` with what could steer a terminal or break its encoding written out as
    escapes: control characters (a value may carry ESC or BEL, or a line break) but those in
    ``keep``, bidi overrides, and the lone surrogates Python makes of argv bytes that are not
    UTF-8."""
    return _UNSAFE.sub(lambda m: m.group() if m.group() in keep else _escaped(m), text)


def name_left_out(problems: Iterable[ApprovalsError], lang: str) -> None:
    """Say on stderr, one sentence each, which cases a list left out because they cannot be
    read (stdout stays the list, its JSON or CSV)."""
    for problem in problems:
        click.echo(terminal_safe(problem.render(lang)), err=True)


def width(text: str) -> int:
    """Return how many terminal columns ``text`` takes (Japanese characters take two)."""
    from approvals.cli.tables import width as cells

    return cells(text)


def _room() -> int | None:
    """The width to fit: none with --wide (see :func:`approvals.cli.tables.limit`)."""
    from approvals.cli import tables

    context = click.get_current_context(silent=True)
    session = context.find_object(Session) if context is not None else None
    return tables.limit(wide=session is not None and session.wide)


def prose(text: str) -> None:
    """Print ``text`` (lines of sentences, made terminal-safe) wrapped between words to the
    width tables fit (see :func:`_room`), each line's continuation indented two more than it."""
    from approvals.cli import tables

    for line in tables.prose(terminal_safe(text, keep="\n"), _room()):
        click.echo(line)


def labelled(rows: Sequence[tuple[str, str]]) -> None:
    """Print each label and its value, the labels in a column, the values wrapped to fit."""
    from approvals.cli import tables

    tables.echo(tables.labelled(rows, _room()))


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    fit: Mapping[int, Fit] | None = None,
) -> None:
    """Print ``rows`` under ``headers`` in aligned columns, fitted to the terminal: each column
    gives way as ``fit`` says by its index (``wrap`` when not said; see
    :data:`approvals.cli.tables.Fit`).
    With ``--wide``, or when output is piped without COLUMNS, every row stays one line."""
    from approvals.cli import tables

    body = [[terminal_safe(str(cell)) for cell in row] for row in rows]
    tables.echo(tables.layout(headers, body, fit or {}, _room()))
