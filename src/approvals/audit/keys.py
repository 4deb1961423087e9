"""Each case's events are encrypted with a key of its own, so that disposal can erase them.

The log is append-only, so a case's personal data cannot be deleted from it; instead every
event of a case is stored encrypted (AES-256-GCM) under that case's data key, kept in
``approvals_case_keys``. Disposing of a case destroys its key: the ciphertext stays, the
ledger's hashes over it still verify, and nothing of the case can be read again.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    String,
    Table,
    delete,
    insert,
    inspect,
    select,
)

from approvals.joined import HostTransactions

__all__ = [
    "CASE_KEYS_TABLE",
    "DISPOSALS_TABLE",
    "CaseDataErased",
    "CaseEventUnreadable",
    "CaseKeyMapper",
    "CaseKeys",
    "case_keys_table",
    "disposals_table",
]

CASE_KEYS_TABLE = "approvals_case_keys"
DISPOSALS_TABLE = "approvals_disposals"
"""The cases whose key was destroyed at disposal: append-only, and the database lets a case key
be deleted only once its case is named here (see :func:`approvals.store.ensure_schema`)."""
KEYS_KEPT = 32_768
"""Case keys kept in memory, the last used (about 8 MB): more are read again when needed."""
CASE_TOPICS = "approvals:Case."
_MAGIC = b"AK1"


class CaseDataErased(Exception):
    """The events of a disposed case cannot be read: their key was destroyed."""

    def __init__(self, originator_id: UUID | str) -> None:
        super().__init__(f"the data of {originator_id} was erased at disposal")
        self.originator_id = str(originator_id)


class CaseEventUnreadable(ValueError):
    """A case's event does not decrypt under the key kept for its case (or is stored without
    its encryption): damage, not disposal."""

    def __init__(self, originator_id: UUID | str, reason: str) -> None:
        super().__init__(f"a case event of {originator_id} {reason}")
        self.originator_id = str(originator_id)


def case_keys_table(metadata: MetaData | None = None) -> Table:
    """Return the definition of the table of case keys."""
    return Table(
        CASE_KEYS_TABLE,
        metadata or MetaData(),
        Column("originator_id", String(36), primary_key=True),
        Column("data_key", String(64), nullable=False),
    )


def disposals_table(metadata: MetaData | None = None) -> Table:
    """Return the definition of the table of disposals (one row per case disposed of)."""
    return Table(
        DISPOSALS_TABLE,
        metadata or MetaData(),
        Column("originator_id", String(36), primary_key=True),
    )


class CaseKeys:
    """Finds, makes and destroys case keys; a new case's key is written with its first event.

    Shared by every thread of the application.  Keys read from the database or committed by
    this process are kept in ``_known`` (guarded by a lock: a key row is never updated, so a
    committed key stays right until its case is disposed of), the :data:`KEYS_KEPT` used last:
    a server that runs for years, or a walk of the whole log, does not keep every case's key.
    A key made for a new case is held only by the thread that made it, until that thread's
    write ends: the transaction that stores the case's first event, encrypted under the key,
    stores that very key, and a thread that lost a race for the same case never hands its key
    to anyone.
    """

    def __init__(self, engine: Engine, host: HostTransactions | None = None) -> None:
        self.engine = engine
        self.host = host or HostTransactions()
        self.table = case_keys_table()
        self.disposals = disposals_table()
        self._known: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._local = threading.local()

    def after_fork(self) -> None:
        """In a forked child: a lock of its own (the parent's may have been held)."""
        self._lock = threading.Lock()

    def _pending(self) -> dict[str, bytes]:
        """The keys this thread made for new cases and has not written yet."""
        pending: dict[str, bytes] | None = getattr(self._local, "pending", None)
        if pending is None:
            pending = self._local.pending = {}
        return pending

    def key(
        self,
        originator_id: UUID | str,
        *,
        create: bool = False,
    ) -> bytes | None:
        """Return the case's key (making one for a new case when ``create``); read through the
        host's connection when this thread works in a host's transaction, else our own."""
        originator = str(originator_id)
        pending = self._pending()
        if originator in pending:
            return pending[originator]
        with self._lock:
            known = self._known.get(originator)
            if known is not None:
                self._known.move_to_end(originator)
        if known is not None:
            return known
        query = select(self.table.c.data_key).where(self.table.c.originator_id == originator)
        connection = self.host.connection()
        if connection is not None:
            found = connection.execute(query).scalar_one_or_none()
        else:
            with self.engine.connect() as own:
                if own.dialect.name == "postgresql":  # one statement: no BEGIN, no ROLLBACK
                    own.execution_options(isolation_level="AUTOCOMMIT")
                found = own.execute(query).scalar_one_or_none()
        if found is not None:
            if connection is None:  # committed: anyone may use it from now on
                with self._lock:
                    self._keep({originator: bytes.fromhex(found)})
            return bytes.fromhex(found)
        if not create:
            return None
        pending[originator] = AESGCM.generate_key(bit_length=256)
        return pending[originator]

    def preload(self, originators: Iterable[str]) -> None:
        """Read the keys of ``originators`` not known yet, in a few queries (for projections)."""
        with self._lock:
            wanted = [o for o in dict.fromkeys(originators) if o not in self._known]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            with self.engine.connect() as connection:
                rows = connection.execute(
                    select(self.table.c.originator_id, self.table.c.data_key).where(
                        self.table.c.originator_id.in_(chunk)
                    )
                ).all()
            with self._lock:
                self._keep({str(originator): bytes.fromhex(key) for originator, key in rows})

    def _keep(self, keys: Mapping[str, bytes]) -> None:
        """Keep ``keys`` as the last used (the caller holds the lock)."""
        known = self._known
        for originator, key in keys.items():
            known[originator] = key
            known.move_to_end(originator)
        while len(known) > KEYS_KEPT:
            known.popitem(last=False)

    def new_rows(self, originators: Iterable[str]) -> list[dict[str, str]]:
        """Return the key rows to write with the events of ``originators``: this thread's new
        keys among them, once each (none for a case that has its key already).

        Written inside the events' own transaction: a key row for a case that has one already
        (a race lost to another writer) fails the transaction, as the events' own (case,
        version) uniqueness does.
        """
        pending = self._pending()
        return [
            {"originator_id": o, "data_key": pending[o].hex()}
            for o in dict.fromkeys(originators)
            if o in pending
        ]

    def write_new(self, connection: Connection, originators: Iterable[str]) -> None:
        """Write this thread's new keys of ``originators`` inside the events' own transaction
        (see :meth:`new_rows`)."""
        rows = self.new_rows(originators)
        if rows:
            connection.execute(insert(self.table), rows)

    def settle(self, *, committed: bool) -> None:
        """End this thread's write: keep its new keys when ``committed``, else forget them."""
        pending = self._pending()
        if committed and pending:
            with self._lock:
                self._keep(pending)
        pending.clear()

    def destroy(self, connection: Connection, originator_id: UUID | str) -> None:
        """Destroy a case's key, in the caller's transaction (the one that records its
        disposal): the disposal is named in the disposals table first, without which the
        database refuses to delete a key.  (A store made before that table has neither it nor
        the trigger until ``approvals init`` is run on it again.)"""
        originator = str(originator_id)
        if inspect(connection).has_table(DISPOSALS_TABLE):
            connection.execute(insert(self.disposals), [{"originator_id": originator}])
        connection.execute(delete(self.table).where(self.table.c.originator_id == originator))
        with self._lock:
            self._known.pop(originator, None)
        self._pending().pop(originator, None)

    def forget(self, originator_id: UUID | str) -> None:
        """Drop a key from memory (another process may have destroyed it)."""
        with self._lock:
            self._known.pop(str(originator_id), None)


def _aad(originator_id: UUID | str, version: int) -> bytes:
    return f"{originator_id}:{version}".encode()


class CaseKeyMapper(Mapper[UUID]):
    """eventsourcing's mapper, encrypting the events of cases under each case's own key."""

    def __init__(self, transcoder: Transcoder, keys: CaseKeys) -> None:
        super().__init__(transcoder)
        self.keys = keys

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        """Encode the event; a case's event is then encrypted under the case's key."""
        stored = super().to_stored_event(domain_event)
        if not stored.topic.startswith(CASE_TOPICS):
            return stored
        # Only a case's first event may make its key: a later one (or one of a disposed case)
        # must find the key its case was written with.
        key = self.keys.key(stored.originator_id, create=stored.originator_version == 1)
        if key is None:
            raise CaseDataErased(stored.originator_id)
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(
            nonce, stored.state, _aad(stored.originator_id, stored.originator_version)
        )
        return StoredEvent(
            originator_id=stored.originator_id,
            originator_version=stored.originator_version,
            topic=stored.topic,
            state=_MAGIC + nonce + sealed,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        """Decrypt a case's event with its key, then decode it."""
        if not stored_event.topic.startswith(CASE_TOPICS):
            return super().to_domain_event(stored_event)
        key = self.keys.key(stored_event.originator_id)
        if key is None:
            raise CaseDataErased(stored_event.originator_id)
        state = bytes(stored_event.state)
        if not state.startswith(_MAGIC):
            raise CaseEventUnreadable(stored_event.originator_id, "is stored without encryption")
        try:
            plain = AESGCM(key).decrypt(
                state[3:15],
                state[15:],
                _aad(stored_event.originator_id, stored_event.originator_version),
            )
        except InvalidTag:
            raise CaseEventUnreadable(
                stored_event.originator_id, "does not decrypt: it or its key was altered"
            ) from None
        return super().to_domain_event(
            StoredEvent(
                originator_id=stored_event.originator_id,
                originator_version=stored_event.originator_version,
                topic=stored_event.topic,
                state=plain,
            )
        )
