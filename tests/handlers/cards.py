"""Cards on file for the tests of `payment` and the payment page: a subscription shopkeep bills,
cards saved as the test-mode provider saves them, the page's link as `payment` gives it."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from adapters.payments.testmode import TestModeProvider
from bot import bootstrap
from core.identity.customers import by_email
from core.kernel.portal import Portal
from core.models import (
    AuditEvent,
    Charge,
    Customer,
    DomainEvent,
    OutboundMail,
    PaymentMethod,
    Product,
    Subscription,
)
from core.models.subscriptions import SHOPKEEP
from core.payments import methods
from handlers.reply import Reply
from tests.helpers import caller_for


async def customer(portal: Portal, email: str) -> Customer:
    async with portal.db.unit_of_work() as session:
        found = await by_email(session, email)
    assert found is not None, email
    return found


async def billed_by_shopkeep(portal: Portal, email: str = "alice@example.com",
                             product: str = "maker-pro") -> None:
    """The customer's subscription to `product` renews through shopkeep's payment provider."""
    who = await customer(portal, email)
    async with portal.db.unit_of_work() as session:
        product_id = await session.scalar(select(Product.id).where(Product.slug == product))
        changed = await session.execute(update(Subscription).where(
            Subscription.customer_id == who.id, Subscription.product_id == product_id)
            .values(billed_by=SHOPKEEP, provider="testmode"))
    assert changed.rowcount == 1  # type: ignore[attr-defined]


async def forget_cards(portal: Portal, email: str) -> None:
    """The customer as if the demo had saved no card for them: the cards are gone with the mail,
    audit entries and events that told of them; the charges made to them stay, without a card."""
    who = await customer(portal, email)
    async with portal.db.unit_of_work() as session:
        ids = list(await session.scalars(select(PaymentMethod.id).where(PaymentMethod.customer_id == who.id)))
        await session.execute(update(Subscription).where(Subscription.customer_id == who.id)
                              .values(payment_method_id=None))
        await session.execute(update(Charge).where(Charge.customer_id == who.id).values(payment_method_id=None))
        await session.execute(delete(PaymentMethod).where(PaymentMethod.customer_id == who.id))
        await session.execute(delete(OutboundMail).where(OutboundMail.recipient == who.email,
                                                         OutboundMail.kind == "payment"))
        await session.execute(delete(AuditEvent).where(AuditEvent.customer_id == who.id,
                                                       AuditEvent.action.startswith("payment_method")))
        for event in await session.scalars(select(DomainEvent).where(DomainEvent.name == "payment_method_changed")):
            if event.payload.get("payment_method_id") in ids:
                await session.delete(event)


async def add_card(portal: Portal, email: str, token: str = "pm_card_visa") -> PaymentMethod:
    """A card saved as the payment page saves one (by a test token instead of its number)."""
    who = await customer(portal, email)
    provider = TestModeProvider(portal)
    async with portal.db.unit_of_work() as session:
        return await methods.add_method(session, portal, who.id, provider.name,
                                        await provider.attach_method("cus", token), actor="test")


async def cards(portal: Portal, email: str) -> list[tuple[str, bool]]:
    """(last four, default) of the customer's saved cards, as `payment` numbers them."""
    who = await customer(portal, email)
    async with portal.db.unit_of_work() as session:
        return [(item.method.last4, item.is_default) for item in await methods.methods_of(session, who.id)]


async def all_methods(portal: Portal) -> list[PaymentMethod]:
    """Every method ever saved, removed ones too."""
    async with portal.db.unit_of_work() as session:
        return list(await session.scalars(select(PaymentMethod).order_by(PaymentMethod.id)))


async def payment(portal: Portal, email: str, line: str = "payment") -> Reply:
    """`line` as the customer sends it on the console."""
    return await bootstrap.dispatcher(portal).handle_line(await caller_for(portal, email), line)


async def pay_link(portal: Portal, email: str = "alice@example.com") -> str:
    """The path of the payment page's link `payment` gives the customer."""
    reply = await payment(portal, email)
    [link] = [item for item in reply.links if "/pay/" in item.url]
    return link.url.removeprefix(portal.settings.public_url)
