"""Confirmation buttons: only the asker, once, until expiry, and still after a restart.
The throwaway command also shows a new handler appearing in Discord with no Discord code."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pydantic import Field
from sqlalchemy import func, select

from bot.discord.door import DiscordDoor
from core.accounts import audit
from core.kernel.portal import Portal
from core.models import AuditEvent
from handlers.context import Context
from handlers.registry import Arguments, command
from handlers.reply import Reply
from tests.conftest import Clock
from tests.doors.discord.test_discord_door import Bot, connected, sign_in, text_of
from tests.fakes.discord_api import DEFAULT_GUILD_ID
from tests.fakes.discord_gateway import DEFAULT_USER_ID, component_payload, deliver_interaction, running
from tests.helpers import throwaway_commands

OTHER_USER = DEFAULT_USER_ID + 100


class StampArguments(Arguments):
    words: str = Field(description="what to stamp", min_length=1)


@pytest.fixture
def stamp_command() -> Iterator[None]:
    with throwaway_commands():
        @command("stamp", summary="Stamp the account (asks first)", mutates=True)
        async def stamp(ctx: Context, args: StampArguments) -> Reply:
            if not ctx.confirmed:
                return await ctx.confirm(Reply.text(f"Stamp {args.words!r}?"), summary=f"Stamp {args.words}",
                                         arguments=args.model_dump())
            await audit.record(ctx.session, customer_id=ctx.customer_id, actor=ctx.caller.actor, action="stamp")
            return Reply.text("Stamped.")

        yield


async def stamps(portal: Portal) -> int:
    async with portal.db.unit_of_work() as session:
        return await session.scalar(select(func.count()).where(AuditEvent.action == "stamp")) or 0


@pytest.fixture
async def bot(demo_portal: Portal, stamp_command: None) -> AsyncIterator[Bot]:
    async with connected(demo_portal) as bot:
        yield bot


async def click(bot: Bot, message: dict[str, Any], label: str, user_id: int = DEFAULT_USER_ID) -> dict[str, Any]:
    delivery = await deliver_interaction(bot.door.client, bot.fake,
                                         component_payload(message, label=label, user_id=user_id))
    await delivery.finished()
    return bot.answer(delivery.id)


async def test_buttons_work_once_for_the_asker_even_after_a_restart(bot: Bot) -> None:
    [group] = bot.fake.commands(guild_id=DEFAULT_GUILD_ID)
    assert "stamp" in {option["name"] for option in group["options"]}
    await sign_in(bot)
    await sign_in(bot, "bob@example.com", user_id=OTHER_USER)
    preview = await bot.slash("stamp", words="hello")
    assert "Stamp 'hello'?" in text_of(preview)
    message = bot.fake.original_message(bot.last_id)
    assert message is not None

    stranger = await click(bot, message, "Confirm", user_id=OTHER_USER)
    assert "Only the person who asked" in text_of(stranger) and await stamps(bot.portal) == 0

    # A new process: a new bot object, nothing remembered in memory, the same button.
    bot.door = DiscordDoor(bot.portal)
    async with running(bot.door.client, bot.fake):
        assert "Stamped." in text_of(await click(bot, message, "Confirm"))
        again = await click(bot, message, "Confirm")
    assert "already" in text_of(again).lower() and await stamps(bot.portal) == 1


async def test_buttons_expire_with_the_pending_action(bot: Bot, clock: Clock) -> None:
    await sign_in(bot)
    await bot.slash("stamp", words="late")
    message = bot.fake.original_message(bot.last_id)
    assert message is not None
    clock.advance(hours=1)
    assert re.search("expired", text_of(await click(bot, message, "Confirm")))
    assert await stamps(bot.portal) == 0
