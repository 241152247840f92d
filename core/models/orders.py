"""Orders, their items, what they entitle the customer to, and the downloads made with it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, BigId, CreatedMixin, IdMixin, utcnow
from core.models.catalog import Plan, Product

PAID = "paid"
PARTIALLY_REFUNDED = "partially_refunded"  # part of what was paid went back
REFUNDED = "refunded"  # everything paid went back
ACTIVE = "active"
ENDED = "ended"


class Order(IdMixin, CreatedMixin, Base):
    __tablename__ = "orders"

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=PAID)
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[int]  # minor units
    placed_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(30), default="api")
    # The purchase as it was first recorded (its parsed fields), to tell a replay from a
    # different purchase reusing the external id. None for orders from before it was kept.
    request: Mapped[dict[str, Any] | None]

    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", order_by="OrderItem.id", cascade="all, delete-orphan"
    )

    @property
    def number(self) -> str:
        return f"SK-{self.id:05d}"


class OrderItem(IdMixin, Base):
    __tablename__ = "order_items"

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"))
    plan_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("plans.id"))
    quantity: Mapped[int] = mapped_column(default=1)
    unit_amount: Mapped[int]
    amount: Mapped[int]

    order: Mapped[Order] = relationship(back_populates="items")
    product: Mapped[Product] = relationship()
    plan: Mapped[Plan | None] = relationship()


class Entitlement(IdMixin, CreatedMixin, Base):
    """Access to one product; what every deliverable and chat role is derived from."""

    __tablename__ = "entitlements"

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"))
    order_item_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("order_items.id"))
    subscription_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("subscriptions.id"))
    seat_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("seats.id"))  # a team member's
    status: Mapped[str] = mapped_column(String(20), default=ACTIVE)
    ends_at: Mapped[datetime | None]

    product: Mapped[Product] = relationship()


class Download(IdMixin, Base):
    __tablename__ = "downloads"

    at: Mapped[datetime] = mapped_column(default=utcnow)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    deliverable_id: Mapped[int] = mapped_column(BigId, ForeignKey("deliverables.id"), index=True)
    byte_range: Mapped[str | None] = mapped_column(String(60))
