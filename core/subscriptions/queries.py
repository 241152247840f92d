"""Finding a customer's subscriptions and the plans each may move to. Always scoped by the
customer: someone else's subscription is simply not found, by any name or number."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from core.kernel.errors import NotFound
from core.kernel.portal import Portal
from core.models import Plan, Product, Subscription
from core.models.subscriptions import LIVE
from core.subscriptions.policy import policy_for


async def subscriptions_of(session: AsyncSession, customer_id: int, *, with_ended: bool = True
                           ) -> list[Subscription]:
    """The customer's subscriptions: per product the live one, or else the latest that ended;
    oldest product first. With `with_ended=False`, only live ones."""
    rows = list(await session.scalars(
        select(Subscription).where(Subscription.customer_id == customer_id)
        .options(joinedload(Subscription.product).selectinload(Product.plans),
                 joinedload(Subscription.plan), joinedload(Subscription.scheduled_plan),
                 joinedload(Subscription.payment_method))
        .order_by(Subscription.created_at, Subscription.id)
        .execution_options(populate_existing=True)))
    by_product: dict[int, Subscription] = {}
    for subscription in rows:
        known = by_product.get(subscription.product_id)
        if known is None or subscription.live or not known.live:
            by_product[subscription.product_id] = subscription
    found = sorted(by_product.values(), key=lambda s: (s.product_id, s.id))
    return [s for s in found if with_ended or s.status in LIVE]


async def find_subscription(session: AsyncSession, customer_id: int, ref: str) -> Subscription:
    """The customer's subscription of a product named by slug, name (or part of it), or its
    number in `subscriptions_of`."""
    subscriptions = await subscriptions_of(session, customer_id)
    if not subscriptions:
        raise NotFound("You have no subscriptions.")
    wanted = ref.strip().lstrip("#").lower()
    if wanted.isdecimal():
        match = [s for number, s in enumerate(subscriptions, start=1) if number == int(wanted)]
    else:
        match = [s for s in subscriptions if wanted in (s.product.slug, s.product.name.lower())]
        match = match or [s for s in subscriptions if wanted and wanted in s.product.name.lower()]
    if len(match) == 1:
        return match[0]
    names = ", ".join(f"{s.product.name} (`{s.product.slug}`)" for s in (match or subscriptions))
    if match:
        raise NotFound(f"{ref!r} matches several of your subscriptions: {names}. Which one?")
    raise NotFound(f"You have no subscription {ref!r}. Yours: {names}.")


@dataclass(frozen=True)
class PlanChoice:
    plan: Plan
    current: bool
    allowed: bool  # False: listed for the picture, but the policy does not let one move to it


def switchable(portal: Portal, subscription: Subscription) -> list[PlanChoice]:
    """The product's plans as `plans <product>` shows them: which one is current and which the
    customer may move to (active, same currency, and in the policy's `change_plans` if set)."""
    policy = policy_for(portal, subscription.product)
    listed = set(policy.change_plans)
    choices = []
    for plan in sorted(subscription.product.plans, key=lambda p: (p.rank, p.price, p.id)):
        current = plan.id == subscription.plan_id
        if not plan.active and not current:
            continue
        allowed = (not current and policy.allow_plan_changes and plan.active
                   and plan.currency == subscription.plan.currency
                   and (not listed or plan.slug in listed))
        choices.append(PlanChoice(plan, current, allowed))
    return choices


def find_plan(subscription: Subscription, ref: str) -> Plan:
    wanted = ref.strip().lower()
    plans = [p for p in subscription.product.plans if p.active or p.id == subscription.plan_id]
    match = [p for p in plans if wanted in (p.slug, p.name.lower())]
    match = match or [p for p in plans if wanted and wanted in p.name.lower()]
    if len(match) == 1:
        return match[0]
    names = ", ".join(f"{p.name} (`{p.slug}`)" for p in plans)
    raise NotFound(f"{subscription.product.name} has no plan {ref!r}. Its plans: {names}.")
