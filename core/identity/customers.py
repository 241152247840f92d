"""Customers: found and created by email address, the only identity the portal knows."""

from __future__ import annotations

from email.errors import HeaderParseError
from email.headerregistry import Address

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.kernel.errors import InvalidInput
from core.models import Customer


def normalize_email(raw: str) -> str:
    """Lower-cased, validated address; raises InvalidInput with a message for the customer."""
    text = raw.strip().strip("<>").strip()
    try:
        address = Address(addr_spec=text)
    except (HeaderParseError, ValueError, IndexError):
        address = None
    if address is None or not address.username or "." not in address.domain or " " in text:
        raise InvalidInput(f"{raw.strip()!r} doesn't look like an email address.")
    return f"{address.username}@{address.domain}".lower()


async def by_email(session: AsyncSession, email: str) -> Customer | None:
    return await session.scalar(select(Customer).where(Customer.email == email.lower()))


async def get_or_create(session: AsyncSession, email: str, name: str | None = None
                        ) -> tuple[Customer, bool]:
    email = normalize_email(email)
    customer = await by_email(session, email)
    if customer is not None:
        if name and not customer.name:
            customer.name = name
        return customer, False
    customer = Customer(email=email, name=name)
    session.add(customer)
    await session.flush()
    return customer, True
