"""The license API on a real port, and the demo store's keys an app would hold."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from bot.web import create_app
from core.identity.customers import by_email
from core.kernel.portal import Portal
from core.models import Activation, License, Product


class LicenseServer:
    """shopkeep's HTTP server on a loopback port, as an app reaches it."""

    def __init__(self, portal: Portal, url: str) -> None:
        self.portal, self.url = portal, url

    async def key(self, email: str, product: str) -> str:
        async with self.portal.db.unit_of_work() as session:
            customer = await by_email(session, email)
            assert customer is not None
            key = await session.scalar(
                select(License.key).join(Product, Product.id == License.product_id)
                .where(License.customer_id == customer.id, Product.slug == product))
        assert key is not None
        return key

    async def device(self, instance_id: str) -> Activation:
        async with self.portal.db.unit_of_work() as session:
            row = await session.scalar(select(Activation).where(Activation.instance_id == instance_id))
        assert row is not None
        return row


async def serve(portal: Portal) -> AsyncIterator[LicenseServer]:
    runner = web.AppRunner(create_app(portal))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield LicenseServer(portal, f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()


@pytest.fixture
async def server(demo_portal: Portal) -> AsyncIterator[LicenseServer]:
    async for running in serve(demo_portal):
        yield running


def fields_of(body: dict[str, Any]) -> dict[str, Any]:
    """The answer's field names, one level down: what an app's decoder looks for."""
    return {name: sorted(value) if isinstance(value, dict) else None for name, value in body.items()}
