"""Orders, their items, what they entitle the customer to, licenses and subscriptions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, BigId, CreatedMixin, IdMixin
from core.models.catalog import Plan, Product

PAID = "paid"
REFUNDED = "refunded"
ACTIVE = "active"


class Order(IdMixin, CreatedMixin, Base):
    __tablename__ = "orders"

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=PAID)
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[int]  # minor units
    placed_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(30), default="api")

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
    status: Mapped[str] = mapped_column(String(20), default=ACTIVE)
    ends_at: Mapped[datetime | None]

    product: Mapped[Product] = relationship()


class Subscription(IdMixin, CreatedMixin, Base):
    __tablename__ = "subscriptions"

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"))
    plan_id: Mapped[int] = mapped_column(BigId, ForeignKey("plans.id"))
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("orders.id"))
    status: Mapped[str] = mapped_column(String(20), default=ACTIVE)
    current_period_start: Mapped[datetime]
    current_period_end: Mapped[datetime]
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)

    product: Mapped[Product] = relationship()
    plan: Mapped[Plan] = relationship()


class License(IdMixin, CreatedMixin, Base):
    __tablename__ = "licenses"

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"))
    order_item_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("order_items.id"))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    seat_limit: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default=ACTIVE)

    product: Mapped[Product] = relationship()
