"""The first layer of verification over every core: proves a sound log sound, or says "look".

A long log is cut into chunks of :data:`CHUNK` positions (a power of two, so that each full
chunk is one perfect subtree of the RFC 9162 tree), and one process per core checks its
chunks as the sequential walk of :mod:`approvals.audit.verify` would: each ledger row has
its event (ids rising with positions), the leaf recomputed from the event is the recorded
one, and the global and per-case chains hold; the parent joins the chunks (the chains
across their edges, the tree from their subtrees).  Any difference at all, anywhere, and the
answer is None: the caller then walks the whole log the exact, sequential way, which names
every finding in its order.  So this never decides what is wrong, only that nothing is.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from hashlib import sha256
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from approvals.audit.hashing import GENESIS, leaf_data, node_hash
from approvals.audit.merkle import EMPTY_ROOT
from approvals.audit.pages import columns_of, table_of, text_id
from approvals.stored import sharing_cores

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication

__all__ = ["CHUNK", "PARALLEL_FROM", "Sound", "Tree", "sound_log"]

CHUNK = 1 << 13
"""Positions per chunk (a power of two)."""

PARALLEL_FROM = 20_000
"""Events from which the log is checked in parallel (below, one process is quicker)."""

_AHEAD = 4  # chunks in flight at most: bounded memory whatever the size of the log


class Tree:
    """The RFC 9162 tree of the leaves so far, as its perfect subtrees (largest first)."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, bytes]] = []  # (height, hash)
        self.size = 0

    def add(self, leaf: bytes) -> None:
        """Append one leaf hash."""
        self.push(0, leaf)

    def push(self, height: int, value: bytes) -> None:
        """Append a perfect subtree of ``2 ** height`` leaves, ``size`` being a multiple of it."""
        self.size += 1 << height
        stack = self.stack
        while stack and stack[-1][0] == height:
            value = node_hash(stack.pop()[1], value)
            height += 1
        stack.append((height, value))

    def root(self, more: Sequence[tuple[int, bytes]] = ()) -> bytes:
        """Return the root of the tree (with the subtrees ``more`` appended)."""
        stack = self.stack + list(more)
        if not stack:
            return EMPTY_ROOT
        value = stack[-1][1]
        for _, left in reversed(stack[:-1]):
            value = node_hash(left, value)
        return value


@dataclass(slots=True)
class Sound:
    """A sound log: its size, tree, first leaf and the roots asked for."""

    tree: Tree
    first_leaf: bytes
    sizes: dict[int, bytes] = field(default_factory=dict)


@dataclass(slots=True)
class _Chunk:
    ok: bool
    first_id: int = 0
    last_id: int = 0
    first_leaf: bytes = b""
    stack: list[tuple[int, bytes]] = field(default_factory=list)
    snapshots: dict[int, list[tuple[int, bytes]]] = field(default_factory=dict)
    opens: list[tuple[str, int, bytes, str]] = field(default_factory=list)
    lasts: dict[str, tuple[int, bytes]] = field(default_factory=dict)


_APP: Any = None  # the application, in the forked workers


def _rows(connection: Connection, query: str, start: int, end: int) -> Iterator[Any]:
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.arraysize = 2000
        cursor.execute(query.replace("?", mark), (start, end))
        while page := cursor.fetchmany():
            yield from page
    finally:
        cursor.close()


def _check(query: str, previous: str, start: int, end: int, wanted: Sequence[int]) -> _Chunk:
    """Check positions [start, end) of the log (in a worker); ``ok`` False at any difference."""
    try:
        with _APP.engine.connect() as connection:
            chain = GENESIS
            if start:
                found = list(_rows(connection, previous, start - 1, start))
                if len(found) != 1:
                    return _Chunk(ok=False)
                chain = bytes.fromhex(found[0][0])
            return _walk(_rows(connection, query, start, end), chain, start, end, set(wanted))
    except Exception:  # noqa: BLE001 - whatever fails here, the sequential walk names it
        return _Chunk(ok=False)


def _walk(rows: Iterator[Any], chain: bytes, start: int, end: int, wanted: set[int]) -> _Chunk:
    chunk = _Chunk(ok=False)
    tree = Tree()
    cases: dict[str, tuple[int, bytes]] = {}
    position = start
    last_id = 0
    for row in rows:
        (at, event_id, originator, version, leaf_text, chain_text, case_text,
         e_id, e_originator, e_version, topic, state) = row  # fmt: skip
        if (
            at != position or e_id is None or e_id != event_id or e_id <= last_id
            or type(state) is not bytes or e_version != version
            or text_id(e_originator) != originator
        ):  # fmt: skip
            return chunk
        try:
            leaf = sha256(b"\x00" + leaf_data(originator, version, topic, state)).digest()
        except ValueError:
            return chunk
        chain = sha256(b"\x02" + chain + leaf).digest()
        if leaf.hex() != leaf_text or chain.hex() != chain_text:
            return chunk
        known = cases.get(originator)
        if known is None:
            chunk.opens.append((originator, version, leaf, case_text))
            case_chain = bytes.fromhex(case_text) if len(case_text) == 64 else b""
        else:
            case_chain = sha256(b"\x02" + known[1] + leaf).digest()
            if version != known[0] + 1 or case_chain.hex() != case_text:
                return chunk
        cases[originator] = (version, case_chain)
        if position == start:
            chunk.first_id, chunk.first_leaf = e_id, leaf
        last_id = e_id
        tree.add(leaf)
        position += 1
        if position in wanted:
            chunk.snapshots[position] = list(tree.stack)
    if position != end:
        return chunk
    chunk.ok, chunk.last_id, chunk.stack, chunk.lasts = True, last_id, tree.stack, cases
    return chunk


def _queries(connection: Connection, app: ApprovalsApplication) -> tuple[str, str, str, str]:
    ledger = app.recorder.ledger  # type: ignore[attr-defined]
    events = app.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
    names = ("position", "event_id", "originator_id", "originator_version", "leaf_hash",
             "chain_hash", "case_chain_hash")  # fmt: skip
    position = columns_of(connection, ledger, ["position"], "l")
    event_id = columns_of(connection, ledger, ["event_id"], "l")
    e_id = columns_of(connection, events, ["id"], "e")
    ledger_name, events_name = table_of(connection, ledger), table_of(connection, events)
    query = (
        f"SELECT {columns_of(connection, ledger, names, 'l')}, "
        f"{columns_of(connection, events, ['id', 'originator_id', 'originator_version', 'topic', 'state'], 'e')} "
        f"FROM {ledger_name} l LEFT OUTER JOIN {events_name} e ON {e_id} = {event_id} "
        f"WHERE {position} >= ? AND {position} < ? ORDER BY {position}"
    )
    previous = (
        f"SELECT {columns_of(connection, ledger, ['chain_hash'], 'l')} FROM {ledger_name} l "
        f"WHERE {position} >= ? AND {position} < ?"
    )
    stats = f"SELECT count(*), min({position}), max({position}) FROM {ledger_name} l"
    count = f"SELECT count(*) FROM {events_name} e WHERE {e_id} > 0"
    return query, previous, stats, count


def sound_log(app: ApprovalsApplication, wanted: set[int]) -> Sound | None:
    """Check a long log over every core; return what a sound one gives, or None: too short
    to be worth it, where this process may not fork (:func:`~approvals.stored.sharing_cores`),
    or anything amiss (the caller walks it)."""
    workers = sharing_cores(app.engine)
    if workers < 2:
        return None
    with app.engine.connect() as connection:
        query, previous, stats, count = _queries(connection, app)
        rows, low, high = connection.exec_driver_sql(stats).one()
        events = connection.exec_driver_sql(count).scalar_one()
    if rows < PARALLEL_FROM or low != 0 or high != rows - 1 or events != rows:
        return None
    global _APP  # noqa: PLW0603 - what the forked workers read
    _APP = app
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return _join(pool, query, previous, rows, wanted)
    finally:
        _APP = None


def _join(
    pool: ProcessPoolExecutor, query: str, previous: str, rows: int, wanted: set[int]
) -> Sound | None:
    sound = Sound(Tree(), b"")
    cases: dict[str, tuple[int, bytes]] = {}
    flight: deque[Future[_Chunk]] = deque()
    last_id = 0
    starts = iter(range(0, rows, CHUNK))
    try:
        while True:
            for start in starts:
                end = min(start + CHUNK, rows)
                inside = sorted(w for w in wanted if start < w <= end)
                flight.append(pool.submit(_check, query, previous, start, end, inside))
                if len(flight) >= _AHEAD:
                    break
            if not flight:
                return sound
            chunk = flight.popleft().result()
            if not chunk.ok or chunk.first_id <= last_id:
                return None
            for originator, version, leaf, case_text in chunk.opens:
                known, previous_chain = cases.get(originator, (0, GENESIS))
                link = sha256(b"\x02" + previous_chain + leaf).digest()
                if version != known + 1 or link.hex() != case_text:
                    return None
            cases.update(chunk.lasts)
            last_id = chunk.last_id
            if not sound.tree.size:  # the log's identity, its first leaf
                sound.first_leaf = chunk.first_leaf
            for size, stack in chunk.snapshots.items():
                sound.sizes[size] = sound.tree.root(stack)
            for level, value in chunk.stack:  # one subtree; the last chunk's, several
                sound.tree.push(level, value)
    finally:
        for future in flight:
            future.cancel()
