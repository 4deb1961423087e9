"""The first layer of verification over every core: proves a sound log sound, or says "look".

A long log is cut into chunks of :data:`CHUNK` positions (a power of two, so that each full
chunk is one perfect subtree of the RFC 9162 tree), and one process per core checks its
chunks as the sequential walk of :mod:`approvals.audit.verify` would: each ledger row has
its event (ids rising with positions), the leaf recomputed from the event is the recorded
one, and the global and per-case chains hold.  The parent joins the chunks: the global chain
across their edges, the tree from their subtrees, and each aggregate's chain into the chunk
where it comes back, from its last event in the chunks joined last (the aggregates met last,
a bounded number) or else from its last ledger row before the chunk (read for all of them in
a few queries); an aggregate's first event begins its chain in its chunk, and the first
events are counted against the ledger's aggregates.  So memory does not grow with the log.
Where this process may not fork (a web server's request thread), it checks the chunks
itself, one after the other, in the same bounded memory.  Any difference at all, anywhere, and the answer
is None: the caller then walks the whole log the exact, sequential way, which names every
finding in its order.  So this never decides what is wrong, only that nothing is.
"""

from __future__ import annotations

import multiprocessing
from collections import OrderedDict, deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from hashlib import sha256
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from approvals.audit.hashing import GENESIS, chain_hash, leaf_data, node_hash
from approvals.audit.merkle import EMPTY_ROOT
from approvals.audit.pages import columns_of, table_of, text_id
from approvals.stored import sharing_cores

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication

__all__ = ["CHUNK", "PARALLEL_FROM", "Sound", "Tree", "sound_log", "subtrees"]

CHUNK = 1 << 13
"""Positions per chunk (a power of two)."""

PARALLEL_FROM = 20_000
"""Events from which the log is checked in parallel (below, one process is quicker)."""

_AHEAD = 4  # chunks in flight at most: bounded memory whatever the size of the log
_OPENS = 500  # aggregates whose last row before a chunk one query reads
_RECENT = 1 << 16
"""Aggregates whose last event the parent keeps (the last met), to follow their chains."""


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
    start: int = 0
    opens: list[tuple[str, int, bytes, str]] = field(default_factory=list)
    """Each aggregate's first event in the chunk, but for its version 1: (aggregate, version,
    leaf, the case chain recorded)."""
    lasts: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    """Each aggregate's last event in the chunk: (version, case chain)."""
    firsts: int = 0  # the aggregates' first events (version 1)


@dataclass(frozen=True, slots=True)
class _Queries:
    """The statements a chunk is checked with, for the store's database."""

    rows: str  # the ledger rows of positions [start, end), each with its event
    previous: str  # the global chain before a position
    before: str  # each aggregate's last ledger row before a position (``{ids}`` to fill)
    qmark: bool


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


def _checked(query: _Queries, start: int, end: int, wanted: Sequence[int]) -> _Chunk:
    """Check positions [start, end) of the log in a forked worker (see :func:`_check`)."""
    return _check(_APP, query, start, end, wanted)


def _check(
    app: ApprovalsApplication, query: _Queries, start: int, end: int, wanted: Sequence[int]
) -> _Chunk:
    """Check positions [start, end) of the log; ``ok`` False at any difference."""
    try:
        with app.engine.connect() as connection:
            chain = GENESIS
            if start:
                found = list(_rows(connection, query.previous, start - 1, start))
                if len(found) != 1:
                    return _Chunk(ok=False)
                chain = bytes.fromhex(found[0][0])
            return _walk(_rows(connection, query.rows, start, end), chain, start, end, set(wanted))
    except Exception:  # noqa: BLE001 - whatever fails here, the sequential walk names it
        return _Chunk(ok=False)


def _opened(
    connection: Connection, query: _Queries, opens: Sequence[tuple[str, int, bytes, str]],
    start: int,
) -> bool:  # fmt: skip
    """Whether each aggregate's first event in a chunk (``opens``, none of them the aggregate's
    version 1) follows that aggregate's last ledger row before the chunk (``start``): the
    next version, its case chain linked to that row's."""
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for at in range(0, len(opens), _OPENS):
            batch = opens[at : at + _OPENS]
            if query.qmark:
                statement = query.before.format(ids=", ".join("?" * len(batch)))
                cursor.execute(statement, (*(o[0] for o in batch), start))
            else:
                cursor.execute(query.before, ([o[0] for o in batch], start))
            lasts = {originator: (version, text) for originator, version, text in cursor}
            for originator, version, leaf, case_text in batch:
                known, text = lasts.get(originator, (0, None))
                previous = GENESIS if text is None else bytes.fromhex(text)
                if version != known + 1 or chain_hash(previous, leaf).hex() != case_text:
                    return False
    finally:
        cursor.close()
    return True


def _walk(rows: Iterator[Any], chain: bytes, start: int, end: int, wanted: set[int]) -> _Chunk:
    chunk = _Chunk(ok=False, start=start)
    tree = Tree()
    leaves: list[bytes] = []
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
        if known is None and version != 1:  # its row before is before the chunk: asked after
            chunk.opens.append((originator, version, leaf, case_text))
            case_chain = bytes.fromhex(case_text) if len(case_text) == 64 else b""
        else:  # an aggregate's first event begins its chain; another follows its row before
            last, previous = (0, GENESIS) if known is None else known
            case_chain = sha256(b"\x02" + previous + leaf).digest()
            if version != last + 1 or case_chain.hex() != case_text:
                return chunk
            chunk.firsts += version == 1
        cases[originator] = (version, case_chain)
        if position == start:
            chunk.first_id, chunk.first_leaf = e_id, leaf
        last_id = e_id
        position += 1
        if wanted:  # the roots at sizes inside the chunk: the tree as it grows
            tree.add(leaf)
            if position in wanted:
                chunk.snapshots[position] = list(tree.stack)
        else:
            leaves.append(leaf)
    if position != end:
        return chunk
    chunk.ok, chunk.last_id, chunk.lasts = True, last_id, cases
    chunk.stack = tree.stack if wanted else subtrees(leaves)
    return chunk


def subtrees(leaves: Sequence[bytes]) -> list[tuple[int, bytes]]:
    """The perfect subtrees of a tree of ``leaves`` (largest first, as :class:`Tree` holds
    them), each reduced a level at a time: the same hashes, in fewer steps."""
    stack: list[tuple[int, bytes]] = []
    at = 0
    for height in range(len(leaves).bit_length() - 1, -1, -1):
        if not len(leaves) >> height & 1:
            continue
        level = list(leaves[at : at + (1 << height)])
        at += 1 << height
        while len(level) > 1:
            level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
        stack.append((height, level[0]))
    return stack


def _queries(connection: Connection, app: ApprovalsApplication) -> tuple[_Queries, str, str]:
    ledger = app.recorder.ledger  # type: ignore[attr-defined]
    events = app.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
    names = ("position", "event_id", "originator_id", "originator_version", "leaf_hash",
             "chain_hash", "case_chain_hash")  # fmt: skip
    position = columns_of(connection, ledger, ["position"], "l")
    event_id = columns_of(connection, ledger, ["event_id"], "l")
    originator = columns_of(connection, ledger, ["originator_id"], "l")
    last = columns_of(connection, ledger, ["originator_version", "case_chain_hash"], "l")
    e_id = columns_of(connection, events, ["id"], "e")
    ledger_name, events_name = table_of(connection, ledger), table_of(connection, events)
    rows = (
        f"SELECT {columns_of(connection, ledger, names, 'l')}, "
        f"{columns_of(connection, events, ['id', 'originator_id', 'originator_version', 'topic', 'state'], 'e')} "
        f"FROM {ledger_name} l LEFT OUTER JOIN {events_name} e ON {e_id} = {event_id} "
        f"WHERE {position} >= ? AND {position} < ? ORDER BY {position}"
    )
    previous = (
        f"SELECT {columns_of(connection, ledger, ['chain_hash'], 'l')} FROM {ledger_name} l "
        f"WHERE {position} >= ? AND {position} < ?"
    )
    qmark = connection.dialect.paramstyle == "qmark"
    ids, mark = (f"{originator} IN ({{ids}})", "?") if qmark else (f"{originator} = ANY(%s)", "%s")
    before = (  # the greatest position by the (aggregate, version) index, then that one row
        f"SELECT {originator}, {last} FROM {ledger_name} l WHERE {position} IN ("
        f"SELECT max({position}) FROM {ledger_name} l WHERE {ids} AND {position} < {mark} "
        f"GROUP BY {originator})"
    )
    stats = (
        f"SELECT count(*), min({position}), max({position}), count(DISTINCT {originator}) "
        f"FROM {ledger_name} l"
    )
    count = f"SELECT count(*) FROM {events_name} e WHERE {e_id} > 0"
    return _Queries(rows, previous, before, qmark), stats, count


def sound_log(app: ApprovalsApplication, wanted: set[int]) -> Sound | None:
    """Check a long log in chunks, over every core where this process may fork
    (:func:`~approvals.stored.sharing_cores`), else here; return what a sound one gives, or
    None: too short to be worth it, or anything amiss (the caller walks it)."""
    with app.engine.connect() as connection:
        query, stats, count = _queries(connection, app)
        rows, low, high, aggregates = connection.exec_driver_sql(stats).one()
        events = connection.exec_driver_sql(count).scalar_one()
    if rows < PARALLEL_FROM or low != 0 or high != rows - 1 or events != rows:
        return None
    workers = sharing_cores(app.engine)

    def looked_up(opens: Sequence[tuple[str, int, bytes, str]], start: int) -> bool:
        try:
            with app.engine.connect() as connection:
                return _opened(connection, query, opens, start)
        except Exception:  # noqa: BLE001 - whatever fails here, the sequential walk names it
            return False

    if workers < 2:
        return _join(_here(app, query, rows, wanted), aggregates, looked_up)
    global _APP  # noqa: PLW0603 - what the forked workers read
    _APP = app
    try:
        fork = multiprocessing.get_context("fork")
        with (
            ProcessPoolExecutor(workers, mp_context=fork) as pool,
            closing(_forked(pool, query, rows, wanted)) as chunks,  # cancels what is left
        ):
            return _join(chunks, aggregates, looked_up)
    finally:
        _APP = None


def _spans(rows: int, wanted: set[int]) -> Iterator[tuple[int, int, list[int]]]:
    """Each chunk's [start, end) and the sizes asked for that end inside it."""
    for start in range(0, rows, CHUNK):
        end = min(start + CHUNK, rows)
        yield start, end, sorted(w for w in wanted if start < w <= end)


def _here(
    app: ApprovalsApplication, query: _Queries, rows: int, wanted: set[int]
) -> Iterator[_Chunk]:
    for start, end, inside in _spans(rows, wanted):
        yield _check(app, query, start, end, inside)


def _forked(
    pool: ProcessPoolExecutor, query: _Queries, rows: int, wanted: set[int]
) -> Generator[_Chunk, None, None]:
    flight: deque[Future[_Chunk]] = deque()
    spans = _spans(rows, wanted)
    try:
        while True:
            for start, end, inside in spans:
                flight.append(pool.submit(_checked, query, start, end, inside))
                if len(flight) >= _AHEAD:
                    break
            if not flight:
                return
            yield flight.popleft().result()
    finally:
        for future in flight:
            future.cancel()


def _join(
    chunks: Iterator[_Chunk],
    aggregates: int,
    looked_up: Callable[[Sequence[tuple[str, int, bytes, str]], int], bool],
) -> Sound | None:
    """Join the chunks in order: ids rising across their edges, the tree from their subtrees,
    each aggregate's chain followed into a chunk, and as many first events (version 1) as the
    ledger has ``aggregates``.

    The chain of an aggregate entering a chunk is followed from its last event in the chunks
    joined last (the :data:`_RECENT` aggregates met last), or else from its last row before
    the chunk, read from the ledger (``looked_up``).  A chunk checked every aggregate's other
    events against the one before them, so each aggregate's rows go back to a version 1 in
    the order of the log; with one version 1 per aggregate, none has a second beginning after
    its first: the case chains hold as the sequential walk checks them, without asking the
    ledger about each aggregate's first event."""
    sound = Sound(Tree(), b"")
    last_id = 0
    firsts = 0
    recent: OrderedDict[str, tuple[int, bytes]] = OrderedDict()
    for chunk in chunks:
        if not chunk.ok or chunk.first_id <= last_id:
            return None
        missing = []
        for opened in chunk.opens:
            originator, version, leaf, case_text = opened
            known = recent.get(originator)
            if known is None:
                missing.append(opened)
            elif version != known[0] + 1 or chain_hash(known[1], leaf).hex() != case_text:
                return None
        if missing and not looked_up(missing, chunk.start):
            return None
        for originator, last in chunk.lasts.items():
            recent[originator] = last
            recent.move_to_end(originator)
        while len(recent) > _RECENT:
            recent.popitem(last=False)
        firsts += chunk.firsts
        last_id = chunk.last_id
        if not sound.tree.size:  # the log's identity, its first leaf
            sound.first_leaf = chunk.first_leaf
        for size, stack in chunk.snapshots.items():
            sound.sizes[size] = sound.tree.root(stack)
        for level, value in chunk.stack:  # one subtree; the last chunk's, several
            sound.tree.push(level, value)
    return sound if firsts == aggregates else None
