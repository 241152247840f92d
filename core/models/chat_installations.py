"""Chat platforms the portal is installed into: workspace installations, OAuth states, and the
deliveries already taken on (so a platform's retry never runs a command twice).

Generic on purpose: `platform` says whose ids these are ("slack" today).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, CreatedMixin, IdMixin, utcnow

# Absent ids are stored as "" rather than NULL so the unique constraint holds on every database
# (NULLs never collide in a UNIQUE index).
NO_ID = ""


class ChatInstallation(IdMixin, Base):
    """One workspace (or Enterprise Grid org) that installed the app, with its bot credentials."""

    __tablename__ = "chat_installations"
    __table_args__ = (UniqueConstraint("platform", "enterprise_id", "team_id"),)

    platform: Mapped[str] = mapped_column(String(20))
    enterprise_id: Mapped[str] = mapped_column(String(32), default=NO_ID)
    team_id: Mapped[str] = mapped_column(String(32), default=NO_ID)
    team_name: Mapped[str | None] = mapped_column(String(200))
    bot_token: Mapped[str | None] = mapped_column(Text)  # None once revoked
    bot_user_id: Mapped[str | None] = mapped_column(String(32))
    bot_id: Mapped[str | None] = mapped_column(String(32))
    installer_user_id: Mapped[str | None] = mapped_column(String(32))
    scopes: Mapped[str] = mapped_column(Text, default="")  # comma separated, as granted
    # The platform's whole install record, for the details the columns above leave out.
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    installed_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class OAuthState(CreatedMixin, Base):
    """The `state` of an OAuth install that was started; it may finish once, before it expires."""

    __tablename__ = "oauth_states"

    state: Mapped[str] = mapped_column(String(100), primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[datetime]
    consumed: Mapped[bool] = mapped_column(default=False)


class ChatDelivery(IdMixin, Base):
    """A request from a chat platform (slash command, click, event) that was taken on."""

    __tablename__ = "chat_deliveries"
    __table_args__ = (UniqueConstraint("platform", "delivery_id"),)

    platform: Mapped[str] = mapped_column(String(20))
    delivery_id: Mapped[str] = mapped_column(String(200))  # the platform's id for this request
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


__all__ = ["NO_ID", "ChatDelivery", "ChatInstallation", "OAuthState"]
