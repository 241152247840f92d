"""What follows every change of a subscription, wherever it came from (a customer's confirmed
change, the renewals worker): the audit entry, the domain events (access follows through
AccessChanged), the confirmation email, and the store's notice for what the store bills."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import audit
from core.kernel import events
from core.kernel.portal import Portal
from core.mail import notifications
from core.models import Customer, Subscription
from core.subscriptions import merchant
from core.subscriptions.access import sync_access


async def announce(session: AsyncSession, portal: Portal, subscription: Subscription, *,
                   change: str, actor: str, subject: str, paragraphs: list[str],
                   details: dict[str, Any] | None = None, tell_store: bool = True) -> None:
    """Record `change` (plan_changed, plan_change_scheduled, paused, canceled, renewed, ...)."""
    customer = await session.get(Customer, subscription.customer_id)
    assert customer is not None
    details = details or {}
    await audit.record(session, at=portal.now(),
                       customer_id=customer.id, actor=actor, action=f"subscription_{change}",
                       product=subscription.product.slug, **details)
    events.publish(session, events.SubscriptionChanged(customer_id=customer.id,
                                                       subscription_id=subscription.id, change=change))
    await sync_access(session, portal, subscription)
    greeting = f"Hi {customer.name}," if customer.name else "Hi,"
    await notifications.queue_notice(session, portal, customer.email, subject, paragraphs,
                                     greeting=greeting)
    if tell_store and merchant.billed_by_store(subscription):
        await merchant.tell_store(session, portal, subscription, customer,
                                  f"subscription.{change}", details, paragraphs[0])
