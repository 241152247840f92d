"""How subscriptions are spoken of in previews, refusals and mail: dates in the customer's
calendar, prices with their interval, and the guards every change checks first."""

from __future__ import annotations

from datetime import datetime

from core.kernel import formatting
from core.kernel.errors import Conflict
from core.models import Customer, Plan, Subscription
from core.models.subscriptions import ENDED_STATES, PAST_DUE, PAUSED


def day(customer: Customer, moment: datetime) -> str:
    return formatting.date(moment, customer.locale, customer.timezone)


def price(customer: Customer, plan: Plan) -> str:
    """"$20.00 a month"."""
    return f"{formatting.money(plan.price, plan.currency, customer.locale)} a {plan.interval or 'period'}"


def must_be_live(subscription: Subscription) -> None:
    if subscription.status in ENDED_STATES:
        raise Conflict(f"Your {subscription.product.name} has ended; send `resubscribe "
                       f"{subscription.product.slug}` to start it again.")


def nothing_scheduled(subscription: Subscription, customer: Customer, *, what: str) -> None:
    """Refuse `what` ("change its plan", "pause it") while another change waits for the period end."""
    slug, name = subscription.product.slug, subscription.product.name
    ends = day(customer, subscription.current_period_end)
    if subscription.cancel_at_period_end:
        raise Conflict(f"Your {name} is cancelled and ends on {ends}; send `uncancel {slug}` first "
                       f"to {what}.")
    if subscription.scheduled_plan is not None:
        raise Conflict(f"You have a plan change waiting (to {subscription.scheduled_plan.name} on "
                       f"{ends}); send `change {slug} keep` to drop it.")
    if subscription.pause_at_period_end:
        raise Conflict(f"Your {name} pauses on {ends}; send `resume {slug}` to drop the pause "
                       f"first.")


def not_paused_or_past_due(subscription: Subscription, *, what: str) -> None:
    slug, name = subscription.product.slug, subscription.product.name
    if subscription.status == PAUSED:
        raise Conflict(f"Your {name} is paused: a paused subscription resumes before it can "
                       f"{what}. Send `resume {slug}` first.")
    if subscription.status == PAST_DUE:
        raise Conflict(f"Your {name} is past due: its last renewal payment failed. Fix the payment "
                       f"first (send `payment`), then {what}.")
