"""Access follows a subscription's state: what its entitlements say, and the event that makes
Discord roles and everything else re-read it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.kernel import events
from core.kernel.portal import Portal
from core.licenses import lapse
from core.models import Entitlement, Subscription
from core.models.orders import ACTIVE, ENDED
from core.models.subscriptions import ACTIVE as SUBSCRIPTION_ACTIVE
from core.models.subscriptions import PAST_DUE, PAUSED, TRIALING
from core.subscriptions.policy import policy_for


def grants_access(portal: Portal, subscription: Subscription) -> bool:
    """Trialing, active and past due (while dunning) subscriptions give access; a paused one
    when the product's policy keeps access while paused; an ended one never."""
    if subscription.status in (TRIALING, SUBSCRIPTION_ACTIVE, PAST_DUE):
        return True
    return subscription.status == PAUSED and policy_for(portal, subscription.product).access_while_paused


async def sync_access(session: AsyncSession, portal: Portal, subscription: Subscription) -> bool:
    """Make the subscription's entitlements and license keys say what its state gives; publishes AccessChanged
    and returns True when that changed anything."""
    wanted = ACTIVE if grants_access(portal, subscription) else ENDED
    changed = False
    items: set[int] = set()
    for entitlement in await session.scalars(select(Entitlement).where(
            Entitlement.subscription_id == subscription.id)):
        if entitlement.order_item_id is not None:
            items.add(entitlement.order_item_id)
        if entitlement.status != wanted:
            entitlement.status = wanted
            entitlement.ends_at = None if wanted == ACTIVE else portal.now()
            changed = True
    # Its license keys (the team members' too) work exactly while it gives access.
    if await lapse.follow_access(session, portal, items, active=wanted == ACTIVE):
        changed = True
    if changed:
        events.publish(session, events.AccessChanged(customer_id=subscription.customer_id))
    return changed
