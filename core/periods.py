"""Periods in plain words ("March", "Q1 2025", "last quarter"), always meaning the past.

Babel supplies month names in the customer's language and dateutil the month arithmetic; the
rules no library has (quarters, and "March" never meaning a future March) are ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.dates import get_month_names
from dateutil.relativedelta import relativedelta

from core.formatting import locale_or_default, zone

FORMS = ('a month ("March", "March 2025", "2025-03"), "this month", "last month", a quarter ("Q1", '
         '"Q1 2025", "last quarter"), a year ("2025", "this year", "last year"), "last" or "all"')


class PeriodError(ValueError):
    def __init__(self, text: str, reason: str | None = None) -> None:
        self.message = reason or f"I don't understand the period {text!r}. Try {FORMS}."
        super().__init__(self.message)


@dataclass(frozen=True)
class Period:
    kind: str  # month, quarter, year, last, all
    label: str
    start: datetime | None = None  # UTC, inclusive; None for "last" and "all"
    end: datetime | None = None  # UTC, exclusive

    def contains(self, moment: datetime) -> bool:
        return self.start is None or self.end is None or self.start <= moment < self.end


def _month_words(locale: str) -> dict[str, int]:
    words: dict[str, int] = {}
    for name in {"en_US", locale_or_default(locale)}:
        for width in ("wide", "abbreviated"):
            for number, word in get_month_names(width, locale=name).items():
                words[word.lower().rstrip(".")] = number
    words["sept"] = 9
    return words


def _span(kind: str, label: str, first: datetime, months: int) -> Period:
    return Period(kind, label, first.astimezone(UTC), (first + relativedelta(months=months)).astimezone(UTC))


def _month(year: int, month: int, tz: ZoneInfo, locale: str) -> Period:
    name = get_month_names("wide", locale=locale_or_default(locale))[month]
    return _span("month", f"{name} {year}", datetime(year, month, 1, tzinfo=tz), 1)


def _quarter(year: int, quarter: int, tz: ZoneInfo) -> Period:
    return _span("quarter", f"Q{quarter} {year}", datetime(year, 3 * quarter - 2, 1, tzinfo=tz), 3)


def _year(year: int, tz: ZoneInfo) -> Period:
    return _span("year", str(year), datetime(year, 1, 1, tzinfo=tz), 12)


def parse_period(text: str, *, now: datetime, tz: str | None = "UTC", locale: str = "en_US") -> Period:
    """The period `text` names, seen from `now` in the customer's time zone."""
    zone_info = zone(tz)
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
    if match := re.fullmatch(r"([^\W\d_]+)\.?(?:\s+(\d{4}))?", words):
        month = months.get(match[1])
        if month is None:
            return None
        if match[2]:
            return _month(int(match[2]), month, tz, locale)
        # "March" is the most recent March that has begun: never a future one.
        return _month(local.year if month <= local.month else local.year - 1, month, tz, locale)
    return None
