"""Proration: what a plan change mid-period costs, to the second, in integer minor units.

The rule, the same for every currency and provider:

- A period runs from its start to its end; `remaining` is the whole seconds from the change to
  the period end, `period` the whole seconds of the period.
- Each line is price x remaining / period, computed exactly (decimal) and rounded half-up to a
  whole minor unit of the plan's currency: cents for USD, yen for JPY (no decimals), fils for
  KWD (three decimals). Amounts are stored in minor units already, as Babel counts the
  currency's digits, so rounding to a whole minor unit is rounding in the currency.
- The unused time of the old plan is a credit line: its amount is rounded as above, then made
  negative (half-up applies to the amount of the credit, so a credit and a charge of the same
  time round alike).
- The remaining time of the new plan is a charge line. A change that starts a new period (a move
  to a longer interval) charges the new plan's whole price for the new period instead.
- The amount due is the sum of the lines, never rounded again. A negative sum is not paid out:
  it is shown, and nothing is charged.

Example: $10 -> $20 a month, exactly half-way: -$5.00 unused time + $10.00 remaining = $5.00.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from core.models import Plan


@dataclass(frozen=True)
class ProrationLine:
    kind: str  # "unused" (a credit for the old plan) or "remaining" / "new_period" (the new plan)
    plan_id: int
    plan_name: str
    amount: int  # minor units; negative for a credit

    @property
    def description(self) -> str:
        return {"unused": f"Unused time on {self.plan_name}",
                "remaining": f"Remaining time on {self.plan_name}",
                "new_period": f"{self.plan_name}, a new period from today"}[self.kind]


@dataclass(frozen=True)
class Proration:
    currency: str
    at: datetime  # the instant the change is prorated at
    lines: tuple[ProrationLine, ...]

    @property
    def amount_due(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def to_charge(self) -> int:
        """What is charged now: the amount due, or nothing when the credit is larger."""
        return max(0, self.amount_due)


def share(price: int, remaining_seconds: int, period_seconds: int) -> int:
    """price x remaining / period, rounded half-up to a whole minor unit."""
    if period_seconds <= 0:
        raise ValueError("a period lasts more than zero seconds")
    remaining_seconds = min(max(remaining_seconds, 0), period_seconds)
    exact = Decimal(abs(price)) * remaining_seconds / period_seconds
    rounded = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return rounded if price >= 0 else -rounded


def _seconds(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds())


def prorate(old: Plan, new: Plan, *, period_start: datetime, period_end: datetime, at: datetime,
            new_period: bool = False) -> Proration:
    """The lines of moving from `old` to `new` at `at`, within the period [start, end)."""
    if old.currency != new.currency:
        raise ValueError("plans in different currencies are not prorated against each other")
    period, remaining = _seconds(period_start, period_end), _seconds(at, period_end)
    credit = -share(old.price, remaining, period)
    lines = [ProrationLine("unused", old.id, old.name, credit)]
    if new_period:
        lines.append(ProrationLine("new_period", new.id, new.name, new.price))
    else:
        lines.append(ProrationLine("remaining", new.id, new.name, share(new.price, remaining, period)))
    return Proration(currency=new.currency, at=at, lines=tuple(lines))
