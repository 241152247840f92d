"""Proration by hand: each line price x remaining seconds / period seconds, half-up to a whole
minor unit of the currency; the amount due is the sum of the lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.models import Plan
from core.subscriptions.proration import prorate, share

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 31, tzinfo=UTC)  # 30 days: 2,592,000 seconds


def plan(price: int, currency: str = "USD", name: str = "Plan", interval: str = "month") -> Plan:
    return Plan(id=price, name=name, price=price, currency=currency, interval=interval)


def test_ten_to_twenty_dollars_half_way_is_five_dollars() -> None:
    result = prorate(plan(1000, name="Basic"), plan(2000, name="Pro"), period_start=START,
                     period_end=END, at=START + timedelta(days=15))

    assert [(line.description, line.amount) for line in result.lines] == [
        ("Unused time on Basic", -500), ("Remaining time on Pro", 1000)]
    assert result.amount_due == 500 and result.to_charge == 500


def test_the_last_minute_costs_what_its_seconds_round_to() -> None:
    # 60 of 2,592,000 seconds: $10 -> 0.23 cents (0), $2,000 -> 4.63 cents (5), $5,000 -> 11.57 (12).
    last_minute = END - timedelta(minutes=1)
    assert prorate(plan(1000), plan(2000), period_start=START, period_end=END, at=last_minute).amount_due == 0
    big = prorate(plan(200000), plan(500000), period_start=START, period_end=END, at=last_minute)
    assert [line.amount for line in big.lines] == [-5, 12] and big.amount_due == 7


def test_yen_have_no_decimals_and_round_half_up() -> None:
    # A third of the period left: 1000 yen -> 333.33 (333), 2000 yen -> 666.67 (667).
    result = prorate(plan(1000, "JPY"), plan(2000, "JPY"), period_start=START, period_end=END,
                     at=START + timedelta(days=20))
    assert [line.amount for line in result.lines] == [-333, 667] and result.amount_due == 334


def test_three_decimal_dinars_round_a_half_fils_up() -> None:
    # An eighth left: 5.000 KWD -> 0.625, 12.500 KWD -> 1.5625 (1.563).
    result = prorate(plan(5000, "KWD"), plan(12500, "KWD"), period_start=START,
                     period_end=START + timedelta(days=8), at=START + timedelta(days=7))
    assert [line.amount for line in result.lines] == [-625, 1563] and result.amount_due == 938


def test_a_credit_rounds_like_a_charge_of_the_same_time() -> None:
    # Half a cent either way rounds away from zero: 0.5 -> 1 and -0.5 -> -1.
    assert share(1, 1, 2) == 1 and share(-1, 1, 2) == -1
    assert share(3, 1, 2) == 2 and share(-3, 1, 2) == -2


def test_monthly_to_yearly_starts_a_new_period_at_the_full_price() -> None:
    result = prorate(plan(1200, name="Pro monthly"), plan(12000, name="Pro yearly", interval="year"),
                     period_start=START, period_end=END, at=START + timedelta(days=10), new_period=True)
    # Two thirds of $12.00 unused: $8.00 back; the year costs $120.00.
    assert [(line.kind, line.amount) for line in result.lines] == [("unused", -800), ("new_period", 12000)]
    assert result.amount_due == 11200


def test_yearly_to_monthly_credits_more_than_it_costs_and_charges_nothing() -> None:
    year_end = START.replace(year=2027)  # 365 days
    result = prorate(plan(12000, name="Pro yearly", interval="year"), plan(1200, name="Pro monthly"),
                     period_start=START, period_end=year_end, at=START + timedelta(days=73), new_period=True)
    # 292 of 365 days unused: $96.00 back; the month costs $12.00; due -$84.00, nothing charged.
    assert [line.amount for line in result.lines] == [-9600, 1200]
    assert result.amount_due == -8400 and result.to_charge == 0


def test_plans_in_different_currencies_are_not_prorated() -> None:
    with pytest.raises(ValueError, match="different currencies"):
        prorate(plan(1000, "USD"), plan(1000, "EUR"), period_start=START, period_end=END, at=START)
