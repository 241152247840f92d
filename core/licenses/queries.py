"""Finding a customer's keys and devices; always scoped by the customer.

A customer reaches the keys they hold (bought, or of a seat they were given) and, as a team's
owner, the keys of the seats they assigned. Nothing else is found, whatever the number, name or
instance id asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from core.kernel.errors import NotFound
from core.licenses.seats import teams_of
from core.models import Activation, License, Product

EVERY_DEVICE = "all"
INSTANCE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


@dataclass(frozen=True)
class Device:
    number: int  # as `devices` lists them, 1 the oldest
    activation: Activation
    license: License
    member: str | None  # the seat holder's email when it is a team member's key, else None

    def stale(self, now: datetime, days: int) -> bool:
        """Not seen for `days` or longer: probably a machine that is gone."""
        return now - self.activation.last_seen_at >= timedelta(days=days)


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


async def devices_by_instance(session: AsyncSession, customer_id: int, product_id: int,
                              instance_ids: list[str]) -> list[Device]:
    """The devices with these instance ids on keys the customer reaches, freed ones too (so
    freeing one twice finds it and does nothing), numbered as `devices` lists them (0 once
    freed). A device on anyone else's key is never found."""
    keys = {key.id: (key, member) for key, member in await reachable_keys(session, customer_id,
                                                                          product_id)}
    if not keys or not instance_ids:
        return []
    numbers = {d.activation.id: d.number for d in await devices(session, customer_id, product_id)}
    rows = await session.scalars(
        select(Activation).where(Activation.license_id.in_(list(keys)),
                                 Activation.instance_id.in_([i.lower() for i in instance_ids]))
        .order_by(Activation.activated_at, Activation.id))
    return [Device(numbers.get(a.id, 0), a, *keys[a.license_id]) for a in rows]


async def find_devices(session: AsyncSession, customer_id: int, product: Product, ref: str
                       ) -> list[Device]:
    """The devices `ref` names among those the customer reaches on the product: `all`, a number
    as `devices` lists them, instance ids, or (part of) a device's name."""
    wanted = " ".join(ref.split())
    words = wanted.split()
    if words and all(INSTANCE_ID.match(word) for word in words):
        found = await devices_by_instance(session, customer_id, product.id, words)
        if not found:
            raise NotFound(f"None of your {product.name} keys has a device with that id. "
                           f"Send `devices {product.slug}` to see them.")
        return found
    listed = await devices(session, customer_id, product.id)
    if not listed:
        raise NotFound(f"No device is using your {product.name} keys right now.")
    if wanted.lower() == EVERY_DEVICE:
        return listed
    if wanted.lstrip("#").isdecimal():
        match = [d for d in listed if d.number == int(wanted.lstrip("#"))]
        if not match:
            raise NotFound(f"You have no device number {wanted.lstrip('#')} on {product.name}; "
                           f"they are numbered 1 to {len(listed)}. Send `devices {product.slug}` "
                           "to see them.")
        return match
    name = wanted.casefold()
    match = ([d for d in listed if d.activation.name.casefold() == name]
             or [d for d in listed if name and name in d.activation.name.casefold()])
    if len(match) == 1:
        return match
    if match:
        names = ", ".join(f"{d.number}. {d.activation.name}" for d in match)
        raise NotFound(f"{ref.strip()!r} matches several devices: {names}. Which one? Give its "
                       "number.")
    raise NotFound(f"No device called {ref.strip()!r} is using your {product.name} keys. Send "
                   f"`devices {product.slug}` to see them.")
