"""Customers, the chat accounts linked to them, and one-time-code challenges."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, BigId, CreatedMixin, IdMixin


class Customer(IdMixin, CreatedMixin, Base):
    __tablename__ = "customers"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(20), default="en_US")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")

    chat_links: Mapped[list[ChatLink]] = relationship(back_populates="customer")


class ChatLink(IdMixin, CreatedMixin, Base):
    """A chat account (Discord user, Slack team+user) proven to own the customer's mailbox."""

    __tablename__ = "chat_links"
    __table_args__ = (UniqueConstraint("platform", "account_id"),)

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str | None] = mapped_column(String(200))

    customer: Mapped[Customer] = relationship(back_populates="chat_links")


SIGN_IN = "sign_in"  # a code that signs the caller in as the address's customer
CONFIRM = "confirm"  # a code that confirms a pending change (moving an account to the address)


class CodeChallenge(IdMixin, CreatedMixin, Base):
    """A one-time code sent to an email address; only its keyed hash is kept."""

    __tablename__ = "code_challenges"

    email: Mapped[str] = mapped_column(String(320), index=True)
    caller: Mapped[str] = mapped_column(String(120), index=True)
    purpose: Mapped[str] = mapped_column(String(20), default=SIGN_IN, server_default=SIGN_IN)
    # The change a CONFIRM code confirms once entered by its caller.
    pending_action_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("pending_actions.id"))
    code_hash: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    failed_attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None]


class AccountTransfer(IdMixin, Base):
    """An account moved to another email address, undoable from the old one for a while."""

    __tablename__ = "account_transfers"

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    old_email: Mapped[str] = mapped_column(String(320))
    new_email: Mapped[str] = mapped_column(String(320))
    actor: Mapped[str] = mapped_column(String(120))
    transferred_at: Mapped[datetime]
    undo_until: Mapped[datetime]
    undone_at: Mapped[datetime | None]
