"""Read models: the tables people look at, built from the log and disposable.

A read model (one module each under ``projections/``) says which rows one *subject* has — a
case with its retention record, or the roster — given the subject's aggregates as they stand.
The :class:`Projector` reads the log past the position each model has tracked, a batch of
events at a time, folds the events into the aggregates they belong to, replaces the rows of
every subject the batch touched, and moves the models' positions — rows and positions in one
transaction.  So each event counts exactly once; a crash loses at most the batch in flight,
which the next run redoes; and a rebuild from position zero gives the rows that following the
log live gave.  Dropping the tables loses nothing: the next catch-up builds them again.

Several processes may catch up at once: each batch first moves the tracking positions from
the values it read (compare and set), so the loser of a race rolls back and reads again.  A
long catch-up (a rebuild) has its folding shared out over forked workers, a share of the
cases each, while this process writes (:mod:`approvals.folding`): the same batches, the same
rows.
"""

from __future__ import annotations

import hashlib
import operator
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast
from uuid import UUID
from zlib import crc32

import sqlalchemy as sa
from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Dialect,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
)
from sqlalchemy.types import TypeEngine

from approvals.audit.damage import (
    KEY_MISSING,
    UNCOMPUTABLE,
    UNDECRYPTABLE,
    UNREADABLE,
    disposed_cases,
    issued_references,
    problem_of,
)
from approvals.audit.decoding import PageDecoder, read_events
from approvals.audit.keys import CASE_TOPICS, CaseDataErased, CaseEventUnreadable
from approvals.audit.pages import as_uuid
from approvals.domain.case import Case, case_id
from approvals.domain.clocks import Holiday, weekends
from approvals.domain.retention import RetentionRecord, retention_id
from approvals.domain.roster import Roster
from approvals.errors import Label
from approvals.logging import get_logger
from approvals.schema import needs_upgrade, not_owned
from approvals.store import shown_url
from approvals.stored import reading, sharing_cores

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication
    from approvals.domain.workflow import Workflow
    from approvals.folding import Folders

__all__ = [
    "CaseSubject",
    "Difference",
    "Following",
    "ModelStatus",
    "Projector",
    "ReadModel",
    "UTCDateTime",
    "chunks",
    "rows_of",
]

log = get_logger(__name__)

TRACKING_TABLE = "approvals_projections"
BATCH = 20_000
"""Events per batch (one transaction): a rebuild's memory grows with it, not with the log."""
SHARED_FROM = 50_000
"""Events behind from which a catch-up folds its batches in worker processes."""
_CACHE = 4096
_RETENTION_TOPICS = "approvals:Retention."
_ROSTER_TOPICS = "approvals:Roster."
_TOPICS = (CASE_TOPICS, _RETENTION_TOPICS, _ROSTER_TOPICS)


_SHOWN: dict[datetime, str] = {}
"""Moments already turned into SQLite text: read models write the same ones again and again."""


class UTCDateTime(TypeDecorator[datetime]):
    """A moment stored in UTC and read back timezone-aware: a TIMESTAMP on PostgreSQL; on
    SQLite the ISO text SQLite's own DATETIME keeps ("2026-04-01 00:00:00.000000"), written
    without SQLAlchemy's slower formatting."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(26))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name != "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        shown = _SHOWN.get(value)
        if shown is None:
            if len(_SHOWN) > 50_000:
                _SHOWN.clear()
            moment = value.astimezone(UTC).replace(tzinfo=None)
            shown = _SHOWN[value] = moment.isoformat(sep=" ", timespec="microseconds")
        return shown

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            try:  # as written above, with no offset: one parse, five times quicker than two
                found = datetime.fromisoformat(value + "+00:00")
            except ValueError:
                found = None
            if found is not None and found.tzinfo is not None:  # a day alone parses naive
                return found
            value = datetime.fromisoformat(value)
        return cast("datetime", value).replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class CaseSubject:
    """A case as the read models see it: its aggregate and definition, its retention record.

    ``case`` is None once the case's data is disposed of, or when it cannot be read; then only
    the retention record speaks for it.  ``unreadable`` is then the code of the
    :class:`~approvals.errors.CaseUnreadable` reading it meets (damage: its events do not
    decrypt, or its key is gone though it was never disposed of), "" otherwise.
    """

    reference: str
    case: Case | None
    workflow: Workflow | None
    record: RetentionRecord | None
    holiday: Holiday = weekends
    unreadable: str = ""


Rows = Mapping[Table, Sequence[Mapping[str, Any]]]
Named = dict[str, tuple[tuple[Any, ...], ...]]
"""Rows by the name of their table, each as the values its INSERT binds (converted for the
target's driver): what crosses from a worker process to the one writing, and what is compared
with the rows written before."""

T = TypeVar("T")


class Following(Generic[T]):
    """What a read model worked out for the cases it saw last (at most ``size`` of them, the
    least recently seen forgotten first), so that a case seen again — after the next batch
    of its events — is worked out from there, taking in only its new history.  Safe for
    the threads of one process (each projector takes in its own aggregates)."""

    def __init__(self, size: int = _CACHE) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._known: OrderedDict[str, T] = OrderedDict()

    def get(self, reference: str) -> T | None:
        """Return what was kept for the case ``reference`` (None when nothing is)."""
        with self._lock:
            return self._known.get(reference)

    def keep(self, reference: str, value: T) -> None:
        """Keep ``value`` for the case ``reference``."""
        with self._lock:
            self._known[reference] = value
            self._known.move_to_end(reference)
            while len(self._known) > self._size:
                self._known.popitem(last=False)


class ReadModel:
    """A read model: its tables and, for each subject, its rows.

    Every table in ``case_tables`` has a ``reference`` column: a case's rows are replaced
    whenever the case or its retention record changes.  The tables in ``roster_tables`` are
    replaced whole whenever the roster changes.  Raise ``version`` when the rows a model
    derives change: a model stored under another version is rebuilt at the next catch-up.
    """

    name: ClassVar[str]
    version: ClassVar[int] = 1
    uses_calendar: ClassVar[bool] = False
    """The rows hold due dates: a model stored on another calendar is rebuilt."""
    metadata: ClassVar[MetaData]
    case_tables: ClassVar[tuple[Table, ...]] = ()
    roster_tables: ClassVar[tuple[Table, ...]] = ()
    derived_tables: ClassVar[tuple[Table, ...]] = ()
    """Tables whose rows the database derives from the case tables' rows of several cases
    (see :meth:`settle`): a function of those rows alone, whatever order the cases came in."""

    def for_case(self, subject: CaseSubject) -> Rows:
        """Return the rows of ``subject`` (a table left out has none)."""
        return {}

    def for_roster(self, roster: Roster) -> Rows:
        """Return every row of the roster tables."""
        return {}

    def bearing(self, connection: Connection, changed: Mapping[Table, Sequence[str]]) -> set[str]:
        """Return the keys of the derived rows that the case rows of ``changed`` (references
        by table) bear on, as those rows stand: asked before and after they are written."""
        return set()

    def settle(self, connection: Connection, keys: set[str]) -> None:
        """Write again the derived rows of ``keys`` from the case rows as they now stand, in
        the transaction that wrote them."""

    @property
    def tables(self) -> tuple[Table, ...]:
        """Every table of the model."""
        return (*self.case_tables, *self.roster_tables, *self.derived_tables)


@dataclass(frozen=True, slots=True)
class ModelStatus:
    """Where a read model stands against the log."""

    name: str
    version: int
    position: int
    head: int
    updated_at: datetime | None

    @property
    def lag(self) -> int:
        """How many positions of the log the model has not taken in yet."""
        return max(0, self.head - self.position)


@dataclass(frozen=True, slots=True)
class Difference:
    """A row that is in the live model and not in a fresh rebuild, or the other way round."""

    model: str
    table: str
    side: str  # "live" | "rebuilt": where the row is
    row: tuple[Any, ...]


def _tracking(metadata: MetaData) -> Table:
    return Table(
        TRACKING_TABLE,
        metadata,
        Column("name", String(64), primary_key=True),
        Column("version", Integer, nullable=False),
        Column("position", BigInteger, nullable=False),
        Column("updated_at", UTCDateTime, nullable=True),
        # The calendar the model's due dates were computed on (models that use none: NULL).
        Column("calendar", String(64), nullable=True),
    )


class _Moved(Exception):
    """Another process moved a tracking position first."""


@dataclass
class _Run:
    """One catch-up: events read, where it began (start, head), whom to tell."""

    progress: Callable[[int, int], None] | None
    read: int = 0
    began: tuple[int, int] | None = None


@dataclass
class _Asked:
    """A batch asked for: the positions it starts from, its end, the head it goes to, and
    what it gives when it was folded here (None: the workers have it)."""

    behind: dict[str, int]
    end: int
    head: int
    folded: Folded | None


@dataclass
class _Batch:
    cases: dict[str, CaseSubject] = field(default_factory=dict)
    roster: Roster | None = None
    erased: set[UUID] = field(default_factory=set)  # cases met without their key
    filed: list[str] = field(default_factory=list)  # cases whose first event it holds


@dataclass
class Folded:
    """What one batch gives the models behind: each case it touched (``references``) with its
    rows in each of them, by (model, reference); the roster's rows by model when it changed;
    how many events were read; the cases it filed.  Made where the batch was folded (this
    process or a worker of :mod:`approvals.folding`), written by :meth:`Projector._write`."""

    references: list[str]
    rows: dict[tuple[str, str], Named]
    roster: dict[str, Named] | None = None
    read: int = 0
    filed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Share:
    """One of ``count`` shares of the cases (a CRC-32 of the case's id), folded by one
    process; the first also folds the roster."""

    index: int
    count: int

    def owns(self, case: UUID) -> bool:
        return crc32(case.bytes) % self.count == self.index

    def owns_row(self, raw: Any) -> bool:
        """Whether a case event read as ``raw`` (its originator id as the driver gives it) is
        this share's; an id that is none goes to the first, which reports it."""
        try:
            return self.owns(as_uuid(raw))
        except ValueError:
            return self.index == 0


class Projector:
    """Keeps read models up to date with the log of one application.

    ``target`` is where the models' tables live (default: the application's own database);
    ``check`` rebuilds into a scratch database to compare with the live tables.
    """

    def __init__(
        self,
        app: ApprovalsApplication,
        models: Sequence[ReadModel],
        *,
        target: Engine | None = None,
        batch: int = BATCH,
        shared_from: int = SHARED_FROM,
    ) -> None:
        self.app = app
        self.models = tuple(models)
        self.engine = target or app.engine
        self.batch = batch
        self.shared_from = shared_from
        self.tracking = _tracking(MetaData())
        self._ready = False
        # What a projector keeps between calls (positions it committed, rows it wrote, the
        # aggregates it folded) belongs to one catch-up at a time: the threads of a web server
        # sharing one application take turns (another process is told apart by the positions).
        self._lock = threading.RLock()
        self._cache: OrderedDict[UUID, Case | RetentionRecord | Roster] = OrderedDict()
        # Read from the log only when a case's events cannot be read: the references of case
        # ids, and the cases disposed of (both only grow).
        self._names: dict[UUID, str] = {}
        self._disposed: set[UUID] = set()
        # The rows this projector last wrote for each case, by table: a case whose rows did not
        # change is not written again.  Trusted only while no other process moved a position.
        self._written: OrderedDict[str, dict[str, frozenset[tuple[Any, ...]]]] = OrderedDict()
        self._pending: dict[str, dict[str, frozenset[tuple[Any, ...]]]] = {}
        self._committed: dict[str, int] = {}
        self._inserts: dict[tuple[str, str], tuple[str, list[tuple[str, Any]], bool]] = {}
        self._events: Table = app.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
        self._decoder = PageDecoder(app)

    def after_fork(self) -> None:
        """In a forked child: a lock of its own (the parent's may have been held)."""
        self._lock = threading.RLock()

    # -- the tables ----------------------------------------------------------------------------

    def model(self, name: str) -> ReadModel:
        """Return the model called ``name``; a KeyError names the known ones."""
        for model in self.models:
            if model.name == name:
                return model
        raise KeyError(name)

    def ensure(self) -> None:
        """Create the tracking table and the models' tables where missing; rebuild a model
        whose stored version differs from its code's."""
        if self._ready:
            return
        with self._lock, self.app._storage():
            if self._ready:
                return
            _create(self.tracking.metadata, [self.tracking], self.engine)
            self._add_calendar_column()
            stored = self._stored()
            self._may_rebuild(stored)
            for model in self.models:
                known = stored.get(model.name)
                if known is not None and known[0] != model.version:
                    log.info("projection.outdated", model=model.name, stored=known[0])
                    self._reset(model)
                elif known is not None and known[2] != self._calendar(model):
                    log.info("projection.calendar_changed", model=model.name)
                    _create(model.metadata, list(model.tables), self.engine)
                    self._reset(model, drop=False)
                else:
                    _create(model.metadata, list(model.tables), self.engine)
                    if known is None:
                        self._start(model)
        self._ready = True

    def _may_rebuild(self, stored: Mapping[str, tuple[int, int, str | None]]) -> None:
        """Refuse, before anything is written, a model stored under another version whose
        tables this role may not drop (PostgreSQL: it does not own them): their owner's
        ``approvals upgrade`` rebuilds it."""
        outdated = [
            (model, stored[model.name][0])
            for model in self.models
            if model.name in stored and stored[model.name][0] != model.version
        ]
        if not outdated:
            return
        with self.engine.connect() as connection:
            foreign = set(not_owned(connection, [t.name for m, _ in outdated for t in m.tables]))
        for model, version in outdated:
            if foreign & {t.name for t in model.tables}:
                raise needs_upgrade(
                    shown_url(self.engine.url),
                    Label(
                        f"the read model {model.name} is stored at version {version} and this "
                        f"release writes version {model.version}, which only the owner of its "
                        "tables may rebuild",
                        f"読み取りモデル {model.name} はバージョン {version} で保存されていますが、"
                        f"このリリースはバージョン {model.version} を書きます。作り直せるのはその"
                        "テーブルの所有者だけです",
                    ),
                )

    def _stored(self) -> dict[str, tuple[int, int, str | None]]:
        tracking = self.tracking.c
        query = sa.select(tracking.name, tracking.version, tracking.position, tracking.calendar)
        rows = reading(self.engine, lambda connection: connection.execute(query).all())
        return {
            str(name): (int(version), int(position), calendar)
            for name, version, position, calendar in rows
        }

    def _calendar(self, model: ReadModel) -> str | None:
        return calendar_fingerprint(self.app.holiday) if model.uses_calendar else None

    def _add_calendar_column(self) -> None:
        """A tracking table made before due dates depended on the calendar gains its column."""
        columns = {c["name"] for c in sa.inspect(self.engine).get_columns(TRACKING_TABLE)}
        if "calendar" not in columns:
            with self.engine.begin() as connection:
                connection.execute(
                    sa.text(f"ALTER TABLE {TRACKING_TABLE} ADD COLUMN calendar VARCHAR(64)")
                )

    def _start(self, model: ReadModel) -> None:
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    sa.insert(self.tracking).values(name=model.name, version=model.version,
                                                    position=0, updated_at=None,
                                                    calendar=self._calendar(model))
                )  # fmt: skip
        except sa.exc.IntegrityError:
            pass  # another process started it first

    def _reset(self, model: ReadModel, *, drop: bool = True) -> None:
        """Empty the model's tables — dropped and created again when its code changed, only
        emptied when just the calendar did (a role that may not drop tables can do that) —
        and put its position back to zero."""
        if drop:
            model.metadata.drop_all(self.engine, tables=list(reversed(model.tables)),
                                    checkfirst=True)  # fmt: skip
            model.metadata.create_all(self.engine, tables=list(model.tables))
        with self.engine.begin() as connection:
            if not drop:
                for table in reversed(model.tables):
                    connection.execute(sa.delete(table))
            connection.execute(sa.delete(self.tracking).where(self.tracking.c.name == model.name))
            connection.execute(
                sa.insert(self.tracking).values(name=model.name, version=model.version,
                                                position=0, updated_at=None,
                                                calendar=self._calendar(model))
            )  # fmt: skip

    # -- positions -----------------------------------------------------------------------------

    def head(self) -> int:
        """Return the position of the last event in the log (0 when empty)."""
        with self.app._storage(), self.app.engine.connect() as connection:
            found = connection.execute(sa.select(sa.func.max(self._events.c.id))).scalar()
        return int(found or 0)

    def status(self) -> tuple[ModelStatus, ...]:
        """Return where each model stands against the log."""
        self.ensure()
        head = self.head()
        with self.app._storage(), self.engine.connect() as connection:
            rows = {row.name: row for row in connection.execute(sa.select(self.tracking)).all()}
        return tuple(
            ModelStatus(
                name=model.name,
                version=model.version,
                position=int(rows[model.name].position) if model.name in rows else 0,
                head=head,
                updated_at=rows[model.name].updated_at if model.name in rows else None,
            )
            for model in self.models
        )

    # -- catching up ---------------------------------------------------------------------------

    def catch_up(
        self, *, until: int | None = None, progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Take in every event past the models' positions (up to ``until``); return how many
        events were read. ``progress(done, total)`` is called after each batch: positions
        taken in out of those the models were behind when it began."""
        with self._lock:
            return self._catch_up(until, progress)

    def _catch_up(
        self, until: int | None, progress: Callable[[int, int], None] | None = None
    ) -> int:
        self.ensure()
        run = _Run(progress)
        with self.app._storage():
            plan = self._plan(until, run)
            if plan is None:
                return 0
            _, start, head = plan
            count = sharing_cores(self.app.engine) if head - start >= self.shared_from else 1
            if count > 1:
                from approvals.folding import Folders, FoldingFailed  # noqa: PLC0415 - a cycle

                try:
                    with Folders(self, count) as folders:
                        return self._run(until, run, folders, plan)
                except FoldingFailed as failed:
                    log.warning("projection.folding_failed", error=str(failed))
                    plan = None  # read the positions the workers' batches left
                finally:
                    self._cache.clear()  # the workers folded the cases: these are behind
            return self._run(until, run, None, plan)

    def _run(
        self,
        until: int | None,
        run: _Run,
        folders: Folders | None,
        plan: tuple[dict[str, int], int, int] | None,
    ) -> int:
        """Take in the batches up to ``until`` (or the head as it moves), from ``plan`` (the
        positions, start and head just read; None: read them), folded here or by ``folders``,
        which are asked for the next batch before this one is written."""
        asked: deque[_Asked] = deque()
        while True:
            if not asked:
                plan = plan or self._plan(until, run)
                if plan is None:
                    return run.read
                asked.append(self._ask(folders, *plan))
                plan = None
            batch = asked.popleft()
            end = batch.end
            after = {name: max(end, pos) for name, pos in batch.behind.items()}
            if folders is not None and min(after.values()) < batch.head:
                # the workers fold the next batch while this one is written
                asked.append(self._ask(folders, after, min(after.values()), batch.head))
            try:
                folded = batch.folded if folders is None else folders.take()
                assert folded is not None  # folded here, or by the workers
                self._commit(folded, batch.behind, end)
            except _Moved:
                self._pending.clear()
                while asked:  # folded from positions that no longer hold
                    asked.popleft()
                    if folders is not None:
                        folders.take()
                continue  # another process took this batch in: read the positions again
            except BaseException:
                self._pending.clear()
                raise
            self._done(batch, folded, run, after)

    def _plan(self, until: int | None, run: _Run) -> tuple[dict[str, int], int, int] | None:
        """The models' stored positions, the least of them and the head to go to (None: every
        model is there)."""
        positions = {name: pos for name, (_, pos, _) in self._stored().items()}
        behind = {m.name: positions.get(m.name, 0) for m in self.models}
        if behind != self._committed:
            self._written.clear()  # another process wrote rows: forget what ours were
        start = min(behind.values(), default=0)
        head = self.head() if until is None else until
        if run.began is None:
            run.began = (start, head)
        return (behind, start, head) if start < head else None

    def _done(self, batch: _Asked, folded: Folded, run: _Run, after: dict[str, int]) -> None:
        """Note a batch committed (the models now at ``after``): the positions, the rows
        written, the progress."""
        self._committed = after
        for reference, tables in self._pending.items():
            self._written.setdefault(reference, {}).update(tables)
            self._written.move_to_end(reference)
        while len(self._written) > _CACHE:
            self._written.popitem(last=False)
        self._pending.clear()
        run.read += folded.read
        if run.progress is not None:
            began = run.began or (0, 0)
            run.progress(min(batch.end, began[1]) - began[0], began[1] - began[0])

    def _ask(
        self, folders: Folders | None, behind: dict[str, int], start: int, head: int
    ) -> _Asked:
        """Fold the batch past ``start`` here, or have ``folders`` fold it."""
        if folders is None:
            rows = self._read(start, head)
            end = rows[-1][0] if len(rows) == self.batch else head
            names = [name for name, pos in behind.items() if pos < end]
            return _Asked(behind, end, head, self._folded(self._fold(rows), names, len(rows)))
        end = self._end(start, head)
        folders.ask(start, end, [name for name, pos in behind.items() if pos < end])
        return _Asked(behind, end, head, None)

    def _end(self, start: int, head: int) -> int:
        """The position of the last event of the batch past ``start`` (``head`` at most)."""
        key = self._events.c.id
        query = (
            sa.select(key).where(key > start, key <= head).order_by(key)
            .offset(self.batch - 1).limit(1)
        )  # fmt: skip
        with self.app.engine.connect() as connection:
            found = connection.execute(query).scalar()
        return head if found is None else int(found)

    def fold_share(self, start: int, end: int, names: Sequence[str], share: Share) -> Folded:
        """In a worker of :mod:`approvals.folding`: fold the cases of ``share`` among the events
        past ``start`` up to ``end``, for the models called ``names``."""
        with self.app._storage():
            rows = self._read(start, end)
            return self._folded(self._fold(rows, share), names, 0 if share.index else len(rows))

    def follow(
        self,
        *,
        stop: Callable[[], bool],
        interval: float = 0.5,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Catch up, then keep catching up every ``interval`` seconds until ``stop()``;
        ``progress`` is told how the first catch-up goes."""
        total = 0
        while not stop():
            caught = self.catch_up(progress=progress)
            progress = None
            total += caught
            if not caught:
                time.sleep(interval)
        return total

    def rebuild(
        self, names: Iterable[str] = (), *, progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Drop the models called ``names`` (all when none), build them again from the log;
        ``progress(done, total)`` is called after each batch."""
        with self._lock:
            self.ensure()
            chosen = [self.model(name) for name in names] or list(self.models)
            with self.app._storage():
                for model in chosen:
                    self._reset(model)
            self._cache.clear()
            self._written.clear()
            self._committed.clear()
            return self._catch_up(None, progress)

    def _read(self, start: int, head: int) -> list[tuple[Any, ...]]:
        """The events past ``start`` up to ``head`` (at most a batch), as the driver's tuples
        (id, originator_id, originator_version, topic, state): SQLAlchemy's rows and type
        processing would cost more than reading them."""
        with self.app.engine.connect() as connection:
            return read_events(connection, self.app, start, head, self.batch)

    def _fold(self, notifications: Sequence[tuple[Any, ...]], share: Share | None = None) -> _Batch:
        """Apply the batch's events to the aggregates they belong to; return what changed
        (of the cases ``share`` owns, when given: it reads every retention record, to know
        whose it is, but takes in only its own)."""
        batch = _Batch()
        decoder = self._decoder
        decoder.page(notifications)
        # The case an event changed is taken as touched when the next thing happens to the
        # case that is not one of its own events (or at the end): the same subject as
        # touching it after each event, built once.
        touched: dict[str, Case] = {}
        for row in notifications:
            topic: str = row[3]
            if not topic.startswith(_TOPICS):
                continue
            if share is not None and (
                not share.owns_row(row[1])
                if topic.startswith(CASE_TOPICS)
                else topic.startswith(_ROSTER_TOPICS) and share.index
            ):
                continue
            try:
                event = decoder.decode(row)
                originator: UUID = event.originator_id
                aggregate = self._advance(originator, event)
            except CaseDataErased:
                batch.erased.add(_uuid(row[1]))  # disposed of, or damaged: _complete tells
                continue
            except CaseEventUnreadable:
                # It does not decrypt: the case is left out of every model but "unreadable",
                # and the batch goes on (read again, it would fail again).
                originator = _uuid(row[1])
                self._cache.pop(originator, None)
                reference = self._references({originator})[originator]
                self._flush(batch, touched, reference)
                self._touch(batch, reference, unreadable=UNDECRYPTABLE)
                continue
            if isinstance(aggregate, Case):
                if event.originator_version == 1:
                    batch.filed.append(aggregate.reference)
                touched[aggregate.reference] = aggregate
            elif isinstance(aggregate, RetentionRecord):
                if share is not None and not share.owns(case_id(aggregate.reference)):
                    continue
                self._flush(batch, touched, aggregate.reference)
                self._touch(batch, aggregate.reference, record=aggregate)
            elif isinstance(aggregate, Roster):
                batch.roster = aggregate
        for reference, case in touched.items():
            self._touch(batch, reference, case=case)
        self._complete(batch)
        return batch

    def _flush(self, batch: _Batch, touched: dict[str, Case], reference: str) -> None:
        """Take in the case ``reference`` as its events of the batch so far left it."""
        case = touched.pop(reference, None)
        if case is not None:
            self._touch(batch, reference, case=case)

    def _advance(self, originator: UUID, event: Any) -> Case | RetentionRecord | Roster | None:
        """Return the aggregate with ``event`` applied (loading it when not cached)."""
        version = int(event.originator_version)
        cache = self._cache
        aggregate = cache.get(originator)
        if aggregate is not None and aggregate.version >= version:
            pass  # already taken in (it was loaded past this event)
        elif aggregate is not None and aggregate.version == version - 1:
            aggregate = event.mutate(aggregate)
        elif version == 1:
            aggregate = event.mutate(None)
        else:
            try:  # an event of it that cannot be read is the caller's to handle
                aggregate = self.app.repository.get(originator, version=version)
            except AggregateNotFoundError:
                aggregate = None
        if aggregate is None:
            cache.pop(originator, None)
            return None
        cache[originator] = aggregate
        cache.move_to_end(originator)
        while len(cache) > _CACHE:
            cache.popitem(last=False)
        return aggregate

    def _load(self, originator: UUID, version: int | None) -> Any:
        try:
            return self.app.repository.get(originator, version=version)
        except (AggregateNotFoundError, CaseDataErased):
            return None

    def _touch(
        self,
        batch: _Batch,
        reference: str,
        *,
        case: Case | None = None,
        record: RetentionRecord | None = None,
        unreadable: str = "",
    ) -> None:
        known = batch.cases.get(reference)
        if case is None and not unreadable:
            case, unreadable = (known.case, known.unreadable) if known else self._case_of(reference)
        if record is None and known is not None:
            record = known.record
        workflow = self.app.definition_of(case) if case is not None else None
        batch.cases[reference] = CaseSubject(
            reference, case, workflow, record, self.app.holiday, unreadable
        )

    def _complete(self, batch: _Batch) -> None:
        """Give each touched case its retention record: one query finds which cases have one
        (few do), and only those are loaded."""
        if batch.erased:
            self._erased(batch)
        wanted = {
            str(retention_id(reference)): reference
            for reference, subject in batch.cases.items()
            if subject.record is None
        }
        found: list[str] = []
        events = self._events
        with self.app.engine.connect() as connection:
            for chunk in chunks(list(wanted), 500):
                found += [
                    str(originator)
                    for (originator,) in connection.execute(
                        sa.select(events.c.originator_id)
                        .where(events.c.originator_id.in_(chunk), events.c.originator_version == 1)
                    )
                ]  # fmt: skip
        for originator in found:
            reference = wanted[originator]
            record = self._record_of(reference)
            batch.cases[reference] = replace(batch.cases[reference], record=record)
        for reference, subject in list(batch.cases.items()):
            if subject.record is not None and subject.record.disposed:
                # its data is gone: only the disposal record speaks for it
                self._cache.pop(case_id(reference), None)
                self.app.case_keys.forget(case_id(reference))
                self._decoder.forget(case_id(reference))
                batch.cases[reference] = CaseSubject(
                    reference, None, None, subject.record, subject.holiday
                )

    def _erased(self, batch: _Batch) -> None:
        """Take the cases met without their key as damaged, but those disposed of: a disposed
        case's Disposed event speaks for it.  (A disposal is recorded in the transaction that
        destroys the key, so a key found gone has its disposal in the log, if it has one.)"""
        if not batch.erased <= self._disposed:
            self._disposed = disposed_cases(self.app)
        damaged = batch.erased - self._disposed
        for reference in self._references(damaged).values():
            self._touch(batch, reference, unreadable=KEY_MISSING)

    def _references(self, originators: set[UUID]) -> dict[UUID, str]:
        """Name cases whose events cannot be read, by the references the numbering issued."""
        if not originators <= self._names.keys():
            self._names = issued_references(self.app)
        return {o: self._names.get(o, str(o)) for o in originators}

    def _case_of(self, reference: str) -> tuple[Case | None, str]:
        """Return the case (None when it has no events or cannot be read), and the code of
        why it cannot be read ("" when it can; a disposed case's is dropped in _complete)."""
        originator = case_id(reference)
        found = self._cache.get(originator)
        if found is None:
            try:
                found = self.app.repository.get(originator)
            except AggregateNotFoundError:
                return None, ""
            except UNREADABLE as error:
                return None, problem_of(error)
        return (found, "") if isinstance(found, Case) else (None, "")

    def _record_of(self, reference: str) -> RetentionRecord | None:
        originator = retention_id(reference)
        found = self._cache.get(originator) or self._load(originator, None)
        return found if isinstance(found, RetentionRecord) else None

    def _produce(self, batch: _Batch, models: Sequence[ReadModel]) -> dict[tuple[str, str], Rows]:
        """Return each touched case's rows in each of ``models``, by (model, reference).

        A case whose rows a model cannot compute (a value no check foresaw, kept by an earlier
        version) is taken as unreadable ("case.uncomputable"): every model leaves it out and the
        lists name it, so that one case never stops the read models for all the others."""
        produced: dict[tuple[str, str], Rows] = {}
        chosen = [model for model in models if model.case_tables]
        for reference, subject in list(batch.cases.items()):
            try:
                rows = [(model.name, model.for_case(subject)) for model in chosen]
            except Exception as error:  # noqa: BLE001 -- named in the lists and the log
                log.error(
                    "projection.case_uncomputable",
                    reference=reference,
                    error=f"{type(error).__name__}: {error}",
                )
                damaged = replace(subject, case=None, workflow=None, unreadable=UNCOMPUTABLE)
                batch.cases[reference] = damaged
                rows = [(model.name, model.for_case(damaged)) for model in chosen]
            for name, found in rows:
                produced[(name, reference)] = found
        return produced

    def _folded(self, batch: _Batch, names: Iterable[str], read: int) -> Folded:
        """What ``batch`` gives the models called ``names`` (those behind its end)."""
        models = [self.model(name) for name in names]
        produced = self._produce(batch, models) if batch.cases else {}
        roster = None
        if batch.roster is not None:
            roster = {
                model.name: self._named(model.for_roster(batch.roster))
                for model in models
                if model.roster_tables
            }
        rows = {key: self._named(found) for key, found in produced.items()}
        return Folded(list(batch.cases), rows, roster, read, batch.filed)

    def _named(self, rows: Rows) -> Named:
        return {table.name: self._bound(table, found) for table, found in rows.items()}

    def _commit(self, folded: Folded, positions: Mapping[str, int], end: int) -> None:
        for reference in folded.filed:
            self._written.setdefault(reference, {})  # a new case: no rows yet
        behind = [m for m in self.models if positions[m.name] < end]
        now = datetime.now(UTC)
        with self.engine.begin() as connection:
            for model in behind:  # first, so that SQLite takes its write lock at once
                moved = connection.execute(
                    sa.update(self.tracking)
                    .where(
                        self.tracking.c.name == model.name,
                        self.tracking.c.position == positions[model.name],
                    )
                    .values(position=end, updated_at=now)
                ).rowcount
                if moved != 1:
                    raise _Moved
            for model in behind:
                self._write(connection, model, folded)

    def _write(self, connection: Connection, model: ReadModel, folded: Folded) -> None:
        if folded.references and model.case_tables:
            stale: dict[Table, list[str]] = {t: [] for t in model.case_tables}
            rows: dict[Table, list[tuple[Any, ...]]] = {t: [] for t in model.case_tables}
            changed_of: dict[Table, list[str]] = {t: [] for t in model.case_tables}
            for reference in folded.references:
                produced = folded.rows[(model.name, reference)]
                known = self._written.get(reference)
                for table in model.case_tables:
                    found = produced.get(table.name, ())
                    now = frozenset(found)
                    before = None if known is None else known.get(table.name, frozenset())
                    if before == now:
                        continue  # unchanged
                    if before is None or before:
                        stale[table].append(reference)
                    changed_of[table].append(reference)
                    rows[table].extend(found)
                    self._pending.setdefault(reference, {})[table.name] = now
            changed = {t: refs for t in model.case_tables if (refs := changed_of[t])}
            keys = model.bearing(connection, changed) if model.derived_tables and changed else None
            for table in model.case_tables:
                for chunk in chunks(stale[table], 500):
                    connection.execute(sa.delete(table).where(table.c.reference.in_(chunk)))
                self._insert(connection, table, rows[table])
            if keys is not None:
                model.settle(connection, keys | model.bearing(connection, changed))
        if folded.roster is not None and model.roster_tables:
            roster_rows = folded.roster[model.name]
            for table in model.roster_tables:
                connection.execute(sa.delete(table))
                self._insert(connection, table, list(roster_rows.get(table.name, ())))

    def _statement(self, table: Table) -> tuple[str, list[tuple[str, Any]], bool]:
        """The INSERT of ``table`` for the target's driver, the columns it binds in order with
        how each value is converted, and whether it binds them by position."""
        dialect = self.engine.dialect
        key = (dialect.name, table.name)
        if key not in self._inserts:
            compiled = sa.insert(table).compile(dialect=dialect)
            columns = {c.key: c for c in table.columns}
            names = list(compiled.positiontup or []) if compiled.positional else list(columns)
            self._inserts[key] = (
                compiled.string,
                [(n, _processor(columns[n], dialect)) for n in names],
                compiled.positional,
            )
        return self._inserts[key]

    def _bound(
        self, table: Table, rows: Sequence[Mapping[str, Any]]
    ) -> tuple[tuple[Any, ...], ...]:
        """Each of ``rows`` of ``table`` as the values its INSERT binds, each converted once
        (the ORM-free path: SQLAlchemy's per-row parameter handling costs more than the
        insert)."""
        if not rows:
            return ()
        _, processors, _ = self._statement(table)
        names = [n for n, _ in processors]
        convert = [(i, p) for i, (_, p) in enumerate(processors) if p is not None]
        values = operator.itemgetter(*names)
        bound: list[tuple[Any, ...]] = []
        for row in rows:
            found = list(values(row)) if len(names) > 1 else [row[names[0]]]
            for index, process in convert:
                found[index] = process(found[index])
            bound.append(tuple(found))
        return tuple(bound)

    def _insert(
        self, connection: Connection, table: Table, rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """Insert rows bound by :meth:`_bound` through the driver's executemany."""
        if not rows:
            return
        sql, processors, positional = self._statement(table)
        if positional:
            connection.exec_driver_sql(sql, list(rows))
        else:
            names = [n for n, _ in processors]
            connection.exec_driver_sql(sql, [dict(zip(names, row, strict=True)) for row in rows])

    # -- checking ------------------------------------------------------------------------------

    def check(self, names: Iterable[str] = ()) -> tuple[Difference, ...]:
        """Rebuild the models (``names``, or all) into a scratch database and return every row
        on which the live tables and the rebuild disagree, at the same position of the log."""
        chosen = [self.model(name) for name in names] or list(self.models)
        self.catch_up()
        scratch = sa.create_engine("sqlite://")
        try:
            while True:
                positions = {s.name: s.position for s in self.status()}
                position = max(positions[m.name] for m in chosen)
                rebuilt = Projector(self.app, chosen, target=scratch, batch=self.batch)
                rebuilt.catch_up(until=position)
                live = {m.name: rows_of(self.engine, m) for m in chosen}
                if {s.name: s.position for s in self.status()} == positions:
                    break  # no other process moved the live models while we read them
            found: list[Difference] = []
            for model in chosen:
                fresh = rows_of(scratch, model)
                for table in model.tables:
                    mine, theirs = live[model.name][table.name], fresh[table.name]
                    found += [Difference(model.name, table.name, "live", r) for r in mine - theirs]
                    found += [
                        Difference(model.name, table.name, "rebuilt", r) for r in theirs - mine
                    ]
            return tuple(found)
        finally:
            scratch.dispose()


def _create(metadata: MetaData, tables: list[Table], engine: Engine) -> None:
    """Create the tables that are missing; another process creating them at the same moment
    makes the first attempt fail, and the next one find them."""
    for attempt in range(5):
        try:
            metadata.create_all(engine, tables=tables, checkfirst=True)
        except sa.exc.DatabaseError:
            if attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))
        else:
            return


def calendar_fingerprint(holiday: Holiday) -> str:
    """Name the calendar due dates are computed on: its own fingerprint when it has one."""
    fingerprint = getattr(holiday, "fingerprint", None)
    if callable(fingerprint):
        return str(fingerprint())
    return f"{getattr(holiday, '__module__', '')}.{getattr(holiday, '__qualname__', holiday)}"[:64]


def _processor(column: Column[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """Return how a value of ``column`` is bound: the type's own processing, after, for text,
    :func:`storable`."""
    bind = column.type.dialect_impl(dialect).bind_processor(dialect)
    if not isinstance(column.type, String):  # Text is a String
        return bind
    length = column.type.length
    limit = length if length is not None else -1

    def text(value: Any) -> Any:
        if (
            value.__class__ is str
            and value.isascii()
            and "\x00" not in value
            and (limit < 0 or len(value) <= limit)
        ):
            return value  # what the door lets in: as it is (see storable)
        return storable(value, length)

    if bind is None:
        return text
    return lambda value: bind(text(value))


def storable(value: Any, length: int | None = None) -> Any:
    """Return text as every backend can store it in a column of ``length`` characters.

    What the door lets in always fits, and is returned as it is.  A value an earlier version
    let in may not: a NUL (PostgreSQL refuses it in text), a lone surrogate (no UTF-8), a name
    longer than its column.  The log keeps the value as it was; the read model's row shows
    U+FFFD for each character no backend can store, and a value too long is cut, ending in
    "…" and 8 hex digits of its SHA-256 so that two long names stay two.  A query for such a
    value asks for ``storable(value, length)`` of its column."""
    if not isinstance(value, str):
        return value
    if value.isascii() and "\x00" not in value and (length is None or len(value) <= length):
        return value
    value = "".join(
        "\ufffd" if character == "\x00" or "\ud800" <= character <= "\udfff" else character
        for character in value
    )
    if length is None or len(value) <= length:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:8]
    return f"{value[: length - 9]}…{digest}"


def _uuid(value: UUID | bytes) -> UUID:
    return value if isinstance(value, UUID) else UUID(bytes=bytes(value))


def rows_of(engine: Engine, model: ReadModel) -> dict[str, set[tuple[Any, ...]]]:
    """Return every row of the model's tables, as comparable tuples, by table name."""
    found: dict[str, set[tuple[Any, ...]]] = {}
    with engine.connect() as connection:
        for table in model.tables:
            found[table.name] = {
                tuple(_comparable(value) for value in row)
                for row in connection.execute(sa.select(table)).all()
            }
    return found


def _comparable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    """Yield ``items`` in slices of ``size``: an IN list each database takes."""
    for index in range(0, len(items), size):
        yield items[index : index + size]
