"""Subscriptions: a plan renewed every period until it ends."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, BigId, CreatedMixin, IdMixin
from core.models.catalog import Plan, Product
from core.models.orders import ACTIVE


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
