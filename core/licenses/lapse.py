"""Keys bought with a subscription work while it gives access: they expire when it ends (or
pauses without access) and work again when it is back, the team members' keys with the owner's.
The license API then reports them "expired", as Lemon Squeezy does for an ended subscription."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.kernel.portal import Portal
from core.licenses.status import expires_at
from core.models import License, Order, OrderItem, Product


async def follow_access(session: AsyncSession, portal: Portal, order_item_ids: Collection[int], *,
                        active: bool) -> int:
    """Make the keys of these order items work (`active`) or expire now; returns how many changed."""
    if not order_item_ids:
        return 0
    now, changed = portal.now(), 0
    for key, product, placed_at in await session.execute(
            select(License, Product, Order.placed_at)
            .join(Product, License.product_id == Product.id)
            .join(OrderItem, License.order_item_id == OrderItem.id)
            .join(Order, OrderItem.order_id == Order.id)
            .where(License.order_item_id.in_(order_item_ids), License.revoked_at.is_(None))):
        # Back: the key's own lifetime from the purchase again (None: no end of its own).
        wanted = expires_at(product, placed_at) if active else now
        if active and key.expires_at is not None and key.expires_at > now:
            continue  # already working
        if not active and key.expires_at is not None and key.expires_at <= now:
            continue  # already expired
        if key.expires_at != wanted:
            key.expires_at, changed = wanted, changed + 1
    return changed
