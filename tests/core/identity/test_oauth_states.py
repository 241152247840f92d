"""OAuth install states: each finishes one install, before it expires, on its own platform."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.identity import oauth_states
from core.kernel.portal import Portal
from core.models import OAuthState
from tests.conftest import Clock

TEN_MINUTES = timedelta(minutes=10)


async def issue(portal: Portal) -> str:
    async with portal.db.unit_of_work() as session:
        return await oauth_states.issue(session, "slack", now=portal.now(), lifetime=TEN_MINUTES)


async def consume(portal: Portal, state: str, platform: str = "slack") -> bool:
    async with portal.db.unit_of_work() as session:
        return await oauth_states.consume(session, platform, state, now=portal.now())


async def test_a_state_finishes_one_install(portal: Portal) -> None:
    state, other = await issue(portal), await issue(portal)

    assert state != other
    assert not await consume(portal, state, platform="discord")
    assert await consume(portal, state)
    assert not await consume(portal, state)
    assert await consume(portal, other)
    assert not await consume(portal, "never-issued")


async def test_a_state_expires(portal: Portal, clock: Clock) -> None:
    late, in_time = await issue(portal), await issue(portal)

    clock.advance(minutes=9, seconds=59)
    assert await consume(portal, in_time)
    clock.advance(seconds=2)
    assert not await consume(portal, late)


async def test_states_abandoned_long_ago_are_cleared_as_new_ones_come(portal: Portal,
                                                                      clock: Clock) -> None:
    abandoned = await issue(portal)
    clock.advance(days=1, minutes=11)

    fresh = await issue(portal)

    async with portal.db.unit_of_work() as session:
        assert list(await session.scalars(select(OAuthState.state))) == [fresh]
    assert abandoned != fresh
