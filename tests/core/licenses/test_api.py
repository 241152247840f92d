"""Checking a key is cheap: one statement on the hot path, a second at most every five minutes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select

from core import demo
from core.identity.customers import by_email
from core.kernel.portal import Portal
from core.licenses import api
from core.models import Activation, License, Product
from tests.conftest import Clock


@contextmanager
def statements(portal: Portal) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement.split()[0].upper())

    event.listen(portal.db.engine.sync_engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(portal.db.engine.sync_engine, "before_cursor_execute", note)


async def _alices_key_and_device(portal: Portal) -> tuple[str, str]:
    async with portal.db.unit_of_work() as session:
        alice = await by_email(session, demo.DEMO_CUSTOMER)
        assert alice is not None
        key, instance_id = (await session.execute(
            select(License.key, Activation.instance_id)
            .join(Activation, Activation.license_id == License.id)
            .join(Product, Product.id == License.product_id)
            .where(License.customer_id == alice.id, Product.slug == "pixel-studio")
            .order_by(Activation.id).limit(1))).one()
    return key, instance_id


async def test_validating_reads_once_and_writes_last_seen_only_when_it_is_old(
        demo_portal: Portal, clock: Clock) -> None:
    key, instance_id = await _alices_key_and_device(demo_portal)
    with statements(demo_portal) as stale:  # the demo's iMac was last seen two hours ago
        async with demo_portal.db.unit_of_work() as session:
            answer = await api.validate(session, demo_portal, key, instance_id)
    assert answer.ok and answer.device is not None and answer.device.instance_id == instance_id
    assert stale == ["SELECT", "UPDATE"]
    clock.advance(minutes=4)
    with statements(demo_portal) as fresh:
        for instance in (instance_id, None):
            async with demo_portal.db.unit_of_work() as session:
                assert (await api.validate(session, demo_portal, key, instance)).ok
    assert fresh == ["SELECT", "SELECT"], "one statement each, the device seen a moment ago"


async def test_an_unknown_or_overlong_key_costs_at_most_one_read(demo_portal: Portal) -> None:
    with statements(demo_portal) as ran:
        async with demo_portal.db.unit_of_work() as session:
            assert (await api.validate(session, demo_portal, "NOPE")).problem == api.Problem.UNKNOWN_KEY
            assert (await api.validate(session, demo_portal, "K" * 65)).problem == api.Problem.UNKNOWN_KEY
    assert ran == ["SELECT"]
