"""Ending what an order gave, when its money went back: the buyer's products, the keys of the
purchase (the buyer's own and those of the seats handed out from it) and the seats themselves.
(A subscription the order paid for ends in core/subscriptions/refunding.py.)

Keys stop working at once, as the license API reads their state; chat roles follow through
AccessChanged, published for everyone who lost something. Ending it again finds nothing left to
end and publishes nothing: the refund's event may be delivered twice.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.kernel import events
from core.kernel.portal import Portal
from core.models import Entitlement, License, Order, OrderItem, Seat
from core.models.licenses import CLAIMED, DISABLED, PENDING, UNASSIGNED
from core.models.orders import ACTIVE, ENDED

HELD_SEATS = (PENDING, CLAIMED)


async def end_order_access(session: AsyncSession, portal: Portal, order: Order) -> set[int]:
    """End everything `order` gave; returns the customers who lost access (buyer and members)."""
    now = portal.now()
    items = select(OrderItem.id).where(OrderItem.order_id == order.id)
    losing = set(await session.scalars(select(Entitlement.customer_id).where(
        Entitlement.order_item_id.in_(items), Entitlement.subscription_id.is_(None),
        Entitlement.status == ACTIVE)))
    losing |= set(await session.scalars(select(License.customer_id).where(
        License.order_item_id.in_(items), License.revoked_at.is_(None))))
    seats = list(await session.scalars(select(Seat).where(Seat.order_item_id.in_(items),
                                                          Seat.state.in_(HELD_SEATS))))
    for statement in (
            update(Entitlement).where(Entitlement.order_item_id.in_(items),
                                      Entitlement.subscription_id.is_(None), Entitlement.status == ACTIVE)
            .values(status=ENDED, ends_at=now),
            update(License).where(License.order_item_id.in_(items), License.revoked_at.is_(None))
            .values(status=DISABLED, revoked_at=now),
            update(Seat).where(Seat.order_item_id.in_(items), Seat.state.in_(HELD_SEATS))
            .values(state=UNASSIGNED, unassigned_at=now)):
        await session.execute(statement.execution_options(synchronize_session=False))
    for seat in seats:
        events.publish(session, events.SeatUnassigned(owner_id=seat.owner_id, member_id=seat.member_id,
                                                      product_id=seat.product_id, seat_id=seat.id))
    for customer_id in sorted(losing):
        events.publish(session, events.AccessChanged(customer_id=customer_id))
    return losing
