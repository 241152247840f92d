"""Refunds in Discord: `refunds` under /shop, with the order as an option, a credit note's PDF as
a file on the deferred follow-up like an invoice's, and another customer's order not found."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from core.billing.render import RENDERER
from core.kernel.portal import Portal
from tests.doors.discord.test_discord_door import Bot, connected, sign_in, text_of
from tests.fakes.discord_api import EPHEMERAL
from tests.fakes.discord_gateway import DEFAULT_USER_ID

BOB_USER = DEFAULT_USER_ID + 100


@pytest.fixture
async def bot(demo_portal: Portal) -> AsyncIterator[Bot]:
    async with connected(demo_portal) as bot:
        await sign_in(bot)
        yield bot


async def test_refunds_are_a_private_table(bot: Bot) -> None:
    answer = await bot.slash(bot.path("refunds"))
    said = text_of(answer)
    assert answer["flags"] & EPHEMERAL
    assert "Your refunds" in said and "SK-00008" in said and "$49.00 (partial)" in said
    one = text_of(await bot.slash(bot.path("refunds"), order="SK-00008"))
    assert "Refunds of order SK-00008" in one and "Order status: partially refunded" in one


async def test_a_credit_note_is_a_file_like_an_invoice(bot: Bot) -> None:
    await RENDERER.start()
    number = re.search(r"CN-\d{4}-\d{4}", text_of(await bot.slash(bot.path("refunds"))))
    assert number is not None
    answer = await bot.slash(bot.path("invoice"), which=number.group())
    assert answer["type"] == 5
    files = [f for c in bot.fake.calls("POST", "/webhooks/") for f in c.files]
    assert any(f.filename == f"{number.group()}.pdf" and f.data.startswith(b"%PDF") for f in files)


async def test_another_customers_order_is_not_found(bot: Bot) -> None:
    bot.fake.add_member(BOB_USER, "bob")
    await sign_in(bot, "bob@example.com", user_id=BOB_USER)
    said = text_of(await bot.slash(bot.path("refunds"), user_id=BOB_USER, order="SK-00008"))
    assert "You have no order SK-00008." in said and "$49.00" not in said
