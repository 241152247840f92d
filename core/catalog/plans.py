"""Plans: what a price buys, and how long one period of a recurring plan lasts."""

from __future__ import annotations

from datetime import datetime

from dateutil.relativedelta import relativedelta

from core.models import Plan


def period_end(plan: Plan, start: datetime) -> datetime:
    """The end of the first period that begins at `start`: the same day of the next month or
    year (or the month's last day when it has none)."""
    return start + _step(plan)


def next_period_end(plan: Plan, anchor: datetime, current_end: datetime) -> datetime:
    """The end of the period after the one ending at `current_end`, counted from the
    subscription's first day: a subscription begun on the 30th renews on the 30th (or the last
    day of a shorter month), and never drifts to the 28th after February."""
    periods = 1
    while anchor + _step(plan, periods) <= current_end:
        periods += 1
    return anchor + _step(plan, periods)


def _step(plan: Plan, periods: int = 1) -> relativedelta:
    return relativedelta(months=periods) if plan.interval == "month" else relativedelta(years=periods)
