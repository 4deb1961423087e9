"""Deadlines and the retention clock, computed from a case's history and a calendar."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from approvals.domain.case import Entry
from approvals.domain.workflow import Deadline, Duration, Retention

__all__ = ["JST", "DueDate", "add", "due_dates", "retention_until", "weekends"]

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
