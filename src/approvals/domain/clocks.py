"""Deadlines and the retention clock, computed from a case's history and a calendar."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any

from approvals.domain.case import Entry
from approvals.domain.workflow import MEANINGS, Deadline, Duration, Retention

__all__ = [
    "EARLIEST",
    "JST",
    "LATEST",
    "DueDate",
    "Episode",
    "Episodes",
    "add",
    "add_years",
    "due_dates",
    "episodes",
    "meaning",
    "moment_of",
    "retention_until",
    "usable_day",
    "usable_moment",
    "weekends",
]

JST = timezone(timedelta(hours=9), "JST")
"""Japan Standard Time: days, business days and years are counted in it (the calendar is
Japan's), whatever zone times are shown in (see :mod:`approvals.zones`)."""

EARLIEST = date(1900, 1, 1)
LATEST = date(2200, 12, 31)
"""The range of every date and datetime recorded.  Deadlines are counted forward from the
dates recorded: the longest span any workflow names is the seven years of retention (a
periodic deadline is one year, the longest in days 60), and a read model computes each of them
for every case, so the latest date must leave every such span computable (year 2207 and far
beyond, well inside Python's year 9999) and the national holidays known; the earliest is before
any record a company keeps today.  A date outside is a typing mistake (9999-12-31 for "no end").

A value outside (or no date at all) kept by an earlier version, which checked less, is never
computed with: see :func:`usable_moment`."""

Holiday = Callable[[date], bool]
"""Answers whether a day is not a business day.  A holiday may also carry ``meanings``, a
mapping from each of the regulation's terms ("immediately", ...) to the :class:`Duration` it
means; without them the terms mean :data:`~approvals.domain.workflow.MEANINGS`."""


def weekends(day: date) -> bool:
    """Saturdays and Sundays are not business days."""
    return day.weekday() >= 5


@dataclass(frozen=True, slots=True)
class DueDate:
    """A deadline of a case that is running: since when, until when."""

    deadline: Deadline
    started_at: datetime
    due_at: datetime

    def overdue(self, now: datetime) -> bool:
        """Return whether the deadline has passed at ``now``."""
        return now > self.due_at


def meaning(duration: Duration, holiday: Holiday = weekends) -> Duration:
    """Return the span ``duration`` stands for: itself, or what its term means on ``holiday``'s
    calendar ("immediately" as one business day, unless the company says otherwise)."""
    if duration.term is None:
        return duration
    meanings: Mapping[str, Duration] = getattr(holiday, "meanings", MEANINGS)
    return meanings.get(duration.unit, MEANINGS[duration.unit])


def add(start: datetime, duration: Duration, holiday: Holiday = weekends) -> datetime:
    """Return ``start`` plus ``duration``; business days skip every day ``holiday`` names."""
    return _add(start, meaning(duration, holiday), holiday)


@lru_cache(maxsize=65536)
def _add(start: datetime, duration: Duration, holiday: Holiday) -> datetime:
    """:func:`add`, remembered: read models compute the same due dates again and again."""
    if duration.unit == "minutes":
        return start + timedelta(minutes=duration.amount)
    if duration.unit == "hours":
        return start + timedelta(hours=duration.amount)
    if duration.unit == "days":
        return start + timedelta(days=duration.amount)
    if duration.unit == "civil_days":
        return _civil_days(start, duration.amount)
    moment = start.astimezone(JST)
    if duration.unit == "years":
        return datetime.combine(add_years(moment.date(), duration.amount), moment.timetz())
    return moment + timedelta(days=_business_span(moment.date(), duration.amount, holiday))


@lru_cache(maxsize=65536)
def _business_span(day: date, amount: int, holiday: Holiday) -> int:
    """How many days after ``day`` its ``amount``-th business day falls: it depends on the day
    alone (not the time), so it is remembered by the day."""
    span, remaining = 0, amount
    while remaining:
        span += 1
        if not holiday(day + timedelta(days=span)):
            remaining -= 1
    return span


def _civil_days(start: datetime, amount: int) -> datetime:
    """The end of a period of ``amount`` days from ``start``, as the Civil Code counts it: the
    first day is not counted unless the period starts at 00:00 (Art.140, 初日不算入), and the
    period ends at the end of its last day (Art.141), in JST; a last day that is a holiday
    moves nothing (the Commission counts weekends and holidays in).  Zero days end at the end
    of the day it starts."""
    moment = start.astimezone(JST)
    first = moment.date()
    if moment.time() != time.min:
        first += timedelta(days=1)
    last = max(first + timedelta(days=amount - 1), moment.date())
    return datetime.combine(last, time.max, JST)


@dataclass(frozen=True, slots=True)
class Episode:
    """One run of a deadline's clock: started, due, and stopped (None while it runs)."""

    deadline: Deadline
    started_at: datetime
    due_at: datetime
    stopped_at: datetime | None

    def missed(self, now: datetime) -> bool:
        """Return whether the deadline was (or, running, is at ``now``) missed."""
        return (self.stopped_at or now) > self.due_at


def moment_of(value: Any) -> datetime:
    """Return the moment a date or datetime field records: a date means the end of that day
    in JST (a deadline counted from it runs to the end of the last day)."""
    text = str(value)
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time.max, JST)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=JST)


def usable_moment(value: Any) -> datetime | None:
    """Return the moment a stored date or datetime field records (see :func:`moment_of`), or
    None when it is no date the engine can compute with: not a date, or outside
    :data:`EARLIEST`–:data:`LATEST` (an earlier version let 9999-12-31 in).  The clocks then
    take such a value as not given: a deadline runs from when its step was recorded and is
    not stopped by it, and a retention clock waits; the case's own view names the value."""
    if value is None:
        return None  # a field not recorded: no date (what parsing "None" would find)
    if value.__class__ is str:
        try:
            return _MOMENTS[value]
        except KeyError:
            pass
        if len(_MOMENTS) >= 50_000:
            _MOMENTS.clear()
        found = _MOMENTS[value] = _usable_moment(value)
        return found
    return _usable_moment(value)


_MOMENTS: dict[str, datetime | None] = {}
"""The moments of the texts :func:`usable_moment` was asked about: a read model asks about the
same recorded dates again and again."""


def _usable_moment(value: Any) -> datetime | None:
    try:
        moment = moment_of(value)
    except (ValueError, TypeError, OverflowError):
        return None
    try:
        day = moment.astimezone(JST).date()
    except OverflowError:
        return None
    return moment if EARLIEST <= day <= LATEST else None


def usable_day(value: Any) -> date | None:
    """Return the day (in JST) a stored date or datetime field records, or None when it is no
    date the engine can compute with (see :func:`usable_moment`) or not given."""
    moment = usable_moment(value)
    return None if moment is None else moment.astimezone(JST).date()


def due_dates(
    history: Sequence[Entry], deadlines: Sequence[Deadline], holiday: Holiday = weekends
) -> tuple[DueDate, ...]:
    """Return the deadlines running for a case with ``history``, in definition order."""
    return tuple(
        DueDate(run.deadline, run.started_at, run.due_at)
        for deadline in _applying(history, deadlines)
        for run in _runs(history, deadline, holiday)[-1:]
        if run.stopped_at is None
    )


def episodes(
    history: Sequence[Entry], deadlines: Sequence[Deadline], holiday: Holiday = weekends
) -> tuple[Episode, ...]:
    """Return every run of every deadline over a case's ``history``, oldest first.

    A run starts when the case enters one of the deadline's states (or takes one of its
    ``restart_on`` steps) — at the moment in its first ``from_fields`` recorded by then, if
    any — and stops when the case leaves those states, when the clock restarts (at the
    moment the restarting step records in one of ``from_fields``: the day the inspection took
    place, not the day it was entered), or at the moment recorded in its ``until_field``.  A
    ``periodic`` deadline restarts towards the next of its fixed due dates.  The last run of a
    case still in those states, not yet stopped, is running: those are :func:`due_dates`.  A
    deadline that does not apply to what the case records now (``when``, ``unless``) has no
    runs.

    A run started at a step because none of its ``from_fields`` was recorded yet counts from
    the moment one records once a later step gives it (the vendor's noticing, given after the
    filing).  An ``until_field`` recorded after the run's due moment had passed, by a step
    taken while the run was running, but dated before that moment, stops it at the moment it
    was recorded (for a date field, that day): the list showed it overdue until then, and the
    moment of recording is what the system can prove.
    """
    runs = [run for d in _applying(history, deadlines) for run in _runs(history, d, holiday)]
    return tuple(sorted(runs, key=lambda run: (run.started_at, run.deadline.name)))


def _applying(history: Sequence[Entry], deadlines: Sequence[Deadline]) -> list[Deadline]:
    recorded: dict[str, Any] = {}
    for entry in history:
        recorded.update(entry.fields)
    return [deadline for deadline in deadlines if deadline.applies(recorded)]


def _runs(history: Sequence[Entry], deadline: Deadline, holiday: Holiday) -> list[Episode]:
    clock = _Clock(deadline, holiday)
    clock.take(history)
    return clock.runs()


class _Clock:
    """The runs of one deadline over a history, taking its entries one at a time (so that a
    history that grows is followed by taking in its new entries only)."""

    __slots__ = ("based", "deadline", "done", "holiday", "period", "run", "seen", "stopped")

    def __init__(self, deadline: Deadline, holiday: Holiday) -> None:
        self.deadline = deadline
        self.holiday = holiday
        self.stopped: list[Episode] = []  # the runs that have stopped
        self.seen: dict[str, Any] = {}
        self.run: tuple[datetime, datetime] | None = None  # running: since when, due when
        self.based = False  # the run started at a moment one of from_fields records
        # a periodic deadline: its first start, and n
        self.period: tuple[datetime, int] | None = None
        # the until_field stopped the clock; it starts again on leaving or restarting
        self.done = False

    def runs(self) -> list[Episode]:
        """Every run so far: those stopped, and the one running (if any)."""
        if self.run is None:
            return list(self.stopped)
        return [*self.stopped, Episode(self.deadline, *self.run, None)]

    def take(self, entries: Sequence[Entry]) -> None:
        """Take in the next entries of the history."""
        deadline, holiday = self.deadline, self.holiday
        stopped_runs, seen, run = self.stopped, self.seen, self.run
        based, period, done = self.based, self.period, self.done
        for entry in entries:
            seen.update(entry.fields)
            inside = entry.dest in deadline.states
            restart = inside and entry.trigger in deadline.restart_on
            if run is not None and (not inside or restart):
                # stopped when the entry says it happened (the day the inspection took place)
                stopped_runs.append(
                    Episode(deadline, *run, max(_start(deadline, entry.fields, entry), run[0]))
                )
                run = None
            if not inside:
                period = None
            if restart or not inside:
                done = False
            known = run is not None  # running, its due moment known, before this entry
            if inside and run is None and not done:
                based = restart or _recorded(deadline, seen) is not None
                if period is not None and restart:
                    started = _start(deadline, entry.fields, entry)
                    # and the date it replaces
                    after = max(started, _nth(deadline, period, holiday))
                    period = _next_period(deadline, period, after, holiday)
                    run = (started, _nth(deadline, period, holiday))
                else:
                    started = _start(deadline, seen, entry)
                    period = (started, 1) if deadline.periodic else None
                    run = (started, add(started, deadline.within, holiday))
            elif run is not None and not based and not deadline.periodic:
                # the moment it counts from, given after the clock started at a step (the
                # vendor's noticing, recorded after the filing): the clock counts from it
                moment = _recorded(deadline, entry.fields)
                if moment is not None:
                    run, based, known = (moment, add(moment, deadline.within, holiday)), True, False
            if run is not None and deadline.until_field in entry.fields:
                stopped = _stopped(entry, entry.fields[deadline.until_field], run[1], known=known)
                if stopped is not None:  # a value no date can be computed from stops nothing
                    stopped_runs.append(Episode(deadline, *run, max(stopped, run[0])))
                    run, done = None, True
        self.run, self.based, self.period, self.done = run, based, period, done


class Episodes:
    """:func:`episodes` of one case's history as it grows: each call takes in only the entries
    added since the last (a read model asks again after every batch of events).

    The history must only grow (as a case's does); :meth:`follows` tells whether it did."""

    __slots__ = ("_clocks", "_last", "_recorded", "_taken", "deadlines", "history", "holiday")

    def __init__(
        self, history: Sequence[Entry], deadlines: Sequence[Deadline], holiday: Holiday
    ) -> None:
        self.history = history
        self.deadlines = deadlines
        self.holiday = holiday
        self._clocks = [_Clock(deadline, holiday) for deadline in deadlines]
        self._recorded: dict[str, Any] = {}
        self._taken = 0
        self._last: Entry | None = None

    def follows(
        self, history: Sequence[Entry], deadlines: Sequence[Deadline], holiday: Holiday
    ) -> bool:
        """Return whether ``history`` is the one followed, grown (and the rest the same)."""
        taken = self._taken
        return (
            history is self.history
            and deadlines is self.deadlines
            and holiday is self.holiday
            and len(history) >= taken
            and (taken == 0 or history[taken - 1] is self._last)
        )

    def now(self) -> tuple[Episode, ...]:
        """Return :func:`episodes` of the history as it stands now."""
        history = self.history
        new = history[self._taken :]
        for entry in new:
            self._recorded.update(entry.fields)
        for clock in self._clocks:
            clock.take(new)
        self._taken = len(history)
        self._last = history[-1] if history else None
        recorded = self._recorded
        runs = [run for c in self._clocks if c.deadline.applies(recorded) for run in c.runs()]
        return tuple(sorted(runs, key=lambda run: (run.started_at, run.deadline.name)))


def _nth(deadline: Deadline, period: tuple[datetime, int], holiday: Holiday) -> datetime:
    """The ``n``-th due date of a periodic deadline: ``n`` times ``within`` after its start."""
    first, n = period
    span = meaning(deadline.within, holiday)
    return add(first, Duration(span.amount * n, span.unit), holiday)


def _next_period(
    deadline: Deadline, period: tuple[datetime, int], after: datetime, holiday: Holiday
) -> tuple[datetime, int]:
    """The first period of a periodic deadline falling due after ``after``."""
    first, n = period
    n += 1
    if meaning(deadline.within, holiday).amount > 0:
        while _nth(deadline, (first, n), holiday) <= after:
            n += 1
    return first, n


def _recorded(deadline: Deadline, fields: Mapping[str, Any]) -> datetime | None:
    """The moment ``fields`` hold in the first of the deadline's ``from_fields`` they record
    that a date can be computed from, or None."""
    for name in deadline.from_fields:
        moment = usable_moment(fields.get(name))
        if moment is not None:
            return moment
    return None


def _stopped(entry: Entry, value: Any, due: datetime, *, known: bool) -> datetime | None:
    """The moment ``value``, recorded by ``entry`` in a deadline's ``until_field``, stops a
    run due at ``due``: the moment it records; but when the run was running (``known``) and
    already overdue when the entry was recorded, and the value says it was done in time, the
    moment it was recorded (for a date, that day) — what the system can prove."""
    stopped = _stop_moment(value)
    if stopped is None:
        return None
    recorded = _stop_moment(entry.at, value)
    if known and recorded is not None and recorded > due >= stopped:
        return recorded
    return stopped


def _stop_moment(value: Any, kind: Any = None) -> datetime | None:
    """The moment an ``until_field`` value stops a clock at: a datetime at that moment, a date
    at the start of that day in JST (done that day: in time if the day is the due day), None
    for a value no date can be computed from.  With ``kind``, ``value`` is a moment taken as
    precisely as ``kind``, a value of the field, records one (the day of a date)."""
    moment = usable_moment(value)
    if moment is None or len(str(value if kind is None else kind)) != 10:
        return moment
    return datetime.combine(moment.astimezone(JST).date(), time.min, JST)


def _start(deadline: Deadline, fields: Mapping[str, Any], entry: Entry) -> datetime:
    """The moment ``fields`` hold in the first of the deadline's ``from_fields`` they record
    (a value no date can be computed from is taken as not recorded), else the moment ``entry``
    was taken."""
    for name in deadline.from_fields:
        moment = usable_moment(fields.get(name))
        if moment is not None:
            return moment
    return entry.at


def retention_until(history: Sequence[Entry], retention: Retention) -> date | None:
    """Return the last day the case must be kept, or None while the clock has not started.

    The clock starts the day the case enters one of the retention's states, or at the date
    recorded in its ``from_field`` when that is later (a contract ending after it was noted).
    While the date recorded there is none the engine can compute with (kept by an earlier
    version: see :func:`usable_moment`), the clock has not started: the case is kept.
    """
    recorded: datetime | None = None
    unusable = False
    for entry in history:
        if retention.from_field and retention.from_field in entry.fields:
            value = entry.fields[retention.from_field]
            recorded = usable_moment(value)
            unusable = recorded is None and value not in (None, "")
        if entry.dest in retention.starts_on:
            if unusable:
                return None
            start = entry.at.astimezone(JST).date()
            if recorded is not None:
                start = max(start, recorded.astimezone(JST).date())
            return add_years(start, retention.years)
    return None


def add_years(day: date, years: int) -> date:
    """Return the same date ``years`` later, as the Civil Code counts a period of years
    (Art.143): 29 February gives 28 February in a year without it."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without it
        return day.replace(year=day.year + years, day=28)
