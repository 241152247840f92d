"""Credit notes: the correction of an issued invoice that a refund makes.

A credit note has its own gapless number sequence (`[store] credit_note_number_format`,
CN-2026-0001), cites the invoice it corrects, and lists the invoice's lines it amends with the
amounts given back, negative: the refund split over the lines in proportion to what each line
cost, its tax part over the lines' taxes, so the lines, the tax per rate and the total agree to
the minor unit. Seller, buyer and the tax treatment are the invoice's own, as issued. Like every
document it never changes once issued.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.billing.amounts import allocate, unit_net
from core.billing.issuing import issue_moment, next_number
from core.kernel.portal import Portal
from core.models import Document
from core.models.billing import CREDIT_NOTE

REFUNDED = "refunded"  # a credit note's status: the money went back

# What a credit note keeps of its invoice's snapshot: who, under which treatment, for what.
KEPT = ("version", "seller", "buyer", "treatment", "order_number", "supplied_at")


def amended_lines(invoice: Document, amount: int, tax: int) -> list[dict[str, Any]]:
    """The invoice's lines with the part of `amount` (tax included) and of `tax` each gives back,
    as negative amounts; lines nothing is given back of are left out."""
    lines = invoice.snapshot["lines"]
    gross = allocate(amount, [line["amount"] for line in lines])
    taxes = allocate(tax, [line.get("tax", 0) for line in lines]) if tax else [0] * len(lines)
    amended = []
    for line, back, tax_back in zip(lines, gross, taxes, strict=True):
        if back == 0:
            continue
        whole = back == line["amount"]  # a line given back in full keeps its quantity
        quantity = (line.get("quantity") or 1) if whole else 1
        net = -(back - tax_back)
        amended.append({
            **{key: line[key] for key in ("description", "kind", "period") if key in line},
            "quantity": quantity, "unit_net": str(unit_net(net, quantity)), "net": net,
            "tax_rate": line.get("tax_rate", "0"), "tax": -tax_back, "amount": -back,
        })
    return amended


def taxes_of(lines: list[dict[str, Any]], invoice: Document) -> list[dict[str, Any]]:
    """The tax per rate of the amended lines, named as the invoice names its taxes."""
    names = {str(Decimal(tax["rate"])): tax["name"] for tax in invoice.snapshot.get("taxes", [])}
    fallback = next(iter(names.values()), "VAT")
    base: dict[str, int] = defaultdict(int)
    amount: dict[str, int] = defaultdict(int)
    for line in lines:
        rate = str(Decimal(line["tax_rate"]))
        base[rate] += line["net"]
        amount[rate] += line["tax"]
    return [{"name": names.get(rate, fallback), "rate": rate, "base": base[rate], "amount": amount[rate]}
            for rate in base]


async def issue(session: AsyncSession, portal: Portal, invoice: Document, *, amount: int, tax: int,
                reason: str | None, refunded_at: str | None = None) -> Document:
    """The credit note giving back `amount` (of which `tax` is tax) of `invoice`, numbered now.
    Call it holding the lock of the invoice's order, so two refunds of it are issued in turn."""
    lines = amended_lines(invoice, amount, tax)
    number = await next_number(session, portal, CREDIT_NOTE, portal.now().year)
    issued_at = await issue_moment(session, portal, CREDIT_NOTE)
    snapshot = {key: invoice.snapshot[key] for key in KEPT if key in invoice.snapshot}
    snapshot.update(kind=CREDIT_NOTE, lines=lines, taxes=taxes_of(lines, invoice),
                    corrects=invoice.number, corrects_issued_at=invoice.issued_at.isoformat(),
                    reason=reason, refunded_at=refunded_at or issued_at.isoformat())
    note = Document(kind=CREDIT_NOTE, number=number, customer_id=invoice.customer_id,
                    order_id=invoice.order_id, related_document_id=invoice.id, issued_at=issued_at,
                    tax_treatment=invoice.tax_treatment, currency=invoice.currency,
                    subtotal=-(amount - tax), tax_total=-tax, total=-amount, amount_paid=-amount,
                    status=REFUNDED, snapshot=snapshot)
    session.add(note)
    await session.flush()
    return note
