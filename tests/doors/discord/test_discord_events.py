"""Roles follow domain events from any process: a purchase recorded with `shopkeep purchase`,
not the webhook, reaches the buyer's Discord member through the running portal's event worker;
a subscription whose payments keep failing loses its role when dunning ends it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import discord
import pytest

from bot.bootstrap import event_worker, payment_provider
from bot.cli import run
from bot.discord.door import DiscordDoor
from config.settings import load_settings
from core.kernel.portal import Portal
from core.subscriptions.renewals import RenewalWorker
from tests.doors.discord.test_discord_door import MEMBERS_ROLE, SPRITE_ROLE, Bot, sign_in
from tests.fakes.discord_api import DEFAULT_GUILD_ID, FakeDiscord
from tests.fakes.discord_gateway import DEFAULT_USER_ID, running
from tests.helpers import eventually


@pytest.fixture
async def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[Bot]:
    """The demo store as `shopkeep demo` made it, and a portal serving it with Discord and the
    event worker, as `shopkeep serve` would."""
    for key in list(__import__("os").environ):
        if key.startswith("SHOPKEEP_") and key != "SHOPKEEP_TEST_POSTGRES_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("SHOPKEEP_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    assert await asyncio.to_thread(run, ["demo"]) == 0
    async with FakeDiscord(deadline=1.0) as fake:
        fake.add_role(MEMBERS_ROLE, "Maker Pro", position=5)
        fake.add_role(SPRITE_ROLE, "Sprite Club", position=4)
        fake.add_member(DEFAULT_USER_ID, "bo")
        settings = load_settings().model_copy(update={
            "discord_token": fake.token, "discord_guild_id": DEFAULT_GUILD_ID,
            "discord_api_url": fake.api_url})
        portal = Portal.open(settings)
        door = DiscordDoor(portal)
        try:
            async with running(door.client, fake):
                await door.tree.sync(guild=discord.Object(DEFAULT_GUILD_ID))
                events = asyncio.create_task(event_worker(portal, discord=door).run(interval=0.2))
                try:
                    yield Bot(fake, door, portal)
                finally:
                    events.cancel()
                    await asyncio.gather(events, return_exceptions=True)
        finally:
            await portal.close()


async def test_a_purchase_on_the_command_line_gives_the_linked_member_the_role(served: Bot) -> None:
    await sign_in(served, "bob@example.com")
    assert MEMBERS_ROLE not in served.fake.member_roles(DEFAULT_USER_ID), "bob owns no membership yet"

    command = ["purchase", "--email", "bob@example.com", "--product", "maker-pro"]
    assert await asyncio.to_thread(run, command) == 0
    await eventually(lambda: MEMBERS_ROLE in served.fake.member_roles(DEFAULT_USER_ID),
                     "the membership bought on the command line grants the Maker Pro role")


async def test_dunning_that_ends_a_subscription_takes_the_role_away(served: Bot) -> None:
    await sign_in(served, "bob@example.com")
    await eventually(lambda: SPRITE_ROLE in served.fake.member_roles(DEFAULT_USER_ID),
                     "a past-due subscription keeps its access while it is retried")
    worker = RenewalWorker(served.portal, payment_provider(served.portal))

    at, failed = served.portal.now(), []
    for _ in range(6):  # the declined card is tried again every few days until dunning ends it
        at += timedelta(days=3)
        failed += (await worker.run_pass(at)).failed
        if "expired" in failed[-1]:
            break

    assert len(failed) == 3, "three retries of the declined renewal; the last one ends it"
    await eventually(lambda: SPRITE_ROLE not in served.fake.member_roles(DEFAULT_USER_ID),
                     "the expired subscription's role is removed")
