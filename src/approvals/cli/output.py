"""Tables for people and JSON for programs."""

from __future__ import annotations

import dataclasses
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import click

from approvals.errors import ApprovalsError, Label

__all__ = ["emit_json", "name_left_out", "plain", "table", "terminal_safe", "width"]


def plain(value: Any, lang: str) -> Any:
    """Return ``value`` as JSON data: labels in ``lang``, times in ISO 8601 with their offset."""
    if isinstance(value, Label):
        return value.get(lang)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: plain(getattr(value, field.name), lang)
            for field in dataclasses.fields(value)
        }
    if isinstance(value, datetime | date):
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
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, columns: int) -> str:
    return text + " " * (columns - width(text))


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Print ``rows`` under ``headers`` in aligned columns."""
    body = [[terminal_safe(str(cell)) for cell in row] for row in rows]
    widths = [width(h) for h in headers]
    for row in body:
        widths = [max(w, width(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = [headers, ["-" * w for w in widths], *body]
    for line in lines:
        click.echo("  ".join(_pad(cell, w) for cell, w in zip(line, widths, strict=True)).rstrip())
