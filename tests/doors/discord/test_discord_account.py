"""transfer, activity and export in Discord, through the real discord.py and the fake gateway: the
move drops the chat link and the roles follow; files come on the private followup."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.billing.render import RENDERER
from core.kernel.portal import Portal
from tests.doors.discord.test_discord_door import MEMBERS_ROLE, Bot, connected, sign_in, text_of
from tests.doors.discord.test_discord_licenses import click, labels, slash
from tests.fakes.discord_api import EPHEMERAL
from tests.fakes.discord_gateway import DEFAULT_USER_ID
from tests.helpers import eventually, sent_mail

NEW = "alice@new.example"
BOB_USER = DEFAULT_USER_ID + 100


async def mailed_code(portal: Portal, to: str) -> str:
    found = re.search(r"\b(\d{6})\b", str((await sent_mail(portal, to=to, kind="code"))[-1]["Subject"]))
    assert found
    return found.group(1)


@pytest.fixture
async def bot(demo_portal: Portal) -> AsyncIterator[Bot]:
    async with connected(demo_portal) as bot:
        await sign_in(bot)
        yield bot


def files(bot: Bot) -> list[Any]:
    return [part for call in bot.fake.calls("POST", "/webhooks/") for part in call.files]


async def test_a_move_signs_the_discord_account_out_and_takes_its_roles(bot: Bot) -> None:
    await eventually(lambda: MEMBERS_ROLE in bot.fake.member_roles(DEFAULT_USER_ID), "alice's role is granted")
    asked = await slash(bot, bot.path("transfer"), email=NEW)
    assert asked["flags"] & EPHEMERAL and f"we emailed a code to {NEW}" in text_of(asked)
    assert labels(asked) == [], "no button confirms it: the code at the new address does"

    done = await slash(bot, bot.path("confirm"), code=await mailed_code(bot.portal, NEW))
    assert f"Your account is {NEW} now" in text_of(done)
    assert f"sign in again with `login {NEW}`" in text_of(done)
    await eventually(lambda: MEMBERS_ROLE not in bot.fake.member_roles(DEFAULT_USER_ID),
                     "the dropped link takes the membership role away")
    assert "login you@example.com" in text_of(await slash(bot, "orders"))

    await sign_in(bot, NEW)
    await eventually(lambda: MEMBERS_ROLE in bot.fake.member_roles(DEFAULT_USER_ID),
                     "signing in with the new address gives it back")
    assert "Pixel Studio Pro" in text_of(await slash(bot, "orders"))


async def test_activity_pages_with_a_button(bot: Bot) -> None:
    first = await slash(bot, bot.path("activity"))
    assert "Signed in with a code" in text_of(first) and "Discord" in text_of(first)
    assert labels(first) == ["Older"]
    second = await click(bot, first, "Older")
    assert "Activity, page 2" in text_of(second)


async def test_export_comes_as_a_private_file(bot: Bot) -> None:
    await RENDERER.start()
    answer = await slash(bot, bot.path("export"))
    assert answer["flags"] & EPHEMERAL and "Everything we store about you" in text_of(answer)
    [data] = files(bot)
    assert data.filename.endswith(".json") and json.loads(data.data)["customer"]["email"] == "alice@example.com"

    await slash(bot, bot.path("export"), what="invoices last")
    [_, packed] = files(bot)
    assert packed.filename.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(packed.data)) as archive:
        assert all(archive.read(name).startswith(b"%PDF") for name in archive.namelist())


async def test_nobody_else_uses_the_code_or_sees_the_log(bot: Bot) -> None:
    await slash(bot, bot.path("transfer"), email=NEW)
    code = await mailed_code(bot.portal, NEW)
    await sign_in(bot, "bob@example.com", user_id=BOB_USER)
    stolen = await slash(bot, bot.path("confirm"), user_id=BOB_USER, code=code)
    assert "nothing waiting" in text_of(stolen)
    log = text_of(await slash(bot, bot.path("activity"), user_id=BOB_USER))
    assert NEW not in log and "Pixel" not in log
    assert f"Your account is {NEW} now" in text_of(await slash(bot, bot.path("confirm"), code=code))
