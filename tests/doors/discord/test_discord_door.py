"""The Discord front door: the real discord.py against the local fake Discord API."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import discord
import pytest

from bot.bootstrap import event_worker
from bot.discord.door import DiscordDoor
from core.billing.render import RENDERER
from core.kernel.portal import Portal
from handlers.registry import REGISTRY
from tests.fakes.discord_api import DEFAULT_CHANNEL_ID, DEFAULT_GUILD_ID, EPHEMERAL, FakeDiscord
from tests.fakes.discord_gateway import (
    DEFAULT_USER_ID,
    autocomplete_payload,
    component_payload,
    deliver_interaction,
    running,
    slash_payload,
)
from tests.helpers import eventually, sent_mail

MEMBERS_ROLE = 1400000000000000101
SPRITE_ROLE = 1400000000000000103  # bob's Sprite Club
FOUNDERS_CHANNEL = 1400000000000000102


@dataclass
class Bot:
    fake: FakeDiscord
    door: DiscordDoor
    portal: Portal
    last_id: int = 0

    async def slash(self, sub: str, user_id: int = DEFAULT_USER_ID, **options: Any) -> dict[str, Any]:
        delivery = await deliver_interaction(self.door.client, self.fake,
                                             slash_payload("shop", sub, options, user_id=user_id))
        await delivery.finished()
        self.last_id = delivery.id
        return self.answer(delivery.id)

    def path(self, command: str) -> str:
        """How a customer types `command` under /shop in the synced schema, group and all."""
        [path] = [p for p in synced_paths(self.fake) if p.split()[-1] == command]
        return path

    def answer(self, interaction_id: int) -> dict[str, Any]:
        """The message the user sees: the immediate response, or the followup after a defer."""
        [callback] = self.fake.interaction_responses(interaction_id)
        body = callback.json or {}
        if body.get("type") == 5:
            followup = self.fake.followups(interaction_id)[0]
            return {**followup, "type": 5, "flags": body["data"]["flags"]}
        return {"type": body["type"], **body.get("data", {})}


def text_of(message: dict[str, Any]) -> str:
    return "\n".join(f"{e.get('title') or ''}\n{e.get('description') or ''}\n" + "\n".join(
        f"{f['name']}: {f['value']}" for f in e.get("fields", [])) for e in message.get("embeds", []))


def synced_paths(fake: FakeDiscord) -> list[str]:
    """Every subcommand of the synced /shop as a customer types it: "orders", "purchases orders"."""
    [shop] = fake.commands(guild_id=DEFAULT_GUILD_ID)
    paths = []
    for option in shop["options"]:
        if option["type"] == 1:
            paths.append(option["name"])
        elif option["type"] == 2:
            paths += [f"{option['name']} {sub['name']}" for sub in option["options"] if sub["type"] == 1]
    return paths


@asynccontextmanager
async def connected(demo_portal: Portal) -> AsyncIterator[Bot]:
    """The door over the registry as it is now, logged in to the fake and synced to its server."""
    async with FakeDiscord(deadline=1.0) as fake:
        fake.add_role(MEMBERS_ROLE, "Maker Pro", position=5)
        fake.add_role(SPRITE_ROLE, "Sprite Club", position=4)
        fake.add_member(DEFAULT_USER_ID, "ann")
        settings = demo_portal.settings.model_copy(update={
            "discord_token": fake.token, "discord_guild_id": DEFAULT_GUILD_ID,
            "discord_api_url": fake.api_url})
        portal = Portal(settings=settings, db=demo_portal.db, clock=demo_portal.clock)
        door = DiscordDoor(portal)
        async with running(door.client, fake):
            await door.tree.sync(guild=discord.Object(DEFAULT_GUILD_ID))
            # Roles follow domain events, as in `serve`.
            events = asyncio.create_task(event_worker(portal, discord=door).run(interval=0.2))
            try:
                yield Bot(fake, door, portal)
            finally:
                events.cancel()
                await asyncio.gather(events, return_exceptions=True)


@pytest.fixture
async def bot(demo_portal: Portal) -> AsyncIterator[Bot]:
    async with connected(demo_portal) as bot:
        yield bot


async def sign_in(bot: Bot, email: str = "alice@example.com", user_id: int = DEFAULT_USER_ID) -> dict[str, Any]:
    await bot.slash(bot.path("login"), user_id=user_id, email=email)
    subject = str((await sent_mail(bot.portal, to=email, kind="code"))[-1]["Subject"])
    code = re.search(r"\d{6}", subject)
    assert code
    return await bot.slash(bot.path("verify"), user_id=user_id, code=code.group())


async def test_sync_has_every_command_with_typed_options(bot: Bot) -> None:
    [group] = bot.fake.commands(guild_id=DEFAULT_GUILD_ID)
    subs = {option["name"]: option for option in group["options"]}
    assert {path.split()[-1] for path in synced_paths(bot.fake)} == {c.name for c in REGISTRY.commands("discord")}
    product = subs["product"]["options"][0]
    assert product["name"] == "product" and product["type"] == 3 and product["required"] is True
    assert product.get("autocomplete") is True
    assert subs["invoices"]["options"][0]["required"] is False
    assert "login" in subs and "invite" in subs


async def test_not_linked_gets_the_login_hint(bot: Bot) -> None:
    answer = await bot.slash("orders")
    assert answer["flags"] & EPHEMERAL and "login you@example.com" in text_of(answer)


async def test_login_verify_orders_and_roles(bot: Bot) -> None:
    welcome = await sign_in(bot)
    assert "Signed in as alice@example.com" in text_of(welcome)
    await eventually(lambda: MEMBERS_ROLE in bot.fake.member_roles(DEFAULT_USER_ID),
                     "signing in grants the Maker Pro role")
    orders = await bot.slash("orders")
    assert orders["flags"] & EPHEMERAL and "Pixel Studio Pro" in text_of(orders)
    await bot.slash("logout")
    await eventually(lambda: MEMBERS_ROLE not in bot.fake.member_roles(DEFAULT_USER_ID),
                     "unlinking removes it")


async def test_invoice_pdf_is_a_file_on_the_deferred_followup(bot: Bot) -> None:
    await RENDERER.start()  # as `serve` does at start-up: the PDF process is warm before anyone asks
    await sign_in(bot)
    answer = await bot.slash("invoice", which="last")
    assert answer["type"] == 5 and answer["flags"] & EPHEMERAL
    calls = [c for c in bot.fake.calls("POST", "/webhooks/") if c.files]
    assert calls and calls[-1].files[0].filename.startswith("INV-") and calls[-1].files[0].data.startswith(b"%PDF")


async def test_product_links_are_buttons(bot: Bot) -> None:
    await sign_in(bot)
    answer = await bot.slash("product", product="ebook")
    buttons = [c for row in answer["components"] for c in row["components"]]
    assert any(b.get("url", "").startswith("http://portal.test/d/") for b in buttons)


async def test_autocomplete_offers_only_the_callers_products(bot: Bot) -> None:
    await sign_in(bot, "bob@example.com")
    delivery = await deliver_interaction(bot.door.client, bot.fake, autocomplete_payload(
        "shop", "product", focused="product", value=""))
    await delivery.finished()
    [callback] = bot.fake.interaction_responses(delivery.id)
    assert callback.json is not None and callback.json["type"] == 8
    names = [choice["name"] for choice in callback.json["data"]["choices"]]
    # His e-book and the team seat alice gave him: none of alice's own products.
    assert names == ["1. The Indie Maker's Handbook", "2. Sprite Club", "3. Tileset Forge Teams"]


async def test_reveal_button_runs_its_command(bot: Bot) -> None:
    await sign_in(bot)
    await bot.slash("product", product="3")
    message = bot.fake.original_message(bot.last_id)
    assert message is not None
    click = await deliver_interaction(bot.door.client, bot.fake, component_payload(message, label="Reveal license keys"))
    await click.finished()
    revealed = bot.answer(click.id)
    assert "•" not in text_of(revealed) and re.search(r"[A-Z0-9]{5}-[A-Z0-9]{5}", text_of(revealed))


async def test_private_invite_is_single_use(bot: Bot) -> None:
    bot.fake.guild().channels[FOUNDERS_CHANNEL] = type(bot.fake.guild().channels[DEFAULT_CHANNEL_ID])(
        id=FOUNDERS_CHANNEL, name="founders", guild_id=DEFAULT_GUILD_ID)
    await sign_in(bot)
    answer = await bot.slash("invite", product="founders")
    [invite] = bot.fake.invites
    assert invite.max_uses == 1 and invite.max_age == 86400
    buttons = [c for row in answer["components"] for c in row["components"]]
    assert any(invite.code in b.get("url", "") for b in buttons)


async def test_permission_report_names_the_fix(bot: Bot) -> None:
    assert await bot.door.check_permissions() == []
    bot.fake.add_role(MEMBERS_ROLE, "Maker Pro", position=20)
    problems = await bot.door.check_permissions()
    assert problems and "above 'Maker Pro'" in problems[0]


async def test_reconcile_repairs_a_member_who_left_and_came_back(bot: Bot) -> None:
    await sign_in(bot)
    await eventually(lambda: MEMBERS_ROLE in bot.fake.member_roles(DEFAULT_USER_ID), "the role is granted")
    bot.fake.remove_member(DEFAULT_USER_ID)
    bot.fake.add_member(DEFAULT_USER_ID, "ann")
    assert MEMBERS_ROLE not in bot.fake.member_roles(DEFAULT_USER_ID)
    await bot.door.reconcile()
    assert MEMBERS_ROLE in bot.fake.member_roles(DEFAULT_USER_ID)


async def test_a_second_discord_account_on_the_same_email_is_pointed_out(bot: Bot) -> None:
    await sign_in(bot)
    second = await sign_in(bot, user_id=DEFAULT_USER_ID + 7)
    assert "also linked to another discord account (ann)" in text_of(second)


async def test_signing_in_as_another_customer_takes_the_first_ones_roles_away(bot: Bot) -> None:
    await sign_in(bot)
    await eventually(lambda: MEMBERS_ROLE in bot.fake.member_roles(DEFAULT_USER_ID), "alice's role is granted")
    await sign_in(bot, "bob@example.com")
    await eventually(lambda: MEMBERS_ROLE not in bot.fake.member_roles(DEFAULT_USER_ID),
                     "bob owns no membership, so the account loses alice's role")
