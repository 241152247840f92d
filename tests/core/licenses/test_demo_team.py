"""The demo store's team: alice owns it, bob's seat is claimed, dana's pending, with devices;
seeding again adds nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.bootstrap import payment_provider
from core import demo
from core.kernel.portal import Portal
from core.models import Activation, AuditEvent, License, OutboundMail, Seat
from core.models.licenses import CLAIMED, PENDING


async def rows(portal: Portal) -> tuple[int, ...]:
    async with portal.db.unit_of_work() as session:
        return tuple([await session.scalar(select(func.count()).select_from(table)) or 0
                      for table in (Seat, License, Activation, AuditEvent, OutboundMail)])


async def test_the_demo_team_has_seats_and_devices_and_seeding_again_adds_nothing(
        demo_portal: Portal) -> None:
    async with demo_portal.db.unit_of_work() as session:
        seats = {seat.email: seat.state for seat in await session.scalars(select(Seat))}
        devices = list(await session.scalars(select(Activation.name).order_by(Activation.id)))
    assert seats == {"bob@example.com": CLAIMED, "dana@example.com": PENDING}
    assert devices == ["Studio iMac", "Old ThinkPad", "MacBook Pro (Bob)"]
    before = await rows(demo_portal)

    assert not any("seat" in line or "activated" in line for line in await demo.seed(demo_portal, payments=payment_provider(demo_portal)))

    assert await rows(demo_portal) == before
