"""Business days on the Japanese calendar: weekends, national holidays, the company's own days.

The national holidays come from the `holidays` package (the Cabinet Office's list, with the
substitute holidays 振替休日 and the citizens' holidays 国民の休日 between two holidays).  The
company adds the days it is closed in a TOML file::

    # calendar.toml
    [company]
    closed = ["2026-08-13", "2026-08-14"]          # particular days
    closed_every_year = ["12-29", "12-30", "12-31", "01-02", "01-03"]   # month-day

    # What the regulation's words mean here (defaults: 1, 3 and 10 business days).
    [terms]
    immediately = { hours = 24 }            # 直ちに
    promptly = { business_days = 3 }        # 速やかに
    without_delay = { business_days = 10 }  # 遅滞なく

A calendar is a :data:`~approvals.domain.clocks.Holiday`: called with a day, it answers whether
that day is not a business day.  It is immutable and hashable, so due dates computed on it
can be remembered.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from approvals.domain.workflow import DURATION_UNITS, MEANINGS, TERMS, Duration
from approvals.errors import DefinitionError, Label

__all__ = ["JapaneseCalendar", "load_calendar"]

WEEKDAYS = {5: Label("Saturday", "土曜日"), 6: Label("Sunday", "日曜日")}
COMPANY = Label("a company holiday", "会社の休日")


@lru_cache(maxsize=256)
def _national(year: int) -> dict[date, Label]:
    # Imported when a date is first counted: a command that counts none starts faster.
    import holidays  # noqa: PLC0415

    english = holidays.country_holidays("JP", years=year, language="en_US")
    japanese = holidays.country_holidays("JP", years=year, language="ja")
    return {day: Label(str(name), str(japanese.get(day, name))) for day, name in english.items()}


@dataclass(frozen=True, slots=True)
class JapaneseCalendar:
    """Saturdays, Sundays, Japan's national holidays and the company's closing days."""

    closed: frozenset[date] = field(default_factory=frozenset)
    closed_every_year: frozenset[tuple[int, int]] = field(default_factory=frozenset)
    terms: tuple[tuple[str, Duration], ...] = ()
    """The company's meaning of the regulation's terms, where it differs from the default."""

    def __call__(self, day: date) -> bool:
        return self.why(day) is not None

    def why(self, day: date) -> Label | None:
        """Return why ``day`` is not a business day (its holiday's name), or None."""
        if day.weekday() in WEEKDAYS:
            return WEEKDAYS[day.weekday()]
        national = _national(day.year).get(day)
        if national is not None:
            return national
        if day in self.closed or (day.month, day.day) in self.closed_every_year:
            return COMPANY
        return None

    @property
    def meanings(self) -> dict[str, Duration]:
        """What each of the regulation's terms means on this calendar."""
        return {**MEANINGS, **dict(self.terms)}

    def fingerprint(self) -> str:
        """A short digest of everything that moves a due date: the national holidays' source,
        the company's days, the terms' meanings.  Read models holding due dates are rebuilt
        when it changes."""
        text = repr(
            (
                version("holidays"),
                sorted(self.closed),
                sorted(self.closed_every_year),
                sorted((term, span.amount, span.unit) for term, span in self.meanings.items()),
            )
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def holidays_between(self, first: date, last: date) -> list[tuple[date, Label]]:
        """Return every day from ``first`` to ``last`` that is not a business day, and why."""
        found = []
        for ordinal in range(first.toordinal(), last.toordinal() + 1):
            day = date.fromordinal(ordinal)
            reason = self.why(day)
            if reason is not None:
                found.append((day, reason))
        return found

    @classmethod
    def with_company_days(
        cls,
        closed: Iterable[date] = (),
        closed_every_year: Iterable[tuple[int, int]] = (),
        terms: Mapping[str, Duration] | None = None,
    ) -> JapaneseCalendar:
        """Return the calendar with the company's own closing days and meaning of the terms."""
        return cls(frozenset(closed), frozenset(closed_every_year),
                   tuple(sorted((terms or {}).items())))  # fmt: skip


def load_calendar(path: Path) -> JapaneseCalendar:
    """Read the company's closing days from the TOML file at ``path``; refuse a broken file
    with the file and the key named."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise _refused(path, "(file)", f"it cannot be read ({error.strerror})",
                       f"読み込めません({error.strerror})") from None  # fmt: skip
    except UnicodeDecodeError as error:
        raise _refused(path, "(file)", f"it is not UTF-8 text (byte {error.start})",
                       f"UTF-8 のテキストではありません({error.start} バイト目)",
                       ) from None  # fmt: skip
    except (tomllib.TOMLDecodeError, RecursionError) as error:
        raise _refused(path, "(file)", f"it is not TOML ({error})",
                       f"TOML ではありません({error})") from None  # fmt: skip
    company = data.get("company", {})
    if not isinstance(company, Mapping):
        raise _refused(path, "company", "it must be a table", "テーブルで書いてください")
    terms = data.get("terms", {})
    if not isinstance(terms, Mapping):
        raise _refused(path, "terms", "it must be a table", "テーブルで書いてください")
    known = ["company.closed", "company.closed_every_year", *(f"terms.{t}" for t in TERMS)]
    unknown = sorted(set(data) - {"company", "terms"}) + sorted(
        f"{table}.{key}" for table, body in (("company", company), ("terms", terms))
        for key in body if f"{table}.{key}" not in known
    )  # fmt: skip
    if unknown:
        raise _refused(path, unknown[0], f"this key is not known (known: {', '.join(known)})",
                       f"この項目は使えません(使える項目: {'、'.join(known)})")  # fmt: skip
    closed = [_day(path, "company.closed", value) for value in _list(path, company, "closed")]
    yearly = [_month_day(path, value) for value in _list(path, company, "closed_every_year")]
    meanings = {term: _span(path, f"terms.{term}", value) for term, value in terms.items()}
    return JapaneseCalendar.with_company_days(closed, yearly, meanings)


def _span(path: Path, key: str, value: Any) -> Duration:
    units = ", ".join(DURATION_UNITS)
    if isinstance(value, Mapping) and len(value) == 1:
        ((unit, amount),) = value.items()
        if unit in DURATION_UNITS and type(amount) is int and amount >= 0:
            return Duration(amount, unit)
    raise _refused(path, key, f"{value!r} is not a span such as {{ business_days = 1 }} "
                   f"(units: {units})", f"{value!r} は {{ business_days = 1 }} のような期間では"
                   f"ありません(単位: {units})")  # fmt: skip


def _list(path: Path, company: Mapping[str, Any], key: str) -> list[Any]:
    values = company.get(key, [])
    if not isinstance(values, list):
        raise _refused(path, f"company.{key}", "it must be a list", "リストで書いてください")
    return values


def _day(path: Path, key: str, value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise _refused(path, key, f"{value!r} is not a day like 2026-12-29",
                       f"{value!r} は 2026-12-29 のような日付ではありません") from None  # fmt: skip


def _month_day(path: Path, value: Any) -> tuple[int, int]:
    key = "company.closed_every_year"
    try:
        month, day = (int(part) for part in str(value).split("-"))
        date(2024, month, day)  # a leap year: 02-29 is a day
    except ValueError:
        raise _refused(path, key, f"{value!r} is not a month and day like 12-29",
                       f"{value!r} は 12-29 のような月日ではありません") from None  # fmt: skip
    return month, day


def _refused(path: Path, key: str, en: str, ja: str) -> DefinitionError:
    return DefinitionError("calendar.invalid", file=str(path), key=key, problem=Label(en, ja))
