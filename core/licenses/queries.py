"""Finding a customer's keys and devices; always scoped by the customer.

A customer reaches the keys they hold (bought, or of a seat they were given) and, as a team's
owner, the keys of the seats they assigned. Nothing else is found, whatever the number, name or
instance id asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from core.licenses.seats import teams_of
from core.models import Activation, License


@dataclass(frozen=True)
class Device:
    number: int  # as `devices` lists them, 1 the oldest
    activation: Activation
    license: License
    member: str | None  # the seat holder's email when it is a team member's key, else None


async def licenses_for(session: AsyncSession, customer_id: int, product_id: int) -> list[License]:
    """The keys of a product the customer holds."""
    rows = await session.scalars(
        select(License)
        .where(License.customer_id == customer_id, License.product_id == product_id,
               License.revoked_at.is_(None))
        .order_by(License.id)
    )
    return list(rows)


async def licenses_held(session: AsyncSession, customer_id: int) -> list[License]:
    """Every key the customer holds, with its product, oldest first."""
    rows = await session.scalars(
        select(License).where(License.customer_id == customer_id, License.revoked_at.is_(None))
        .options(joinedload(License.product)).order_by(License.id))
    return list(rows)


async def usage_of(session: AsyncSession, license_ids: list[int]) -> dict[int, int]:
    """Active devices per key."""
    if not license_ids:
        return {}
    rows = await session.execute(
        select(Activation.license_id, func.count()).where(
            Activation.license_id.in_(license_ids), Activation.deactivated_at.is_(None))
        .group_by(Activation.license_id))
    return {license_id: count for license_id, count in rows}


async def reachable_keys(session: AsyncSession, customer_id: int, product_id: int
                         ) -> list[tuple[License, str | None]]:
    """(key, member email) for the keys of a product the customer holds or, as owner, manages."""
    held: list[tuple[License, str | None]] = [
        (key, None) for key in await licenses_for(session, customer_id, product_id)]
    seen = {key.id for key, _ in held}
    for team in await teams_of(session, customer_id, product_id):
        held += [(seat.license, seat.email) for seat in team.seats if seat.license_id not in seen]
    return held


async def devices(session: AsyncSession, customer_id: int, product_id: int) -> list[Device]:
    """The active devices on the keys the customer reaches for a product, numbered."""
    keys = {key.id: (key, member) for key, member in await reachable_keys(session, customer_id,
                                                                          product_id)}
    if not keys:
        return []
    rows = await session.scalars(
        select(Activation).where(Activation.license_id.in_(list(keys)),
                                 Activation.deactivated_at.is_(None))
        .order_by(Activation.activated_at, Activation.id))
    return [Device(number, activation, *keys[activation.license_id])
            for number, activation in enumerate(rows, start=1)]
