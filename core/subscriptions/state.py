"""A subscription's state as the customer reads it, the same on every page that shows one."""

from __future__ import annotations

from dataclasses import dataclass

from core.kernel import formatting
from core.models import Subscription
from core.models.orders import ACTIVE

RENEWS = "renews"
ENDS = "ends"


@dataclass(frozen=True)
class SubscriptionState:
    status: str  # "renews", "ends", or what stopped it ("paused", "past due", "canceled")
    date: str | None  # the day it renews or ends, in the customer's locale and time zone
    cancel_at_period_end: bool

    @property
    def text(self) -> str:
        """"renews Apr 13, 2026", "ends Apr 13, 2026", or the bare status."""
        return f"{self.status} {self.date}" if self.date else self.status


def state_of(subscription: Subscription, *, locale: str | None, tz: str | None) -> SubscriptionState:
    cancelling = subscription.cancel_at_period_end
    if subscription.status != ACTIVE:
        # A stopped subscription neither renews nor ends on its period's last day.
        return SubscriptionState(subscription.status.replace("_", " "), None, cancelling)
    return SubscriptionState(ENDS if cancelling else RENEWS,
                             formatting.date(subscription.current_period_end, locale, tz), cancelling)
