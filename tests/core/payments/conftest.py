"""A store with a monthly subscription product, customers who bought it, and the test-mode
provider the composition root would choose."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from sqlalchemy import select

from adapters.payments.testmode import TestModeProvider
from core.catalog.spec import read_catalog
from core.catalog.sync import sync_catalog
from core.identity.customers import by_email
from core.kernel.portal import Portal
from core.models import Customer, Subscription
from core.models.subscriptions import SHOPKEEP
from core.orders.purchases import PurchaseItem, PurchaseRequest, record_purchase

CATALOG = """
[[products]]
slug = "club"
name = "The Club"
kind = "subscription"
  [[products.plans]]
  slug = "basic"
  name = "Basic"
  interval = "month"
  price = 1000
  currency = "USD"
  rank = 0
  [[products.plans]]
  slug = "pro"
  name = "Pro"
  interval = "month"
  price = 2000
  currency = "USD"
  rank = 1
  [[products.plans]]
  slug = "basic-eur"
  name = "Basic (EUR)"
  interval = "month"
  price = 900
  currency = "EUR"
  rank = 0
  [[products.plans]]
  slug = "pro-yearly"
  name = "Pro yearly"
  interval = "year"
  price = 20000
  currency = "USD"
  rank = 2

[[products]]
slug = "zine"
name = "The Zine"
kind = "subscription"
  [[products.plans]]
  slug = "monthly"
  name = "Monthly"
  interval = "month"
  price = 300
  currency = "USD"
"""


async def load(portal: Portal, tmp_path: Path, catalog: str = CATALOG) -> None:
    path = tmp_path / "catalog.toml"
    path.write_text(catalog)
    async with portal.db.unit_of_work() as session:
        await sync_catalog(session, read_catalog(path))


async def subscribe(portal: Portal, email: str, product: str = "club", plan: str = "basic", *,
                    billed_by: Literal["shopkeep", "merchant"] = SHOPKEEP) -> Subscription:
    """A purchase of `product`; the subscription is billed as `billed_by` says."""
    async with portal.db.unit_of_work() as session:
        result = await record_purchase(session, portal, PurchaseRequest(
            email=email, external_id=f"{email}-{product}", billed_by=billed_by,
            items=[PurchaseItem(product=product, plan=plan)]))
        subscription = await session.scalar(select(Subscription).where(
            Subscription.order_id == result.order.id))
        assert subscription is not None
    return subscription


async def customer(portal: Portal, email: str) -> Customer:
    async with portal.db.unit_of_work() as session:
        found = await by_email(session, email)
    assert found is not None
    return found


@pytest.fixture
def provider(portal: Portal) -> TestModeProvider:
    return TestModeProvider(portal)


@pytest.fixture
async def store(portal: Portal, tmp_path: Path) -> Portal:
    """ann subscribes to The Club (basic, billed by shopkeep) and The Zine; olga to The Club."""
    await load(portal, tmp_path)
    await subscribe(portal, "ann@example.com")
    await subscribe(portal, "ann@example.com", "zine", "monthly")
    await subscribe(portal, "olga@example.com")
    return portal
