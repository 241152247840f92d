"""Plans: what a price buys, and how long one period of a recurring plan lasts."""

from __future__ import annotations

from datetime import datetime

from dateutil.relativedelta import relativedelta

from core.models import Plan


def period_end(plan: Plan, start: datetime) -> datetime:
    """The end of the period that begins at `start`: the same day of the next month or year
    (or the month's last day when it has none)."""
    step = relativedelta(months=1) if plan.interval == "month" else relativedelta(years=1)
    return start + step
