"""Ending what an order gave, when its money went back: the buyer's products, the keys of the
purchase (the buyer's own and those of the seats handed out from it), the seats themselves, and
the subscription whose current period the order paid for.

Access follows through AccessChanged (Discord roles), published here for everyone who lost
something; keys stop working at once, as the license API reads their state.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.kernel import events
from core.kernel.portal import Portal
from core.models import Entitlement, License, Order, OrderItem, Seat
from core.models.licenses import DISABLED, UNASSIGNED
from core.models.orders import ACTIVE, ENDED
from core.payments.provider import PaymentProvider
from core.subscriptions.refunding import end_paid_by

HELD_SEATS = ("pending", "claimed")


async def end_order_access(session: AsyncSession, portal: Portal, payments: PaymentProvider | None,
                           order: Order, *, actor: str) -> set[int]:
    """End everything `order` gave; returns the customers who lost access (buyer and members)."""
    now = portal.now()
    items = select(OrderItem.id).where(OrderItem.order_id == order.id)
    losing = set(await session.scalars(select(Entitlement.customer_id).where(
        Entitlement.order_item_id.in_(items), Entitlement.subscription_id.is_(None),
        Entitlement.status == ACTIVE)))
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
    # A subscription's end publishes its own AccessChanged.
    ended = await end_paid_by(session, portal, payments, order, actor=actor)
    for customer_id in sorted(losing):
        events.publish(session, events.AccessChanged(customer_id=customer_id))
    return losing | {subscription.customer_id for subscription in ended}
