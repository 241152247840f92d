"""A product's license policy applied to the keys already handed out, when the catalog changes.

A key's device limit follows the product's (times the quantity bought; a team member's key gets
the product's limit as it is). Lowering it removes no device: the key only takes no new one
until enough are deactivated.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import License, OrderItem, Product, Seat


async def apply_device_limit(session: AsyncSession, product: Product) -> int:
    """Give every key of the product the limit the catalog sets now; returns how many changed."""
    if not product.activation_limit:
        return 0
    rows = await session.execute(
        select(License, OrderItem.quantity, Seat.id)
        .outerjoin(OrderItem, License.order_item_id == OrderItem.id)
        .outerjoin(Seat, Seat.license_id == License.id)
        .where(License.product_id == product.id))
    changed = 0
    for key, quantity, seat_id in rows:
        limit = product.activation_limit * (1 if seat_id is not None else quantity or 1)
        if key.activation_limit != limit:
            key.activation_limit = limit
            changed += 1
    return changed
