"""The demo store: its catalog, files, and customers with a believable history."""

from __future__ import annotations

import io
import shutil
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from dateutil.relativedelta import relativedelta
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from config.settings import Settings
from core.billing import details as billing_details
from core.billing import refunds
from core.catalog.spec import read_catalog
from core.catalog.sync import sync_catalog
from core.identity.customers import by_email, get_or_create
from core.kernel.portal import Portal
from core.licenses import activations, seats
from core.licenses.queries import licenses_for
from core.models import Activation, BillingDetails, Entitlement, Product, Refund, Seat, Subscription
from core.models.licenses import CLAIMED
from core.models.refunds import OPERATOR
from core.models.subscriptions import ACTIVE, PAST_DUE, SHOPKEEP, TRIALING
from core.orders.purchases import PurchaseItem, PurchaseRequest, existing_order, record_purchase
from core.payments import methods
from core.payments.customers import provider_customer
from core.payments.provider import PaymentProvider
from core.subscriptions.renewals import RenewalWorker

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
DEMO_CATALOG = CONFIG_DIR / "demo-catalog.toml"
DEMO_CUSTOMER = "alice@example.com"
# Alice buys for her studio in Paris: a French business with a VAT number, billed by an Irish
# seller under the reverse charge.
ALICE_BILLING = {"name": "Alice Moreau", "company": "Atelier Moreau", "address": "12 Rue des Lilas",
                 "postal_code": "75011", "city": "Paris", "country": "FR"}
SECOND_CUSTOMER = "bob@example.com"
# Written into the data dir by `seed`: every shopkeep command on that data dir then bills as
# the demo store (for the [store] settings the operator left unset).
MARKER = "demo-store"

# The seller the demo's invoices name: an Irish company, so the French business customer is
# billed under the reverse charge and consumers pay Irish VAT.
DEMO_STORE: dict[str, Any] = {
    "legal_name": "Shopkeep Demo Store Ltd",
    "address": ["12 Canal Walk", "Dublin 2, D02 XY45", "Ireland"],
    "country": "IE",
    "tax_id": "IE3141592S",
    "contact_email": "billing@shop.example.com",
    "logo_file": CONFIG_DIR / "demo" / "logo.svg",
    "footer": "Registered in Ireland, company number 765432. Questions? Reply to any portal email.",
    "tax_rate": Decimal(23),
}


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
        DemoPurchase("demo-alice-tileset", *alice, TEAM_PRODUCT, "studio", relativedelta(months=1, days=20)),
        # Its first renewal, yesterday, was declined: past due, to be fixed with `payment`.
        DemoPurchase("demo-bob-sprites", *bob, "sprite-club", "monthly", relativedelta(months=1, days=1),
                     billed_by="shopkeep", card="pm_card_chargeDeclined"),
    ]


def with_demo_store(settings: Settings) -> Settings:
    """The settings with the demo seller in every [store] setting the operator left unset."""
    given = settings.store.model_fields_set
    store = settings.store.model_copy(update={k: v for k, v in DEMO_STORE.items() if k not in given})
    return settings.model_copy(update={"store": store})


def seeded(settings: Settings) -> bool:
    """Whether the data dir holds the demo store."""
    return (settings.data_dir / MARKER).is_file()


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

    The portal bills as the demo store from then on (`with_demo_store`). The history is recorded
    in the order it happened, each purchase under a clock set to its time and each renewal run
    by the renewals worker's own pass at its own time (charged through `payments` like any
    renewal), so invoices are dated then and numbered in that order."""
    portal.settings = with_demo_store(portal.settings)
    write_demo_files(portal)
    (portal.settings.data_dir / MARKER).write_text(
        "This data dir holds shopkeep's demo store: its seller details fill the [store] settings "
        "left unset.\n")
    now = portal.now()
    done: list[str] = []
    async with portal.db.unit_of_work() as session:
        report = await sync_catalog(session, read_catalog(DEMO_CATALOG))
        done.append(f"catalog: {report.summary()}")
        alice, _ = await get_or_create(session, DEMO_CUSTOMER, "Alice Moreau")
        if await session.get(BillingDetails, alice.id) is None:
            # Billing details come before the purchases so the invoices carry them.
            await billing_details.save(session, portal, alice, billing_details.read(
                ALICE_BILLING, BillingDetails(customer_id=alice.id, address_lines=[])), actor="demo")
            await billing_details.add_tax_id(session, portal, alice, "FR40303265045", actor="demo")
    for purchase in sorted(_history(), key=lambda p: now - p.ago):
        bought_at = now - purchase.ago
        done += await _renew_until(portal, payments, bought_at)
        async with portal.db.unit_of_work() as session:
            # Seeded before (maybe on another day, so at other times): kept as it is.
            if await existing_order(session, purchase.external_id) is not None:
                continue
            await record_purchase(session, portal.at(bought_at), PurchaseRequest(
                email=purchase.email, name=purchase.name, external_id=purchase.external_id,
                items=[PurchaseItem(product=purchase.product, plan=purchase.plan)],
                time=bought_at, source="demo", billed_by=purchase.billed_by,
            ), actor="demo")
            done.append(f"{purchase.email} bought {purchase.product}")
            if purchase.card:
                await _card_on_file(session, portal.at(bought_at), payments, purchase, bought_at)
    done += await _renew_until(portal, payments, now)
    async with portal.db.unit_of_work() as session:
        done += await _team_and_devices(session, portal, now)
    done += await _partial_refund(portal, payments, now)
    return done


@dataclass(frozen=True)
class DemoRefund:
    external_id: str  # the purchase refunded
    amount: int
    reason: str
    after: timedelta  # how long after the purchase


REFUND = DemoRefund("demo-alice-pixel", 4900, "Launch-week price: the difference to the $100 offer",
                    timedelta(days=3))


async def _partial_refund(portal: Portal, payments: PaymentProvider, now: datetime) -> list[str]:
    """Part of Alice's Pixel Studio purchase given back a few days after it, with its credit
    note; she keeps the product. Asked for once: seeding again finds it by its key."""
    async with portal.db.unit_of_work() as session:
        order = await existing_order(session, REFUND.external_id)
        assert order is not None
        if await session.scalar(select(Refund.id).where(Refund.order_id == order.id).limit(1)):
            return []
        at = min(order.placed_at + REFUND.after, now)
        await refunds.refund_order(session, portal.at(at), payments, order, amount=REFUND.amount,
                                   reason=REFUND.reason, key=f"demo-refund-{REFUND.external_id}",
                                   requested_by=OPERATOR, actor="demo")
        return [f"{DEMO_CUSTOMER} got {REFUND.amount} back of order {order.number}"]


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


async def _renew_until(portal: Portal, payments: PaymentProvider, until: datetime) -> list[str]:
    """Run the renewals worker's pass at each moment a demo renewal (or retry) fell due up to
    `until`, under a clock set to it, as `serve` would have then."""
    done: list[str] = []
    for _ in range(1000):  # a few years of monthly periods at most
        async with portal.db.unit_of_work() as reading:
            rows = (await reading.execute(select(
                Subscription.status, Subscription.current_period_end, Subscription.next_retry_at)
                .where(Subscription.billed_by == SHOPKEEP))).all()
        moments = [end for status, end, _ in rows if status in (ACTIVE, TRIALING)]
        moments += [retry for status, _, retry in rows if status == PAST_DUE and retry is not None]
        due = min((moment for moment in moments if moment <= until), default=None)
        if due is None:
            return done
        report = await RenewalWorker(portal.at(due), payments).run_pass(at=due)
        done += [f"renewal: {line}" for line in report.charged + report.failed + report.changed]
        if not (report.charged or report.failed or report.changed):
            return done  # nothing it could do at that moment: leave the rest to `serve`
    return done
