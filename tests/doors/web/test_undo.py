"""The undo link of an account move, over real HTTP: opening it changes nothing, its button gives
the account back once; late, changed or spent links, and an old address someone else bought with
since, get a page saying so."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.web import create_app
from core.identity.customers import by_email
from core.kernel.portal import Portal
from core.orders.purchases import PurchaseItem, PurchaseRequest, record_purchase
from handlers.dispatcher import Dispatcher
from tests.conftest import Clock
from tests.core.identity.test_transfer import mailed_code
from tests.helpers import caller_for, sent_mail, text_of

NEW = "alice@new.example"


@pytest.fixture
async def client(demo_portal: Portal) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(demo_portal))) as client:
        yield client


async def moved(portal: Portal) -> str:
    """Move alice to NEW; returns the undo link's path from the notice her old address got."""
    dispatcher = Dispatcher(portal)
    alice = await caller_for(portal, "alice@example.com")
    await dispatcher.handle_line(alice, f"transfer {NEW}")
    assert (await dispatcher.handle_line(alice, f"confirm {await mailed_code(portal, NEW)}")).ok
    [notice] = await sent_mail(portal, to="alice@example.com", kind="notice")
    found = re.search(r"http://portal\.test(/account/undo/\S+)", text_of(notice))
    assert found
    return found.group(1)


async def address_of_the_account(portal: Portal) -> str:
    async with portal.db.unit_of_work() as session:
        return "alice@example.com" if await by_email(session, "alice@example.com") else NEW


async def test_opening_the_link_changes_nothing_and_its_button_undoes_once(
        client: TestClient[Any, Any], demo_portal: Portal) -> None:
    path = await moved(demo_portal)
    for method in ("GET", "HEAD"):
        opened = await client.request(method, path)
        assert opened.status == 200
    page = await (await client.get(path)).text()
    assert f"was moved from alice@example.com to {NEW}" in page
    assert "<form method=post>" in page and "Give the account back to alice@example.com" in page
    assert await address_of_the_account(demo_portal) == NEW, "a mail scanner opening it undoes nothing"

    undone = await client.post(path)
    assert undone.status == 200 and "Your account is alice@example.com again" in await undone.text()
    assert await address_of_the_account(demo_portal) == "alice@example.com"
    again = await client.post(path)
    assert again.status == 409 and "already undone" in await again.text()
    [told] = await sent_mail(demo_portal, to=NEW, kind="notice")
    assert "went back to alice@example.com" in text_of(told)


async def test_changed_and_late_links_are_refused(client: TestClient[Any, Any], demo_portal: Portal,
                                                  clock: Clock) -> None:
    path = await moved(demo_portal)
    changed = path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb")
    for wrong in (changed, "/account/undo/nonsense", "/account/undo/1.2.3"):
        response = await client.post(wrong)
        assert response.status == 403 and "This link is not valid" in await response.text(), wrong
    clock.advance(days=7, seconds=1)
    late = await client.post(path)
    assert late.status == 410 and "An undo link works for 7 days" in await late.text()
    assert await address_of_the_account(demo_portal) == NEW


async def test_no_undo_once_the_old_address_is_someone_elses(client: TestClient[Any, Any],
                                                             demo_portal: Portal) -> None:
    path = await moved(demo_portal)
    async with demo_portal.db.unit_of_work() as session:
        await record_purchase(session, demo_portal, PurchaseRequest(
            email="alice@example.com", external_id="new-buyer", items=[PurchaseItem(product="ebook")]))
    for method in ("GET", "POST"):
        refused = await client.request(method, path)
        assert refused.status == 409
        assert "has become another customer&#x27;s address since" in await refused.text()
    async with demo_portal.db.unit_of_work() as session:
        account = await by_email(session, NEW)
    assert account is not None, "the moved account stays where it is"
