"""The subscription store of tests/core/payments, and confirming previews as a door would."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from adapters.payments.testmode import TestModeProvider
from core.kernel.portal import Portal
from core.models import Charge, Document, Product, Subscription
from core.payments import methods
from core.subscriptions import quotes
from tests.core.payments.conftest import customer, provider, store, subscribe

__all__ = ["provider", "store", "subscribe"]


async def add_card(portal: Portal, provider: TestModeProvider, email: str, token: str = "pm_card_visa") -> None:
    who = await customer(portal, email)
    async with portal.db.unit_of_work() as session:
        await methods.add_method(session, portal, who.id, provider.name,
                                 await provider.attach_method("cus", token), actor="test")


async def preview(portal: Portal, email: str, make: Any, *args: Any, **kwargs: Any) -> quotes.Preview:
    who = await customer(portal, email)
    async with portal.db.unit_of_work() as session:
        result: quotes.Preview = await make(session, portal, who.id, *args, **kwargs)
    return result


async def confirm(portal: Portal, provider: TestModeProvider, email: str, shown: quotes.Preview
                  ) -> quotes.Applied:
    who = await customer(portal, email)
    async with portal.db.unit_of_work() as session:
        return await quotes.apply(session, portal, provider, who.id, shown.quote_id,
                                  actor="customer via console")


async def subscription_of(portal: Portal, email: str, product: str = "club") -> Subscription:
    who = await customer(portal, email)
    async with portal.db.unit_of_work() as session:
        found = await session.scalar(
            select(Subscription).join(Product, Subscription.product_id == Product.id)
            .where(Subscription.customer_id == who.id, Product.slug == product)
            .options(joinedload(Subscription.plan), joinedload(Subscription.product))
            .order_by(Subscription.id.desc()).limit(1))
    assert found is not None
    return found


async def charges(portal: Portal, email: str | None = None) -> list[tuple[str, int, str, str | None]]:
    """Every charge recorded (of `email` only, when given), oldest first."""
    query = select(Charge).order_by(Charge.id)
    if email:
        query = query.where(Charge.customer_id == (await customer(portal, email)).id)
    async with portal.db.unit_of_work() as session:
        return [(c.purpose, c.amount, c.status, c.failure_code) for c in await session.scalars(query)]


async def invoices(portal: Portal, email: str | None = None) -> list[int]:
    query = select(Document).where(Document.kind == "invoice").order_by(Document.id)
    if email:
        query = query.where(Document.customer_id == (await customer(portal, email)).id)
    async with portal.db.unit_of_work() as session:
        return [d.total for d in await session.scalars(query)]
