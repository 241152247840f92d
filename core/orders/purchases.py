"""Recording a purchase: customer, order, access, licenses and the invite, in one go."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from core.accounts import audit
from core.billing.issuing import issue_for_order
from core.catalog.plans import period_end
from core.identity.customers import get_or_create, normalize_email
from core.kernel import events
from core.kernel.errors import Conflict, InvalidInput
from core.kernel.portal import Portal
from core.kernel.validation import no_controls
from core.licenses.keys import new_key
from core.licenses.status import expires_at
from core.mail import notifications
from core.models import Entitlement, License, Order, OrderItem, Plan, Product, Subscription
from core.models.catalog import SUBSCRIPTION
from core.models.subscriptions import EXTERNAL, LIVE, MERCHANT, SHOPKEEP
from core.payments.methods import default_method

# Bounds on what a purchase may say: beyond them it is a mistake or an attack, never a sale.
MAX_QUANTITY = 1000
MAX_ITEMS = 100
MAX_AMOUNT = 10**12  # minor units: ten billion in a two-decimal currency
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(minutes=5)  # how far ahead of our clock a sender's may be


class PurchaseItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product: str = Field(min_length=1, description="product slug")
    plan: str | None = Field(default=None, description="plan slug; the product's first plan if omitted")
    quantity: int = Field(default=1, gt=0, le=MAX_QUANTITY)

    _plain = field_validator("product", "plan")(no_controls)


class PurchaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str
    name: str | None = Field(default=None, max_length=200)
    items: list[PurchaseItem] = Field(min_length=1, max_length=MAX_ITEMS)
    amount: int | None = Field(default=None, ge=0, le=MAX_AMOUNT, description="total in minor units")
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    external_id: str = Field(min_length=1, max_length=200)
    time: datetime | None = None
    source: str = Field(default="api", max_length=30)
    # Who bills the subscriptions it starts: the store itself (the default), or shopkeep through
    # its payment provider.
    billed_by: Literal["shopkeep", "merchant"] = MERCHANT

    _plain = field_validator("name", "currency", "external_id", "source")(no_controls)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        try:
            return normalize_email(value)
        except InvalidInput as exc:
            raise ValueError(exc.message) from None

    @field_validator("time")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must include a time zone, e.g. 2026-03-01T10:00:00Z")
        return value


@dataclass(frozen=True)
class PurchaseResult:
    order: Order
    created: bool  # False when the external id was seen before (a replay)
    new_customer: bool


async def _resolve(session: AsyncSession, item: PurchaseItem) -> tuple[Product, Plan]:
    product = await session.scalar(
        select(Product).where(Product.slug == item.product).options(selectinload(Product.plans))
    )
    if product is None or not product.active:
        raise InvalidInput(f"items: unknown product {item.product!r}")
    plans = [p for p in product.plans if p.active]
    plan = next((p for p in plans if p.slug == item.plan), None) if item.plan else (
        plans[0] if plans else None)
    if plan is None:
        raise InvalidInput(f"items: product {item.product!r} has no plan {item.plan!r}")
    return product, plan


async def existing_order(session: AsyncSession, external_id: str) -> Order | None:
    return await session.scalar(
        select(Order).where(Order.external_id == external_id).options(selectinload(Order.items))
    )


def fingerprint(request: PurchaseRequest) -> dict[str, Any]:
    """The parsed fields that make a purchase: a replay must say the same."""
    # billed_by is left out while it says the default, so purchases recorded before it existed
    # still replay as the same purchase.
    return request.model_dump(mode="json", exclude={"source"} | (
        {"billed_by"} if request.billed_by == MERCHANT else set()))


def _differing_field(stored: dict[str, Any], request: PurchaseRequest) -> str | None:
    given = fingerprint(request)
    return next((name for name in given if stored.get(name) != given[name]), None)


async def record_purchase(session: AsyncSession, portal: Portal, request: PurchaseRequest,
                          *, actor: str = "webhook") -> PurchaseResult:
    replay = await existing_order(session, request.external_id)
    if replay is not None:
        # Orders stored before purchases were fingerprinted replay as they always did.
        differs = _differing_field(replay.request, request) if replay.request is not None else None
        if differs is not None:
            raise Conflict(f"{differs}: differs from the purchase first recorded with external_id "
                           f"{request.external_id!r}; a new purchase needs a new external_id")
        return PurchaseResult(replay, created=False, new_customer=False)
    now = portal.now()
    if request.time is not None and not EARLIEST <= request.time <= now + CLOCK_SKEW:
        raise InvalidInput(f"time: must be between {EARLIEST:%Y-%m-%d} and now (a purchase cannot "
                           "be in the future)")

    resolved = [(item, *await _resolve(session, item)) for item in request.items]
    currencies = {plan.currency for _, _, plan in resolved}
    currency = request.currency or (currencies.pop() if len(currencies) == 1 else None)
    if currency is None:
        raise InvalidInput("currency: items are priced in several currencies; say which one was paid")
    placed_at = request.time or now
    customer, new_customer = await get_or_create(session, request.email, request.name)

    computed = sum(plan.price * item.quantity for item, _, plan in resolved)
    order = Order(customer_id=customer.id, external_id=request.external_id, request=fingerprint(request),
                  currency=currency,
                  total=computed if request.amount is None else request.amount,
                  placed_at=placed_at, source=request.source, items=[])
    for item, product, plan in resolved:
        order.items.append(OrderItem(product_id=product.id, plan_id=plan.id, quantity=item.quantity,
                                     unit_amount=plan.price, amount=plan.price * item.quantity))
    session.add(order)
    await session.flush()

    for order_item, (item, product, plan) in zip(order.items, resolved, strict=True):
        await _grant(session, portal, customer.id, order, order_item, product, plan, item.quantity,
                     placed_at, request.billed_by)

    await issue_for_order(session, portal, order)
    await audit.record(session, at=portal.now(), customer_id=customer.id, actor=actor, action="purchase",
                       order=order.number, external_id=request.external_id)
    await notifications.queue_invite(session, portal, customer, order,
                                     [product.name for _, product, _ in resolved])
    events.publish(session, events.PurchaseRecorded(customer_id=customer.id, order_id=order.id))
    events.publish(session, events.AccessChanged(customer_id=customer.id))
    return PurchaseResult(order, created=True, new_customer=new_customer)


async def _grant(session: AsyncSession, portal: Portal, customer_id: int, order: Order,
                 item: OrderItem, product: Product, plan: Plan, quantity: int, placed_at: datetime,
                 billed_by: str) -> None:
    subscription_id = None
    if product.kind == SUBSCRIPTION:
        live = await session.scalar(select(Subscription.id).where(
            Subscription.customer_id == customer_id, Subscription.product_id == product.id,
            Subscription.status.in_(LIVE)).limit(1))
        if live is not None:
            raise Conflict(f"items: the buyer already has a live {product.name} subscription (one per "
                           "product); they change its plan in the portal instead of buying it again")
        by_shopkeep = billed_by == SHOPKEEP
        method = await default_method(session, customer_id) if by_shopkeep else None
        subscription = Subscription(customer_id=customer_id, product_id=product.id, plan_id=plan.id,
                                    order_id=order.id, current_period_start=placed_at,
                                    current_period_end=period_end(plan, placed_at),
                                    billed_by=billed_by,
                                    provider=portal.settings.portal.payment_provider if by_shopkeep
                                    else EXTERNAL,
                                    payment_method_id=method.id if method else None)
        session.add(subscription)
        await session.flush()
        subscription_id = subscription.id
    # Subscription access follows the subscription's status, not a date.
    session.add(Entitlement(customer_id=customer_id, product_id=product.id, order_item_id=item.id,
                            subscription_id=subscription_id, created_at=placed_at))
    # A team purchase hands out no key of its own: the buyer assigns seats, each with a key.
    if product.activation_limit and not product.seats:
        session.add(License(customer_id=customer_id, product_id=product.id, order_item_id=item.id,
                            key=new_key(), activation_limit=product.activation_limit * quantity,
                            expires_at=expires_at(product, placed_at), created_at=placed_at))
