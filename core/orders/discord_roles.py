"""Chat-native access: which Discord roles and invites a customer's products give."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import ChatLink, Deliverable, Entitlement
from core.models.orders import ACTIVE


async def managed_roles(session: AsyncSession) -> set[int]:
    """Every role the catalog hands out: the only roles shopkeep ever adds or removes."""
    rows = await session.scalars(select(Deliverable.target).where(Deliverable.kind == "discord_role"))
    return {int(target) for target in rows}


async def roles_for(session: AsyncSession, customer_id: int | None) -> set[int]:
    if customer_id is None:
        return set()
    rows = await session.scalars(
        select(Deliverable.target)
        .join(Entitlement, Entitlement.product_id == Deliverable.product_id)
        .where(Entitlement.customer_id == customer_id, Entitlement.status == ACTIVE,
               Deliverable.kind == "discord_role", Deliverable.active.is_(True))
    )
    return {int(target) for target in rows}


async def linked_discord_users(session: AsyncSession) -> dict[int, int]:
    """Discord user id -> customer id, for every linked Discord account."""
    rows = await session.execute(select(ChatLink.account_id, ChatLink.customer_id)
                                 .where(ChatLink.platform == "discord"))
    return {int(account): customer for account, customer in rows}


async def discord_users_of(session: AsyncSession, customer_id: int) -> set[int]:
    """The Discord user ids linked to one customer."""
    rows = await session.scalars(select(ChatLink.account_id).where(
        ChatLink.platform == "discord", ChatLink.customer_id == customer_id))
    return {int(account) for account in rows}
