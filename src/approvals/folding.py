"""A long catch-up's folding shared out over processes, the writing kept in this one.

Folding a batch (decrypting and decoding its events, applying them to their cases, computing
each touched case's rows in every model) is per case, and is most of a rebuild's time; writing
the rows and moving the positions is one transaction.  So for a long stretch of the log the
:class:`~approvals.readmodel.Projector` forks :class:`Folders`: each worker reads every batch
(the same rows, by position) and folds only the cases of its share
(:class:`~approvals.readmodel.Share`: a CRC-32 of the case's id; every worker reads each
retention record to know whose it is; the first folds the roster), keeping its cases between
batches as the projector does.  This process asks for the next batch before it writes the one
just folded, so that writing and folding overlap, and writes each batch as a sequential
catch-up would: the same compare-and-set of the positions, the same rows (a test compares them
on random logs).  A worker that fails or dies stops the sharing: this process folds the rest
itself, from the positions committed.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from contextlib import suppress
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from approvals.readmodel import Folded, Share

if TYPE_CHECKING:
    from approvals.readmodel import Projector

__all__ = ["Folders", "FoldingFailed"]


class FoldingFailed(Exception):
    """A worker failed or died: the caller folds the rest itself."""


class Folders:
    """``count`` forked workers of ``projector``, each folding its share of every batch asked."""

    def __init__(self, projector: Projector, count: int) -> None:
        self.projector = projector
        self.count = count
        self.workers: list[tuple[Any, Connection]] = []

    def __enter__(self) -> Folders:
        context = multiprocessing.get_context("fork")
        try:
            for index in range(self.count):
                mine, theirs = context.Pipe()
                process = context.Process(
                    target=_serve, args=(self.projector, Share(index, self.count), theirs),
                    daemon=True,
                )  # fmt: skip
                process.start()
                theirs.close()
                self.workers.append((process, mine))
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for _, pipe in self.workers:
            with suppress(OSError):
                pipe.send(None)
            pipe.close()
        for process, _ in self.workers:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join()
        self.workers.clear()

    def ask(self, start: int, end: int, names: Sequence[str]) -> None:
        """Have every worker fold the events past ``start`` up to ``end`` for the models
        called ``names``."""
        try:
            for _, pipe in self.workers:
                pipe.send((start, end, list(names)))
        except OSError as error:
            raise FoldingFailed(f"a worker cannot be reached: {error}") from error

    def take(self) -> Folded:
        """Wait for the batch asked first and not yet taken; return it whole."""
        parts: list[Folded] = []
        for process, pipe in self.workers:
            try:
                kind, found = pipe.recv()
            except (EOFError, OSError) as error:
                raise FoldingFailed(
                    f"worker {process.pid} stopped (exit code {process.exitcode})"
                ) from error
            if kind != "folded":
                raise FoldingFailed(str(found))
            parts.append(found)
        whole = Folded([], {}, parts[0].roster, parts[0].read)
        for part in parts:
            whole.references += part.references
            whole.rows.update(part.rows)
            whole.filed += part.filed
        return whole


def _serve(projector: Projector, share: Share, pipe: Connection) -> None:
    """Fold this share of each batch asked, until told to stop (None) or the parent is gone."""
    try:
        while True:
            try:
                job = pipe.recv()
            except (EOFError, OSError):
                return
            if job is None:
                return
            start, end, names = job
            pipe.send(("folded", projector.fold_share(start, end, names, share)))
    except BaseException as error:  # noqa: BLE001 - the parent folds the rest itself
        with suppress(Exception):
            pipe.send(("failed", f"{type(error).__name__}: {error}"))
    finally:
        pipe.close()
