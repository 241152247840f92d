"""orders and product, as the demo customers see them, and never each other's."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select

from core.kernel.portal import Portal
from core.models import Customer, Subscription
from handlers.dispatcher import Dispatcher
from tests.helpers import caller_for


async def test_orders_lists_everything_alice_owns(demo_portal: Portal) -> None:
    alice = await caller_for(demo_portal, "alice@example.com")
    reply = await Dispatcher(demo_portal).handle_line(alice, "orders")
    assert reply.ok
    products, orders = reply.tables
    names = [row[1] for row in products.rows]
    assert names == ["Maker Pro Membership", "The Indie Maker's Handbook", "Pixel Studio Pro",
                     "Founders Circle", "Tileset Forge Teams"]
    assert any(row[5] == "$149.00" for row in orders.rows)


async def test_orders_come_ten_to_a_page_newest_first(demo_portal: Portal) -> None:
    alice = await caller_for(demo_portal, "alice@example.com")
    dispatcher = Dispatcher(demo_portal)
    first = await dispatcher.handle_line(alice, "orders")
    numbers = [row[0] for row in first.tables[1].rows if row[0]]
    # The demo records its history in the order it happened: the newest is the March renewal.
    assert len(numbers) == 10 and numbers[0] == "SK-00018", "the newest first"
    assert first.choices[-1].command == "orders page 2"

    second = await dispatcher.handle_line(alice, first.choices[-1].command)
    older = [row[0] for row in second.tables[0].rows if row[0]]
    assert second.title == "Your orders, page 2" and len(second.tables) == 1
    assert older and set(older).isdisjoint(numbers) and "SK-00001" in older
    assert not any(choice.command.startswith("orders page") for choice in second.choices)
    assert (await dispatcher.handle_line(alice, "orders 2")).tables == second.tables

    beyond = await dispatcher.handle_line(alice, "orders page 9")
    assert not beyond.ok and "no page 9" in beyond.plain_text()
    wrong = await dispatcher.handle_line(alice, "orders page two")
    assert not wrong.ok and 'like "orders page 2"' in wrong.plain_text()


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
    assert "Download links work for 60 minutes" in by_number.plain_text()


async def test_the_download_note_appears_only_where_there_are_downloads(demo_portal: Portal) -> None:
    alice = await caller_for(demo_portal, "alice@example.com")
    membership = await Dispatcher(demo_portal).handle_line(alice, "product 1")  # links, no files
    assert membership.ok and membership.links and "Download links work" not in membership.plain_text()


async def test_a_subscription_reads_the_same_in_orders_product_and_overview(demo_portal: Portal) -> None:
    alice = await caller_for(demo_portal, "alice@example.com")
    async with demo_portal.db.unit_of_work() as session:
        [membership] = await session.scalars(select(Subscription).where(
            Subscription.customer_id == alice.customer_id))
        membership.cancel_at_period_end = True
        customer = await session.get(Customer, alice.customer_id)
        assert customer is not None
        customer.locale, customer.timezone = "de_DE", "Europe/Berlin"
    dispatcher = Dispatcher(demo_portal)

    orders = await dispatcher.handle_line(alice, "orders")
    product = await dispatcher.handle_line(alice, "product 1")
    overview = await dispatcher.handle_line(alice, "overview")

    said = "Pro monthly, ends 13.04.2026"
    assert orders.tables[0].rows[0][1:3] == ["Maker Pro Membership", said]
    assert [f.value for f in product.fields if f.name == "Status"] == [said]
    assert overview.tables[0].rows[0][1:3] == ["Maker Pro Membership", said]
    [subscriptions] = [t for t in overview.tables if t.title == "Subscriptions"]
    assert subscriptions.rows == [["Maker Pro Membership", "Pro monthly", "ends 13.04.2026"]]


async def test_link_expiry_is_shown_in_the_customers_time_zone(demo_portal: Portal) -> None:
    alice = await caller_for(demo_portal, "alice@example.com")
    async with demo_portal.db.unit_of_work() as session:
        customer = await session.get(Customer, alice.customer_id)
        assert customer is not None
        customer.timezone = "Asia/Tokyo"
    reply = await Dispatcher(demo_portal).handle_line(alice, "product ebook")
    [link] = [item for item in reply.links if item.expires_at]
    local = link.expires_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f"valid until {local:%Y-%m-%d %H:%M} JST" in reply.plain_text()
