"""Requests from a chat platform that were taken on, so a redelivery never runs twice.

A platform redelivers what it saw no answer to in time. Each delivery, first or retry, claims the
platform's id for the request when its work starts; whichever claims first runs, the others stop.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from core.kernel.db import insert_for
from core.models import ChatDelivery

ID_LENGTH = 200  # ChatDelivery.delivery_id


async def first_time(session: AsyncSession, platform: str, delivery_id: str, *, now: datetime
                     ) -> bool:
    """Claim `delivery_id`: True for the first claim, False for every later one.

    Two claims at once both insert; the second waits on the first's transaction and, once that
    commits, inserts nothing.
    """
    claimed = await session.scalar(
        insert_for(session, ChatDelivery)
        .values(platform=platform, delivery_id=delivery_id[:ID_LENGTH], received_at=now)
        .on_conflict_do_nothing()
        .returning(ChatDelivery.id))
    return claimed is not None


async def prune(session: AsyncSession, platform: str, *, before: datetime) -> None:
    """Forget claims older than `before` (the platform stopped redelivering long ago)."""
    await session.execute(delete(ChatDelivery).where(
        ChatDelivery.platform == platform, ChatDelivery.received_at < before))


async def release(session: AsyncSession, platform: str, delivery_id: str) -> None:
    """Give a claim back: the work it was for did not happen and may be tried again."""
    await session.execute(delete(ChatDelivery).where(
        ChatDelivery.platform == platform, ChatDelivery.delivery_id == delivery_id[:ID_LENGTH]))
