"""Inbound mail, stored before the SMTP server says 250 and processed afterwards."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, IdMixin, utcnow

RECEIVED = "received"
PROCESSING = "processing"
ANSWERED = "answered"
IGNORED = "ignored"


class InboundMail(IdMixin, Base):
    __tablename__ = "inbound_mail"

    # Message-ID, or a digest of the bytes when a sender left it out: a re-sent copy is a duplicate.
    message_key: Mapped[str] = mapped_column(String(300), unique=True)
    envelope_from: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"to": [...]}
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(12), default=RECEIVED, index=True)
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    processed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(Text)
