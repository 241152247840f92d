"""The period grammar on a fixed clock: always the past, across year ends and time zones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.billing.periods import PeriodError, parse_period

JANUARY = datetime(2026, 1, 10, 12, tzinfo=UTC)
MARCH_2024 = datetime(2024, 3, 5, 12, tzinfo=UTC)


@pytest.mark.parametrize(("text", "label", "start", "end"), [
    ("December", "December 2025", "2025-12-01", "2026-01-01"),
    ("january", "January 2026", "2026-01-01", "2026-02-01"),
    ("Mar", "March 2025", "2025-03-01", "2025-04-01"),
    ("last month", "December 2025", "2025-12-01", "2026-01-01"),
    ("this month", "January 2026", "2026-01-01", "2026-02-01"),
    ("last quarter", "Q4 2025", "2025-10-01", "2026-01-01"),
    ("Q1", "Q1 2026", "2026-01-01", "2026-04-01"),
    ("Q2", "Q2 2025", "2025-04-01", "2025-07-01"),
    ("Q3 2024", "Q3 2024", "2024-07-01", "2024-10-01"),
    ("2025", "2025", "2025-01-01", "2026-01-01"),
    ("last year", "2025", "2025-01-01", "2026-01-01"),
    ("2025-03", "March 2025", "2025-03-01", "2025-04-01"),
    ("March 2025", "March 2025", "2025-03-01", "2025-04-01"),
])
def test_january_looks_back_across_the_year_end(text: str, label: str, start: str, end: str) -> None:
    period = parse_period(text, now=JANUARY, tz="UTC")
    assert period.label == label
    assert period.start == datetime.fromisoformat(start).replace(tzinfo=UTC)
    assert period.end == datetime.fromisoformat(end).replace(tzinfo=UTC)


def test_leap_february_ends_on_the_29th() -> None:
    period = parse_period("February", now=MARCH_2024, tz="UTC")
    assert period.label == "February 2024"
    assert period.contains(datetime(2024, 2, 29, 23, 59, tzinfo=UTC))
    assert not period.contains(datetime(2024, 3, 1, tzinfo=UTC))


def test_the_customers_time_zone_decides_what_this_month_is() -> None:
    now = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)  # still February in Los Angeles
    assert parse_period("this month", now=now, tz="America/Los_Angeles").label == "February 2026"
    assert parse_period("this month", now=now, tz="Europe/Berlin").label == "March 2026"
    berlin = parse_period("March", now=now, tz="Europe/Berlin")
    assert berlin.start == datetime(2026, 2, 28, 23, tzinfo=UTC)


def test_month_names_in_the_customers_language() -> None:
    assert parse_period("März", now=JANUARY, tz="UTC", locale="de_DE").label == "März 2025"


@pytest.mark.parametrize("text", ["2099", "March 2026", "Q2 2026", "2026-02"])
def test_the_future_is_refused(text: str) -> None:
    with pytest.raises(PeriodError, match="still ahead"):
        parse_period(text, now=JANUARY, tz="UTC")


def test_nonsense_lists_the_forms() -> None:
    with pytest.raises(PeriodError) as error:
        parse_period("the other day", now=JANUARY)
    assert "last quarter" in error.value.message and "'the other day'" in error.value.message
