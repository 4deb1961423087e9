"""Decode the log a page at a time, for the walks that read all of it (projections, exports).

The application's mapper decodes one stored event at a time: it looks the case's key up (a
query when the key is not in memory yet), builds a cipher, decrypts, decodes the JSON and
builds the event.  Reading the whole log that way costs more in the lookups and the objects
around the work than in the work.  :class:`PageDecoder` gives the same events, or raises the
same errors, for rows read with the driver's cursor (see :mod:`approvals.audit.pages`): the
keys of a page's cases are read in a few queries, each case's cipher is built once and kept
while its case is recent (a bounded number of them: memory does not grow with the log), and
each event is decoded once.  :class:`EventOpener` is the decoding itself, with no database: the
export takes a page's keys at once (:meth:`PageDecoder.page_keys`) and decodes each event with
it to its state, without building the domain event.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import resolve_topic

from approvals.audit.keys import CASE_TOPICS, CaseDataErased, CaseEventUnreadable
from approvals.audit.pages import as_bytes, columns_of, table_of, text_id

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication

__all__ = ["CIPHERS", "EventOpener", "PageDecoder", "as_event", "case_text", "read_events"]

CIPHERS = 4096
"""Ciphers kept for recent cases: a case's events are close together in the log."""

_MAGIC = b"AK1"  # as approvals.audit.keys writes it
_COLUMNS = ("id", "originator_id", "originator_version", "topic", "state")


def read_events(
    connection: sa.Connection, app: ApprovalsApplication, after: int, upto: int, limit: int
) -> list[tuple[Any, ...]]:
    """Return the stored events with ``after < id <= upto``, at most ``limit`` of them, by id,
    as the driver's tuples (id, originator_id, originator_version, topic, state)."""
    table = app.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
    key = columns_of(connection, table, ["id"])
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    query = (
        f"SELECT {columns_of(connection, table, _COLUMNS)} FROM {table_of(connection, table)} "
        f"WHERE {key} > {mark} AND {key} <= {mark} ORDER BY {key} LIMIT {int(limit)}"
    )
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(query, (after, upto))
        return list(cursor.fetchall())
    finally:
        cursor.close()


class EventOpener:
    """Decrypts and decodes the stored events of cases given their ciphers, with no database:
    what :class:`PageDecoder` does once a case's key is known, and what the export does with a
    page's keys, in worker processes too (see :mod:`approvals.audit.export`)."""

    def __init__(self, mapper: Mapper[UUID]) -> None:
        self.mapper = mapper
        self.transcoder = mapper.transcoder
        self._classes: dict[str, tuple[type, int]] = {}

    def other(self, row: tuple[Any, ...]) -> Any:
        """Return the domain event of ``row``, an event of no case, as the mapper decodes it."""
        _, raw, version, topic, state = row
        originator = raw if isinstance(raw, UUID) else UUID(bytes=bytes(raw))
        return self.mapper.to_domain_event(StoredEvent(originator, version, topic, as_bytes(state)))

    def state(
        self,
        row: tuple[Any, ...],
        text: str,
        cipher: AESGCM | None,
        originator: UUID | None = None,
    ) -> tuple[type, dict[str, Any]]:
        """Return the class and the state (upcast) of ``row``, the event of the case ``text``
        (its id as text; ``originator`` as a UUID, when known) sealed under ``cipher`` (None:
        the case has no key), or raise what the application's mapper raises for it."""
        _, raw, version, topic, state = row
        if originator is None:
            originator = raw if isinstance(raw, UUID) else UUID(bytes=bytes(raw))
        if cipher is None:
            raise CaseDataErased(originator)
        sealed = as_bytes(state)
        if not sealed.startswith(_MAGIC):
            raise CaseEventUnreadable(originator, "is stored without encryption")
        try:
            plain = cipher.decrypt(sealed[3:15], sealed[15:], f"{text}:{version}".encode())
        except InvalidTag:
            raise CaseEventUnreadable(
                originator, "does not decrypt: it or its key was altered"
            ) from None
        found = self._classes.get(topic)
        if found is None:
            cls = resolve_topic(topic)
            found = self._classes[topic] = (cls, getattr(cls, "class_version", 1))
        cls, class_version = found
        try:
            state_of: dict[str, Any] = self.transcoder.decode(plain)
        except Exception:  # noqa: BLE001 -- the mapper raises its own error for it
            event = Mapper.to_domain_event(
                self.mapper, StoredEvent(originator, version, topic, plain)
            )
            return type(event), vars(event)
        state_of["originator_id"] = originator
        state_of["originator_version"] = version
        from_version = state_of.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state_of)
            from_version += 1
        return cls, state_of


def as_event(cls: type, state: dict[str, Any]) -> Any:
    """The domain event of class ``cls`` with ``state``, built as the mapper builds it."""
    event: Any = object.__new__(cls)
    object.__setattr__(event, "__dict__", state)
    return event


class PageDecoder:
    """Decodes stored events as the application's mapper does, a page of them at a time.

    Call :meth:`page` with a page's rows before decoding them: it reads the keys of the
    page's cases that are not known yet.  A key read once is kept while its case is among the
    :data:`CIPHERS` most recent (a key row never changes; it is only deleted at disposal, see
    :meth:`forget`).  Not shared between threads: each walk makes its own.
    """

    def __init__(self, app: ApprovalsApplication, ciphers: int = CIPHERS) -> None:
        self.app = app
        self.mapper: Mapper[UUID] = app.mapper
        self.opener = EventOpener(app.mapper)
        self._size = ciphers
        self._ciphers: OrderedDict[str, AESGCM] = OrderedDict()
        self._keys: dict[str, bytes] = {}  # the key of each case in _ciphers
        self._missing: set[str] = set()  # cases of this page without a key

    def page(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Read the keys of the cases of ``rows`` (id, originator_id, version, topic, state)
        not known yet, in a few queries."""
        self._missing = set()
        self.keys(_cases_of(rows))

    def page_keys(self, rows: Sequence[tuple[Any, ...]]) -> dict[str, bytes]:
        """Return the data keys of the cases of ``rows`` by case id (as text), read as
        :meth:`page` reads them; a case left out has no key (its data was erased).  For a walk
        that decodes the rows elsewhere (:class:`EventOpener`)."""
        wanted = _cases_of(rows)
        known, ciphers = self._keys, self._ciphers
        found = {text: known[text] for text in wanted if text in known}
        for text in found:
            ciphers.move_to_end(text)
        absent = [text for text in wanted if text not in found]
        read = self._read_keys(absent)
        self._missing = set(absent).difference(read)
        found.update(read)
        self._remember(read)
        return found

    def keys(self, originators: Iterable[str]) -> None:
        """Read the keys of ``originators`` (ids as text) not known yet."""
        wanted = [o for o in originators if o not in self._ciphers]
        self._missing.update(wanted)
        read = self._read_keys(wanted)
        self._missing.difference_update(read)
        self._remember(read)

    def _read_keys(self, wanted: Sequence[str]) -> dict[str, bytes]:
        """The keys of those of ``wanted`` (ids as text) that have one, in a few queries."""
        found: dict[str, bytes] = {}
        if not wanted:
            return found
        table = self.app.case_keys.table
        with self.app.engine.connect() as connection:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                query = sa.select(table.c.originator_id, table.c.data_key).where(
                    table.c.originator_id.in_(chunk)
                )
                for originator, key in connection.execute(query):
                    found[str(originator)] = bytes.fromhex(key)
        return found

    def _remember(self, keys: dict[str, bytes]) -> None:
        """Keep ``keys`` and their ciphers, forgetting the least recent beyond the bound."""
        ciphers, known = self._ciphers, self._keys
        for text, key in keys.items():
            ciphers[text] = AESGCM(key)
            known[text] = key
        while len(ciphers) > self._size:
            text, _ = ciphers.popitem(last=False)
            known.pop(text, None)

    def forget(self, originator: UUID | str) -> None:
        """Drop a case's key (its case was disposed of: the key is gone from the store)."""
        self._ciphers.pop(str(originator), None)
        self._keys.pop(str(originator), None)

    def decode(self, row: tuple[Any, ...]) -> Any:
        """Return the domain event of ``row`` (id, originator_id, version, topic, state), or
        raise what the application's mapper raises for it."""
        topic: str = row[3]
        if not topic.startswith(CASE_TOPICS):
            return self.opener.other(row)
        text = case_text(row[1])
        cipher = self._ciphers.get(text)
        if cipher is None and text not in self._missing:  # not in the page given to page()
            self.keys([text])
            cipher = self._ciphers.get(text)
        if cipher is not None:
            self._ciphers.move_to_end(text)
        return as_event(*self.opener.state(row, text, cipher))


def case_text(raw: Any) -> str:
    """An event's originator id as text, however the driver gives it."""
    if type(raw) is bytes and len(raw) == 16:
        return text_id(raw)
    return str(raw if isinstance(raw, UUID) else UUID(bytes=bytes(raw)))


def _cases_of(rows: Sequence[tuple[Any, ...]]) -> set[str]:
    """The ids (as text) of the cases of ``rows``."""
    return {
        case_text(raw) for raw in {row[1] for row in rows if str(row[3]).startswith(CASE_TOPICS)}
    }
