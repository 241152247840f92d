"""The customer's id at a payment provider: asked for once, then kept."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Customer, PaymentCustomer
from core.payments.provider import PaymentProvider, ProviderCustomer


def as_provider_customer(customer: Customer) -> ProviderCustomer:
    return ProviderCustomer(customer_id=customer.id, email=customer.email, name=customer.name)


async def provider_customer(session: AsyncSession, provider: PaymentProvider, customer: Customer
                            ) -> str:
    """The provider's id for `customer`, created at the provider on first use."""
    known = await session.scalar(select(PaymentCustomer.provider_ref).where(
        PaymentCustomer.customer_id == customer.id, PaymentCustomer.provider == provider.name))
    if known is not None:
        return known
    ref = await provider.ensure_customer(as_provider_customer(customer))
    session.add(PaymentCustomer(customer_id=customer.id, provider=provider.name, provider_ref=ref))
    await session.flush()
    return ref
