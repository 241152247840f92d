"""What the customer is told of a refund, by email, at each state they should hear of: on its
way (the provider took it), refunded (with its credit note and what became of their access),
failed, or called off."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.kernel import formatting
from core.kernel.portal import Portal
from core.mail import notifications
from core.models import Customer, Document, Order, OrderItem, Product, Refund
from core.models.refunds import CANCELED, FAILED, PENDING, STORE, SUCCEEDED

KIND = "refund"  # the outbox's name for these mails


async def _products(session: AsyncSession, order: Order) -> str:
    names = list(await session.scalars(
        select(Product.name).join(OrderItem, OrderItem.product_id == Product.id)
        .where(OrderItem.order_id == order.id).order_by(OrderItem.id)))
    return ", ".join(dict.fromkeys(names))


async def queue(session: AsyncSession, portal: Portal, order: Order, refund: Refund,
                note: Document | None, *, ends_access: bool) -> None:
    customer = await session.get(Customer, refund.customer_id)
    assert customer is not None
    store = portal.settings.store_name
    amount = formatting.money(refund.amount, refund.currency, customer.locale)
    what = f"order {order.number} ({await _products(session, order)})"
    whole = refund.amount == order.total
    subject = {
        PENDING: f"Your refund of {amount} for order {order.number} is on its way",
        SUCCEEDED: f"Refunded: {amount} for order {order.number}",
        FAILED: f"Your refund for order {order.number} could not be made",
        CANCELED: f"Your refund for order {order.number} was called off",
    }[refund.state]
    paragraphs: list[str] = []
    if refund.state == PENDING:
        paragraphs.append(f"We are refunding {amount} of {what} to the way you paid. Your bank may "
                          "take a few days to show it; we will write again once it is through.")
    elif refund.state == SUCCEEDED:
        how = (f"{store} gives it back through the checkout you paid with" if refund.provider == STORE
               else "it goes back to the card you paid with")
        paragraphs.append((f"Everything you paid for {what} was refunded: {amount}" if whole else
                           f"{amount} of what you paid for {what} was refunded") + f"; {how}.")
        if note is not None:
            paragraphs.append(f"Credit note {note.number} corrects invoice {note.snapshot.get('corrects')}: "
                              f"send `invoice {note.number}` for the PDF, or `refunds` to see your refunds.")
        paragraphs.append("Your access to what you bought with it ends now." if ends_access else
                          "You keep your access to what you bought.")
    elif refund.state == FAILED:
        paragraphs.append(f"The refund of {amount} for {what} could not be made, so nothing was refunded. "
                          f"{store} will be in touch; you can also reply to this message.")
    else:
        paragraphs.append(f"The refund of {amount} for {what} was called off, so nothing was refunded. "
                          f"{store} will be in touch; you can also reply to this message.")
    if refund.reason:
        paragraphs.append(f"Reason: {refund.reason}")
    await notifications.queue_notice(session, portal, customer.email, subject, paragraphs,
                                     greeting=f"Hi {customer.name}," if customer.name else "Hi,",
                                     kind=KIND)
