"""Payments as shopkeep records them: each customer's id at a provider, the payment methods
saved there (only brand, last four and expiry: card numbers are never kept), and every charge.

A charge's idempotency key is unique: one charge per subscription period and attempt, however
often a worker restarts, and the same key is what the provider is asked with.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, BigId, CreatedMixin, IdMixin

SUCCEEDED = "succeeded"
FAILED = "failed"


class PaymentCustomer(IdMixin, CreatedMixin, Base):
    """The customer as a payment provider knows them."""

    __tablename__ = "payment_customers"
    __table_args__ = (UniqueConstraint("customer_id", "provider"),)

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    provider: Mapped[str] = mapped_column(String(30))
    provider_ref: Mapped[str] = mapped_column(String(200))


class PaymentMethod(IdMixin, CreatedMixin, Base):
    __tablename__ = "payment_methods"

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    provider: Mapped[str] = mapped_column(String(30))
    provider_ref: Mapped[str] = mapped_column(String(200))
    # The hosted setup that added it: each setup adds one method, once (double submissions).
    setup_ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    brand: Mapped[str] = mapped_column(String(30))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int]
    exp_year: Mapped[int]
    is_default: Mapped[bool] = mapped_column(default=False)
    removed_at: Mapped[datetime | None]

    @property
    def label(self) -> str:
        """"Visa ending in 4242"."""
        return f"{self.brand} ending in {self.last4}"

    @property
    def expiry(self) -> str:
        return f"{self.exp_month:02d}/{self.exp_year % 100:02d}"


class Charge(IdMixin, CreatedMixin, Base):
    __tablename__ = "charges"

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    subscription_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("subscriptions.id"),
                                                        index=True)
    payment_method_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("payment_methods.id"))
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("orders.id"))
    provider: Mapped[str] = mapped_column(String(30))
    provider_ref: Mapped[str | None] = mapped_column(String(200))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))  # renewal, plan_change
    amount: Mapped[int]  # minor units
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(12))  # succeeded, failed
    failure_code: Mapped[str | None] = mapped_column(String(40))
    failure_message: Mapped[str | None] = mapped_column(Text)
