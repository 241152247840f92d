"""Period words beyond the everyday ones: odd years, other spellings, other languages, other clocks.

(The everyday grammar across year ends and time zones is in tests/documents/test_periods.py.)
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from core.billing.periods import PeriodError, parse_period

JANUARY = datetime(2026, 1, 10, 12, tzinfo=UTC)


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
