"""A subscription's state as the customer reads it, the same on every page that shows one."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.kernel import formatting
from core.models import Subscription
from core.models.subscriptions import ACTIVE, PAUSED, TRIALING

RENEWS = "renews"
ENDS = "ends"
RESUMES = "resumes"


@dataclass(frozen=True)
class SubscriptionState:
    status: str  # "renews", "ends", "resumes", or what stopped it ("paused", "past due", "canceled")
    date: str | None  # the day it renews, ends or resumes, in the customer's locale and time zone
    cancel_at_period_end: bool
    scheduled: list[str] = field(default_factory=list)  # "changes to Basic on Apr 13, 2026", ...

    @property
    def text(self) -> str:
        """"renews Apr 13, 2026", "ends Apr 13, 2026", "paused, resumes May 1, 2026", or the bare
        status."""
        return f"{self.status} {self.date}" if self.date else self.status


def state_of(subscription: Subscription, *, locale: str | None, tz: str | None) -> SubscriptionState:
    cancelling = subscription.cancel_at_period_end
    if subscription.status == PAUSED and subscription.pause_until is not None:
        return SubscriptionState(f"paused, {RESUMES}", formatting.date(subscription.pause_until, locale, tz),
                                 cancelling)
    if subscription.status not in (ACTIVE, TRIALING):
        # A stopped subscription neither renews nor ends on its period's last day.
        return SubscriptionState(subscription.status.replace("_", " "), None, cancelling)
    ends = formatting.date(subscription.current_period_end, locale, tz)
    scheduled = []
    if subscription.scheduled_plan_id is not None and subscription.scheduled_plan is not None:
        scheduled.append(f"changes to {subscription.scheduled_plan.name} on {ends}")
    if subscription.pause_at_period_end:
        until = f" until {formatting.date(subscription.pause_until, locale, tz)}" \
            if subscription.pause_until else ""
        scheduled.append(f"pauses on {ends}{until}")
    return SubscriptionState(ENDS if cancelling else RENEWS, ends, cancelling, scheduled)
