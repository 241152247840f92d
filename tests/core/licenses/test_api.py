"""Checking a key is cheap: one statement on the hot path, a second at most every five minutes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from core import demo
from core.identity.customers import by_email
from core.kernel.portal import Portal
from core.licenses import api
from core.models import Activation, License, Product
from tests.conftest import Clock


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement.split()[0].upper())

    # Every engine: the portal's main one and the pool its hottest reads use.
    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", note)


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
    with statements() as stale:  # the demo's iMac was last seen two hours ago
        answer = await api.validate(demo_portal, key, instance_id)
    assert answer.ok and answer.device is not None and answer.device.instance_id == instance_id
    assert stale == ["SELECT", "SELECT", "UPDATE"], "the check, then noting the device"
    async with demo_portal.db.unit_of_work() as session:
        device = await session.scalar(select(Activation).where(Activation.instance_id == instance_id))
    assert device is not None and device.last_seen_at == clock.now
    clock.advance(minutes=4)
    with statements() as fresh:
        for instance in (instance_id, None):
            assert (await api.validate(demo_portal, key, instance)).ok
    assert fresh == ["SELECT", "SELECT"], "one statement each, the device seen a moment ago"


async def test_an_unknown_or_overlong_key_costs_at_most_one_read(demo_portal: Portal) -> None:
    with statements() as ran:
        assert (await api.validate(demo_portal, "NOPE")).problem == api.Problem.UNKNOWN_KEY
        assert (await api.validate(demo_portal, "K" * 65)).problem == api.Problem.UNKNOWN_KEY
    assert ran == ["SELECT"], "an overlong text is no key: not even looked up"
