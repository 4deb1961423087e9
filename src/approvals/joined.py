"""The host transaction each thread has joined, if any (see ``ApprovalsApplication.joined``).

A host that wants its own rows and an approval to commit or roll back as one unit lends
approvals a SQLAlchemy ``Connection`` inside its transaction.  While a thread works inside
that unit, every read and write of approvals on that thread goes through the host's
connection, so that it sees what the unit wrote so far and writes nothing outside it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

__all__ = ["HostTransactions"]


class HostTransactions:
    """Which host connection each thread works in; shared by the application, its recorder
    and its case keys."""

    def __init__(self) -> None:
        self._local = threading.local()

    def connection(self) -> Connection | None:
        """The host connection this thread works in, or None outside a unit of work."""
        connection: Connection | None = getattr(self._local, "connection", None)
        return connection

    @contextmanager
    def join(self, connection: Connection) -> Iterator[Connection]:
        """Work in ``connection`` on this thread until the block ends (units nest)."""
        previous = self.connection()
        self._local.connection = connection
        try:
            yield connection
        finally:
            self._local.connection = previous
