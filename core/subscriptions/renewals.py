"""Renewals: one more paid period of a subscription, as an order with its invoice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import audit
from core.billing.issuing import issue_for_order
from core.catalog.plans import next_period_end
from core.kernel.portal import Portal
from core.models import Order, OrderItem, Plan, Subscription
from core.orders.purchases import PurchaseResult, existing_order


async def record_renewal(session: AsyncSession, portal: Portal, subscription: Subscription, *,
                         external_id: str, placed_at: datetime | None = None) -> PurchaseResult:
    """A subscription charge: an order for one more period, with no new access to grant."""
    replay = await existing_order(session, external_id)
    if replay is not None:
        return PurchaseResult(replay, created=False, new_customer=False)
    plan = await session.get(Plan, subscription.plan_id)
    assert plan is not None
    placed_at = placed_at or portal.now()
    order = Order(customer_id=subscription.customer_id, external_id=external_id,
                  currency=plan.currency, total=plan.price, placed_at=placed_at, source="renewal",
                  items=[OrderItem(product_id=subscription.product_id, plan_id=plan.id, quantity=1,
                                   unit_amount=plan.price, amount=plan.price)])
    session.add(order)
    first = await session.get(Order, subscription.order_id) if subscription.order_id else None
    anchor = first.placed_at if first is not None else subscription.current_period_start
    subscription.current_period_start = subscription.current_period_end
    subscription.current_period_end = next_period_end(plan, anchor, subscription.current_period_end)
    await session.flush()
    await issue_for_order(session, portal, order)
    await audit.record(session, customer_id=subscription.customer_id, actor="billing",
                       action="renewal", order=order.number)
    return PurchaseResult(order, created=True, new_customer=False)
