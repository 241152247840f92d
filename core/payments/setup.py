"""The link to the payment provider's hosted page, where a customer adds or updates a card:
the only place a card number is ever typed."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Customer
from core.payments.customers import as_provider_customer, provider_customer
from core.payments.provider import PaymentProvider, SetupLink


async def setup_link(session: AsyncSession, provider: PaymentProvider, customer: Customer) -> SetupLink:
    """A fresh single-use link for `customer` (their id at the provider is created on first use)."""
    customer_ref = await provider_customer(session, provider, customer)
    return await provider.setup_link(as_provider_customer(customer), customer_ref)
