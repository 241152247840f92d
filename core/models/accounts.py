"""Pending confirmations and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, BigId, CreatedMixin, IdMixin, utcnow


class PendingAction(IdMixin, CreatedMixin, Base):
    """A change waiting for the customer's confirmation; runs at most once."""

    __tablename__ = "pending_actions"

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    action: Mapped[str] = mapped_column(String(60))
    arguments: Mapped[dict[str, Any]] = mapped_column(default=dict)
    summary: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(String(12), index=True)
    expires_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending, done, cancelled
    finished_at: Mapped[datetime | None]
    result: Mapped[str | None] = mapped_column(Text)


class AuditEvent(IdMixin, Base):
    __tablename__ = "audit_events"

    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    actor: Mapped[str] = mapped_column(String(120))  # "customer via discord", "operator via console"
    action: Mapped[str] = mapped_column(String(60))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
