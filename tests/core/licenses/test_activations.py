"""Devices on a key: the limit holds under any concurrency, a device is counted once, and
deactivating is harmless to repeat."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.kernel import events
from core.kernel.portal import Portal
from core.licenses import activations
from core.licenses.activations import ActivationLimitReached, KeyExpired
from core.models import Activation, AuditEvent, License
from tests.conftest import Clock
from tests.core.licenses.conftest import CATALOG, key_of, load
from tests.helpers import published


async def activate(portal: Portal, key_id: int, name: str, fingerprint: str | None = None
                   ) -> activations.Activated:
    async with portal.db.unit_of_work() as session:
        key = await session.get(License, key_id)
        assert key is not None
        return await activations.activate(session, portal, key, name=name, actor="test",
                                          fingerprint=fingerprint)


async def active_devices(portal: Portal, key_id: int) -> int:
    async with portal.db.unit_of_work() as session:
        return await activations.usage(session, key_id)


async def test_fifty_apps_at_once_against_a_limit_of_three_get_exactly_three(store: Portal) -> None:
    key = await key_of(store, "ann@example.com")
    assert key.activation_limit == 3

    async def attempt(n: int) -> bool:
        try:
            await activate(store, key.id, f"device {n}")
        except ActivationLimitReached:
            return False
        return True

    outcomes = await asyncio.gather(*(attempt(n) for n in range(50)))

    assert sum(outcomes) == 3
    assert await active_devices(store, key.id) == 3
    async with store.db.unit_of_work() as session:
        assert await session.scalar(select(func.count()).select_from(Activation)) == 3


async def test_the_same_fingerprint_takes_one_slot(store: Portal) -> None:
    key = await key_of(store, "ann@example.com")

    first = await activate(store, key.id, "Ann's laptop", fingerprint="hw-123")
    again = await activate(store, key.id, "Ann's laptop (reinstalled)", fingerprint="hw-123")

    assert first.created and not again.created
    assert again.activation.instance_id == first.activation.instance_id
    assert await active_devices(store, key.id) == 1


async def test_deactivating_twice_is_harmless_and_frees_the_slot(store: Portal) -> None:
    key = await key_of(store, "ann@example.com")
    for n in range(3):
        await activate(store, key.id, f"device {n}")
    with pytest.raises(ActivationLimitReached):
        await activate(store, key.id, "one too many")
    async with store.db.unit_of_work() as session:
        device = await session.scalar(select(Activation).order_by(Activation.id).limit(1))
        assert device is not None
        assert await activations.deactivate(session, store, device, actor="test") is True
    async with store.db.unit_of_work() as session:
        device = await session.get(Activation, device.id)
        assert device is not None and device.deactivated_at is not None
        assert await activations.deactivate(session, store, device, actor="test") is False

    assert await active_devices(store, key.id) == 2
    assert (await activate(store, key.id, "the new machine")).created
    async with store.db.unit_of_work() as session:
        logged = list(await session.scalars(select(AuditEvent.action).where(
            AuditEvent.customer_id == key.customer_id, AuditEvent.action.like("device_%"))))
    assert logged.count("device_activated") == 4 and logged.count("device_deactivated") == 1
    changes = [e.change for e in await published(store) if isinstance(e, events.LicenseChanged)]
    assert changes == ["activated"] * 3 + ["deactivated", "activated"]


async def test_an_expired_key_takes_no_device(store: Portal, clock: Clock) -> None:
    async with store.db.unit_of_work() as session:
        key = await session.scalar(select(License).where(License.activation_limit == 3))
        assert key is not None
        key.expires_at = clock.now + timedelta(days=1)
    clock.advance(days=2)
    with pytest.raises(KeyExpired):
        await activate(store, key.id, "too late")


async def test_lowering_the_limit_keeps_devices_and_blocks_new_ones(store: Portal, tmp_path: Path) -> None:
    key = await key_of(store, "ann@example.com")
    for n in range(3):
        await activate(store, key.id, f"device {n}")

    await load(store, CATALOG.replace("activation_limit = 3", "activation_limit = 1"), tmp_path)

    assert (await key_of(store, "ann@example.com")).activation_limit == 1
    assert await active_devices(store, key.id) == 3, "no device was removed"
    with pytest.raises(ActivationLimitReached):
        await activate(store, key.id, "a fourth")


async def test_a_validation_notes_the_device_at_most_every_few_minutes(store: Portal, clock: Clock) -> None:
    key = await key_of(store, "ann@example.com")
    device = (await activate(store, key.id, "desk")).activation
    first_seen = device.last_seen_at

    async def check() -> Activation:
        async with store.db.unit_of_work() as session:
            found = await session.get(Activation, device.id)
            assert found is not None
            await activations.seen(session, store, found)
        async with store.db.unit_of_work() as session:
            stored = await session.get(Activation, device.id)
            assert stored is not None
            return stored

    clock.advance(minutes=1)
    assert (await check()).last_seen_at == first_seen, "a minute later nothing is written"
    clock.advance(minutes=5)
    assert (await check()).last_seen_at == clock.now
