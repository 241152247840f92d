"""Team seats: a team purchase holds `seats` x quantity places its buyer (the owner) assigns.

An assigned member gets their own access to the product, their own key with the product's
activation limit, and an invite; the seat is pending until they sign in or use the key, then
claimed. Unassigning ends their access, disables their key and frees the seat. Assignments of one
owner's purchases of a product queue behind a lock on the first purchase, so seats are never
handed out twice or past the total.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from core.accounts import audit
from core.identity.customers import get_or_create, normalize_email
from core.kernel import events
from core.kernel.db import lock
from core.kernel.errors import Conflict, NotAllowed, NotFound
from core.kernel.portal import Portal
from core.licenses.keys import new_key
from core.licenses.status import expires_at
from core.mail import notifications
from core.models import Customer, Entitlement, License, Order, OrderItem, Product, Seat
from core.models.licenses import CLAIMED, DISABLED, PENDING, UNASSIGNED
from core.models.orders import ACTIVE, ENDED, PAID, PARTIALLY_REFUNDED

HELD = (PENDING, CLAIMED)


@dataclass(frozen=True)
class Team:
    """One team purchase and the seats assigned in it."""

    item: OrderItem
    product: Product
    seats: list[Seat]  # pending and claimed, oldest first

    @property
    def total(self) -> int:
        # As the catalog says now: lowering it blocks new assignments, it removes nobody.
        return (self.product.seats or 0) * self.item.quantity

    @property
    def free(self) -> int:
        return max(0, self.total - len(self.seats))


async def teams_of(session: AsyncSession, owner_id: int, product_id: int | None, *,
                   fresh: bool = False) -> list[Team]:
    """The owner's paid team purchases of the product (of every product when `product_id` is
    None), oldest first. `fresh` reads every row anew instead of trusting what the session loaded
    earlier (after taking the lock)."""
    options = {"populate_existing": True} if fresh else {}
    # A purchase refunded in part still holds its seats, unless the refund ended its access.
    owners_access = select(Entitlement.id).where(
        Entitlement.order_item_id == OrderItem.id, Entitlement.customer_id == owner_id,
        Entitlement.seat_id.is_(None), Entitlement.status == ACTIVE).exists()
    query = (select(OrderItem).join(Order, OrderItem.order_id == Order.id)
             .join(Product, OrderItem.product_id == Product.id)
             .where(Order.customer_id == owner_id, Order.status.in_((PAID, PARTIALLY_REFUNDED)),
                    Product.seats.is_not(None), owners_access))
    if product_id is not None:
        query = query.where(OrderItem.product_id == product_id)
    items = list(await session.scalars(
        query.options(joinedload(OrderItem.product), joinedload(OrderItem.order))
        .order_by(OrderItem.id).execution_options(**options)))
    if not items:
        return []
    held = list(await session.scalars(
        select(Seat).where(Seat.order_item_id.in_([item.id for item in items]), Seat.state.in_(HELD))
        .options(selectinload(Seat.license)).order_by(Seat.assigned_at, Seat.id)
        .execution_options(**options)))
    return [Team(item, item.product, [seat for seat in held if seat.order_item_id == item.id])
            for item in items]


async def seat_held(session: AsyncSession, member_id: int, product_id: int) -> Seat | None:
    """The seat of the product the customer was given by a team's owner, if any."""
    return await session.scalar(
        select(Seat).where(Seat.member_id == member_id, Seat.product_id == product_id,
                           Seat.state.in_(HELD)).order_by(Seat.id).limit(1))


async def seats_owners(session: AsyncSession, member_id: int) -> dict[int, str]:
    """For each key the customer holds through a seat: the email of the team's owner."""
    rows = await session.execute(
        select(Seat.license_id, Customer.email).join(Customer, Seat.owner_id == Customer.id)
        .where(Seat.member_id == member_id, Seat.state.in_(HELD), Seat.owner_id != member_id))
    return {license_id: email for license_id, email in rows}


async def owners_teams(session: AsyncSession, customer: Customer, product: Product) -> list[Team]:
    """The customer's teams of the product, or why they have none to manage: a member is told
    that the owner manages the seats, anyone else that there is no team purchase."""
    teams = await teams_of(session, customer.id, product.id)
    if teams:
        return teams
    held = await seat_held(session, customer.id, product.id)
    if held is not None:
        owner = await session.get(Customer, held.owner_id)
        raise NotAllowed(f"You hold a seat of {product.name} on {owner.email if owner else 'a'}'s "
                         "team; only the team's owner can see and change its seats.")
    raise NotFound(f"You have no team purchase of {product.name}, so there are no seats to manage.")


def assignable(teams: list[Team], product: Product, email: str) -> Team:
    """The team whose free seat `email` would get; Conflict when they hold one or none is free."""
    if seat_of(teams, email) is not None:
        raise Conflict(f"{email} already holds a seat of {product.name}; nobody needs two.")
    team = next((team for team in teams if team.free), None)
    if team is None:
        total = sum(team.total for team in teams)
        raise Conflict(f"All {total} seats of {product.name} are taken. Unassign someone first "
                       f"(`unassign {product.slug} <email>`).")
    return team


def held_seat(teams: list[Team], product: Product, email: str) -> Seat:
    """The seat `email` holds in the owner's teams; NotFound when they hold none."""
    seat = seat_of(teams, email)
    if seat is None:
        raise NotFound(f"{email} holds no seat of {product.name}. Send `seats {product.slug}` to "
                       "see who does.")
    return seat


async def _locked_teams(session: AsyncSession, owner: Customer, product: Product) -> list[Team]:
    teams = await owners_teams(session, owner, product)
    await lock(session, OrderItem, teams[0].item.id)
    # Read again what others may have changed before the lock was ours.
    return await teams_of(session, owner.id, product.id, fresh=True)


def seat_of(teams: list[Team], email: str) -> Seat | None:
    return next((seat for team in teams for seat in team.seats if seat.email == email), None)


async def assign(session: AsyncSession, portal: Portal, owner: Customer, product: Product,
                 email: str, *, actor: str) -> Seat:
    """Give `email` a seat of the owner's team: their access, their key, an invite."""
    email = normalize_email(email)
    team = assignable(await _locked_teams(session, owner, product), product, email)
    now = portal.now()
    member, _ = await get_or_create(session, email)
    license = License(customer_id=member.id, product_id=product.id, order_item_id=team.item.id,
                      key=new_key(), activation_limit=product.activation_limit or 1,
                      expires_at=expires_at(product, team.item.order.placed_at), created_at=now)
    session.add(license)
    await session.flush()
    yourself = member.id == owner.id  # signed in already: nothing to claim, nobody to invite
    seat = Seat(order_item_id=team.item.id, product_id=product.id, owner_id=owner.id, email=email,
                member_id=member.id, license_id=license.id, state=CLAIMED if yourself else PENDING,
                assigned_at=now, claimed_at=now if yourself else None)
    session.add(seat)
    await session.flush()
    session.add(Entitlement(customer_id=member.id, product_id=product.id, order_item_id=team.item.id,
                            seat_id=seat.id, created_at=now))
    await audit.record(session, at=portal.now(), customer_id=owner.id, actor=actor, action="seat_assigned",
                       product=product.slug, member=email)
    if not yourself:
        await audit.record(session, at=portal.now(),
                           customer_id=member.id, actor=actor, action="seat_received",
                           product=product.slug, owner=owner.email)
        await notifications.queue_seat_invite(session, portal, member, owner, product)
    events.publish(session, events.SeatAssigned(owner_id=owner.id, member_id=member.id,
                                                product_id=product.id, seat_id=seat.id))
    events.publish(session, events.AccessChanged(customer_id=member.id))
    return seat


async def unassign(session: AsyncSession, portal: Portal, owner: Customer, product: Product,
                   email: str, *, actor: str) -> Seat:
    """Free the member's seat: their access ends and their key stops working."""
    email = normalize_email(email)
    seat = held_seat(await _locked_teams(session, owner, product), product, email)
    now = portal.now()
    seat.state, seat.unassigned_at = UNASSIGNED, now
    seat.license.status, seat.license.revoked_at = DISABLED, now
    await session.execute(
        update(Entitlement).where(Entitlement.seat_id == seat.id, Entitlement.status == ACTIVE)
        .values(status=ENDED, ends_at=now).execution_options(synchronize_session=False))
    await audit.record(session, at=portal.now(), customer_id=owner.id, actor=actor, action="seat_unassigned",
                       product=product.slug, member=email)
    if seat.member_id != owner.id:
        await audit.record(session, at=portal.now(),
                           customer_id=seat.member_id, actor=actor, action="seat_removed",
                           product=product.slug, owner=owner.email)
    events.publish(session, events.SeatUnassigned(owner_id=owner.id, member_id=seat.member_id,
                                                  product_id=product.id, seat_id=seat.id))
    events.publish(session, events.AccessChanged(customer_id=seat.member_id))
    return seat


async def claim(session: AsyncSession, portal: Portal, member_id: int) -> int:
    """The member signed in: their pending seats are claimed. Returns how many were."""
    done = await session.execute(
        update(Seat).where(Seat.member_id == member_id, Seat.state == PENDING)
        .values(state=CLAIMED, claimed_at=portal.now()).execution_options(synchronize_session=False))
    return int(done.rowcount or 0)  # type: ignore[attr-defined]


async def claim_key(session: AsyncSession, portal: Portal, license_id: int) -> None:
    """The member used their key in the app: its seat is claimed."""
    await session.execute(
        update(Seat).where(Seat.license_id == license_id, Seat.state == PENDING)
        .values(state=CLAIMED, claimed_at=portal.now()).execution_options(synchronize_session=False))
