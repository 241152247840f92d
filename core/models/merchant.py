"""Notices to the merchant's own store: each confirmed change of a subscription it bills, sent
as a signed webhook and retried with backoff until its endpoint takes it (like the outbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, CreatedMixin, IdMixin, utcnow

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"


class MerchantNotice(IdMixin, CreatedMixin, Base):
    __tablename__ = "merchant_notices"

    event: Mapped[str] = mapped_column(String(60))  # subscription.plan_changed, ...
    # Unique per change, sent as the delivery id so the merchant can drop a repeat.
    delivery_id: Mapped[str] = mapped_column(String(80), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(10), default=QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
