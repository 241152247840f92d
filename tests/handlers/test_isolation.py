"""A customer can never reach another customer's products, orders, keys, links or confirmations."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.accounts import confirmations
from core.kernel.portal import Portal
from core.kernel.security import TokenInvalid
from core.models import Deliverable, License
from core.orders import downloads
from handlers.context import Caller
from handlers.dispatcher import Dispatcher
from handlers.reply import Reply
from tests.helpers import caller_for


def everything_shown(reply: Reply) -> str:
    cells = [cell for table in reply.tables for row in table.rows for cell in row]
    return "\n".join([reply.plain_text(), *cells, *(link.url for link in reply.links)])


async def alice_and_bob(portal: Portal) -> tuple[Caller, Caller]:
    return (await caller_for(portal, "alice@example.com"), await caller_for(portal, "bob@example.com"))


async def test_bob_cannot_reach_alices_products(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice, bob = await alice_and_bob(demo_portal)
    async with demo_portal.db.unit_of_work() as session:
        alice_keys = list(await session.scalars(select(License.key).where(License.customer_id == alice.customer_id)))
    assert alice_keys

    # Alice's numbers 4-5 (Bob has a 1, 2 and 3 of his own: the e-book, the Sprite Club, his team
    # seat), her products' slugs and names, in full and in part.
    for ref in ("4", "5", "#4", "pixel-studio", "Pixel Studio Pro", "pixel", "maker-pro",
                "membership", "founders-circle", "Founders Circle"):
        for verb in ("product", "reveal", "show", "keys"):
            reply = await dispatcher.handle_line(bob, f"{verb} {ref}")
            assert not reply.ok, (verb, ref)
            shown = everything_shown(reply).replace(repr(ref), "")  # the echo of what he typed
            assert "/d/" not in shown and not any(key in shown for key in alice_keys)
            assert not any(name in shown for name in ("Pixel Studio", "Maker Pro", "Founders")), (verb, ref)
    mine = await dispatcher.handle_line(bob, "product 1")
    assert mine.ok and mine.title == "The Indie Maker's Handbook"


async def test_bob_never_sees_alices_orders(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice, bob = await alice_and_bob(demo_portal)
    alice_orders = await dispatcher.handle_line(alice, "orders")
    alice_numbers = {row[0] for row in alice_orders.tables[1].rows if row[0]}
    assert len(alice_numbers) > 5
    bob_orders = everything_shown(await dispatcher.handle_line(bob, "orders"))
    assert not any(number in bob_orders for number in alice_numbers)
    assert "Pixel Studio" not in bob_orders and "Maker Pro" not in bob_orders


async def test_a_download_token_cannot_be_moved_to_another_customer(demo_portal: Portal) -> None:
    alice, bob = await alice_and_bob(demo_portal)
    assert alice.customer_id is not None and bob.customer_id is not None
    async with demo_portal.db.unit_of_work() as session:
        pdf = await session.scalar(select(Deliverable).where(Deliverable.key == "pdf"))
        assert pdf is not None
        token = downloads.link_for(demo_portal, bob.customer_id, pdf).url.rpartition("/d/")[2]
        assert (await downloads.resolve(session, demo_portal, token)).customer_id == bob.customer_id
        fields = token.split(".")
        assert fields[0] == str(bob.customer_id)
        fields[0] = str(alice.customer_id)
        with pytest.raises(TokenInvalid):
            await downloads.resolve(session, demo_portal, ".".join(fields))
        # A link for a file Bob does not own is refused even with a valid signature.
        app = await session.scalar(select(Deliverable).where(Deliverable.key == "app"))
        assert app is not None
        foreign = downloads.link_for(demo_portal, bob.customer_id, app).url.rpartition("/d/")[2]
        with pytest.raises(downloads.NotFound):
            await downloads.resolve(session, demo_portal, foreign)


async def test_bob_cannot_confirm_or_cancel_alices_request(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice, bob = await alice_and_bob(demo_portal)
    assert alice.customer_id is not None
    async with demo_portal.db.unit_of_work() as session:
        action = await confirmations.create(session, demo_portal, customer_id=alice.customer_id,
                                      action="logout", arguments={}, summary="Alice's change")
        code, token = action.code, confirmations.token_for(demo_portal, action)
    for attempt in (f"confirm {code}", f"confirm {token}", f"cancel-request {code}",
                    f"cancel-request {token}"):
        reply = await dispatcher.handle_line(bob, attempt)
        assert not reply.ok and "Alice's change" not in reply.plain_text(), attempt
    async with demo_portal.db.unit_of_work() as session:
        still = await session.get(confirmations.PendingAction, action.id)
        assert still is not None and still.state == confirmations.PENDING
