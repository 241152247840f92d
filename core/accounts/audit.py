"""The audit log: every change a customer (or an operator on their behalf) makes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.models import AuditEvent


async def record(session: AsyncSession, *, customer_id: int | None, actor: str, action: str,
                 **details: Any) -> None:
    session.add(AuditEvent(customer_id=customer_id, actor=actor, action=action, details=details))
