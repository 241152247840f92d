"""License keys, the devices activated with them, and the seats of team purchases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, BigId, CreatedMixin, IdMixin, utcnow
from core.models.catalog import Product
from core.models.orders import ACTIVE

DISABLED = "disabled"  # stored: a key taken away (its seat unassigned); the others are computed

PENDING = "pending"  # a seat assigned to an email whose owner has not signed in or used the key
CLAIMED = "claimed"
UNASSIGNED = "unassigned"  # kept for the history; the seat is free again


class License(IdMixin, CreatedMixin, Base):
    __tablename__ = "licenses"

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"))
    order_item_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("order_items.id"))
    # Any text up to 64 characters: imported keys keep the format they were sold with.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    activation_limit: Mapped[int]  # devices at once
    status: Mapped[str] = mapped_column(String(20), default=ACTIVE)  # active or disabled
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]  # taken from its holder: no longer listed as theirs

    product: Mapped[Product] = relationship()


class Activation(IdMixin, Base):
    """One device (an "instance" to the license API) using a key."""

    __tablename__ = "activations"

    license_id: Mapped[int] = mapped_column(BigId, ForeignKey("licenses.id", ondelete="CASCADE"),
                                            index=True)
    instance_id: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    platform: Mapped[str | None] = mapped_column(String(60))
    fingerprint: Mapped[str | None] = mapped_column(String(200))
    activated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    deactivated_at: Mapped[datetime | None]
    deactivated_by: Mapped[str | None] = mapped_column(String(120))

    @property
    def active(self) -> bool:
        return self.deactivated_at is None


class Seat(IdMixin, Base):
    """A team member's place in a team purchase: assigned to an email, then claimed."""

    __tablename__ = "seats"

    order_item_id: Mapped[int] = mapped_column(BigId, ForeignKey("order_items.id"), index=True)
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"))
    owner_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    member_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    license_id: Mapped[int] = mapped_column(BigId, ForeignKey("licenses.id"))
    state: Mapped[str] = mapped_column(String(20), default=PENDING)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    unassigned_at: Mapped[datetime | None]

    license: Mapped[License] = relationship()
    product: Mapped[Product] = relationship()
