"""The purchases webhook for subscriptions: `billed_by` on a purchase, and the store's signed
renewal event moving the period of a subscription it bills."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.web import create_app
from core.kernel.portal import Portal
from core.models import Customer, Document, Subscription
from tests.doors.web.test_http import signed


@pytest.fixture
async def client(demo_portal: Portal) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(demo_portal))) as client:
        yield client


async def subscription(portal: Portal, email: str, product_id: int | None = None) -> Subscription:
    async with portal.db.unit_of_work() as session:
        customer = await session.scalar(select(Customer).where(Customer.email == email))
        assert customer is not None
        found = await session.scalar(select(Subscription).where(Subscription.customer_id == customer.id)
                                     .order_by(Subscription.id.desc()).limit(1))
    assert found is not None
    return found


async def test_a_purchase_says_who_bills_the_subscription(client: TestClient[Any, Any],
                                                          demo_portal: Portal) -> None:
    for email, billed_by in (("carol@example.com", "shopkeep"), ("dave@example.com", None)):
        body: dict[str, Any] = {"email": email, "external_id": f"ord-{email}",
                                "items": [{"product": "maker-pro", "plan": "basic"}]}
        if billed_by:
            body["billed_by"] = billed_by
        raw, headers = signed(body)
        assert (await client.post("/api/purchases", data=raw, headers=headers)).status == 201
    carol, dave = (await subscription(demo_portal, "carol@example.com"),
                   await subscription(demo_portal, "dave@example.com"))
    assert (carol.billed_by, carol.provider) == ("shopkeep", "testmode")
    assert (dave.billed_by, dave.provider) == ("merchant", "external")

    raw, headers = signed({"email": "carol@example.com", "external_id": "ord-again",
                           "items": [{"product": "maker-pro"}]})
    again = await client.post("/api/purchases", data=raw, headers=headers)
    assert again.status == 409 and "already has a live Maker Pro Membership" in (await again.json())["error"]
    raw, headers = signed({"email": "erin@example.com", "external_id": "ord-erin", "billed_by": "nobody",
                           "items": [{"product": "maker-pro"}]})
    wrong = await client.post("/api/purchases", data=raw, headers=headers)
    assert wrong.status == 422 and (await wrong.json())["field"] == "billed_by"


async def test_the_stores_renewal_event_moves_the_period_once(client: TestClient[Any, Any],
                                                              demo_portal: Portal) -> None:
    raw, headers = signed({"email": "dave@example.com", "external_id": "ord-dave",
                           "items": [{"product": "maker-pro", "plan": "monthly"}]})
    assert (await client.post("/api/purchases", data=raw, headers=headers)).status == 201
    before = await subscription(demo_portal, "dave@example.com")
    renewal = {"event": "renewal", "email": "dave@example.com", "product": "maker-pro",
               "external_id": "ren-dave-1", "amount": 1200}

    raw, headers = signed(renewal)
    first = await client.post("/api/purchases", data=raw, headers=headers)
    replay = await client.post("/api/purchases", data=raw, headers=headers)

    assert (first.status, replay.status) == (201, 200)
    after = await subscription(demo_portal, "dave@example.com")
    assert after.current_period_start == before.current_period_end
    assert after.current_period_end > before.current_period_end
    async with demo_portal.db.unit_of_work() as session:
        invoices = list(await session.scalars(select(Document.total).where(
            Document.customer_id == after.customer_id, Document.kind == "invoice")))
    assert invoices == [1200, 1200], "the purchase's invoice and the renewal's, once"

    raw, headers = signed({**renewal, "email": "alice@example.com", "external_id": "ren-alice"})
    billed_here = await client.post("/api/purchases", data=raw, headers=headers)
    assert billed_here.status == 409 and "shopkeep bills this subscription itself" in (
        await billed_here.json())["error"]
    raw, headers = signed({**renewal, "product": "ebook", "external_id": "ren-x"})
    assert (await client.post("/api/purchases", data=raw, headers=headers)).status == 422
