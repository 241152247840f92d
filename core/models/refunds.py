"""Refunds: money given back for an order, in one or several parts, each with the credit note
that corrects the order's invoice.

A refund's idempotency key is unique: asking twice with the same key refunds once, and the same
key is what the payment provider is asked with. A pending refund holds its amount, so what is
refunded and on its way never passes what was paid.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, BigId, CreatedMixin, IdMixin, utcnow

PENDING = "pending"  # asked for; the provider has not settled it (or not answered yet)
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELED = "canceled"
STATES = (PENDING, SUCCEEDED, FAILED, CANCELED)
HOLDING = (PENDING, SUCCEEDED)  # what counts against what is left to refund
FINAL = (SUCCEEDED, FAILED, CANCELED)

# Who asked for it.
OPERATOR = "operator"
CUSTOMER = "customer"
SYSTEM = "system"  # a rule of the store: a subscription cancelled at once, refunded prorated

# The provider of a refund of an order the merchant's own store was paid for: shopkeep records
# it, and no money moves through shopkeep's payment provider.
STORE = "store"


class Refund(IdMixin, CreatedMixin, Base):
    __tablename__ = "refunds"

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id"), index=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    charge_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("charges.id"))
    amount: Mapped[int]  # minor units, tax included
    tax: Mapped[int]  # the part of `amount` that is tax given back
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(12), default=PENDING)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    provider: Mapped[str] = mapped_column(String(30))  # the charge's provider, or STORE
    provider_ref: Mapped[str | None] = mapped_column(String(200))
    failure_message: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(12))  # OPERATOR, CUSTOMER or SYSTEM
    actor: Mapped[str] = mapped_column(String(120))  # as the audit log names them
    end_access: Mapped[bool] = mapped_column(default=False)  # asked of a partial refund
    access_ended_at: Mapped[datetime | None]  # when its success ended access the order gave
    credit_note_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("documents.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    settled_at: Mapped[datetime | None]  # when it reached a final state
