"""Who is calling: one lookup from a front door's account to a Caller, for every door.

Discord and Slack accounts are linked to a customer by a stored chat link; an email's verified
sender is the customer with that address; the console signs in per process (or acts for a
customer in the operator's support mode).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core.identity import chat_links
from core.identity.customers import by_email, normalize_email
from core.kernel.errors import InvalidInput
from core.kernel.portal import Portal
from core.models import Customer
from handlers.context import LINKED_PLATFORMS, Caller, DoorAbilities

EMAIL = "email"


async def caller_in(session: AsyncSession, *, platform: str, account_id: str,
                    display_name: str | None = None, abilities: DoorAbilities | None = None) -> Caller:
    """The caller behind `account_id` on `platform`, looked up in an open transaction."""
    customer: Customer | None = None
    if platform in LINKED_PLATFORMS:
        customer = await chat_links.linked_customer(session, platform=platform, account_id=account_id)
    elif platform == EMAIL:
        customer = await by_email(session, account_id)
    return Caller(platform=platform, account_id=customer.email if platform == EMAIL and customer
                  else account_id, customer_id=customer.id if customer else None,
                  display_name=(customer.email if platform == EMAIL and customer else display_name),
                  abilities=abilities or DoorAbilities())


async def caller_for(portal: Portal, *, platform: str, account_id: str,
                     display_name: str | None = None, abilities: DoorAbilities | None = None) -> Caller:
    """The same lookup in a transaction of its own."""
    async with portal.db.unit_of_work() as session:
        return await caller_in(session, platform=platform, account_id=account_id,
                               display_name=display_name, abilities=abilities)


async def operator_as(portal: Portal, email: str, *, platform: str, operator: str) -> Caller:
    """Support mode: the operator acts for the customer with `email`, without a code (audited)."""
    address = normalize_email(email)
    async with portal.db.unit_of_work() as session:
        customer = await by_email(session, address)
    if customer is None:
        raise InvalidInput(f"--as: there is no customer {address}")
    return Caller(platform=platform, account_id=f"operator:{operator}", customer_id=customer.id,
                  display_name=address, operator=True)
