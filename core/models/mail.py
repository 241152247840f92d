"""Mail in (stored before the SMTP server says 250, processed afterwards) and out (the outbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, CreatedMixin, IdMixin, utcnow

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


QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"


class OutboundMail(IdMixin, CreatedMixin, Base):
    """Every message shopkeep sends, kept until the relay has taken it."""

    __tablename__ = "outbound_mail"

    kind: Mapped[str] = mapped_column(String(30))  # code, invite, reply, notice
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(String(500))
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(10), default=QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The process sending it (core.kernel.processes), so a restart can take back what a dead
    # process held instead of waiting for its lease.
    leased_by: Mapped[str | None] = mapped_column(String(120))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
