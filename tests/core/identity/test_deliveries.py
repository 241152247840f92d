"""Delivery claims: a platform's request id runs once, however often and however fast it comes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from core.identity import deliveries
from core.kernel.portal import Portal
from tests.conftest import Clock


async def claim(portal: Portal, delivery_id: str, platform: str = "slack") -> bool:
    async with portal.db.unit_of_work() as session:
        return await deliveries.first_time(session, platform, delivery_id, now=portal.now())


async def test_an_id_is_claimed_once_per_platform(portal: Portal) -> None:
    assert await claim(portal, "Ev1")
    assert not await claim(portal, "Ev1")
    assert await claim(portal, "Ev2")
    assert await claim(portal, "Ev1", platform="discord")


async def test_a_claim_made_while_another_is_still_open_waits_and_loses(portal: Portal) -> None:
    async with portal.db.unit_of_work() as session:
        assert await deliveries.first_time(session, "slack", "Ev1", now=portal.now())
        rival = asyncio.create_task(claim(portal, "Ev1"))
        await asyncio.sleep(0.3)
        assert not rival.done(), "the second claim waits for the first one's transaction"
    assert await rival is False


async def test_many_claims_at_once_let_exactly_one_run(portal: Portal) -> None:
    won = await asyncio.gather(*(claim(portal, "Ev1") for _ in range(6)))

    assert sorted(won) == [False] * 5 + [True]


async def test_a_claim_rolled_back_leaves_the_id_free(portal: Portal) -> None:
    with pytest.raises(RuntimeError):
        async with portal.db.unit_of_work() as session:
            await deliveries.first_time(session, "slack", "Ev1", now=portal.now())
            raise RuntimeError("the process died before the work started")

    assert await claim(portal, "Ev1")


async def test_pruning_forgets_old_claims_only(portal: Portal, clock: Clock) -> None:
    assert await claim(portal, "old")
    clock.advance(days=2)
    assert await claim(portal, "new")

    async with portal.db.unit_of_work() as session:
        await deliveries.prune(session, "slack", before=portal.now() - timedelta(days=1))

    assert await claim(portal, "old"), "forgotten, so it could run again"
    assert not await claim(portal, "new")


async def test_an_overlong_id_is_claimed_by_its_first_200_characters(portal: Portal) -> None:
    assert await claim(portal, "x" * 300)
    assert not await claim(portal, "x" * 200 + "y" * 100)
