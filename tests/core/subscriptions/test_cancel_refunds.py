"""`cancel now` under `cancel_refund = "prorated"`: the unused rest of the period goes back, to the
second, through the same refund path as any refund (through the provider that charged it, or
recorded as the store's), as the preview said."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.payments.testmode import TestModeProvider
from core.billing import refunds
from core.kernel.errors import Conflict
from core.kernel.portal import Portal
from core.models import Document, Order, Refund
from core.subscriptions import lifecycle
from core.subscriptions.renewals import RenewalWorker
from tests.conftest import Clock
from tests.core.payments.conftest import CATALOG, load
from tests.core.subscriptions.conftest import add_card, confirm, preview, subscription_of
from tests.helpers import sent_mail

PERIOD_END = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)  # of the purchases made at the fixed now
PRORATED = CATALOG.replace('slug = "club"\nname = "The Club"\nkind = "subscription"\n',
                           'slug = "club"\nname = "The Club"\nkind = "subscription"\n'
                           '  [products.subscription]\n  allow_cancel_now = true\n'
                           '  cancel_refund = "prorated"\n')


async def refunds_of(portal: Portal) -> list[tuple[int, str, str, str, str | None]]:
    async with portal.db.unit_of_work() as session:
        rows = await session.execute(select(Refund, Order.status, Document.number)
                                     .join(Order, Refund.order_id == Order.id)
                                     .outerjoin(Document, Refund.credit_note_id == Document.id)
                                     .order_by(Refund.id))
        return [(r.amount, r.state, r.provider, status, number) for r, status, number in rows]


async def test_cancelling_half_way_gives_back_half_through_the_provider(
        store: Portal, provider: TestModeProvider, clock: Clock, tmp_path: Path) -> None:
    await load(store, tmp_path, PRORATED)
    await add_card(store, provider, "ann@example.com")
    clock.now = PERIOD_END + timedelta(minutes=1)
    assert (await RenewalWorker(store, provider).run_pass()).charged, "the second period is charged"
    clock.now = PERIOD_END + timedelta(days=15)  # half of the 30 days to May 15

    shown = await preview(store, "ann@example.com", lifecycle.preview_cancel, "club", now=True)
    assert "$5.00 is refunded for the rest of the period (until May 15, 2026), to the way you paid." \
        in shown.summary
    done = await confirm(store, provider, "ann@example.com", shown)

    assert "$5.00 is refunded for the rest of the period" in done.message
    assert (await subscription_of(store, "ann@example.com")).status == "canceled"
    [(amount, state, through, order_status, note)] = await refunds_of(store)
    assert (amount, state, through, order_status) == (500, "succeeded", "testmode", "partially_refunded")
    assert note is not None and note.startswith("CN-2026-")
    async with store.db.unit_of_work() as session:
        refund = await session.scalar(select(Refund))
        assert refund is not None and refund.requested_by == "customer"
    subjects = [str(m["Subject"]) for m in await sent_mail(store, to="ann@example.com", kind="refund")]
    assert subjects == ["Refunded: $5.00 for order SK-00004"]


async def test_the_first_period_of_a_store_billed_purchase_is_the_stores_refund(
        store: Portal, provider: TestModeProvider, clock: Clock, tmp_path: Path) -> None:
    await load(store, tmp_path, PRORATED)
    clock.now += timedelta(days=31 * 3 / 4)  # a quarter of the 31 days to Apr 15 is left, and a bit
    shown = await preview(store, "ann@example.com", lifecycle.preview_cancel, "club", now=True)
    assert "is refunded for the rest of the period (until Apr 15, 2026)" in shown.summary
    await confirm(store, provider, "ann@example.com", shown)
    [(amount, state, through, _, note)] = await refunds_of(store)
    assert (amount, state, through) == (250, "succeeded", "store") and note


async def test_a_refund_since_the_preview_refuses_the_cancellation(
        store: Portal, provider: TestModeProvider, tmp_path: Path) -> None:
    await load(store, tmp_path, PRORATED)
    shown = await preview(store, "ann@example.com", lifecycle.preview_cancel, "club", now=True)
    async with store.db.unit_of_work() as session:
        order = await session.scalar(select(Order).where(Order.external_id == "ann@example.com-club"))
        assert order is not None
        await refunds.refund_order(session, store, provider, order, amount=order.total, reason="goodwill",
                                   key="meanwhile", requested_by="operator", actor="operator via cli")
    with pytest.raises(Conflict, match="was refunded since the preview, so nothing was changed"):
        await confirm(store, provider, "ann@example.com", shown)
    assert (await subscription_of(store, "ann@example.com")).status == "active"
