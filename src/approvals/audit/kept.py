"""What the walk by aggregate keeps of the cases that replay clean: on disk, not in memory.

A case that replays clean (it stands, breaks none of its own rules, the ledger holds none of
its events twice) needs nothing more from a verification, unless its retention record turns
out not to replay as "ok" (read in another share, known only at the end), or the rules
across cases read it (:data:`~approvals.audit.cases.LINKABLE`: then its summary,
:class:`~approvals.audit.links.LinkSummary`).  Each share of the walk writes, for each such
case, its notice's event id, its retention record's id and its reference, and the summary
when there is one, pickled with the key of the definition it replayed on, to a file of its
own: a SQLite database in a folder the verification makes and removes.  The parent reads
them back (:class:`Kept`): the few cases whose record is in doubt, and the summaries one at a
time, in the order the cases were filed, or by reference.  So what a verification holds in
memory does not grow with the log, in the workers or in the parent.

The files are the verifier's own scratch, written and read by this process and its forked
workers only; nothing in them is taken from anyone else.  A scratch file that cannot be
written or read (a full disk) is an :class:`OSError` naming it, as any file the commands
cannot use.
"""

from __future__ import annotations

import errno
import heapq
import os
import pickle
import sqlite3
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from approvals.audit.links import LinkSummary

__all__ = ["Kept", "KeptWriter", "WorkflowKey"]

WorkflowKey = tuple[str, int, str]
"""A definition's id, version and SHA-256: which one a case replayed on."""

_SCHEMA = (
    "CREATE TABLE clean (notice INTEGER NOT NULL, record BLOB NOT NULL, reference TEXT NOT NULL)",
    "CREATE TABLE summaries (notice INTEGER NOT NULL, reference TEXT NOT NULL, "
    "workflow TEXT NOT NULL, version INTEGER NOT NULL, sha256 TEXT NOT NULL, "
    "summary BLOB NOT NULL)",
)
_INDEXES = (
    "CREATE INDEX clean_record ON clean (record)",
    "CREATE INDEX summaries_notice ON summaries (notice)",
    "CREATE UNIQUE INDEX summaries_reference ON summaries (reference)",
)
_CACHED = 4096
"""Summaries read by reference that are kept, the last asked for."""


@contextmanager
def _scratch(path: str) -> Iterator[None]:
    """Turn a failure of the scratch files at ``path`` into the OSError it is."""
    try:
        yield
    except sqlite3.Error as error:
        raise OSError(errno.EIO, str(error), path) from error


def _open(path: str) -> sqlite3.Connection:
    with _scratch(path):
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("PRAGMA journal_mode = OFF")
        connection.execute("PRAGMA synchronous = OFF")
        return connection


class KeptWriter:
    """One share's file: its clean cases and their summaries, written a batch at a time."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._db = _open(path)
        with _scratch(path):
            for statement in _SCHEMA:
                self._db.execute(statement)
            self._db.execute("BEGIN")

    def write(
        self,
        clean: Sequence[tuple[int, bytes, str]],
        summaries: Sequence[tuple[int, str, WorkflowKey, LinkSummary]],
    ) -> None:
        """Add cases that replayed clean (notice's event id, record's id, reference) and the
        summaries of those the rules across cases may read."""
        with _scratch(self.path):
            self._db.executemany("INSERT INTO clean VALUES (?, ?, ?)", clean)
            self._db.executemany(
                "INSERT INTO summaries VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (notice, reference, *key, pickle.dumps(summary, pickle.HIGHEST_PROTOCOL))
                    for notice, reference, key, summary in summaries
                ],
            )

    def close(self) -> None:
        """Finish the file (indexed for the parent's reads) and close it."""
        with _scratch(self.path):
            for statement in _INDEXES:
                self._db.execute(statement)
            self._db.execute("COMMIT")
            self._db.close()


class Kept:
    """The shares' files, read together by the parent."""

    def __init__(self, paths: Sequence[str]) -> None:
        self._dbs = [_open(path) for path in paths]
        self._folder = os.path.dirname(paths[0]) if paths else ""
        self._cache: OrderedDict[str, tuple[WorkflowKey, LinkSummary] | None] = OrderedDict()

    def close(self) -> None:
        for db in self._dbs:
            db.close()
        self._dbs = []

    def count(self) -> int:
        """How many cases were kept as clean."""
        with _scratch(self._folder):
            return sum(db.execute("SELECT count(*) FROM clean").fetchone()[0] for db in self._dbs)

    def doubtful(self, records: Iterable[bytes]) -> Iterator[tuple[int, bytes, str]]:
        """The clean cases (notice's event id, record's id, reference) whose retention record
        is one of ``records``."""
        wanted = list(dict.fromkeys(records))
        with _scratch(self._folder):
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                for db in self._dbs:
                    yield from db.execute(
                        f"SELECT notice, record, reference FROM clean WHERE record IN ({marks})",
                        chunk,
                    )

    def workflows(self) -> set[str]:
        """The workflows of the cases whose summary was kept."""
        with _scratch(self._folder):
            return {
                workflow
                for db in self._dbs
                for (workflow,) in db.execute("SELECT DISTINCT workflow FROM summaries")
            }

    def summaries(self) -> Iterator[tuple[int, str, WorkflowKey, LinkSummary]]:
        """Every summary kept (notice's event id, reference, definition, summary), in the
        order the cases were filed."""
        with _scratch(self._folder):
            cursors = [
                db.execute(
                    "SELECT notice, reference, workflow, version, sha256, summary FROM summaries "
                    "ORDER BY notice"
                )
                for db in self._dbs
            ]
            for row in heapq.merge(*cursors, key=lambda row: int(row[0])):
                yield row[0], row[1], (row[2], row[3], row[4]), pickle.loads(row[5])

    def summary(self, reference: str) -> tuple[WorkflowKey, LinkSummary] | None:
        """The summary kept of the case ``reference`` (and its definition's key), if any."""
        if reference in self._cache:
            self._cache.move_to_end(reference)
            return self._cache[reference]
        found: tuple[WorkflowKey, LinkSummary] | None = None
        with _scratch(self._folder):
            for db in self._dbs:
                row = db.execute(
                    "SELECT workflow, version, sha256, summary FROM summaries WHERE reference = ?",
                    (reference,),
                ).fetchone()
                if row is not None:
                    found = (row[0], row[1], row[2]), pickle.loads(row[3])
                    break
        self._cache[reference] = found
        if len(self._cache) > _CACHED:
            self._cache.popitem(last=False)
        return found
