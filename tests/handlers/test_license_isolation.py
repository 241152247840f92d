"""Nobody reaches another customer's keys, devices or seats: by number, name, email or instance id,
whatever door the command comes through (every door runs it through the dispatcher as here)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.kernel.portal import Portal
from core.models import Activation, License, Seat
from core.models.licenses import CLAIMED, PENDING
from handlers.dispatcher import Dispatcher
from handlers.reply import Reply
from tests.handlers.test_isolation import everything_shown
from tests.helpers import caller_for

DOORS = ("console", "email", "discord", "slack")


async def run(portal: Portal, who: str, line: str, door: str = "console") -> Reply:
    return await Dispatcher(portal).handle_line(await caller_for(portal, who, platform=door), line)


async def instance_ids(portal: Portal, email: str) -> dict[str, str]:
    """Device name -> instance id, for the devices on keys `email` holds."""
    async with portal.db.unit_of_work() as session:
        caller = await caller_for(portal, email)
        rows = await session.execute(select(Activation.name, Activation.instance_id)
                                     .join(License, Activation.license_id == License.id)
                                     .where(License.customer_id == caller.customer_id))
    return dict(rows.all())


async def active(portal: Portal) -> set[str]:
    async with portal.db.unit_of_work() as session:
        return set(await session.scalars(select(Activation.name).where(Activation.deactivated_at.is_(None))))


async def seat_holders(portal: Portal) -> set[str]:
    async with portal.db.unit_of_work() as session:
        return set(await session.scalars(select(Seat.email).where(Seat.state.in_((PENDING, CLAIMED)))))


ALICES_DEVICES = ("Studio iMac", "Old ThinkPad")


@pytest.mark.parametrize("door", DOORS)
async def test_licenses_lists_only_ones_own(demo_portal: Portal, door: str) -> None:
    alice_keys = set((await instance_ids(demo_portal, "alice@example.com")).values())
    for who in ("bob@example.com", "dana@example.com"):
        shown = everything_shown(await run(demo_portal, who, "licenses", door))
        assert "Pixel Studio" not in shown and "2/5" not in shown and not any(k in shown for k in alice_keys)
    dana = everything_shown(await run(demo_portal, "dana@example.com", "licenses", door))
    assert "MacBook" not in dana and "bob@example.com" not in dana


@pytest.mark.parametrize("door", DOORS)
async def test_devices_lists_only_what_ones_keys_reach(demo_portal: Portal, door: str) -> None:
    # Alice's Pixel Studio Pro by its slug, its name and part of it, and a number past bob's own
    # three products (his 3 is his Tileset Forge Teams seat).
    for ref in ("pixel-studio", "Pixel Studio Pro", "4", "pixel"):
        reply = await run(demo_portal, "bob@example.com", f"devices {ref}", door)
        assert not reply.ok and not any(name in everything_shown(reply) for name in ALICES_DEVICES), ref
    bobs = await run(demo_portal, "bob@example.com", "devices tileset-forge", door)
    assert [row[1] for row in bobs.tables[0].rows] == ["MacBook Pro (Bob)"]
    assert "Member" not in bobs.tables[0].columns  # his own key, not a team's list
    danas = await run(demo_portal, "dana@example.com", "devices tileset-forge", door)
    assert "MacBook" not in everything_shown(danas) and danas.tables == []


@pytest.mark.parametrize("door", DOORS)
async def test_deactivate_reaches_nothing_of_anyone_else(demo_portal: Portal, door: str) -> None:
    alices = await instance_ids(demo_portal, "alice@example.com")
    bobs = await instance_ids(demo_portal, "bob@example.com")
    attempts = [("bob@example.com", f"deactivate pixel-studio {ref}")
                for ref in ("1", "2", "Studio iMac", "old", "all", *alices.values())]
    # His own product, her device's id; and dana, on the same team as bob, by each of his.
    attempts += [("bob@example.com", f"deactivate tileset-forge {alices['Old ThinkPad']}")]
    attempts += [("dana@example.com", f"deactivate tileset-forge {ref}")
                 for ref in ("1", "MacBook Pro (Bob)", "macbook", "all", *bobs.values())]
    attempts += [("dana@example.com", f"deactivate tileset-forge {' '.join([*bobs.values(), *alices.values()])}")]
    for who, line in attempts:
        reply = await run(demo_portal, who, line, door)
        assert not reply.ok and reply.confirmation is None, (who, line, reply.plain_text())
        shown = everything_shown(reply).replace(line, "")
        assert not any(name in shown for name in (*ALICES_DEVICES, "MacBook Pro (Bob)")), (who, line)
    assert await active(demo_portal) == {*ALICES_DEVICES, "MacBook Pro (Bob)"}


@pytest.mark.parametrize("door", DOORS)
async def test_seats_are_shown_to_the_owner_only(demo_portal: Portal, door: str) -> None:
    for who, number in (("bob@example.com", "3"), ("dana@example.com", "1")):
        for ref in ("tileset-forge", "Tileset Forge Teams", number):  # the seat they hold
            reply = await run(demo_portal, who, f"seats {ref}", door)
            shown = everything_shown(reply)
            assert not reply.ok and "only the team's owner" in shown, (who, ref)
            other = "dana@example.com" if who.startswith("bob") else "bob@example.com"
            assert other not in shown and reply.tables == []


@pytest.mark.parametrize("door", DOORS)
async def test_a_non_owner_cannot_assign(demo_portal: Portal, door: str) -> None:
    for who in ("bob@example.com", "dana@example.com"):
        reply = await run(demo_portal, who, "assign tileset-forge erin@example.com", door)
        assert not reply.ok and reply.confirmation is None and "only the team's owner" in reply.plain_text()
    stranger = await run(demo_portal, "bob@example.com", "assign pixel-studio erin@example.com", door)
    assert not stranger.ok and "Pixel Studio" not in stranger.plain_text().replace("pixel-studio", "")
    assert await seat_holders(demo_portal) == {"bob@example.com", "dana@example.com"}


@pytest.mark.parametrize("door", DOORS)
async def test_unassign_reaches_no_one_elses_seat(demo_portal: Portal, door: str) -> None:
    for who, member in (("bob@example.com", "dana@example.com"), ("dana@example.com", "bob@example.com"),
                        ("bob@example.com", "bob@example.com")):
        for ref in ("tileset-forge", "2"):
            reply = await run(demo_portal, who, f"unassign {ref} {member}", door)
            assert not reply.ok and reply.confirmation is None, (who, member, ref)
    assert await seat_holders(demo_portal) == {"bob@example.com", "dana@example.com"}
