"""Issuing documents: gapless numbers, and a snapshot of seller, buyer and lines that never changes."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from core.kernel.portal import Portal
from core.models import Customer, Document, DocumentCounter, Order, OrderItem
from core.models.billing import CREDIT_NOTE, INVOICE, RECEIPT


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
    store = portal.settings.store
    return {"name": portal.settings.store_name, "legal_name": store.legal_name or portal.settings.store_name,
            "address": list(store.address), "tax_id": store.tax_id,
            "email": store.contact_email or portal.settings.portal_address, "footer": store.footer}


def buyer(customer: Customer) -> dict[str, Any]:
    return {"name": customer.billing_name or customer.name or customer.email, "email": customer.email,
            "address": list(customer.billing_address or []), "tax_ids": list(customer.tax_ids or []),
            "locale": customer.locale, "timezone": customer.timezone}


def _lines(portal: Portal, items: list[OrderItem], paid: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Lines with tax included in the price (as digital goods are sold to consumers)."""
    rate = portal.settings.store.tax_rate
    lines: list[dict[str, Any]] = []
    for item in items:
        lines.append({"description": item.product.name + (f" ({item.plan.name})" if item.plan else ""),
                      "quantity": item.quantity, "unit_amount": item.unit_amount, "amount": item.amount})
    listed = sum(line["amount"] for line in lines)
    if paid < listed:
        # "kind" lets the PDF name it in the buyer's language; the description is the fallback.
        lines.append({"kind": "discount", "description": "Discount", "quantity": 1,
                      "unit_amount": paid - listed,
                      "amount": paid - listed})
    tax = 0
    for line in lines:
        net = (Decimal(line["amount"]) * 100 / (100 + rate)).quantize(Decimal(1), ROUND_HALF_UP)
        line["tax_rate"] = str(rate)
        line["tax"] = line["amount"] - int(net)
        tax += line["tax"]
    total = sum(line["amount"] for line in lines)
    return lines, {"subtotal": total - tax, "tax_total": tax, "total": total}


async def issue_for_order(session: AsyncSession, portal: Portal, order: Order) -> list[Document]:
    """An invoice for the paid order and a receipt for its payment."""
    items = list(await session.scalars(
        select(OrderItem).where(OrderItem.order_id == order.id).order_by(OrderItem.id)
        .options(selectinload(OrderItem.product), selectinload(OrderItem.plan))))
    customer = await session.get(Customer, order.customer_id)
    assert customer is not None
    lines, totals = _lines(portal, items, order.total)
    snapshot = {
        "seller": seller(portal), "buyer": buyer(customer), "lines": lines,
        "taxes": [{"name": portal.settings.store.tax_name, "rate": str(portal.settings.store.tax_rate),
                   "amount": totals["tax_total"]}] if portal.settings.store.tax_rate else [],
        "order_number": order.number, "paid_at": order.placed_at.isoformat(), "payment_status": "paid",
    }
    documents = []
    related = None
    for kind in (INVOICE, RECEIPT):
        document = Document(
            kind=kind, number=await next_number(session, portal, kind, order.placed_at.year),
            customer_id=customer.id, order_id=order.id, related_document_id=related,
            issued_at=order.placed_at, currency=order.currency, amount_paid=order.total, status="paid",
            snapshot={**snapshot, "kind": kind}, **totals)
        session.add(document)
        await session.flush()
        related = document.id
        documents.append(document)
    return documents


async def issue_credit_note(session: AsyncSession, portal: Portal, invoice: Document, amount: int,
                            reason: str) -> Document:
    """A correction of an issued invoice (refunds issue these)."""
    snapshot = dict(invoice.snapshot)
    snapshot.update(kind=CREDIT_NOTE, reason=reason, corrects=invoice.number,
                    lines=[{"description": f"Credit for {invoice.number}: {reason}", "quantity": 1,
                            "unit_amount": -amount, "amount": -amount, "tax_rate": "0", "tax": 0}])
    note = Document(kind=CREDIT_NOTE, number=await next_number(session, portal, CREDIT_NOTE,
                                                                portal.now().year),
                    customer_id=invoice.customer_id, order_id=invoice.order_id,
                    related_document_id=invoice.id, issued_at=portal.now(), currency=invoice.currency,
                    subtotal=-amount, tax_total=0, total=-amount, amount_paid=0, status="credited",
                    snapshot=snapshot)
    session.add(note)
    await session.flush()
    return note

