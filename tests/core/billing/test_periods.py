"""The period grammar ("March", "Q1 2025", "last quarter") on a fixed clock: always the past,
across year ends and time zones, odd years, other spellings, other languages, other clocks."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

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



@pytest.mark.parametrize(("text", "reason"), [
    ("9999", "9999 is still ahead"),
    ("December 9999", "9999 is still ahead"),
    ("Q4 9999", "9999 is still ahead"),
    ("0001", "0001 is too long ago"),
    ("0000", "0000 is too long ago"),
    ("March 0001", "0001 is too long ago"),
])
def test_years_at_the_edge_of_the_calendar_get_an_answer_not_a_crash(text: str, reason: str) -> None:
    with pytest.raises(PeriodError, match=reason):
        parse_period(text, now=JANUARY, tz="Europe/Berlin")


def test_five_digits_are_not_a_year() -> None:
    with pytest.raises(PeriodError, match="I don't understand the period '99999'"):
        parse_period("99999", now=JANUARY)


@pytest.mark.parametrize("text", ["2025 March", "March, 2025", "03/2025", "3/2025", "2025-03", "mar. 2025"])
def test_the_ways_people_write_a_month(text: str) -> None:
    period = parse_period(text, now=JANUARY, tz="UTC")
    assert (period.kind, period.label) == ("month", "March 2025")
    assert period.start == datetime(2025, 3, 1, tzinfo=UTC) and period.end == datetime(2025, 4, 1, tzinfo=UTC)


def test_a_zoneinfo_works_as_well_as_its_name() -> None:
    now = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)  # still February in Los Angeles
    period = parse_period("this month", now=now, tz=ZoneInfo("America/Los_Angeles"))
    assert period.label == "February 2026"
    assert period.start == datetime(2026, 2, 1, 8, tzinfo=UTC) and period.end == datetime(2026, 3, 1, 8, tzinfo=UTC)


def test_a_clock_without_a_zone_is_read_as_utc() -> None:
    with pytest.raises(PeriodError, match="still ahead"):
        parse_period("February 2026", now=datetime(2026, 1, 31, 23, 59), tz="UTC")
    assert parse_period("January 2026", now=datetime(2026, 1, 1), tz="UTC").label == "January 2026"


def test_russian_customers_type_the_nominative_month_and_read_their_own_label() -> None:
    # Russian month names change form inside dates ("марта"); on their own people write "март".
    for text in ("март", "марта 2025"):
        period = parse_period(text, now=JANUARY, tz="Europe/Moscow", locale="ru")
        assert period.start == datetime(2025, 2, 28, 21, tzinfo=UTC)
        assert period.label == "март 2025\u202fг."
    assert parse_period("Mär", now=JANUARY, locale="de_DE").label == "März 2025"
    assert parse_period("March", now=JANUARY, locale="de_DE").label == "März 2025"


@pytest.mark.parametrize(("text", "kind"), [("last", "last"), ("LATEST", "last"), ("", "all"), ("all", "all")])
def test_last_and_all_have_no_range_and_hold_every_moment(text: str, kind: str) -> None:
    period = parse_period(text, now=JANUARY)
    assert period.kind == kind and period.start is None and period.end is None
    assert period.contains(datetime(1999, 1, 1, tzinfo=UTC)) and period.contains(JANUARY)


def test_a_period_error_is_a_value_error_with_a_customer_message() -> None:
    with pytest.raises(ValueError, match="Try a month") as error:
        parse_period("yesterday-ish", now=JANUARY)
    assert isinstance(error.value, PeriodError) and error.value.message == str(error.value)
