"""What a customer owns: their orders, their products and each product's deliverables.

Every query here is scoped by the customer; a product or order of someone else is simply
not found.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from core.kernel.errors import NotFound
from core.models import Entitlement, Order, OrderItem, Product, Subscription
from core.models.orders import ACTIVE


@dataclass(frozen=True)
class OwnedProduct:
    number: int  # the customer's own 1-based numbering, stable as purchases are appended
    product: Product
    since: datetime
    active: bool
    subscription: Subscription | None


async def orders_of(session: AsyncSession, customer_id: int, *, limit: int | None = None,
                    offset: int = 0) -> list[Order]:
    """The customer's orders, newest first."""
    rows = await session.scalars(
        select(Order)
        .where(Order.customer_id == customer_id)
        # Two queries whatever the number of orders: items with their product and plan joined in.
        .options(selectinload(Order.items).options(joinedload(OrderItem.product),
                                                   joinedload(OrderItem.plan)))
        .order_by(Order.placed_at.desc(), Order.id.desc())
        .limit(limit).offset(offset)
    )
    return list(rows)


async def owned_products(session: AsyncSession, customer_id: int, *, with_deliverables: bool = False
                         ) -> list[OwnedProduct]:
    product = joinedload(Entitlement.product)
    rows = await session.execute(
        select(Entitlement, Subscription)
        .outerjoin(Subscription, Entitlement.subscription_id == Subscription.id)
        .where(Entitlement.customer_id == customer_id)
        .options(product.selectinload(Product.deliverables) if with_deliverables else product,
                 joinedload(Subscription.plan))
        .order_by(Entitlement.created_at, Entitlement.id)
    )
    owned: dict[int, OwnedProduct] = {}
    for entitlement, subscription in rows:
        active = entitlement.status == ACTIVE
        previous = owned.get(entitlement.product_id)
        if previous is not None and (previous.active or not active):
            continue
        owned[entitlement.product_id] = OwnedProduct(
            number=previous.number if previous else len(owned) + 1,
            product=entitlement.product,
            since=previous.since if previous else entitlement.created_at,
            active=active,
            subscription=subscription,
        )
    return list(owned.values())


async def find_owned_product(session: AsyncSession, customer_id: int, ref: str) -> OwnedProduct:
    """A product by the customer's number, slug, or (part of) its name."""
    products = await owned_products(session, customer_id, with_deliverables=True)
    wanted = ref.strip().lstrip("#").lower()
    if not products:
        raise NotFound("You don't own any products yet.")
    if wanted.isdecimal():  # isdigit() also admits "²", which int() refuses
        match = [p for p in products if p.number == int(wanted)]
    else:
        match = [p for p in products if wanted in (p.product.slug, p.product.name.lower())]
        match = match or [p for p in products if wanted in p.product.name.lower()]
    if len(match) == 1:
        return match[0]
    listing = ", ".join(f"{p.number}. {p.product.name}" for p in (match or products))
    if match:
        raise NotFound(f"{ref!r} matches several of your products: {listing}. Which one?")
    raise NotFound(f"You have no product {ref!r}. Your products: {listing}.")


async def owns_product(session: AsyncSession, customer_id: int, product_id: int) -> bool:
    found = await session.scalar(
        select(Entitlement.id).where(
            Entitlement.customer_id == customer_id,
            Entitlement.product_id == product_id,
            Entitlement.status == ACTIVE,
        ).limit(1)
    )
    return found is not None
