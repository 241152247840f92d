"""Finding a customer's licenses; always scoped by the customer."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import License


async def licenses_for(session: AsyncSession, customer_id: int, product_id: int) -> list[License]:
    rows = await session.scalars(
        select(License)
        .where(License.customer_id == customer_id, License.product_id == product_id)
        .order_by(License.id)
    )
    return list(rows)
