"""Billing periods keep the subscription's day of month."""

from __future__ import annotations

from datetime import UTC, datetime

from core.catalog.plans import next_period_end, period_end
from core.models import Plan

MONTHLY = Plan(slug="monthly", name="Monthly", interval="month", price=1000, currency="USD")
YEARLY = Plan(slug="yearly", name="Yearly", interval="year", price=10000, currency="USD")


def test_a_monthly_subscription_keeps_its_day_through_short_months() -> None:
    anchor = datetime(2025, 12, 30, 9, 0, tzinfo=UTC)
    ends = [period_end(MONTHLY, anchor)]
    for _ in range(3):
        ends.append(next_period_end(MONTHLY, anchor, ends[-1]))
    assert [(e.month, e.day) for e in ends] == [(1, 30), (2, 28), (3, 30), (4, 30)]


def test_a_yearly_subscription_from_the_29th_of_february() -> None:
    anchor = datetime(2024, 2, 29, tzinfo=UTC)
    first = period_end(YEARLY, anchor)
    assert (first.year, first.month, first.day) == (2025, 2, 28)
    ends = [first]
    for _ in range(3):
        ends.append(next_period_end(YEARLY, anchor, ends[-1]))
    assert [(e.year, e.day) for e in ends] == [(2025, 28), (2026, 28), (2027, 28), (2028, 29)]
