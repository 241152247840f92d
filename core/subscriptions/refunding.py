"""What refunds mean for a subscription: the orders that paid for its current period, the
unused part of them when it is cancelled at once (`cancel_refund = "prorated"`), and its end
when what paid for the current period went back in full.

An order pays for the period it was placed in: the first purchase, a renewal (billed by shopkeep
or reported by the store), or a plan change's difference. Each covers the time from when it was
placed (the period start, at the earliest) to the period end, and its unused part is its total
times the time left over the time it covered, prorated to the second like plan changes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from core.accounts import audit
from core.kernel import events
from core.kernel.portal import Portal
from core.models import Order, OrderItem, Refund, Subscription
from core.models.subscriptions import CANCELED, LIVE, SHOPKEEP
from core.orders.access import end_order_access
from core.payments.provider import PaymentProvider
from core.subscriptions.access import sync_access
from core.subscriptions.proration import share

# A store's renewal report may be dated a little before the period it starts.
EARLY = timedelta(days=1)


async def paying_orders(session: AsyncSession, subscription: Subscription) -> list[Order]:
    """The orders that paid for the subscription's current period, oldest first (refunded or
    not)."""
    start, end = subscription.current_period_start, subscription.current_period_end
    of_product = select(OrderItem.order_id).where(OrderItem.product_id == subscription.product_id)
    return list(await session.scalars(
        select(Order).where(Order.customer_id == subscription.customer_id, Order.id.in_(of_product),
                            Order.placed_at >= start - EARLY, Order.placed_at < end)
        .order_by(Order.placed_at, Order.id)))


async def unused_part(session: AsyncSession, subscription: Subscription, at: datetime
                      ) -> list[tuple[Order, int]]:
    """Each paying order with the part of its total the time from `at` to the period end is
    worth (before anything already refunded of it); orders worth nothing are left out."""
    end = subscription.current_period_end
    parts = []
    for order in await paying_orders(session, subscription):
        covered_from = max(order.placed_at, subscription.current_period_start)
        covered = int((end - covered_from).total_seconds())
        left = int((end - max(at, covered_from)).total_seconds())
        amount = share(order.total, left, covered) if covered > 0 else 0
        if amount > 0:
            parts.append((order, amount))
    return parts


async def end_paid_by(session: AsyncSession, portal: Portal, payments: PaymentProvider | None,
                      order: Order, *, actor: str) -> list[Subscription]:
    """End the live subscriptions whose current period `order` paid for: its money went back,
    so access ends now. (A store that bills the subscription knows: its operator refunded the
    order, or the customer's cancellation, which the store was told of, ended it already.)
    Ending them again finds none live: the refund's event may be delivered twice."""
    ended = []
    products = select(OrderItem.product_id).where(OrderItem.order_id == order.id)
    for subscription in await session.scalars(
            select(Subscription).where(Subscription.customer_id == order.customer_id,
                                       Subscription.product_id.in_(products),
                                       Subscription.status.in_(LIVE))
            .options(joinedload(Subscription.product))):
        if order.id not in {paid.id for paid in await paying_orders(session, subscription)}:
            continue  # an older period's order: the current one is paid for otherwise
        now = portal.now()
        subscription.status, subscription.ended_at = CANCELED, now
        subscription.canceled_at, subscription.cancel_reason = now, "refunded"
        subscription.cancel_at_period_end = subscription.pause_at_period_end = False
        subscription.scheduled_plan_id = subscription.next_retry_at = subscription.pause_until = None
        await session.flush()
        if subscription.billed_by == SHOPKEEP and payments is not None:
            await payments.cancel_subscription(subscription.provider_ref, at_period_end=False)
        details = {"order": order.number, "reason": "refunded"}
        await audit.record(session, at=portal.now(), customer_id=subscription.customer_id, actor=actor,
                           action="subscription_canceled", product=subscription.product.slug, **details)
        events.publish(session, events.SubscriptionChanged(
            customer_id=subscription.customer_id, subscription_id=subscription.id, change="canceled"))
        await sync_access(session, portal, subscription)
        ended.append(subscription)
    return ended


async def end_refunded_access(portal: Portal, payments: PaymentProvider, refund_id: int) -> bool:
    """What a refund that ends access takes away: the order's products, keys and seats, and the
    subscription whose current period it paid for. True when anything was still there to end
    (again: nothing, so the refund's event may be delivered twice)."""
    async with portal.db.unit_of_work() as session:
        refund = await session.get(Refund, refund_id)
        order = await session.get(Order, refund.order_id) if refund is not None else None
        if refund is None or order is None:
            return False
        ended = bool(await end_order_access(session, portal, order))
        ended = bool(await end_paid_by(session, portal, payments, order, actor=refund.actor)) or ended
        if ended and refund.access_ended_at is None:
            refund.access_ended_at = portal.now()
        return ended
