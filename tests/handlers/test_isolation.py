"""A customer can never reach another customer's products, orders or keys."""

from __future__ import annotations

from core.portal import Portal
from handlers.dispatcher import Dispatcher
from tests.helpers import caller_for


async def test_bob_cannot_reach_alices_things(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com")
    bob = await caller_for(demo_portal, "bob@example.com")
    alice_orders = await dispatcher.handle_line(alice, "orders")
    alice_numbers = {row[0] for row in alice_orders.tables[1].rows if row[0]}
    bob_orders = await dispatcher.handle_line(bob, "orders")
    assert alice_numbers.isdisjoint({row[0] for row in bob_orders.tables[1].rows})

    for ref in ("2", "3", "pixel-studio", "Pixel Studio Pro", "membership"):
        for command in ("product", "reveal"):
            reply = await dispatcher.handle_line(bob, f"{command} {ref}")
            assert not reply.ok, (command, ref)
            assert "Pixel" not in "".join(t for table in reply.tables for row in table.rows for t in row)
            assert not reply.links
    mine = await dispatcher.handle_line(bob, "product 1")
    assert mine.ok and mine.title == "The Indie Maker's Handbook"
