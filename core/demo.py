"""The demo store: its catalog, files, and customers with a believable history."""

from __future__ import annotations

import io
import shutil
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.catalog.spec import read_catalog
from core.catalog.sync import sync_catalog
from core.identity.customers import get_or_create
from core.kernel.portal import Portal
from core.models import Order, Subscription
from core.orders.purchases import PurchaseItem, PurchaseRequest, record_purchase
from core.subscriptions.renewals import record_renewal

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
DEMO_CATALOG = CONFIG_DIR / "demo-catalog.toml"
DEMO_CUSTOMER = "alice@example.com"
SECOND_CUSTOMER = "bob@example.com"


@dataclass(frozen=True)
class DemoPurchase:
    external_id: str
    email: str
    name: str
    product: str
    plan: str
    ago: relativedelta


def _history() -> list[DemoPurchase]:
    alice, bob = (DEMO_CUSTOMER, "Alice Moreau"), (SECOND_CUSTOMER, "Bob Okafor")
    return [
        DemoPurchase("demo-alice-pro", *alice, "maker-pro", "monthly", relativedelta(months=11, days=2)),
        DemoPurchase("demo-alice-ebook", *alice, "ebook", "standard", relativedelta(months=8, days=5)),
        DemoPurchase("demo-alice-pixel", *alice, "pixel-studio", "team", relativedelta(months=5, days=10)),
        DemoPurchase("demo-alice-founders", *alice, "founders-circle", "lifetime",
                     relativedelta(months=2, days=3)),
        DemoPurchase("demo-bob-ebook", *bob, "ebook", "standard", relativedelta(months=1, days=12)),
    ]


def write_demo_files(portal: Portal) -> None:
    files = portal.settings.files_dir
    handbook = files / "handbook" / "indie-makers-handbook.pdf"
    if not handbook.exists():
        handbook.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CONFIG_DIR / "demo" / "indie-makers-handbook.pdf", handbook)
    app = files / "pixel-studio" / "PixelStudio-2.4.0.zip"
    if not app.exists():
        app.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("PixelStudio/README.txt",
                             "Pixel Studio 2.4.0 (demo build)\nActivate with your license key.\n")
            archive.writestr("PixelStudio/LICENSE.txt", "Demo software shipped with shopkeep.\n")
        app.write_bytes(buffer.getvalue())


async def seed(portal: Portal) -> list[str]:
    """Load the demo catalog, files and customers. Safe to run again: nothing is duplicated."""
    write_demo_files(portal)
    now = portal.now()
    done: list[str] = []
    async with portal.db.unit_of_work() as session:
        report = await sync_catalog(session, read_catalog(DEMO_CATALOG))
        done.append(f"catalog: {report.summary()}")
        alice, _ = await get_or_create(session, DEMO_CUSTOMER, "Alice Moreau")
        if not alice.billing_address:
            # Billing details come before the purchases so the invoices carry them.
            alice.billing_name = "Alice Moreau"
            alice.billing_address = ["Atelier Moreau", "12 Rue des Lilas", "75011 Paris", "France"]
            alice.tax_ids = [{"type": "eu_vat", "value": "FR40303265045"}]
        for purchase in _history():
            result = await record_purchase(session, portal, PurchaseRequest(
                email=purchase.email, name=purchase.name, external_id=purchase.external_id,
                items=[PurchaseItem(product=purchase.product, plan=purchase.plan)],
                time=now - purchase.ago, source="demo",
            ), actor="demo")
            if result.created:
                done.append(f"{purchase.email} bought {purchase.product}")
        await _renew_until(session, portal, now)
    return done


async def _renew_until(session: AsyncSession, portal: Portal, now: datetime) -> None:
    """Charge the demo subscriptions every period up to today, as a billing run would have."""
    subscriptions = await session.scalars(
        select(Subscription).join(Order, Subscription.order_id == Order.id)
        .where(Order.external_id.startswith("demo-"))
    )
    for subscription in subscriptions:
        period = 1
        while subscription.current_period_end <= now + timedelta(seconds=1):
            await record_renewal(session, portal, subscription,
                                 external_id=f"demo-renewal-{subscription.id}-{period}",
                                 placed_at=subscription.current_period_end)
            period += 1
