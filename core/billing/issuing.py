"""Issuing documents: gapless numbers in the order of their issue dates, and a snapshot of
seller, buyer, lines, taxes and dates that never changes (the fields article 226 of Directive
2006/112/EC asks of an invoice)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from core.billing import buyer as buyer_details
from core.billing import seller as seller_details
from core.billing.amounts import Item, invoice_amounts
from core.billing.buyer import BuyerDetails
from core.billing.tax import treatment_for
from core.kernel.portal import Portal
from core.models import Customer, Document, DocumentCounter, Order, OrderItem, Subscription
from core.models.billing import CREDIT_NOTE, INVOICE, RECEIPT
from core.models.catalog import SUBSCRIPTION

SNAPSHOT_VERSION = 2  # 2: net lines, taxes with their base, the tax treatment, the supply date


def _format(portal: Portal, kind: str) -> str:
    store = portal.settings.store
    return {INVOICE: store.invoice_number_format, RECEIPT: store.receipt_number_format,
            CREDIT_NOTE: store.credit_note_number_format}[kind]


async def next_number(session: AsyncSession, portal: Portal, kind: str, year: int) -> str:
    """The next number, held under the counter's row lock until the transaction ends, so
    numbers are unique across processes and a rolled-back issue leaves no gap."""
    insert = sqlite_insert if portal.db.is_sqlite else pg_insert
    await session.execute(insert(DocumentCounter).values(kind=kind, year=year, value=0)
                          .on_conflict_do_nothing())
    value = await session.scalar(
        update(DocumentCounter)
        .where(DocumentCounter.kind == kind, DocumentCounter.year == year)
        .values(value=DocumentCounter.value + 1)
        .returning(DocumentCounter.value)
    )
    assert value is not None
    return _format(portal, kind).format(year=year, seq=value)


def seller(portal: Portal) -> dict[str, Any]:
    return seller_details.snapshot(portal.settings)


async def issue_moment(session: AsyncSession, portal: Portal, kind: str) -> datetime:
    """Now, and never before the newest document of the kind: numbers follow issue dates even
    when two hosts' clocks differ. Call it holding the kind's number (its counter's lock)."""
    now = portal.now()
    newest = await session.scalar(select(func.max(Document.issued_at)).where(Document.kind == kind))
    return max(now, newest) if newest is not None else now


async def _subscription_period(session: AsyncSession, order: Order, item: OrderItem
                               ) -> tuple[datetime, datetime] | None:
    """The period a subscription line pays for: its subscription's current one, as the charge
    (first purchase or renewal) has just made it."""
    if item.product.kind != SUBSCRIPTION:
        return None
    subscription = await session.scalar(
        select(Subscription).where(Subscription.customer_id == order.customer_id,
                                   Subscription.product_id == item.product_id)
        .order_by(Subscription.current_period_start.desc(), Subscription.id.desc()).limit(1))
    if subscription is None:
        return None
    return subscription.current_period_start, subscription.current_period_end


async def issue_for_order(session: AsyncSession, portal: Portal, order: Order, *,
                          buyer: BuyerDetails | None = None) -> list[Document]:
    """An invoice for the paid order and a receipt for its payment, both dated now (the supply
    date, the order's time, is kept beside it). `buyer` is who is billed, as billing details
    say at this moment; by default read from the customer's billing details."""
    items = list(await session.scalars(
        select(OrderItem).where(OrderItem.order_id == order.id).order_by(OrderItem.id)
        .options(selectinload(OrderItem.product), selectinload(OrderItem.plan))))
    customer = await session.get(Customer, order.customer_id)
    assert customer is not None
    details = buyer or await buyer_details.of_customer(session, customer)
    store = portal.settings.store
    treatment = treatment_for(store, details.country, [tax_id.value for tax_id in details.tax_ids])
    amounts = invoice_amounts(
        [Item(description=item.product.name + (f" ({item.plan.name})" if item.plan else ""),
              quantity=item.quantity, listed=item.amount,
              period=await _subscription_period(session, order, item)) for item in items],
        order.total, treatment, store_rate=store.tax_rate, tax_name=store.tax_name)
    snapshot = {
        "version": SNAPSHOT_VERSION, "seller": seller(portal), "buyer": details.snapshot(),
        "lines": amounts.lines, "taxes": amounts.taxes,
        "treatment": {"kind": treatment.kind, "mention": treatment.mention,
                      "buyer_vat_id": treatment.buyer_vat_id},
        "order_number": order.number, "supplied_at": order.placed_at.isoformat(),
        "paid_at": order.placed_at.isoformat(), "payment_status": "paid",
    }
    totals = {"subtotal": amounts.subtotal, "tax_total": amounts.tax_total, "total": amounts.total}
    documents: list[Document] = []
    for kind in (INVOICE, RECEIPT):
        year = portal.now().year
        number = await next_number(session, portal, kind, year)
        issued_at = await issue_moment(session, portal, kind)
        settles = {} if not documents else {
            "settles": documents[0].number, "settles_issued_at": documents[0].issued_at.isoformat()}
        document = Document(
            kind=kind, number=number, customer_id=customer.id, order_id=order.id,
            related_document_id=documents[0].id if documents else None,
            issued_at=issued_at, supplied_at=order.placed_at, tax_treatment=treatment.kind,
            currency=order.currency, amount_paid=order.total, status="paid",
            snapshot={**snapshot, **settles, "kind": kind}, **totals)
        session.add(document)
        await session.flush()
        documents.append(document)
    return documents
