"""Progress of the long commands, drawn on stderr with ``click.progressbar``.

``click.progressbar`` is the one progress bar of the whole command line (click is already
there, so no second library): events done out of the total, the percentage, the rate and the
time left, on stderr, and only when stderr is a terminal and --json was not asked for. Piped
or as JSON, a command prints exactly what it prints without progress. The services take an
optional ``progress(done, total)`` callback; this module is the one that draws it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO, cast

import click

from approvals.cli.text import say

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

    from approvals.cli.session import Session

__all__ = ["Progress", "progress", "stderr_is_terminal"]

Progress = Callable[[int, int], None]


def stderr_is_terminal() -> bool:
    """Whether stderr is a terminal: the one check the command line makes before drawing."""
    return sys.stderr.isatty()


@contextmanager
def progress(session: Session, what: str) -> Iterator[Progress | None]:
    """Yield a ``progress(done, total)`` callback drawing a bar labelled with the text ``what``
    on stderr, or None when stderr is no terminal or the output is JSON."""
    if session.as_json or not stderr_is_terminal():
        yield None
        return
    meter = _Meter(say(what, session.lang), session.lang)
    try:
        yield meter
    finally:
        meter.close()


class _Terminal:
    """stderr, once the command line has found it a terminal (so click draws the bar there)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()


class _Meter:
    """One bar per total: events done out of ``total``, the rate and the time left."""

    def __init__(self, label: str, lang: str) -> None:
        self.label = label
        self.lang = lang
        self.bar: ProgressBar[str] | None = None
        self.started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        if total <= 0:
            return  # nothing to take in: no bar
        if self.bar is None or self.bar.length != total:
            self.close()
            self.started = time.monotonic()
            self.bar = click.progressbar(
                length=total,
                label=self.label,
                file=cast("TextIO", _Terminal(sys.stderr)),
                show_pos=True,
                show_percent=True,
                item_show_func=lambda rate: rate,
            )
            self.bar.__enter__()
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = say("progress.rate", self.lang, rate=f"{done / elapsed:,.0f}")
        self.bar.update(max(0, min(done, total) - self.bar.pos), rate)

    def close(self, *_: Any) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
