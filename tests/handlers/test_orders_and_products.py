"""orders and product, as the demo customers see them, and never each other's."""

from __future__ import annotations

from core.customers import by_email
from core.portal import Portal
from handlers.context import Caller
from handlers.dispatcher import Dispatcher


async def caller_for(portal: Portal, email: str) -> Caller:
    async with portal.db.unit_of_work() as session:
        customer = await by_email(session, email)
    assert customer is not None
    return Caller(platform="console", account_id=f"test:{email}", customer_id=customer.id)


async def test_orders_lists_everything_alice_owns(demo_portal: Portal) -> None:
    alice = await caller_for(demo_portal, "alice@example.com")
    reply = await Dispatcher(demo_portal).handle_line(alice, "orders")
    assert reply.ok
    products, orders = reply.tables
    names = [row[1] for row in products.rows]
    assert names == ["Maker Pro Membership", "The Indie Maker's Handbook", "Pixel Studio Pro",
                     "Founders Circle"]
    assert any(row[5] == "$149.00" for row in orders.rows)


async def test_product_by_number_and_name_gives_signed_links_and_masked_keys(demo_portal: Portal) -> None:
    alice = await caller_for(demo_portal, "alice@example.com")
    dispatcher = Dispatcher(demo_portal)
    by_number = await dispatcher.handle_line(alice, "product 3")
    by_name = await dispatcher.handle_line(alice, "product pixel studio")
    assert by_number.title == by_name.title == "Pixel Studio Pro"
    key = by_number.tables[0].rows[0][0]
    assert "•" in key
    revealed = await dispatcher.handle_line(alice, "reveal 3")
    full = revealed.tables[0].rows[0][0]
    assert "•" not in full and full[:5] == key[:5] and full[-5:] == key[-5:]
    assert any("/d/" in link.url for link in by_number.links)
