"""The demo store: its catalog, files, and customers with a believable history."""

from __future__ import annotations

import io
import shutil
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from dateutil.relativedelta import relativedelta
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.catalog.spec import read_catalog
from core.catalog.sync import sync_catalog
from core.identity.customers import by_email, get_or_create
from core.kernel.portal import Portal
from core.licenses import activations, seats
from core.licenses.queries import licenses_for
from core.models import Activation, Entitlement, Product, Seat
from core.models.licenses import CLAIMED
from core.orders.purchases import PurchaseItem, PurchaseRequest, existing_order, record_purchase
from core.payments import methods
from core.payments.customers import provider_customer
from core.payments.provider import PaymentProvider
from core.subscriptions.renewals import RenewalWorker

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
    billed_by: Literal["shopkeep", "merchant"] = "merchant"
    card: str | None = None  # a test-mode token: the card on file before its renewals


def _history() -> list[DemoPurchase]:
    alice, bob = (DEMO_CUSTOMER, "Alice Moreau"), (SECOND_CUSTOMER, "Bob Okafor")
    return [
        DemoPurchase("demo-alice-pro", *alice, "maker-pro", "monthly", relativedelta(months=11, days=2),
                     billed_by="shopkeep", card="pm_card_visa"),
        DemoPurchase("demo-alice-ebook", *alice, "ebook", "standard", relativedelta(months=8, days=5)),
        DemoPurchase("demo-alice-pixel", *alice, "pixel-studio", "team", relativedelta(months=5, days=10)),
        DemoPurchase("demo-alice-founders", *alice, "founders-circle", "lifetime",
                     relativedelta(months=2, days=3)),

        DemoPurchase("demo-bob-ebook", *bob, "ebook", "standard", relativedelta(months=1, days=12)),
        # Its first renewal, yesterday, was declined: past due, to be fixed with `payment`.
        DemoPurchase("demo-bob-sprites", *bob, "sprite-club", "monthly", relativedelta(months=1, days=1),
                     billed_by="shopkeep", card="pm_card_chargeDeclined"),
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


async def seed(portal: Portal, *, payments: PaymentProvider) -> list[str]:
    """Load the demo catalog, files and customers. Safe to run again: nothing is duplicated.

    The subscriptions shopkeep bills get their test card and are renewed up to today by the
    renewals worker's own pass, charged through `payments` as any renewal is."""
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
            # Seeded before: left as it is (its time, counted from another "now", would differ).
            if await existing_order(session, purchase.external_id) is not None:
                continue
            result = await record_purchase(session, portal, PurchaseRequest(
                email=purchase.email, name=purchase.name, external_id=purchase.external_id,
                items=[PurchaseItem(product=purchase.product, plan=purchase.plan)],
                time=now - purchase.ago, source="demo", billed_by=purchase.billed_by,
            ), actor="demo")
            if result.created:
                done.append(f"{purchase.email} bought {purchase.product}")
            if purchase.card:
                await _card_on_file(session, portal, payments, purchase, now - purchase.ago)
    report = await RenewalWorker(portal, payments).run_pass(at=now)
    done += [f"renewal: {line}" for line in report.charged + report.failed + report.changed]
    async with portal.db.unit_of_work() as session:
        done += await _team_and_devices(session, portal, now)
    return done


async def _card_on_file(session: AsyncSession, portal: Portal, payments: PaymentProvider,
                        purchase: DemoPurchase, added_at: datetime) -> None:
    """The test card the customer saved when they bought, as the hosted page would have."""
    customer = await by_email(session, purchase.email)
    assert customer is not None
    if await methods.methods_of(session, customer.id):
        return
    ref = await provider_customer(session, payments, customer)
    method = await methods.add_method(session, portal, customer.id, payments.name,
                                      await payments.attach_method(ref, purchase.card or ""),
                                      actor="demo")
    method.created_at = added_at


@dataclass(frozen=True)
class DemoSeat:
    email: str
    name: str
    ago: timedelta
    claimed: bool


@dataclass(frozen=True)
class DemoDevice:
    holder: str  # whose key: the customer's own of `product`
    product: str
    name: str
    platform: str
    fingerprint: str
    activated: timedelta
    seen: timedelta


TEAM_PRODUCT = "tileset-forge"
SEATS = (DemoSeat(SECOND_CUSTOMER, "Bob Okafor", timedelta(days=20), claimed=True),
         DemoSeat("dana@example.com", "Dana Kim", timedelta(days=3), claimed=False))
DEVICES = (
    DemoDevice(DEMO_CUSTOMER, "pixel-studio", "Studio iMac", "macOS", "demo-alice-imac",
               timedelta(days=150), timedelta(hours=2)),
    DemoDevice(DEMO_CUSTOMER, "pixel-studio", "Old ThinkPad", "Windows", "demo-alice-thinkpad",
               timedelta(days=140), timedelta(days=47)),
    DemoDevice(SECOND_CUSTOMER, TEAM_PRODUCT, "MacBook Pro (Bob)", "macOS", "demo-bob-macbook",
               timedelta(days=19), timedelta(hours=1)),
)


async def _team_and_devices(session: AsyncSession, portal: Portal, now: datetime) -> list[str]:
    """Alice's team with two seats (Bob's claimed, Dana's pending) and a few devices, some of
    them long unseen. Anything already there, in any state, is left as it is."""
    done: list[str] = []
    # Bought after the subscription history, so the order numbers before it stay as they were.
    if await existing_order(session, "demo-alice-tileset") is None:
        await record_purchase(session, portal, PurchaseRequest(
            email=DEMO_CUSTOMER, name="Alice Moreau", external_id="demo-alice-tileset",
            items=[PurchaseItem(product=TEAM_PRODUCT, plan="studio")],
            time=now - relativedelta(months=1, days=20), source="demo"), actor="demo")
        done.append(f"{DEMO_CUSTOMER} bought {TEAM_PRODUCT}")
    alice = await by_email(session, DEMO_CUSTOMER)
    team = await session.scalar(select(Product).where(Product.slug == TEAM_PRODUCT))
    assert alice is not None and team is not None
    given = {seat.email for seat in await session.scalars(select(Seat).where(
        Seat.owner_id == alice.id, Seat.product_id == team.id))}
    for demo_seat in SEATS:
        if demo_seat.email in given:
            continue
        await get_or_create(session, demo_seat.email, demo_seat.name)
        seat = await seats.assign(session, portal, alice, team, demo_seat.email, actor="demo")
        seat.assigned_at = now - demo_seat.ago
        await session.execute(update(Entitlement).where(Entitlement.seat_id == seat.id)
                              .values(created_at=seat.assigned_at))
        if demo_seat.claimed:
            seat.state, seat.claimed_at = CLAIMED, seat.assigned_at + timedelta(hours=2)
        done.append(f"{DEMO_CUSTOMER} gave {demo_seat.email} a seat of {TEAM_PRODUCT}")
    for device in DEVICES:
        known = await session.scalar(select(Activation.id).where(
            Activation.fingerprint == device.fingerprint).limit(1))
        if known is not None:
            continue
        holder = await by_email(session, device.holder)
        product = await session.scalar(select(Product).where(Product.slug == device.product))
        assert holder is not None and product is not None
        [key, *_] = await licenses_for(session, holder.id, product.id)
        added = await activations.activate(session, portal, key, name=device.name, actor="demo",
                                           platform=device.platform, fingerprint=device.fingerprint)
        added.activation.activated_at = now - device.activated
        added.activation.last_seen_at = now - device.seen
        done.append(f"{device.holder} activated {device.name} ({device.product})")
    return done
