"""The audit log: every change a customer (or an operator on their behalf) makes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.models import AuditEvent


async def record(session: AsyncSession, *, customer_id: int | None, actor: str, action: str,
                 at: datetime | None = None, **details: Any) -> None:
    """`at` is the portal's clock (`portal.now()`), so history seeded or replayed at its own
    time is logged at that time; without it, the wall clock."""
    event = AuditEvent(customer_id=customer_id, actor=actor, action=action, details=details)
    if at is not None:
        event.at = at
    session.add(event)
