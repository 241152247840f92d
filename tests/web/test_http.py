"""The HTTP front door: the purchases webhook, download links and health, over real HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, update

from bot.web import create_app
from core.kernel.events import AccessChanged, PurchaseRecorded
from core.kernel.portal import Portal
from core.models import Customer, Download, Entitlement, License, Order, OutboundMail
from handlers.dispatcher import Dispatcher
from tests.conftest import WEBHOOK_SECRET, Clock
from tests.helpers import caller_for, published, sent_mail, text_of


@pytest.fixture
async def client(demo_portal: Portal) -> AsyncIterator[TestClient[Any, Any]]:
    app = create_app(demo_portal)
    async with TestClient(TestServer(app)) as client:
        yield client


def signed(body: dict[str, Any] | bytes) -> tuple[bytes, dict[str, str]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    signature = hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"X-Shopkeep-Signature": f"sha256={signature}", "Content-Type": "application/json"}


PURCHASE = {"email": "Carol@Example.com", "name": "Carol", "external_id": "ord_1001",
            "items": [{"product": "pixel-studio", "quantity": 2}]}


async def test_purchase_gives_access_at_once(client: TestClient[Any, Any], demo_portal: Portal) -> None:
    raw, headers = signed(PURCHASE)
    response = await client.post("/api/purchases", data=raw, headers=headers)
    assert response.status == 201
    order = await response.json()
    assert order["total"] == 29800 and order["currency"] == "USD"

    replay = await client.post("/api/purchases", data=raw, headers=headers)
    assert replay.status == 200 and (await replay.json())["order"] == order["order"]
    carol = await caller_for(demo_portal, "carol@example.com")
    announced = [e for e in await published(demo_portal) if isinstance(e, PurchaseRecorded | AccessChanged)
                 and e.customer_id == carol.customer_id]
    assert [type(e) for e in announced] == [PurchaseRecorded, AccessChanged], \
        "the new purchase is announced, its replay is not"
    async with demo_portal.db.unit_of_work() as session:
        licenses = list(await session.scalars(select(License).where(License.customer_id == carol.customer_id)))
    assert [lic.seat_limit for lic in licenses] == [6]
    reply = await Dispatcher(demo_portal).handle_line(carol, "orders")
    assert [row[1] for row in reply.tables[0].rows] == ["Pixel Studio Pro"]
    invites = await sent_mail(demo_portal, to="carol@example.com", kind="invite")
    assert len(invites) == 1 and "portal@shop.test" in text_of(invites[0])


async def test_purchase_creates_the_customer_with_access_and_one_invite(client: TestClient[Any, Any],
                                                                        demo_portal: Portal) -> None:
    raw, headers = signed({**PURCHASE, "external_id": "ord_2002", "items": [{"product": "ebook"}]})
    assert (await client.post("/api/purchases", data=raw, headers=headers)).status == 201
    assert (await client.post("/api/purchases", data=raw, headers=headers)).status == 200
    async with demo_portal.db.unit_of_work() as session:
        carol = await session.scalar(select(Customer).where(Customer.email == "carol@example.com"))
        assert carol is not None and carol.name == "Carol"
        orders = list(await session.scalars(select(Order).where(Order.customer_id == carol.id)))
        entitlements = list(await session.scalars(select(Entitlement).where(Entitlement.customer_id == carol.id)))
        invites = await session.scalar(select(func.count()).select_from(OutboundMail)
                                       .where(OutboundMail.recipient == "carol@example.com"))
    assert len(orders) == 1 and orders[0].external_id == "ord_2002"
    assert [e.status for e in entitlements] == ["active"]
    assert invites == 1, "a replay sends no second invite"


async def test_the_same_purchase_arriving_at_once_makes_one_order(client: TestClient[Any, Any],
                                                                 demo_portal: Portal) -> None:
    raw, headers = signed({**PURCHASE, "external_id": "ord_race"})
    answers = await asyncio.gather(*[client.post("/api/purchases", data=raw, headers=headers)
                                     for _ in range(4)])
    assert sorted(a.status for a in answers) == [200, 200, 200, 201]
    assert len({(await a.json())["order"] for a in answers}) == 1
    customer_id = (await answers[0].json())["customer_id"]
    purchases = [e for e in await published(demo_portal)
                 if isinstance(e, PurchaseRecorded) and e.customer_id == customer_id]
    assert len(purchases) == 1, "the attempts that lost the race announced nothing"


async def test_two_purchases_of_a_new_customer_at_once_both_succeed(client: TestClient[Any, Any],
                                                                    demo_portal: Portal) -> None:
    bodies = [signed({**PURCHASE, "email": "dave@example.com", "external_id": f"ord_d{n}"})
              for n in range(3)]
    answers = await asyncio.gather(*[client.post("/api/purchases", data=raw, headers=headers)
                                     for raw, headers in bodies])
    assert [a.status for a in answers] == [201, 201, 201]
    assert len({(await a.json())["customer_id"] for a in answers}) == 1


@pytest.mark.parametrize(("body", "field"), [
    ({**PURCHASE, "items": [{"product": "pixel-studio", "quantity": 0}]}, "items.0.quantity"),
    ({**PURCHASE, "items": [{"product": "ebook", "plan": "nope"}]}, "items"),
    ({**PURCHASE, "currency": "usd"}, "currency"),
    ({**PURCHASE, "surprise": 1}, "surprise"),
    ({key: value for key, value in PURCHASE.items() if key != "email"}, "email"),
    ({**PURCHASE, "email": "not-an-address"}, "email"),
    ({**PURCHASE, "items": []}, "items"),
    ({**PURCHASE, "items": [{"product": "nope"}]}, "items"),
    ({**PURCHASE, "time": "2026-03-01T10:00:00"}, "time"),
    ({**PURCHASE, "external_id": ""}, "external_id"),
])
async def test_bad_bodies_name_the_field(client: TestClient[Any, Any], body: dict[str, Any], field: str) -> None:
    raw, headers = signed(body)
    response = await client.post("/api/purchases", data=raw, headers=headers)
    assert response.status == 422
    problem = await response.json()
    assert problem["error"].startswith(field) and problem["field"].startswith(field)


async def test_bad_signature_and_bad_json(client: TestClient[Any, Any], demo_portal: Portal) -> None:
    raw, headers = signed(PURCHASE)
    assert (await client.post("/api/purchases", data=raw)).status == 401
    tampered = raw.replace(b"Carol", b"Mallory")
    assert (await client.post("/api/purchases", data=tampered, headers=headers)).status == 401
    bare = {**headers, "X-Shopkeep-Signature": headers["X-Shopkeep-Signature"].removeprefix("sha256=")}
    assert (await client.post("/api/purchases", data=raw, headers=bare)).status == 401
    other_key = hmac.new(b"another secret", raw, hashlib.sha256).hexdigest()
    forged = {**headers, "X-Shopkeep-Signature": f"sha256={other_key}"}
    assert (await client.post("/api/purchases", data=raw, headers=forged)).status == 401
    # A header with non-ASCII bytes is just a wrong signature, not a server error.
    odd = {**headers, "X-Shopkeep-Signature": "sha256=\u00e9".encode().decode("latin-1")}
    assert (await client.post("/api/purchases", data=raw, headers=odd)).status == 401
    async with demo_portal.db.unit_of_work() as session:
        assert await session.scalar(select(Customer).where(Customer.email == "carol@example.com")) is None

    for body in (b"{not json", b'{"email": "\xe9"}'):
        raw, headers = signed(body)
        response = await client.post("/api/purchases", data=raw, headers=headers)
        assert response.status == 422 and "not JSON" in (await response.json())["error"]


async def ebook_link(portal: Portal, email: str = "alice@example.com") -> str:
    reply = await Dispatcher(portal).handle_line(await caller_for(portal, email), "product ebook")
    url = next(link.url for link in reply.links if "/d/" in link.url)
    return url.removeprefix("http://portal.test")


async def test_download_get_head_and_range(client: TestClient[Any, Any], demo_portal: Portal) -> None:
    path = await ebook_link(demo_portal)
    whole = await client.get(path)
    body = await whole.read()
    assert whole.status == 200 and body.startswith(b"%PDF")
    assert whole.headers["Content-Type"] == "application/pdf"
    assert 'filename="indie-makers-handbook.pdf"' in whole.headers["Content-Disposition"]

    head = await client.head(path)
    assert head.status == 200 and int(head.headers["Content-Length"]) == len(body)
    assert await head.read() == b""

    part = await client.get(path, headers={"Range": "bytes=100-199"})
    assert part.status == 206 and await part.read() == body[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(body)}"
    tail = await client.get(path, headers={"Range": "bytes=-10"})
    assert tail.status == 206 and await tail.read() == body[-10:]
    async with demo_portal.db.unit_of_work() as session:
        assert await session.scalar(select(func.count()).select_from(Download)) == 3  # GETs, not HEAD


async def test_expired_tampered_and_revoked_links(client: TestClient[Any, Any], demo_portal: Portal,
                                                  clock: Clock) -> None:
    path = await ebook_link(demo_portal)
    customer, deliverable, expiry, signature = path.removeprefix("/d/").split(".")
    other_signature = ("a" if signature[0] != "a" else "b") + signature[1:]
    for forged in (f"{int(customer) + 1}.{deliverable}.{expiry}.{signature}",
                   f"{customer}.{deliverable}.{expiry}.{other_signature}",
                   f"{customer}.{deliverable}.{int(expiry) + 3600}.{signature}",
                   f"{customer}.{deliverable}.{expiry}.{signature[:-1]}\u00e9", "garbage"):
        response = await client.get(f"/d/{forged}")
        assert response.status == 403 and "Traceback" not in await response.text()

    clock.advance(hours=1, seconds=1)
    expired = await client.get(path)
    assert expired.status == 410 and "expired" in await expired.text()

    fresh = await ebook_link(demo_portal, "bob@example.com")
    bob = await caller_for(demo_portal, "bob@example.com")
    async with demo_portal.db.unit_of_work() as session:
        await session.execute(update(Entitlement).where(Entitlement.customer_id == bob.customer_id)
                              .values(status="revoked"))
    assert (await client.get(fresh)).status == 404


async def test_healthz(client: TestClient[Any, Any]) -> None:
    response = await client.get("/healthz")
    health = await response.json()
    assert response.status == 200 and health["database"] == "ok" and health["version"]
