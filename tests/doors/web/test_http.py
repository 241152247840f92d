"""The HTTP front door: the purchases webhook, download links and health, over real HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
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
    assert [lic.activation_limit for lic in licenses] == [6]
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
    ({**PURCHASE, "amount": 2**70}, "amount"),
    ({**PURCHASE, "external_id": "ord\u0000"}, "external_id"),  # PostgreSQL refuses NUL in text
    ({**PURCHASE, "name": "Carol\u0007"}, "name"),
    ({**PURCHASE, "items": [{"product": "ebook", "quantity": 2**70}]}, "items.0.quantity"),
    ({**PURCHASE, "items": [{"product": "ebook"}] * 101}, "items"),
    ({**PURCHASE, "time": "2026-03-15T12:06:00Z"}, "time"),  # six minutes ahead of the clock
    ({**PURCHASE, "time": "1999-12-31T23:59:59Z"}, "time"),
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
    beyond = await client.get(path, headers={"Range": f"bytes={len(body) + 10}-"})
    assert beyond.status == 416 and not beyond.headers.get("Content-Type", "").startswith("application/pdf")
    tail = await client.get(path, headers={"Range": "bytes=-10"})
    assert tail.status == 206 and await tail.read() == body[-10:]
    async with demo_portal.db.unit_of_work() as session:
        # The GETs that sent bytes: not the HEAD, not the 416.
        assert await session.scalar(select(func.count()).select_from(Download)) == 3


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


async def test_a_malformed_request_is_logged_in_one_line(client: TestClient[Any, Any],
                                                         caplog: pytest.LogCaptureFixture) -> None:
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    assert (await reader.read(100)).startswith(b"HTTP/1.")
    writer.close()
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert records and not any(r.exc_info for r in records)
    assert all("\n" not in r.getMessage() and len(r.getMessage()) < 200 for r in records)


async def test_deeply_nested_json_is_refused_not_a_crash(client: TestClient[Any, Any]) -> None:
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"email": ' + b"[" * 50 + b"]" * 50 + b"}"):
        raw, headers = signed(body)
        response = await client.post("/api/purchases", data=raw, headers=headers)
        assert response.status == 422 and "nests deeper" in (await response.json())["error"]


async def test_a_purchase_time_within_the_clock_skew_is_accepted(client: TestClient[Any, Any]) -> None:
    raw, headers = signed({**PURCHASE, "time": "2026-03-15T12:04:00Z"})
    assert (await client.post("/api/purchases", data=raw, headers=headers)).status == 201


async def test_the_same_external_id_with_a_different_body_is_a_conflict(client: TestClient[Any, Any]) -> None:
    raw, headers = signed(PURCHASE)
    assert (await client.post("/api/purchases", data=raw, headers=headers)).status == 201
    assert (await client.post("/api/purchases", data=raw, headers=headers)).status == 200
    for changed, field in (({"email": "mallory@example.com"}, "email"),
                           ({"items": [{"product": "pixel-studio", "quantity": 3}]}, "items"),
                           ({"amount": 1}, "amount")):
        raw, headers = signed({**PURCHASE, **changed})
        response = await client.post("/api/purchases", data=raw, headers=headers)
        problem = await response.json()
        assert response.status == 409 and problem["field"] == field and "external_id" in problem["error"]


async def test_orders_from_before_fingerprints_replay_as_before(client: TestClient[Any, Any],
                                                               demo_portal: Portal) -> None:
    raw, headers = signed(PURCHASE)
    assert (await client.post("/api/purchases", data=raw, headers=headers)).status == 201
    async with demo_portal.db.unit_of_work() as session:
        await session.execute(update(Order).where(Order.external_id == "ord_1001").values(request=None))
    raw, headers = signed({**PURCHASE, "amount": 1})
    assert (await client.post("/api/purchases", data=raw, headers=headers)).status == 200


def random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 6 else 5)
    scalars = [None, True, 2**70, -(2**63), 1e308, float("nan") if rng.random() < 0.1 else 0.5,
               "", "x" * rng.randrange(500), "\u0000", "Carol@Example.com", "2026-03-01T10:00:00Z",
               "9999-12-31T23:59:59Z", "ebook", "pixel-studio", "USD", "usd"]
    if kind < 5:
        return rng.choice(scalars)
    if kind < 7:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["email", "name", "items", "amount", "currency", "external_id", "time", "source",
            "product", "plan", "quantity", "?"]
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randrange(6))}


async def test_fuzzed_purchase_bodies_never_crash_the_webhook(client: TestClient[Any, Any]) -> None:
    rng = random.Random(20261201)
    for case in range(400):
        body = {**PURCHASE, "external_id": f"fuzz-{case}"}
        for _ in range(rng.randrange(1, 4)):
            body[rng.choice([*body, "items", "amount", "time"])] = random_json(rng)
        raw, headers = signed(json.dumps(body).encode())
        response = await client.post("/api/purchases", data=raw, headers=headers)
        assert response.status in (200, 201, 409, 422), (case, body, await response.text())
