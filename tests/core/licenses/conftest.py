"""A store with a device-licensed product and a team product, and customers who bought them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from core.catalog.spec import read_catalog
from core.catalog.sync import sync_catalog
from core.identity.customers import by_email
from core.kernel.portal import Portal
from core.models import Customer, License, Product
from core.orders.purchases import PurchaseItem, PurchaseRequest, record_purchase

CATALOG = """
[[products]]
slug = "app"
name = "The App"
kind = "one_time"
  [products.license]
  activation_limit = 3
  [[products.plans]]
  slug = "single"
  name = "Single"
  price = 2000
  currency = "EUR"

[[products]]
slug = "team-app"
name = "The App for Teams"
kind = "one_time"
  [products.license]
  activation_limit = 2
  seats = 2
  expires_after = "365d"
  [[products.plans]]
  slug = "team"
  name = "Team"
  price = 9000
  currency = "EUR"
"""


async def load(portal: Portal, catalog: str, tmp_path: Path) -> None:
    path = tmp_path / "catalog.toml"
    path.write_text(catalog)
    async with portal.db.unit_of_work() as session:
        await sync_catalog(session, read_catalog(path))


async def buy(portal: Portal, email: str, product: str, quantity: int = 1) -> None:
    async with portal.db.unit_of_work() as session:
        await record_purchase(session, portal, PurchaseRequest(
            email=email, external_id=f"{email}-{product}-{quantity}",
            items=[PurchaseItem(product=product, quantity=quantity)]))


@pytest.fixture
async def store(portal: Portal, tmp_path: Path) -> Portal:
    """ann owns The App; olga owns a team of The App for Teams (two seats)."""
    await load(portal, CATALOG, tmp_path)
    await buy(portal, "ann@example.com", "app")
    await buy(portal, "olga@example.com", "team-app")
    return portal


async def customer(portal: Portal, email: str) -> Customer:
    async with portal.db.unit_of_work() as session:
        found = await by_email(session, email)
    assert found is not None
    return found


async def product(portal: Portal, slug: str) -> Product:
    async with portal.db.unit_of_work() as session:
        found = await session.scalar(select(Product).where(Product.slug == slug))
    assert found is not None
    return found


async def key_of(portal: Portal, email: str) -> License:
    holder = await customer(portal, email)
    async with portal.db.unit_of_work() as session:
        [key] = list(await session.scalars(select(License).where(License.customer_id == holder.id)))
    return key
