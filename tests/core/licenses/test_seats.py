"""Team seats: the owner assigns up to the total, each member gets access, a key and an invite;
unassigning ends it; a seat is claimed when its member signs in or uses the key."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from core.kernel import events
from core.kernel.errors import Conflict, NotAllowed, NotFound
from core.kernel.portal import Portal
from core.licenses import activations, seats
from core.licenses.queries import licenses_for
from core.models import License, Seat
from core.models.licenses import CLAIMED, DISABLED, PENDING, UNASSIGNED
from core.orders.ownership import owned_products
from tests.conftest import FIXED_NOW
from tests.core.licenses.conftest import buy, customer, product
from tests.helpers import published, sent_mail, text_of


async def assign(portal: Portal, owner: str, email: str, slug: str = "team-app") -> Seat:
    async with portal.db.unit_of_work() as session:
        return await seats.assign(session, portal, await customer(portal, owner),
                                  await product(portal, slug), email, actor="test")


async def unassign(portal: Portal, owner: str, email: str) -> Seat:
    async with portal.db.unit_of_work() as session:
        return await seats.unassign(session, portal, await customer(portal, owner),
                                    await product(portal, "team-app"), email, actor="test")


async def products_of(portal: Portal, email: str) -> list[tuple[str, bool]]:
    member = await customer(portal, email)
    async with portal.db.unit_of_work() as session:
        return [(p.product.slug, p.active) for p in await owned_products(session, member.id)]


async def test_an_assigned_member_gets_access_a_key_and_an_invite(store: Portal) -> None:
    seat = await assign(store, "olga@example.com", "Dana@Example.com")

    assert seat.state == PENDING and seat.email == "dana@example.com"
    assert await products_of(store, "dana@example.com") == [("team-app", True)]
    dana = await customer(store, "dana@example.com")
    async with store.db.unit_of_work() as session:
        [key] = await licenses_for(session, dana.id, seat.product_id)
    assert key.activation_limit == 2
    assert key.expires_at is not None and key.expires_at.year == FIXED_NOW.year + 1
    [invite] = await sent_mail(store, to="dana@example.com", kind="invite")
    assert "olga@example.com gave you a seat of The App for Teams" in str(invite["Subject"])
    assert "reveal team-app" in text_of(invite)
    heard = [e for e in await published(store) if isinstance(e, events.SeatAssigned | events.AccessChanged)
             and (getattr(e, "member_id", None) == dana.id or getattr(e, "customer_id", None) == dana.id)]
    assert [type(e) for e in heard] == [events.SeatAssigned, events.AccessChanged]
    # The buyer owns the product but holds no key until they assign themselves.
    olga = await customer(store, "olga@example.com")
    async with store.db.unit_of_work() as session:
        assert await licenses_for(session, olga.id, seat.product_id) == []


async def test_no_second_seat_for_the_same_member_and_none_past_the_total(store: Portal) -> None:
    await assign(store, "olga@example.com", "dana@example.com")
    with pytest.raises(Conflict, match="already holds a seat"):
        await assign(store, "olga@example.com", "DANA@example.com")
    await assign(store, "olga@example.com", "olga@example.com")  # the owner may take one too
    with pytest.raises(Conflict, match="All 2 seats of The App for Teams are taken"):
        await assign(store, "olga@example.com", "erik@example.com")


async def test_a_bigger_purchase_has_more_seats(store: Portal) -> None:
    await buy(store, "olga@example.com", "team-app", quantity=2)  # 2 x 2 seats more
    for n in range(6):
        await assign(store, "olga@example.com", f"m{n}@example.com")
    with pytest.raises(Conflict, match="All 6 seats"):
        await assign(store, "olga@example.com", "e@example.com")


async def test_parallel_assignments_never_exceed_the_seats(store: Portal) -> None:
    async def attempt(n: int) -> bool:
        try:
            await assign(store, "olga@example.com", f"member{n}@example.com")
        except Conflict:
            return False
        return True

    outcomes = await asyncio.gather(*(attempt(n) for n in range(12)))

    assert sum(outcomes) == 2
    async with store.db.unit_of_work() as session:
        assert len(list(await session.scalars(select(Seat)))) == 2


async def test_unassigning_ends_access_disables_the_key_and_frees_the_seat(store: Portal) -> None:
    seat = await assign(store, "olga@example.com", "dana@example.com")

    freed = await unassign(store, "olga@example.com", "dana@example.com")

    assert freed.state == UNASSIGNED
    assert await products_of(store, "dana@example.com") == [("team-app", False)]
    async with store.db.unit_of_work() as session:
        key = await session.get(License, seat.license_id)
        assert key is not None and key.status == DISABLED and key.revoked_at is not None
        assert await licenses_for(session, seat.member_id, seat.product_id) == []
        with pytest.raises(activations.KeyDisabled):
            await activations.activate(session, store, key, name="laptop", actor="test")
    assert any(isinstance(e, events.SeatUnassigned) for e in await published(store))
    await assign(store, "olga@example.com", "erik@example.com")
    await assign(store, "olga@example.com", "dana@example.com")  # given again: a new key
    with pytest.raises(NotFound, match="holds no seat"):
        await unassign(store, "olga@example.com", "nobody@example.com")


async def test_only_the_buyer_manages_the_team(store: Portal) -> None:
    await assign(store, "olga@example.com", "dana@example.com")
    with pytest.raises(NotAllowed, match="only the team's owner"):
        await assign(store, "dana@example.com", "erik@example.com")
    with pytest.raises(NotFound, match="no team purchase"):
        await assign(store, "ann@example.com", "erik@example.com")


async def test_a_seat_is_claimed_by_signing_in_or_by_using_the_key(store: Portal) -> None:
    first = await assign(store, "olga@example.com", "dana@example.com")
    second = await assign(store, "olga@example.com", "erik@example.com")
    async with store.db.unit_of_work() as session:
        assert await seats.claim(session, store, first.member_id) == 1
        key = await session.get(License, second.license_id)
        assert key is not None
        await activations.activate(session, store, key, name="erik's pc", actor="test")
    async with store.db.unit_of_work() as session:
        states = {s.email: s.state for s in await session.scalars(select(Seat))}
    assert states == {"dana@example.com": CLAIMED, "erik@example.com": CLAIMED}
