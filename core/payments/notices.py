"""The email that confirms a change of payment method: a card added (on the provider's page),
made the default, or removed. Queued in the change's own transaction, so it goes out once for
each change, and to the account's address only; it also tells the owner of the address when
someone else made the change."""

from __future__ import annotations

from html import escape

from sqlalchemy.ext.asyncio import AsyncSession

from core.kernel.portal import Portal
from core.mail import composing, outbox
from core.models import Customer

KIND = "payment"


async def queue_method_notice(session: AsyncSession, portal: Portal, customer_id: int, what: str) -> None:
    """Mail the customer `what` changed ("Your Visa ending in 4242 was removed.")."""
    customer = await session.get(Customer, customer_id)
    if customer is None:
        return
    store = portal.settings.store_name
    contact = portal.settings.store.contact_email or portal.settings.portal_address
    paragraphs = [
        f"Hi {customer.name}," if customer.name else "Hi,",
        what,
        "Send \"payment\" to see your cards and to add or change one. Card numbers are only ever "
        "typed on the payment provider's page: never send one by email or chat.",
        f"If you did not make this change, write to {contact} at once.",
    ]
    html = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    message = composing.new_message(
        portal, to=customer.email, subject=f"Your payment method at {store} changed",
        text="\n\n".join(paragraphs) + "\n",
        html=f'<html><body style="font-family:sans-serif;line-height:1.5">{html}</body></html>')
    await outbox.queue(session, portal, message, kind=KIND)
