"""Charging a subscription through the payment provider, once per idempotency key, and the
order, invoice and receipt for what was paid.

A key names one attempt at one payment ("renewal:<subscription>:<period end>:<attempt>",
"change:<quote>:<method>"). The provider answers a repeated key with its first answer, and the
charges table keeps a key once, so a pass that crashed after the provider charged and before its
commit charges nothing more when it runs again: it records the same charge, with one invoice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.billing.issuing import issue_for_order
from core.kernel.errors import Conflict, PortalError
from core.kernel.portal import Portal
from core.models import Charge, Customer, Order, OrderItem, PaymentMethod, Plan, Subscription
from core.models.payments import FAILED, SUCCEEDED
from core.payments.customers import provider_customer
from core.payments.methods import default_method
from core.payments.provider import NO_PAYMENT_METHOD, ChargeRequest, PaymentProvider


@dataclass(frozen=True)
class Charged:
    charge: Charge
    order: Order | None  # with its invoice and receipt, when the charge succeeded
    replayed: bool = False  # the key's charge was made before: nothing new was charged or issued

    @property
    def succeeded(self) -> bool:
        return self.charge.status == SUCCEEDED


async def method_for(session: AsyncSession, subscription: Subscription) -> PaymentMethod | None:
    """The subscription's payment method, or the customer's default when it has none."""
    if subscription.payment_method_id is not None:
        method = await session.get(PaymentMethod, subscription.payment_method_id)
        if method is not None and method.removed_at is None:
            return method
    return await default_method(session, subscription.customer_id)


async def charge(session: AsyncSession, portal: Portal, payments: PaymentProvider,
                 subscription: Subscription, *, plan: Plan, amount: int, key: str, purpose: str,
                 placed_at: datetime | None = None, issue: bool = True) -> Charged:
    """Charge `amount` of `plan`'s currency for the subscription; on success an order for
    `plan` with its invoice and receipt (unless `issue` is False: the caller issues them once
    the subscription is in the period they pay for). A decline is a failed Charge, not an
    exception."""
    done = await session.scalar(select(Charge).where(Charge.idempotency_key == key))
    if done is not None:
        order = await session.get(Order, done.order_id) if done.order_id else None
        return Charged(done, order, replayed=True)
    placed_at = placed_at or portal.now()
    method = await method_for(session, subscription)
    record = Charge(customer_id=subscription.customer_id, subscription_id=subscription.id,
                    payment_method_id=method.id if method else None, provider=payments.name,
                    idempotency_key=key, purpose=purpose, amount=amount, currency=plan.currency,
                    status=FAILED, created_at=placed_at)
    if method is None:
        record.failure_code, record.failure_message = NO_PAYMENT_METHOD, "no payment method on file"
        session.add(record)
        await session.flush()
        return Charged(record, None)
    customer = await session.get(Customer, subscription.customer_id)
    assert customer is not None
    result = await payments.charge(ChargeRequest(
        customer_ref=await provider_customer(session, payments, customer),
        method_ref=method.provider_ref, amount=amount, currency=plan.currency,
        idempotency_key=key, description=f"{subscription.product.name} ({plan.name})"))
    record.provider_ref = result.provider_ref
    if not result.succeeded:
        record.failure_code, record.failure_message = result.failure_code, result.message
        session.add(record)
        await session.flush()
        return Charged(record, None)
    record.status = SUCCEEDED
    order = Order(customer_id=subscription.customer_id, external_id=f"charge:{key}",
                  currency=plan.currency, total=amount, placed_at=placed_at, source=purpose,
                  items=[OrderItem(product_id=subscription.product_id, plan_id=plan.id, quantity=1,
                                   unit_amount=amount, amount=amount)])
    session.add(order)
    await session.flush()
    record.order_id = order.id
    session.add(record)
    await session.flush()
    if issue:
        await issue_for_order(session, portal, order)
    return Charged(record, order)


async def charge_now(session: AsyncSession, portal: Portal, payments: PaymentProvider,
                     subscription: Subscription, plan: Plan, amount: int, key: str, *,
                     purpose: str) -> Charged:
    """`charge` for a change the customer is confirming: a provider that does not answer
    refuses the change in words (the same key is safe to send again on the next try)."""
    try:
        return await charge(session, portal, payments, subscription, plan=plan, amount=amount,
                            key=key, purpose=purpose)
    except PortalError:
        raise
    except Exception:
        raise Conflict("The payment provider did not answer, so nothing was changed. Please "
                       "confirm again in a moment.") from None
