"""License keys a purchase hands out."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, BigId, CreatedMixin, IdMixin
from core.models.catalog import Product
from core.models.orders import ACTIVE


class License(IdMixin, CreatedMixin, Base):
    __tablename__ = "licenses"

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"))
    order_item_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("order_items.id"))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    seat_limit: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default=ACTIVE)

    product: Mapped[Product] = relationship()
