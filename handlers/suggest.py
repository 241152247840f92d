"""Suggestions for chat autocomplete, drawn only from the caller's own data."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.billing import queries
from core.kernel import formatting
from core.kernel.portal import Portal
from core.models import Customer, Document, Order, Refund
from core.models.billing import CREDIT_NOTE, INVOICE
from core.orders.ownership import owned_products
from core.payments.methods import methods_of
from core.subscriptions.lifecycle import cancellation_reasons
from core.subscriptions.queries import subscriptions_of, switchable
from handlers.context import Caller

MAX_SUGGESTIONS = 25  # Discord's limit, and plenty for anyone typing


async def suggest(portal: Portal, caller: Caller, source: str, typed: str) -> list[tuple[str, str]]:
    """(label, value) pairs for the field's source ("products", "invoices", "months", "cards",
    "subscriptions", "plans", "cancel_reasons", "refunds": the orders with refunds)."""
    if caller.customer_id is None:
        return []
    typed = typed.strip().lower()
    async with portal.db.unit_of_work() as session:
        customer = await session.get(Customer, caller.customer_id)
        if customer is None:
            return []
        if source == "products":
            options = [(f"{p.number}. {p.product.name}", str(p.number))
                       for p in await owned_products(session, customer.id)]
        elif source == "invoices":
            numbers = await session.scalars(select(Document.number).where(
                Document.customer_id == customer.id, Document.kind.in_((INVOICE, CREDIT_NOTE)))
                .order_by(Document.issued_at.desc()))
            options = [(number, number) for number in numbers]
            options += [(month, month) for month in await _months(session, customer)]
        elif source == "refunds":
            refunded = await session.scalars(select(Order).where(
                Order.customer_id == customer.id,
                Order.id.in_(select(Refund.order_id).where(Refund.customer_id == customer.id)))
                .order_by(Order.placed_at.desc()))
            options = [(order.number, order.number) for order in refunded]
        elif source == "months":
            options = [(month, month) for month in await _months(session, customer)]
        elif source == "subscriptions":
            options = [(f"{number}. {s.product.name}", s.product.slug) for number, s in
                       enumerate(await subscriptions_of(session, customer.id), start=1)]
        elif source == "plans":
            options = [(f"{s.product.name}: {choice.plan.name}", choice.plan.slug)
                       for s in await subscriptions_of(session, customer.id)
                       for choice in switchable(portal, s) if choice.allowed]
        elif source == "cancel_reasons":
            live = await subscriptions_of(session, customer.id, with_ended=False)
            reasons = [r for s in live for r in cancellation_reasons(portal, s)]
            options = [(reason, reason) for reason in dict.fromkeys(reasons)]
        elif source == "cards":
            options = [(f"{item.number}. {item.method.label}" + (" (default)" if item.is_default else ""),
                        str(item.number)) for item in await methods_of(session, customer.id)]
        else:
            return []
    return [(label, value) for label, value in options if typed in label.lower()][:MAX_SUGGESTIONS]


async def _months(session: AsyncSession, customer: Customer) -> list[str]:
    months = await queries.months_with_documents(session, customer.id, INVOICE, customer.timezone)
    # English names: the period parser reads them whatever the customer's language.
    return [formatting.month_year(month, "en_US") for month in months]
