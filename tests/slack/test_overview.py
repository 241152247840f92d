"""`overview`, the channel-neutral page the Slack Home tab shows, from any front door."""

from __future__ import annotations

import pytest

from core.identity.customers import by_email
from core.kernel.portal import Portal
from handlers.context import Caller, Context
from handlers.dispatcher import Dispatcher
from handlers.registry import REGISTRY, Command, NoArguments
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


async def test_overview_shows_products_subscriptions_and_license_seats(demo_portal: Portal) -> None:
    alice = await console_caller(demo_portal, "alice@example.com")

    reply = await Dispatcher(demo_portal).handle_line(alice, "overview")

    assert reply.ok and reply.paragraphs[0] == "Signed in as alice@example.com."
    assert [row[1] for row in table(reply, "Products").rows] == [
        "Maker Pro Membership", "The Indie Maker's Handbook", "Pixel Studio Pro", "Founders Circle"]
    assert table(reply, "Subscriptions").rows == [
        ["Maker Pro Membership", "Pro monthly", "renews Apr 13, 2026"]]
    [seat] = table(reply, "License seats").rows
    assert seat[0] == "Pixel Studio Pro" and "•" in seat[1] and seat[2:] == ["3", "active"]
    # (With billing documents there is an Invoices button as well.)
    assert [c.command for c in reply.choices if c.command != "invoices"] == [
        "orders", "product 1", "product 2", "product 3", "help"]


async def test_overview_of_a_customer_with_one_ebook_has_no_empty_tables(demo_portal: Portal) -> None:
    bob = await console_caller(demo_portal, "bob@example.com")

    reply = await Dispatcher(demo_portal).handle_line(bob, "dashboard")

    assert [t.title for t in reply.tables if t.title != "Latest invoices"] == ["Products"]


async def test_signed_out_overview_explains_the_way_in(demo_portal: Portal) -> None:
    reply = await Dispatcher(demo_portal).handle_line(await console_caller(demo_portal, None),
                                                      "overview")

    assert reply.ok and reply.title == "Welcome to Test Store"
    assert "`login you@example.com`" in reply.paragraphs[0]


async def test_overview_lists_the_latest_invoices_when_the_store_has_them(
    demo_portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def invoices(ctx: Context, args: NoArguments) -> Reply:
        rows = [[f"INV-2026-{n:04d}", "paid"] for n in range(5, 0, -1)]
        return Reply(tables=[Table(["Number", "Status"], rows)])

    if REGISTRY.get("invoices") is None:
        monkeypatch.setitem(REGISTRY._commands, "invoices", Command(
            name="invoices", summary="Your invoices", run=invoices, arguments=NoArguments))
    alice = await console_caller(demo_portal, "alice@example.com")

    reply = await Dispatcher(demo_portal).handle_line(alice, "overview")

    latest = table(reply, "Latest invoices")
    assert len(latest.rows) <= 3 and latest.rows
    assert "invoices" in [c.command for c in reply.choices]
