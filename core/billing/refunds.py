"""Refunds: money given back for an order, once per idempotency key, never more than was paid.

A refund goes back the way the order was paid: through the payment provider that made its
charge (a subscription billed by shopkeep), or, for an order the merchant's own store was paid
for (no charge in shopkeep), it is recorded as the store's refund, without asking any provider:
the store moves that money itself.

1. `request` takes the order's row lock, refuses what would pass what is left (pending refunds
   hold their amount, so two refunds at once can never exceed what was paid) and records the
   refund as pending, with its tax part: in proportion to the invoice's tax, and the refund that
   completes the order takes what is left of the tax to the minor unit.
2. `send` asks the provider with the refund's idempotency key (asking again answers the same
   refund) and settles what it answers; `follow` asks again about one the provider took and
   settles later.
3. Settling a success issues the credit note that corrects the invoice and moves the order to
   partially_refunded or refunded. Every state the customer should hear of (pending at the
   provider, succeeded, failed, canceled) is audited, mailed to them and published as
   RefundChanged; access ends through that event when the order is refunded in full (or the
   operator asked for it on a partial refund): `end_refunded_access` (core/subscriptions/
   refunding.py, subscribed in bot/bootstrap.py) ends the order's products, keys and seats
   (core/orders/access.py) and the subscription whose current period it paid for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import audit
from core.billing import credit_notes, refund_notices
from core.kernel import events, formatting
from core.kernel.db import lock
from core.kernel.errors import Conflict, InvalidInput, NotFound
from core.kernel.portal import Portal
from core.kernel.validation import CONTROL
from core.models import Charge, Document, Order, Refund
from core.models.billing import INVOICE
from core.models.orders import PARTIALLY_REFUNDED, REFUNDED
from core.models.payments import SUCCEEDED as CHARGED
from core.models.refunds import CANCELED, FAILED, HOLDING, PENDING, STORE, SUCCEEDED
from core.payments.provider import PaymentProvider, RefundResult

ORDER_NUMBER = re.compile(r"^(?:SK-?)?#?0*(\d{1,12})$", re.I)
MAX_KEY = 200
MAX_REASON = 500


@dataclass(frozen=True)
class Balance:
    """What was paid for an order and what of it went back or is on its way back."""

    paid: int
    refunded: int  # succeeded
    pending: int

    @property
    def left(self) -> int:
        return max(self.paid - self.refunded - self.pending, 0)


@dataclass(frozen=True)
class Requested:
    refund: Refund
    replayed: bool  # the key's refund was asked for before: nothing new was recorded


def order_number(ref: str) -> int | None:
    """The order id in "SK-00012", "sk-12", "#12" or "12"; None when it is no order number."""
    match = ORDER_NUMBER.match(ref.strip())
    return int(match[1]) if match else None


async def find_order(session: AsyncSession, ref: str, *, customer_id: int | None = None) -> Order:
    """The order by its number; with `customer_id`, only one of theirs (another customer's order
    is not found, exactly like one that does not exist)."""
    order_id = order_number(ref)
    order = await session.get(Order, order_id) if order_id is not None else None
    if order is None or (customer_id is not None and order.customer_id != customer_id):
        shown = ref.strip()[:40]
        raise NotFound(f"There is no order {shown}." if customer_id is None else
                       f"You have no order {shown}. Send `orders` to see yours.")
    return order


async def balance(session: AsyncSession, order: Order) -> Balance:
    rows = dict((await session.execute(
        select(Refund.state, func.coalesce(func.sum(Refund.amount), 0))
        .where(Refund.order_id == order.id, Refund.state.in_(HOLDING)).group_by(Refund.state))).all())
    return Balance(paid=order.total, refunded=int(rows.get(SUCCEEDED, 0)), pending=int(rows.get(PENDING, 0)))


async def invoice_of(session: AsyncSession, order: Order) -> Document | None:
    return await session.scalar(select(Document).where(Document.order_id == order.id,
                                                       Document.kind == INVOICE)
                                .order_by(Document.id).limit(1))


async def charge_of(session: AsyncSession, order: Order) -> Charge | None:
    """The provider charge that paid for the order; None when the store was paid for it."""
    return await session.scalar(select(Charge).where(Charge.order_id == order.id,
                                                     Charge.status == CHARGED).limit(1))


def takes_access(order: Order, refund: Refund) -> bool:
    """Whether a refund that went through ends the access the order gave: a full refund does, a
    partial one only when the operator asked for it."""
    return order.status == REFUNDED or refund.end_access


def _money(amount: int, order: Order) -> str:
    return formatting.money(amount, order.currency)


async def request(session: AsyncSession, portal: Portal, payments: PaymentProvider | None,
                  order: Order, *, amount: int | None, reason: str | None, key: str,
                  requested_by: str, actor: str, end_access: bool = False) -> Requested:
    """Record a pending refund of `amount` (everything left when None) of `order`."""
    key, reason = key.strip(), (reason or "").strip() or None
    if not key or len(key) > MAX_KEY:
        raise InvalidInput(f"An idempotency key is 1 to {MAX_KEY} characters.")
    if reason is not None and len(reason) > MAX_REASON:
        raise InvalidInput(f"A reason is at most {MAX_REASON} characters.")
    if CONTROL.search(key + (reason or "")):
        raise InvalidInput("A reason or key must not contain control characters.")
    await lock(session, Order, order.id)
    await session.refresh(order)
    done = await session.scalar(select(Refund).where(Refund.idempotency_key == key))
    if done is not None:
        if done.order_id != order.id or (amount is not None and amount != done.amount):
            raise Conflict(f"The key {key!r} was used for another refund ({_money(done.amount, order)} "
                           f"of order {order.number if done.order_id == order.id else 'another order'}); "
                           "a new refund needs a new key.")
        return Requested(done, replayed=True)
    held = await balance(session, order)
    if held.paid <= 0:
        raise Conflict(f"Nothing was paid for order {order.number}, so there is nothing to refund.")
    if held.refunded >= held.paid:
        raise Conflict(f"Order {order.number} is already refunded in full ({_money(held.paid, order)}).")
    if amount is not None and amount <= 0:
        raise InvalidInput("The amount to refund must be more than 0 (in minor units: 500 is "
                           f"{_money(500, order)}).")
    if held.left == 0:
        raise Conflict(f"Nothing is left to refund of order {order.number}: "
                       f"{_money(held.pending, order)} of it is being refunded already.")
    amount = held.left if amount is None else amount
    if amount > held.left:
        on_its_way = f", {_money(held.pending, order)} on its way back" if held.pending else ""
        raise Conflict(f"Only {_money(held.left, order)} of order {order.number} is left to refund "
                       f"(paid {_money(held.paid, order)}, refunded {_money(held.refunded, order)}"
                       f"{on_its_way}); {_money(amount, order)} is more than that.")
    charge = await charge_of(session, order)
    if charge is not None and (payments is None or payments.name != charge.provider):
        raise Conflict(f"Order {order.number} was charged through {charge.provider}, which is not the "
                       "payment provider configured now; refund it there.")
    if charge is not None and not charge.provider_ref:
        raise Conflict(f"The charge of order {order.number} has no reference at {charge.provider} "
                       "to refund.")
    refund = Refund(order_id=order.id, customer_id=order.customer_id, charge_id=charge.id if charge else None,
                    amount=amount, tax=await _tax_part(session, order, amount, held),
                    currency=order.currency, reason=reason, state=PENDING, idempotency_key=key,
                    provider=charge.provider if charge else STORE, requested_by=requested_by,
                    actor=actor[:120], end_access=end_access, created_at=portal.now(),
                    updated_at=portal.now())
    session.add(refund)
    await session.flush()
    await audit.record(session, at=portal.now(), customer_id=order.customer_id, actor=actor,
                       action="refund_requested",
                       order=order.number, amount=amount, currency=order.currency, reason=reason)
    return Requested(refund, replayed=False)


async def _tax_part(session: AsyncSession, order: Order, amount: int, held: Balance) -> int:
    """The tax in `amount`: the invoice's tax in proportion, half up; the refund that completes
    the order takes exactly what the others left of it."""
    invoice = await invoice_of(session, order)
    if invoice is None or invoice.tax_total == 0:
        return 0
    taken = await session.scalar(select(func.coalesce(func.sum(Refund.tax), 0)).where(
        Refund.order_id == order.id, Refund.state.in_(HOLDING))) or 0
    left = invoice.tax_total - int(taken)
    if held.refunded + held.pending + amount >= held.paid:
        return left
    share = (Decimal(amount) * invoice.tax_total / held.paid).quantize(Decimal(1), ROUND_HALF_UP)
    return max(0, min(int(share), left))


async def send(session: AsyncSession, portal: Portal, payments: PaymentProvider | None,
               refund: Refund) -> Refund:
    """Ask the provider for a pending refund it has not answered yet (again, with the same key,
    after a crash or a timeout), or record the store's own refund; then settle the answer. A
    provider that raises leaves the outcome unknown: the exception goes up, the refund stays as
    it was, and sending it again is safe."""
    if refund.state != PENDING or refund.provider_ref is not None:
        return refund
    if refund.provider == STORE:
        return await settle(session, portal, refund, RefundResult(True))
    charge = await session.get(Charge, refund.charge_id) if refund.charge_id else None
    if charge is None or payments is None or payments.name != refund.provider or not charge.provider_ref:
        raise Conflict(f"The refund cannot be sent: {refund.provider} is not the payment provider "
                       "configured now.")
    result = await payments.refund(charge.provider_ref, refund.amount, refund.currency,
                                   refund.idempotency_key)
    return await settle(session, portal, refund, result)


async def follow(session: AsyncSession, portal: Portal, payments: PaymentProvider | None,
                 refund: Refund) -> Refund:
    """Where a refund stands: sent if it never was, asked about if the provider still settles it."""
    if refund.state != PENDING:
        return refund
    if refund.provider_ref is None:
        return await send(session, portal, payments, refund)
    if payments is None or payments.name != refund.provider:
        raise Conflict(f"{refund.provider} is not the payment provider configured now.")
    return await settle(session, portal, refund, await payments.refund_status(refund.provider_ref))


async def refund_order(session: AsyncSession, portal: Portal, payments: PaymentProvider | None,
                       order: Order, *, amount: int | None, reason: str | None, key: str,
                       requested_by: str, actor: str, end_access: bool = False) -> Refund:
    """`request` and `send` in one unit of work (a refund that is part of a larger change, such
    as a cancellation: it commits or rolls back with it)."""
    requested = await request(session, portal, payments, order, amount=amount, reason=reason, key=key,
                              requested_by=requested_by, actor=actor, end_access=end_access)
    return await send(session, portal, payments, requested.refund)


async def settle(session: AsyncSession, portal: Portal, refund: Refund, result: RefundResult) -> Refund:
    """Record what the provider answered about a pending refund."""
    order = await session.get(Order, refund.order_id)
    assert order is not None
    await lock(session, Order, order.id)
    await session.refresh(refund)
    if refund.state != PENDING:
        return refund  # settled meanwhile (another process followed it)
    now = portal.now()
    known_before = refund.provider_ref is not None
    refund.provider_ref = result.provider_ref or refund.provider_ref
    refund.updated_at = now
    if result.pending and not result.succeeded:
        if not known_before:  # the provider took it: the customer hears it is on its way
            await _told(session, portal, order, refund, ends_access=False)
        return refund
    refund.settled_at = now
    if not result.succeeded:
        refund.state = CANCELED if result.canceled else FAILED
        refund.failure_message = result.message
        await _told(session, portal, order, refund, ends_access=False)
        return refund
    refund.state = SUCCEEDED
    await session.flush()
    invoice = await invoice_of(session, order)
    if invoice is not None:
        note = await credit_notes.issue(session, portal, invoice, amount=refund.amount, tax=refund.tax,
                                        reason=refund.reason)
        refund.credit_note_id = note.id
    held = await balance(session, order)
    order.status = REFUNDED if held.refunded >= held.paid else PARTIALLY_REFUNDED
    await _told(session, portal, order, refund, ends_access=takes_access(order, refund))
    return refund


async def _told(session: AsyncSession, portal: Portal, order: Order, refund: Refund, *,
                ends_access: bool) -> None:
    """The audit entry, the customer's notice and the event of the refund's state now."""
    note = await session.get(Document, refund.credit_note_id) if refund.credit_note_id else None
    await audit.record(session, at=portal.now(), customer_id=refund.customer_id, actor=refund.actor,
                       action=f"refund_{refund.state}", order=order.number, amount=refund.amount,
                       currency=refund.currency, credit_note=note.number if note else None,
                       ends_access=ends_access or None)
    await refund_notices.queue(session, portal, order, refund, note, ends_access=ends_access)
    events.publish(session, events.RefundChanged(customer_id=refund.customer_id, order_id=order.id,
                                                 refund_id=refund.id, state=refund.state,
                                                 ends_access=ends_access))


async def refunds_of(session: AsyncSession, customer_id: int, order_id: int | None = None
                     ) -> list[Refund]:
    """The customer's refunds (of one of their orders), newest first."""
    query = select(Refund).where(Refund.customer_id == customer_id)
    if order_id is not None:
        query = query.where(Refund.order_id == order_id)
    return list(await session.scalars(query.order_by(Refund.created_at.desc(), Refund.id.desc())))
