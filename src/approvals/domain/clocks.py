"""Deadlines and the retention clock, computed from a case's history and a calendar."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

from approvals.domain.case import Entry
from approvals.domain.workflow import Deadline, Duration, Retention

__all__ = [
    "JST",
    "DueDate",
    "Episode",
    "add",
    "due_dates",
    "episodes",
    "retention_until",
    "weekends",
]

JST = timezone(timedelta(hours=9), "JST")
"""Japan Standard Time: days, business days and years are counted in it."""

Holiday = Callable[[date], bool]
"""Answers whether a day is not a business day."""


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


def add(start: datetime, duration: Duration, holiday: Holiday = weekends) -> datetime:
    """Return ``start`` plus ``duration``; business days skip every day ``holiday`` names."""
    return _add(start, duration, holiday)


@lru_cache(maxsize=65536)
def _add(start: datetime, duration: Duration, holiday: Holiday) -> datetime:
    """:func:`add`, remembered: read models compute the same due dates again and again."""
    if duration.unit == "hours":
        return start + timedelta(hours=duration.amount)
    if duration.unit == "days":
        return start + timedelta(days=duration.amount)
    moment = start.astimezone(JST)
    remaining = duration.amount
    while remaining:
        moment += timedelta(days=1)
        if not holiday(moment.date()):
            remaining -= 1
    return moment


def _started(history: Sequence[Entry], deadline: Deadline) -> datetime | None:
    """Return when the deadline's clock last started, or None if the case is not in its states."""
    started: datetime | None = None
    inside = False
    for entry in history:
        now_inside = entry.dest in deadline.states
        if now_inside and (not inside or entry.trigger in deadline.restart_on):
            started = entry.at
        inside = now_inside
    return started if inside else None


def due_dates(
    history: Sequence[Entry], deadlines: Sequence[Deadline], holiday: Holiday = weekends
) -> tuple[DueDate, ...]:
    """Return the deadlines running for a case with ``history``."""
    running: list[DueDate] = []
    for deadline in deadlines:
        started = _started(history, deadline)
        if started is not None:
            running.append(DueDate(deadline, started, add(started, deadline.within, holiday)))
    return tuple(running)


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


def episodes(
    history: Sequence[Entry], deadlines: Sequence[Deadline], holiday: Holiday = weekends
) -> tuple[Episode, ...]:
    """Return every run of every deadline over a case's ``history``, oldest first.

    A run starts when the case enters one of the deadline's states (or takes one of its
    ``restart_on`` steps) and stops when the case leaves them (or the clock restarts); the
    last run of a case still in those states is running.  The running ones are
    :func:`due_dates`.
    """
    runs: list[Episode] = []
    for deadline in deadlines:
        started: datetime | None = None
        for entry in history:
            inside = entry.dest in deadline.states
            restart = inside and entry.trigger in deadline.restart_on
            if started is not None and (not inside or restart):
                runs.append(_run(deadline, started, entry.at, holiday))
                started = None
            if inside and started is None:
                started = entry.at
        if started is not None:
            runs.append(_run(deadline, started, None, holiday))
    return tuple(sorted(runs, key=lambda run: (run.started_at, run.deadline.name)))


def _run(
    deadline: Deadline, started: datetime, stopped: datetime | None, holiday: Holiday
) -> Episode:
    return Episode(deadline, started, add(started, deadline.within, holiday), stopped)


def retention_until(history: Sequence[Entry], retention: Retention) -> date | None:
    """Return the last day the case must be kept, or None while the clock has not started.

    The clock starts the day the case enters one of the retention's states, or at the date
    recorded in its ``from_field`` when that is later (a contract ending after it was noted).
    """
    recorded: str | None = None
    for entry in history:
        if retention.from_field and retention.from_field in entry.fields:
            recorded = str(entry.fields[retention.from_field])
        if entry.dest in retention.starts_on:
            start = entry.at.astimezone(JST).date()
            if recorded:
                start = max(start, date.fromisoformat(recorded))
            try:
                return start.replace(year=start.year + retention.years)
            except ValueError:  # 29 February in a year without it
                return start.replace(year=start.year + retention.years, day=28)
    return None
