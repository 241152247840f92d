"""The license API as apps written for Lemon Squeezy call it: the fields, status codes and error
strings they read, over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, update

from core import demo
from core.catalog.spec import read_catalog
from core.catalog.sync import sync_catalog
from core.identity.customers import by_email
from core.kernel.portal import Portal
from core.licenses import seats
from core.models import Activation, AuditEvent, Plan, Product, Seat
from core.models.licenses import CLAIMED, PENDING
from tests.conftest import Clock
from tests.doors.license_api.conftest import LicenseServer, fields_of, serve

LICENSE_KEY_FIELDS = ["activation_limit", "activation_usage", "created_at", "expires_at", "id", "key",
                      "status", "test_mode"]
INSTANCE_FIELDS = ["created_at", "id", "name"]
META_FIELDS = ["customer_email", "customer_id", "customer_name", "order_id", "order_item_id",
               "product_id", "product_name", "store_id", "variant_id", "variant_name"]
ALICE, BOB, DANA = demo.DEMO_CUSTOMER, demo.SECOND_CUSTOMER, "dana@example.com"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(http: aiohttp.ClientSession, server: LicenseServer, endpoint: str,
               **fields: str) -> tuple[int, dict[str, Any]]:
    """As the documentation shows it: form-encoded, Accept: application/json."""
    async with http.post(f"{server.url}/v1/licenses/{endpoint}", data=fields,
                         headers={"Accept": "application/json"}) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


# ---------------------------------------------------------------- activate


async def test_activating_answers_with_the_key_the_device_and_the_purchase(
        http: aiohttp.ClientSession, server: LicenseServer, clock: Clock) -> None:
    key = await server.key(ALICE, "pixel-studio")
    status, body = await call(http, server, "activate", license_key=key, instance_name="Ana's MacBook")
    assert status == 200
    assert fields_of(body) == {"activated": None, "error": None, "license_key": LICENSE_KEY_FIELDS,
                               "instance": INSTANCE_FIELDS, "meta": META_FIELDS}
    assert body["activated"] is True and body["error"] is None
    license_key, instance, meta = body["license_key"], body["instance"], body["meta"]
    assert license_key["key"] == key and license_key["status"] == "active"
    assert (license_key["activation_limit"], license_key["activation_usage"]) == (3, 3), \
        "the demo's two devices and this one"
    assert license_key["expires_at"] is None and license_key["test_mode"] is False
    assert isinstance(license_key["id"], int)
    assert instance["name"] == "Ana's MacBook"
    assert instance["created_at"] == clock.now.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    async with server.portal.db.unit_of_work() as session:
        pixel = await session.scalar(select(Product).where(Product.slug == "pixel-studio"))
        plan = await session.scalar(select(Plan).where(Plan.slug == "team"))
        alice = await by_email(session, ALICE)
    assert pixel is not None and plan is not None and alice is not None
    assert {k: meta[k] for k in ("store_id", "product_id", "product_name", "variant_id", "variant_name",
                                 "customer_id", "customer_name", "customer_email")} == {
        "store_id": 1, "product_id": pixel.id, "product_name": "Pixel Studio Pro",
        "variant_id": plan.id, "variant_name": "Team license",
        "customer_id": alice.id, "customer_name": "Alice Moreau", "customer_email": ALICE}
    assert isinstance(meta["order_id"], int) and isinstance(meta["order_item_id"], int)
    device = await server.device(instance["id"])
    assert device.active and device.name == "Ana's MacBook"
    async with server.portal.db.unit_of_work() as session:
        audit = await session.scalar(select(AuditEvent).where(AuditEvent.customer_id == alice.id,
                                                              AuditEvent.action == "device_activated")
                                     .order_by(AuditEvent.id.desc()).limit(1))
    assert audit is not None and audit.actor == "app via license API (127.0.0.1)"


async def test_at_the_limit_activation_is_refused_with_lemon_squeezys_words(
        http: aiohttp.ClientSession, server: LicenseServer) -> None:
    key = await server.key(ALICE, "pixel-studio")
    assert (await call(http, server, "activate", license_key=key, instance_name="Third"))[0] == 200
    status, body = await call(http, server, "activate", license_key=key, instance_name="Fourth")
    assert status == 400
    assert fields_of(body) == {"activated": None, "error": None, "license_key": LICENSE_KEY_FIELDS,
                               "meta": META_FIELDS}, "no instance, as Lemon Squeezy answers a refusal"
    assert body["activated"] is False
    assert body["error"] == "This license key has reached the activation limit."
    assert (body["license_key"]["activation_usage"], body["license_key"]["activation_limit"]) == (3, 3)


async def test_fifty_apps_activating_at_once_get_exactly_the_free_slot(
        server: LicenseServer) -> None:
    key = await server.key(BOB, demo.TEAM_PRODUCT)  # 2 devices allowed, 1 in use
    server.portal.settings.license_api_requests_per_minute = 1000
    async for fresh in serve(server.portal):  # a server that reads the raised limit
        async with aiohttp.ClientSession() as http:
            answers = await asyncio.gather(*[
                call(http, fresh, "activate", license_key=key, instance_name=f"Machine {n}")
                for n in range(50)])
    assert sorted(status for status, _ in answers) == [200] + [400] * 49
    assert {body["error"] for status, body in answers if status == 400} == {
        "This license key has reached the activation limit."}
    assert len(await _instances(server, key)) == 2


async def call_once(server: LicenseServer, endpoint: str, **fields: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http:
        return await call(http, server, endpoint, **fields)


async def test_activating_a_team_members_key_claims_their_seat(
        http: aiohttp.ClientSession, server: LicenseServer) -> None:
    key = await server.key(DANA, demo.TEAM_PRODUCT)
    async with server.portal.db.unit_of_work() as session:
        assert await session.scalar(select(Seat.state).where(Seat.email == DANA)) == PENDING
    status, body = await call(http, server, "activate", license_key=key, instance_name="Dana's PC")
    assert status == 200 and body["meta"]["customer_email"] == DANA
    async with server.portal.db.unit_of_work() as session:
        assert await session.scalar(select(Seat.state).where(Seat.email == DANA)) == CLAIMED


# ---------------------------------------------------------------- validate


async def test_validating_a_key_alone_reports_it_without_an_instance(
        http: aiohttp.ClientSession, server: LicenseServer) -> None:
    key = await server.key(DANA, demo.TEAM_PRODUCT)
    status, body = await call(http, server, "validate", license_key=key)
    assert status == 200
    assert fields_of(body) == {"valid": None, "error": None, "license_key": LICENSE_KEY_FIELDS,
                               "instance": None, "meta": META_FIELDS}
    assert body["valid"] is True and body["error"] is None and body["instance"] is None
    assert body["license_key"]["status"] == "inactive", "valid, with no device yet"
    assert body["license_key"]["expires_at"] is not None


async def test_validating_on_each_start_notes_the_device_at_most_every_five_minutes(
        http: aiohttp.ClientSession, server: LicenseServer, clock: Clock) -> None:
    key = await server.key(ALICE, "pixel-studio")
    _, activated = await call(http, server, "activate", license_key=key, instance_name="Laptop")
    instance_id = activated["instance"]["id"]
    started = clock.now
    clock.advance(minutes=3)
    status, body = await call(http, server, "validate", license_key=key, instance_id=instance_id)
    assert status == 200 and body["valid"] is True
    assert body["instance"] == activated["instance"]
    assert (await server.device(instance_id)).last_seen_at == started, "seen a moment ago: no write"
    clock.advance(minutes=7)
    await call(http, server, "validate", license_key=key, instance_id=instance_id)
    assert (await server.device(instance_id)).last_seen_at == clock.now


@pytest.mark.parametrize("endpoint", ["activate", "validate", "deactivate"])
async def test_an_unknown_key_is_not_found(http: aiohttp.ClientSession, server: LicenseServer,
                                           endpoint: str) -> None:
    verdict = {"activate": "activated", "validate": "valid", "deactivate": "deactivated"}[endpoint]
    for unknown in ("NOPE-NOPE-NOPE", "x" * 65, "' OR 1=1 --"):
        status, body = await call(http, server, endpoint, license_key=unknown, instance_name="PC",
                                  instance_id="f90ec370-fd83-46a5-8bbd-44a241e78665")
        assert (status, body) == (404, {verdict: False, "error": "license_key not found."})


@pytest.mark.parametrize("endpoint", ["activate", "validate", "deactivate"])
async def test_a_disabled_key_is_refused(http: aiohttp.ClientSession, server: LicenseServer,
                                         endpoint: str) -> None:
    key = await server.key(BOB, demo.TEAM_PRODUCT)
    [bobs_mac] = await _instances(server, key)
    async with server.portal.db.unit_of_work() as session:
        alice = await by_email(session, ALICE)
        team = await session.scalar(select(Product).where(Product.slug == demo.TEAM_PRODUCT))
        assert alice is not None and team is not None
        await seats.unassign(session, server.portal, alice, team, BOB, actor="test")
    verdict = {"activate": "activated", "validate": "valid", "deactivate": "deactivated"}[endpoint]
    status, body = await call(http, server, endpoint, license_key=key, instance_name="PC",
                              instance_id=bobs_mac)
    assert status == 400
    assert body[verdict] is False and body["error"] == "This license key is disabled."
    assert body["license_key"]["status"] == "disabled"
    assert body["meta"]["customer_email"] == BOB
    assert body.get("instance", "absent") in (None, "absent")
    assert (await server.device(bobs_mac)).active, "refused: nothing changed"


@pytest.mark.parametrize("endpoint", ["activate", "validate", "deactivate"])
async def test_an_expired_key_is_refused(http: aiohttp.ClientSession, server: LicenseServer,
                                         clock: Clock, endpoint: str) -> None:
    key = await server.key(BOB, demo.TEAM_PRODUCT)
    [bobs_mac] = await _instances(server, key)
    clock.advance(days=365)  # the team's keys last a year from the purchase, 50 days ago
    verdict = {"activate": "activated", "validate": "valid", "deactivate": "deactivated"}[endpoint]
    status, body = await call(http, server, endpoint, license_key=key, instance_name="PC",
                              instance_id=bobs_mac)
    assert status == 400
    assert body[verdict] is False and body["error"] == "This license key has expired."
    assert body["license_key"]["status"] == "expired"


async def _instances(server: LicenseServer, key: str) -> list[str]:
    from core.models import License

    async with server.portal.db.unit_of_work() as session:
        return list(await session.scalars(
            select(Activation.instance_id).join(License, License.id == Activation.license_id)
            .where(License.key == key, Activation.deactivated_at.is_(None)).order_by(Activation.id)))


# ---------------------------------------------------------------- isolation


async def test_the_device_of_another_key_is_never_found_with_this_key(
        http: aiohttp.ClientSession, server: LicenseServer) -> None:
    alices_key = await server.key(ALICE, "pixel-studio")
    bobs_key = await server.key(BOB, demo.TEAM_PRODUCT)
    alices_imac, _ = await _instances(server, alices_key)
    status, body = await call(http, server, "validate", license_key=bobs_key, instance_id=alices_imac)
    assert (status, body["valid"], body["error"], body["instance"]) == (
        404, False, "instance_id not found.", None)
    assert body["license_key"]["key"] == bobs_key and body["meta"]["customer_email"] == BOB, \
        "only the key that was sent is described"
    status, body = await call(http, server, "deactivate", license_key=bobs_key, instance_id=alices_imac)
    assert (status, body["deactivated"], body["error"]) == (404, False, "instance_id not found.")
    assert ALICE not in json.dumps(body)
    assert (await server.device(alices_imac)).active, "Alice's iMac keeps its slot"
    status, body = await call(http, server, "validate", license_key=alices_key, instance_id=alices_imac)
    assert (status, body["valid"]) == (200, True)


async def test_an_instance_id_nobody_has_is_not_found(http: aiohttp.ClientSession,
                                                       server: LicenseServer) -> None:
    key = await server.key(ALICE, "pixel-studio")
    for made_up in ("f90ec370-fd83-46a5-8bbd-44a241e78665", "1", "x" * 500):
        status, body = await call(http, server, "validate", license_key=key, instance_id=made_up)
        assert (status, body["error"]) == (404, "instance_id not found.")


# ---------------------------------------------------------------- deactivate


async def test_deactivating_frees_the_slot_and_twice_is_harmless(
        http: aiohttp.ClientSession, server: LicenseServer) -> None:
    key = await server.key(ALICE, "pixel-studio")
    _, old_laptop = await _instances(server, key)
    status, body = await call(http, server, "deactivate", license_key=key, instance_id=old_laptop)
    assert status == 200
    assert fields_of(body) == {"deactivated": None, "error": None, "license_key": LICENSE_KEY_FIELDS,
                               "meta": META_FIELDS}
    assert body["deactivated"] is True and body["error"] is None
    assert body["license_key"]["activation_usage"] == 1
    again = await call(http, server, "deactivate", license_key=key, instance_id=old_laptop)
    assert again == (200, body), "an uninstaller that retries sees the same answer"
    assert not (await server.device(old_laptop)).active
    status, body = await call(http, server, "validate", license_key=key, instance_id=old_laptop)
    assert (status, body["valid"], body["error"]) == (404, False, "instance_id not found.")
    async with server.portal.db.unit_of_work() as session:
        freed = list(await session.scalars(select(AuditEvent).where(
            AuditEvent.action == "device_deactivated")))
    assert len(freed) == 1, "done once, recorded once"


async def test_a_product_that_keeps_devices_on_refuses_deactivation(
        http: aiohttp.ClientSession, server: LicenseServer) -> None:
    async with server.portal.db.unit_of_work() as session:
        await session.execute(update(Product).where(Product.slug == "pixel-studio")
                              .values(customer_can_deactivate=False))
    key = await server.key(ALICE, "pixel-studio")
    imac, _ = await _instances(server, key)
    status, body = await call(http, server, "deactivate", license_key=key, instance_id=imac)
    assert (status, body["deactivated"]) == (400, False)
    assert body["error"] == "This license key's instances cannot be deactivated."
    assert (await server.device(imac)).active


# ---------------------------------------------------------------- meta from the catalog


async def test_meta_carries_the_lemon_squeezy_ids_the_catalog_sets(
        http: aiohttp.ClientSession, server: LicenseServer, tmp_path: Any) -> None:
    catalog = demo.DEMO_CATALOG.read_text().replace(
        "  [products.license]\n  activation_limit = 3\n",
        "  [products.license]\n  activation_limit = 3\n  lemonsqueezy_store_id = 76833\n"
        "  lemonsqueezy_product_id = 1030025\n  lemonsqueezy_variant_id = 1615641\n")
    path = tmp_path / "catalog.toml"
    path.write_text(catalog)
    async with server.portal.db.unit_of_work() as session:
        await sync_catalog(session, read_catalog(path))
    _, body = await call(http, server, "validate", license_key=await server.key(ALICE, "pixel-studio"))
    assert (body["meta"]["store_id"], body["meta"]["product_id"], body["meta"]["variant_id"]) == (
        76833, 1030025, 1615641)
    _, other = await call(http, server, "validate", license_key=await server.key(BOB, demo.TEAM_PRODUCT))
    assert other["meta"]["store_id"] == 1, "a product without them keeps shopkeep's own"


async def test_the_default_store_id_is_a_setting(demo_portal: Portal) -> None:
    demo_portal.settings.license_api_store_id = 4242
    async for server in serve(demo_portal):
        status, body = await call_once(server, "validate",
                                       license_key=await server.key(ALICE, "pixel-studio"))
    assert (status, body["meta"]["store_id"]) == (200, 4242)


async def test_control_characters_are_in_no_key_id_or_device_name(
        http: aiohttp.ClientSession, server: LicenseServer) -> None:
    key = await server.key(ALICE, "pixel-studio")
    assert await call(http, server, "validate", license_key=key[:5] + "\x00" + key[6:]) == (
        404, {"valid": False, "error": "license_key not found."})
    for endpoint in ("validate", "deactivate"):
        status, body = await call(http, server, endpoint, license_key=key, instance_id="\x00" * 8)
        assert (status, body["error"]) == (404, "instance_id not found.")
    status, body = await call(http, server, "activate", license_key=key,
                              instance_name="Ana's\nMac\x00Book\t\x07Pro")
    assert (status, body["instance"]["name"]) == (200, "Ana's Mac Book Pro"), \
        "one line, as the devices table shows it"
