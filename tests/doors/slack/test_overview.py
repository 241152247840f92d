"""`overview`, the channel-neutral page the Slack Home tab shows, from any front door."""

from __future__ import annotations

from core.identity.customers import by_email, get_or_create
from core.kernel.portal import Portal
from core.orders.purchases import PurchaseItem, PurchaseRequest, record_purchase
from handlers.commands import overview
from handlers.context import Caller, Context
from handlers.dispatcher import Dispatcher
from handlers.reply import Reply, Table


async def console_caller(portal: Portal, address: str | None) -> Caller:
    if address is None:
        return Caller(platform="console", account_id="test:nobody")
    async with portal.db.unit_of_work() as session:
        customer = await by_email(session, address)
    assert customer is not None
    return Caller(platform="console", account_id=f"test:{address}", customer_id=customer.id)


def table(reply: Reply, title: str) -> Table:
    [found] = [t for t in reply.tables if t.title == title]
    return found


async def test_overview_shows_products_subscriptions_and_licenses(demo_portal: Portal) -> None:
    alice = await console_caller(demo_portal, "alice@example.com")

    reply = await Dispatcher(demo_portal).handle_line(alice, "overview")

    assert reply.ok and reply.paragraphs[0] == "Signed in as alice@example.com."
    assert [row[1] for row in table(reply, "Products").rows] == [
        "Maker Pro Membership", "The Indie Maker's Handbook", "Pixel Studio Pro", "Founders Circle",
        "Tileset Forge Teams"]
    assert table(reply, "Subscriptions").rows == [
        ["Maker Pro Membership", "Pro monthly", "renews Apr 13, 2026"]]
    # Her own key (a team purchase has none for its buyer), with its devices used of its limit.
    [key] = table(reply, "Licenses").rows
    assert key[0] == "Pixel Studio Pro" and "•" in key[1] and key[2:] == ["2/3", "active"]
    # (With billing documents there is an Invoices button as well.)
    assert [c.command for c in reply.choices if c.command != "invoices"] == [
        "orders", "subscriptions", "product 1", "product 2", "product 3", "help"]


async def test_overview_of_a_customer_with_one_ebook_has_no_empty_tables(demo_portal: Portal) -> None:
    # (Bob has a team seat besides his e-book now, so a new customer buys just the e-book.)
    async with demo_portal.db.unit_of_work() as session:
        await record_purchase(session, demo_portal, PurchaseRequest(
            email="erin@example.com", external_id="erin-ebook", items=[PurchaseItem(product="ebook")]))
    erin = await console_caller(demo_portal, "erin@example.com")

    reply = await Dispatcher(demo_portal).handle_line(erin, "dashboard")

    assert [t.title for t in reply.tables if t.title != "Latest invoices"] == ["Products"]


async def test_signed_out_overview_explains_the_way_in(demo_portal: Portal) -> None:
    reply = await Dispatcher(demo_portal).handle_line(await console_caller(demo_portal, None),
                                                      "overview")

    assert reply.ok and reply.title == "Welcome to Test Store"
    assert "`login you@example.com`" in reply.paragraphs[0]


async def test_overview_lists_the_latest_invoices_when_the_store_has_them(demo_portal: Portal) -> None:
    alice = await console_caller(demo_portal, "alice@example.com")

    reply = await Dispatcher(demo_portal).handle_line(alice, "overview")

    latest = table(reply, "Latest invoices")
    assert len(latest.rows) <= 3 and latest.rows
    assert "invoices" in [c.command for c in reply.choices]
    listed = await Dispatcher(demo_portal).handle_line(alice, "invoices")
    assert latest.rows == listed.tables[0].rows[:3], "the newest, as `invoices` shows them"


async def test_a_customer_without_invoices_gets_no_invoice_table_or_button(portal: Portal) -> None:
    async with portal.db.unit_of_work() as session:
        await get_or_create(session, "new@example.com")
    caller = await console_caller(portal, "new@example.com")

    reply = await Dispatcher(portal).handle_line(caller, "overview")

    assert reply.ok and "You don't own anything yet." in reply.paragraphs
    assert reply.tables == []
    assert [c.command for c in reply.choices] == ["orders", "help"]


async def test_the_view_builds_the_overview_without_naming_a_command(demo_portal: Portal) -> None:
    alice = await console_caller(demo_portal, "alice@example.com")
    dispatcher = Dispatcher(demo_portal)

    viewed = await dispatcher.view(alice, overview.build)

    assert viewed == await dispatcher.handle_line(alice, "overview")


async def test_a_view_that_fails_answers_without_a_traceback(demo_portal: Portal) -> None:
    async def broken(ctx: Context) -> Reply:
        raise RuntimeError("the database went away")

    reply = await Dispatcher(demo_portal).view(await console_caller(demo_portal, None), broken)

    assert not reply.ok and "Something went wrong on our side" in reply.plain_text()
    assert "database" not in reply.plain_text()
