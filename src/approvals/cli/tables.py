"""Tables that fit the terminal: how wide it is, columns wrapped or shortened to fit, a record
for each row when no table fits, and the pager for what is longer than the screen.

Widths are measured in terminal cells by ``wcwidth`` (Japanese takes two; East-Asian
ambiguous characters such as … take one, as most terminals draw them). It is imported here
only, and this module only when :mod:`approvals.cli.output` prints a table or measures text, so
that ``approvals --help`` loads neither.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from functools import lru_cache
from itertools import zip_longest
from typing import Literal

import click
import wcwidth

__all__ = ["Fit", "echo", "labelled", "layout", "limit", "prose", "stdout_is_terminal", "width"]

Fit = Literal["wrap", "keep", "clip", "below"]
"""How a column gives way when the table is wider than the terminal:

- ``wrap`` (the default): its cells wrap at spaces (Japanese between any two characters), never
  narrower than its longest word;
- ``keep``: never narrower than its widest cell;
- ``clip``: one line each, shortened with … (for what is shown whole elsewhere: titles, hashes);
- ``below`` (the last column only): printed under its row, indented, across the whole width.
"""

GAP = "  "
INDENT = "    "


def width(text: str) -> int:
    """Return how many terminal cells ``text`` takes (Japanese characters take two)."""
    return int(wcwidth.width(text))


def stdout_is_terminal() -> bool:
    """Whether standard output is a terminal (not a pipe or a file)."""
    stream = sys.stdout
    return stream is not None and stream.isatty()


def limit(wide: bool) -> int | None:
    """The width tables must fit: None for ``--wide``; else COLUMNS when set to a number; else
    the terminal's width when stdout is one; else None (piped output keeps whole lines)."""
    if wide:
        return None
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdecimal() and int(columns) > 0:
        return int(columns)
    if stdout_is_terminal():
        return shutil.get_terminal_size().columns
    return None


def echo(lines: Sequence[str]) -> None:
    """Print ``lines``, through the pager when stdout is a terminal they would overflow."""
    if stdout_is_terminal() and len(lines) >= shutil.get_terminal_size().lines:
        click.echo_via_pager("\n".join(lines))  # click ends it with a line break
        return
    for line in lines:
        click.echo(line)


def layout(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    fit: Mapping[int, Fit],
    room: int | None,
) -> list[str]:
    """The lines of a table of ``rows`` under ``headers``, at most ``room`` cells wide (any
    width when None): whole when it fits; else its columns wrapped or shortened as ``fit``
    says (by column index; ``wrap`` when not said); else, when its columns cannot keep their
    words whole, a record for each row."""
    fits: list[Fit] = [fit.get(i, "wrap") for i in range(len(headers))]
    if "below" in fits[:-1]:
        raise ValueError("only the last column can go below its row")
    natural = [max([width(h), *(width(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    if room is None or sum(natural) + len(GAP) * (len(headers) - 1) <= room:
        return _whole(headers, rows, natural)
    return _fitted(headers, rows, fits, room) or _records(headers, rows, room)


def _pad(text: str, columns: int) -> str:
    return text + " " * (columns - width(text))


def _whole(headers: Sequence[str], rows: Sequence[Sequence[str]], widths: list[int]) -> list[str]:
    lines = [headers, ["-" * w for w in widths], *rows]
    return [
        GAP.join(_pad(cell, w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    ]


@lru_cache(maxsize=4096)
def _least(text: str, run_breaks: int = 8) -> int:
    """The narrowest ``text`` wraps to with its words whole: its longest word, where a run of
    Japanese may break between two characters once it is wider than ``run_breaks``."""
    if text.isascii():  # the usual case, quickly: a character takes one cell
        return max(map(len, text.split()), default=0)
    least = 0
    for word in text.split():
        run = wide = 0
        for char in word:
            cells = width(char)
            if cells > 1:
                wide += cells
                least, run = max(least, run), 0
            else:
                least, wide = max(least, min(wide, run_breaks)), 0
                run += cells
        least = max(least, run, min(wide, run_breaks))
    return least


def _least_of(fit: Fit, cells: Sequence[str]) -> int:
    """How narrow a column may go: its header stays whole (Japanese too)."""
    header, values = _least(cells[0], run_breaks=len(cells[0]) * 2), cells[1:]
    if fit == "keep":
        return max([header, *(width(cell) for cell in values)])
    if fit == "clip":  # enough of each cell to know it by
        return max(header, min(max((width(cell) for cell in values), default=0), 8))
    return max([header, *(_least(cell) for cell in values)])


def _widths(natural: Sequence[int], least: Sequence[int], room: int) -> list[int] | None:
    """Each column's width so that together they take at most ``room``, the widest giving way
    first (each down to a common width, none below its least); None when the least do not fit."""
    if sum(least) > room:
        return None

    def capped(cap: int) -> list[int]:
        return [min(n, max(m, cap)) for n, m in zip(natural, least, strict=True)]

    low, high = 0, max(natural)  # the widest cap that fits: capped(0) fits, as the least do
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if sum(capped(middle)) <= room else (low, middle - 1)
    widths = capped(low)
    spare = room - sum(widths)
    for i, (w, n) in enumerate(zip(widths, natural, strict=True)):
        if spare and w < n:
            widths[i], spare = w + 1, spare - 1
    return widths


@lru_cache(maxsize=4096)  # a column repeats its values (states, roles, dates) row after row
def _wrap(text: str, columns: int) -> tuple[str, ...]:
    if width(text) <= columns:
        return (text,)
    return tuple(wcwidth.wrap(text, max(columns, 2), break_on_hyphens=False)) or ("",)


def _clip(text: str, columns: int) -> tuple[str, ...]:
    if width(text) <= columns:
        return (text,)
    return (wcwidth.clip(text, 0, max(columns - 1, 0)).rstrip() + "…",)


def _fitted(
    headers: Sequence[str], rows: Sequence[Sequence[str]], fits: Sequence[Fit], room: int
) -> list[str] | None:
    """The table with its columns wrapped or clipped to ``room``, and a ``below`` column under
    each row; None when its columns cannot fit with their words whole."""
    shown = len(headers) - 1 if fits[-1] == "below" and len(headers) > 1 else len(headers)
    columns = [[headers[i], *(row[i] for row in rows)] for i in range(shown)]
    natural = [max(width(cell) for cell in cells) for cells in columns]
    least = [_least_of(fits[i], cells) for i, cells in enumerate(columns)]
    space = room - len(GAP) * (shown - 1)
    widths = _widths(natural, least, space)
    if widths is None:
        return None
    for _ in range(len(columns)):
        wrapped = [
            [(_clip if fits[i] == "clip" else _wrap)(cell, widths[i]) for cell in cells]
            for i, cells in enumerate(columns)
        ]
        used = [max(width(part) for parts in cells for part in parts) for cells in wrapped]
        if used == widths:
            break
        # A column its wrapped lines do not fill keeps those lines at the width they take; the
        # cells it frees go to the columns that still want them.
        natural = [u if u < w else n for u, w, n in zip(used, widths, natural, strict=True)]
        least = [u if u < w else m for u, w, m in zip(used, widths, least, strict=True)]
        widths = _widths(natural, least, space) or widths

    def line(row: int) -> list[str]:
        return [
            GAP.join(_pad(part or "", w) for part, w in zip(parts, widths, strict=True)).rstrip()
            for parts in zip_longest(*(cells[row] for cells in wrapped))
        ]

    def under(cell: str) -> list[str]:
        return [INDENT + part for part in _wrap(cell, room - len(INDENT))] if cell else []

    below = [headers[-1], *(row[-1] for row in rows)] if shown < len(headers) else []
    blocks = [[*line(row), *(under(below[row]) if below else [])] for row in range(len(columns[0]))]
    lines = [*blocks[0], GAP.join("-" * w for w in widths)]
    spaced = any(len(block) > 1 for block in blocks[1:])  # rows of several lines: blank between
    for index, block in enumerate(blocks[1:]):
        lines += [""] if spaced and index else []
        lines += block
    return lines


def _records(headers: Sequence[str], rows: Sequence[Sequence[str]], room: int) -> list[str]:
    """Each row as a record: one line a column, its header then its value, wrapped to ``room``;
    a blank line between records."""
    label = min(max(width(h) for h in headers), max(room // 2, 2))
    value = max(room - label - len(GAP), 2)
    lines: list[str] = []
    for index, row in enumerate(rows):
        lines += [""] if index else []
        for header, cell in zip(headers, row, strict=True):
            for name, part in zip_longest(_wrap(header, label), _wrap(cell, value)):
                lines.append(f"{_pad(name or '', label)}{GAP}{part or ''}".rstrip())
    return lines


def prose(text: str, room: int | None) -> list[str]:
    """The lines of ``text`` (sentences, a line each) wrapped between words to ``room`` cells
    (whole when None), each line's continuation indented two more than the line."""
    lines: list[str] = []
    for line in text.split("\n"):
        if room is None or width(line) <= room:
            lines.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip(" "))]
        lines += wcwidth.wrap(
            line.lstrip(" "), max(room, 20), initial_indent=indent,
            subsequent_indent=indent + "  ", break_on_hyphens=False,
        )  # fmt: skip
    return lines


def labelled(rows: Sequence[tuple[str, str]], room: int | None, indent: str = "  ") -> list[str]:
    """Lines of a label and its value each, the labels in a column: a value wider than ``room``
    wraps under itself (its own line breaks and leading spaces kept); None keeps it whole."""
    label = max((width(name) for name, _ in rows), default=0)
    lines: list[str] = []
    for name, text in rows:
        parts = [text]
        if room is not None:
            rest = room - len(indent) - label - len(GAP)
            parts = [
                " " * lead + part
                for paragraph in text.split("\n")
                for lead in [len(paragraph) - len(paragraph.lstrip(" "))]
                for part in _wrap(paragraph[lead:], rest - lead)
            ]
        for index, part in enumerate(parts):
            lines.append(f"{indent}{_pad(name if index == 0 else '', label)}{GAP}{part}".rstrip())
    return lines
