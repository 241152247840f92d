"""The merchant's catalog: products, their plans and their deliverables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, BigId, CreatedMixin, IdMixin

ONE_TIME = "one_time"
SUBSCRIPTION = "subscription"


class Product(IdMixin, CreatedMixin, Base):
    __tablename__ = "products"

    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    # License policy: a product with an activation limit issues license keys.
    activation_limit: Mapped[int | None]  # devices per key
    seats: Mapped[int | None]  # team members per unit bought; None: not a team product
    license_days: Mapped[int | None]  # keys expire this many days after the purchase
    customer_can_deactivate: Mapped[bool] = mapped_column(default=True, server_default=true())
    # What the license API reports as meta, for apps that check the ids Lemon Squeezy gave them.
    lemonsqueezy_store_id: Mapped[int | None] = mapped_column(BigInteger)
    lemonsqueezy_product_id: Mapped[int | None] = mapped_column(BigInteger)
    lemonsqueezy_variant_id: Mapped[int | None] = mapped_column(BigInteger)
    # The catalog's `[products.subscription]`: the policy keys this product sets itself.
    subscription_policy: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")

    plans: Mapped[list[Plan]] = relationship(
        back_populates="product", order_by="Plan.rank", cascade="all, delete-orphan"
    )
    deliverables: Mapped[list[Deliverable]] = relationship(
        back_populates="product", order_by="Deliverable.position", cascade="all, delete-orphan"
    )


class Plan(IdMixin, Base):
    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("product_id", "slug"),)

    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    interval: Mapped[str | None] = mapped_column(String(10))  # month, year, or None for one-time
    price: Mapped[int]  # minor units
    currency: Mapped[str] = mapped_column(String(3))
    rank: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    product: Mapped[Product] = relationship(back_populates="plans")


class Deliverable(IdMixin, Base):
    """What owning a product gives: a file, a private link, or a chat-native grant."""

    __tablename__ = "deliverables"
    __table_args__ = (UniqueConstraint("product_id", "key"),)

    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))  # stable identity for catalog sync
    kind: Mapped[str] = mapped_column(String(30))  # file, link, discord_role, discord_invite
    label: Mapped[str] = mapped_column(String(200))
    target: Mapped[str] = mapped_column(String(1000))  # file path under data dir, URL, or platform id
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    product: Mapped[Product] = relationship(back_populates="deliverables")
