"""Periods in plain words ("March", "Q1 2025", "last quarter"), always meaning the past.

Babel supplies month names in the customer's language and dateutil the month arithmetic; the
rules no library has (quarters, and "March" never meaning a future March) are ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, get_month_names
from dateutil.relativedelta import relativedelta

from core.kernel.formatting import locale_or_default, zone

# Nobody has documents from before this; older years would also overflow datetime in some zones.
FIRST_YEAR = 1900
FORMS = ('a month ("March", "March 2025", "2025-03"), "this month", "last month", a quarter ("Q1", '
         '"Q1 2025", "last quarter"), a year ("2025", "this year", "last year"), "last" or "all"')


class PeriodError(ValueError):
    def __init__(self, text: str, reason: str | None = None) -> None:
        self.message = reason or f"I don't understand the period {text!r}. Try {FORMS}."
        super().__init__(self.message)


@dataclass(frozen=True)
class Period:
    """A half-open range [start, end) in UTC. "last" (the newest document) and "all" have no
    range: their start and end are None, and `contains` is true for every moment."""

    kind: str  # month, quarter, year, last, all
    label: str
    start: datetime | None = None  # UTC, inclusive; None for "last" and "all"
    end: datetime | None = None  # UTC, exclusive

    def contains(self, moment: datetime) -> bool:
        return self.start is None or self.end is None or self.start <= moment < self.end


@lru_cache(maxsize=32)
def _month_words(locale: str) -> dict[str, int]:
    words: dict[str, int] = {}
    for name in {"en_US", locale_or_default(locale)}:
        # Stand-alone names are what people type ("март", "Mär"); format names may be inflected.
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for number, word in get_month_names(width, context, locale=name).items():
                    words[word.lower().rstrip(".")] = number
    words["sept"] = 9
    return words


def _span(kind: str, label: str, first: datetime, months: int) -> Period:
    return Period(kind, label, first.astimezone(UTC), (first + relativedelta(months=months)).astimezone(UTC))


def _month(year: int, month: int, tz: ZoneInfo, locale: str) -> Period:
    first = datetime(year, month, 1, tzinfo=tz)
    # The locale's own "month year" pattern: "March 2026", "März 2026", "2026年3月".
    return _span("month", format_skeleton("yMMMM", first, locale=locale_or_default(locale)), first, 1)


def _quarter(year: int, quarter: int, tz: ZoneInfo) -> Period:
    return _span("quarter", f"Q{quarter} {year}", datetime(year, 3 * quarter - 2, 1, tzinfo=tz), 3)


def _year(year: int, tz: ZoneInfo) -> Period:
    return _span("year", str(year), datetime(year, 1, 1, tzinfo=tz), 12)


def parse_period(text: str, *, now: datetime, tz: str | ZoneInfo | None = "UTC",
                 locale: str = "en_US") -> Period:
    """The period `text` names, seen from `now` in the customer's time zone; a naive `now` is UTC.

    Raises PeriodError (a ValueError whose `message` is fit for the customer) for words it does
    not know and for periods that have not begun yet."""
    zone_info = tz if isinstance(tz, ZoneInfo) else zone(tz)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    local = now.astimezone(zone_info)
    words = " ".join(text.lower().replace(",", " ").split())
    this_quarter = (local.month - 1) // 3 + 1

    if words in ("", "all", "everything", "all time"):
        return Period("all", "all time")
    if words in ("last", "latest", "newest", "most recent"):
        return Period("last", "the most recent")
    if words in ("this month", "current month"):
        return _month(local.year, local.month, zone_info, locale)
    if words in ("last month", "previous month"):
        previous = local - relativedelta(months=1)
        return _month(previous.year, previous.month, zone_info, locale)
    if words in ("this quarter", "current quarter"):
        return _quarter(local.year, this_quarter, zone_info)
    if words in ("last quarter", "previous quarter"):
        year, quarter = (local.year, this_quarter - 1) if this_quarter > 1 else (local.year - 1, 4)
        return _quarter(year, quarter, zone_info)
    if words in ("this year", "current year"):
        return _year(local.year, zone_info)
    if words in ("last year", "previous year"):
        return _year(local.year - 1, zone_info)

    year = re.search(r"(?<!\d)\d{4}(?!\d)", words)
    if year and int(year[0]) > local.year:
        # Checked before building the range: the year after 9999 does not exist.
        raise PeriodError(text, f"{year[0]} is still ahead; I can only look at the past.")
    if year and int(year[0]) < FIRST_YEAR:
        raise PeriodError(text, f"{year[0]} is too long ago; I can look back to {FIRST_YEAR}.")
    period = _explicit(words, local, zone_info, locale)
    if period is None:
        raise PeriodError(text)
    if period.start is not None and period.start > now:
        raise PeriodError(text, f"{period.label} is still ahead; I can only look at the past.")
    return period


def _explicit(words: str, local: datetime, tz: ZoneInfo, locale: str) -> Period | None:
    months = _month_words(locale)
    if match := re.fullmatch(r"(\d{4})", words):
        return _year(int(match[1]), tz)
    if match := re.fullmatch(r"(\d{4})-(\d{1,2})|(\d{1,2})/(\d{4})", words):
        year, month = (int(match[1]), int(match[2])) if match[1] else (int(match[4]), int(match[3]))
        return _month(year, month, tz, locale) if 1 <= month <= 12 else None
    if match := re.fullmatch(r"q([1-4])(?:\s+(\d{4}))?|(\d{4})\s+q([1-4])", words):
        quarter = int(match[1] or match[4])
        year = match[2] or match[3]
        if year:
            return _quarter(int(year), quarter, tz)
        # The most recent such quarter that has begun.
        start_month = 3 * quarter - 2
        return _quarter(local.year if start_month <= local.month else local.year - 1, quarter, tz)
    if match := re.fullmatch(r"([^\W\d_]+)\.?(?:\s+(\d{4}))?|(\d{4})\s+([^\W\d_]+)\.?", words):
        month = months.get(match[1] or match[4])
        if month is None:
            return None
        if match[2] or match[3]:
            return _month(int(match[2] or match[3]), month, tz, locale)
        # "March" is the most recent March that has begun: never a future one.
        return _month(local.year if month <= local.month else local.year - 1, month, tz, locale)
    return None
