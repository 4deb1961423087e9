"""The company's time zone: the one times are shown in, and dates given without an offset mean.

What is recorded is a moment, timezone-aware, and never depends on the zone.  The zone is for
people: the times a table, a JSON document or an export shows, and what a date or a date and
time typed without an offset means (``--from``, ``--to``, ``--as-of``).  It is ``Asia/Tokyo``
unless the company says otherwise.  The regulation's arithmetic (business days, the end of a
period's last day, the years of retention) stays in Japan's time whatever the zone: the
calendar is Japan's (see :mod:`approvals.domain.clocks`).
"""

from __future__ import annotations

from datetime import date, datetime, time, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "COMPANY_ZONE",
    "UnknownZone",
    "company_zone",
    "moment_given",
    "zone_called",
    "zone_named",
]

COMPANY_ZONE = "Asia/Tokyo"
"""The zone times are shown in unless the company names another (an IANA zone name)."""


class UnknownZone(ValueError):
    """A zone name that the time zone database does not know."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@lru_cache(maxsize=64)
def zone_named(name: str) -> tzinfo:
    """Return the zone called ``name`` (``Asia/Tokyo``, ``UTC``, ``Europe/Berlin``), or raise
    :class:`UnknownZone` for a name the time zone database does not know."""
    if not name or not name.isascii() or not name.isprintable() or len(name) > 255:
        raise UnknownZone(name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError: a name that is no key (a path); OSError: one the file system refuses
        raise UnknownZone(name) from None


def company_zone() -> tzinfo:
    """Return the zone times are shown in by default: :data:`COMPANY_ZONE`."""
    return zone_named(COMPANY_ZONE)


def zone_called(zone: tzinfo) -> str:
    """Return the name ``zone`` is known by (its IANA key, else what it calls itself)."""
    key = getattr(zone, "key", None)
    return key if isinstance(key, str) else str(zone)


def moment_given(text: str, zone: tzinfo, *, end: bool = False) -> datetime:
    """Return the moment ``text`` names: a date and time (``2026-04-30T17:00``) in ``zone``
    unless it gives an offset, or a date (``2026-04-30``) meaning the start of that day in
    ``zone``, or with ``end`` its end (the last microsecond: a bound that includes the whole
    day).  Raise ValueError for text that is neither."""
    text = text.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass  # not a day alone: a date and time, or nothing
    else:
        return datetime.combine(day, time.max if end else time.min, zone)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)
