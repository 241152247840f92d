"""The fake Discord API against the real discord.py: what a bot sends is what Discord would get,
and what Discord would refuse (late, twice, too long, out of reach, DMs closed) is refused."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import discord
import pytest
from discord import app_commands

from tests.fakes.discord_api import (
    DEFAULT_APPLICATION_ID,
    DEFAULT_CHANNEL_ID,
    DEFAULT_GUILD_ID,
    EPHEMERAL,
    FakeDiscord,
)
from tests.fakes.discord_gateway import (
    DEFAULT_USER_ID,
    autocomplete_payload,
    component_payload,
    deliver_guild_create,
    deliver_interaction,
    running,
    slash_payload,
)

INVOICE_PDF = b"%PDF-1.7\n% an invoice\n%%EOF\n"
PRODUCTS = ["Pro plan", "Pro e-book", "Starter plan"]
SLOW_SECONDS = 0.5
CUSTOMER_ROLE_ID = 1200000000000000050
ADMIN_ROLE_ID = 1200000000000000051


@dataclass
class ManualClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


class ConfirmView(discord.ui.View):
    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmView]) -> None:
        await interaction.response.edit_message(content="Plan cancelled.", view=None)


class ShopBot(discord.Client):
    """The smallest bot that uses what shopkeep's will: a command group, files, autocomplete, a view."""

    def __init__(self) -> None:
        super().__init__(intents=discord.Intents.default())
        self.tree = app_commands.CommandTree(self)
        self.errors: list[app_commands.AppCommandError] = []
        self.seen: list[discord.Interaction] = []
        self.tree.on_error = self._record_error  # type: ignore[method-assign]
        self.tree.add_command(self._shop_group())

    async def _record_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        self.errors.append(error)

    def _shop_group(self) -> app_commands.Group:
        shop = app_commands.Group(name="shop", description="Your purchases")

        @shop.command(description="List your orders")
        @app_commands.describe(page="Page number")
        async def orders(interaction: discord.Interaction, page: int = 1, paid_only: bool = False) -> None:
            paid = " (paid only)" if paid_only else ""
            await interaction.response.send_message(f"Orders page {page}{paid}", ephemeral=True)

        @shop.command(description="Get an invoice as PDF")
        async def invoice(interaction: discord.Interaction, month: str) -> None:
            self.seen.append(interaction)
            await interaction.response.defer(ephemeral=True, thinking=True)
            pdf = discord.File(io.BytesIO(INVOICE_PDF), filename=f"invoice-{month.lower()}.pdf")
            await interaction.followup.send(f"Invoice for {month}", file=pdf)

        @shop.command(description="Get a receipt as PDF")
        async def receipt(interaction: discord.Interaction) -> None:
            pdf = discord.File(io.BytesIO(INVOICE_PDF), filename="receipt.pdf")
            await interaction.response.send_message("Your receipt", file=pdf, ephemeral=True)

        @shop.command(description="Show a product")
        async def product(interaction: discord.Interaction, name: str) -> None:
            await interaction.response.send_message(f"Product {name}")

        @product.autocomplete("name")
        async def product_names(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=p, value=p) for p in PRODUCTS if current.lower() in p.lower()]

        @shop.command(description="Cancel your plan")
        async def cancel(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("Cancel your plan?", view=ConfirmView(), ephemeral=True)

        @shop.command(description="Answers too late")
        async def slow(interaction: discord.Interaction) -> None:
            await asyncio.sleep(SLOW_SECONDS)
            await interaction.response.send_message("Here you are")

        @shop.command(description="Answers with too much text")
        async def essay(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("x" * 2001)

        return shop


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(deadline=3.0) as fake:
        yield fake


@pytest.fixture
async def bot(fake: FakeDiscord) -> AsyncIterator[ShopBot]:
    async with running(ShopBot(), fake) as bot:
        await bot.tree.sync()
        yield bot


async def test_login_and_sync_register_the_group_with_typed_options(fake: FakeDiscord, bot: ShopBot) -> None:
    assert bot.user is not None and bot.user.id == DEFAULT_APPLICATION_ID
    assert bot.application_id == DEFAULT_APPLICATION_ID
    assert bot.is_ready()

    [put] = fake.calls("PUT", f"/applications/{DEFAULT_APPLICATION_ID}/commands")
    [group] = put.json
    assert group["name"] == "shop"
    subcommands = {option["name"]: option for option in group["options"]}
    assert {name: option["type"] for name, option in subcommands.items()} == dict.fromkeys(
        ["orders", "invoice", "receipt", "product", "cancel", "slow", "essay"], 1
    )
    orders_options = {o["name"]: o["type"] for o in subcommands["orders"]["options"]}
    assert orders_options == {"page": 4, "paid_only": 5}
    assert subcommands["product"]["options"][0]["autocomplete"] is True

    # A second sync keeps the command's id, as Discord does for an unchanged name.
    synced = await bot.tree.sync()
    assert [command.id for command in synced] == [int(fake.commands()[0]["id"])]
    assert synced[0].id == int(put.response[0]["id"])


async def test_ephemeral_reply_to_a_subcommand_with_options(fake: FakeDiscord, bot: ShopBot) -> None:
    payload = slash_payload("shop", "orders", {"page": 2, "paid_only": True})
    delivery = await deliver_interaction(bot, fake, payload)
    await delivery.finished()

    assert payload["data"]["id"] == fake.commands()[0]["id"]
    [callback] = fake.interaction_responses(delivery.id)
    assert callback.status == 200
    assert callback.json["type"] == 4
    assert callback.json["data"]["content"] == "Orders page 2 (paid only)"
    assert callback.json["data"]["flags"] == EPHEMERAL
    assert bot.errors == []


async def test_deferred_reply_then_followup_with_a_file(fake: FakeDiscord, bot: ShopBot) -> None:
    delivery = await deliver_interaction(bot, fake, slash_payload("shop", "invoice", {"month": "March"}))
    await delivery.finished()

    [callback] = fake.interaction_responses(delivery.id)
    assert callback.json == {"type": 5, "data": {"flags": EPHEMERAL}}
    [followup] = fake.calls("POST", f"/webhooks/{DEFAULT_APPLICATION_ID}/")
    assert followup.ok
    assert followup.json["content"] == "Invoice for March"
    [pdf] = followup.files
    assert (pdf.name, pdf.filename, pdf.data) == ("files[0]", "invoice-march.pdf", INVOICE_PDF)

    # The first followup after a deferral replaces the "thinking" message and stays ephemeral.
    original = fake.original_message(delivery.id)
    assert original is not None
    assert original["content"] == "Invoice for March"
    assert original["flags"] == EPHEMERAL
    assert original["attachments"][0]["filename"] == "invoice-march.pdf"

    # What the customer sees, read back through discord.py: GET @original and the file's URL.
    [interaction] = bot.seen
    shown = await interaction.original_response()
    assert shown.content == "Invoice for March"
    assert await shown.attachments[0].read() == INVOICE_PDF

    await interaction.edit_original_response(content="Invoice for March (paid)")
    assert original["content"] == "Invoice for March (paid)"
    await interaction.delete_original_response()
    with pytest.raises(discord.NotFound) as deleted:
        await interaction.followup.fetch_message(int(original["id"]))  # original_response() is cached
    assert deleted.value.code == 10008


async def test_reply_with_a_file_is_a_multipart_callback(fake: FakeDiscord, bot: ShopBot) -> None:
    delivery = await deliver_interaction(bot, fake, slash_payload("shop", "receipt"))
    await delivery.finished()

    [callback] = fake.interaction_responses(delivery.id)
    assert callback.headers["Content-Type"].startswith("multipart/form-data")
    assert (callback.json["type"], callback.json["data"]["content"]) == (4, "Your receipt")
    [pdf] = callback.files
    assert (pdf.name, pdf.filename, pdf.data) == ("files[0]", "receipt.pdf", INVOICE_PDF)


async def test_autocomplete_answers_with_choices(fake: FakeDiscord, bot: ShopBot) -> None:
    payload = autocomplete_payload("shop", "product", focused="name", value="pro")
    delivery = await deliver_interaction(bot, fake, payload)
    await delivery.finished()

    [callback] = fake.interaction_responses(delivery.id)
    assert callback.json["type"] == 8
    assert [choice["name"] for choice in callback.json["data"]["choices"]] == ["Pro plan", "Pro e-book"]


async def test_button_click_edits_the_message_it_is_on(fake: FakeDiscord, bot: ShopBot) -> None:
    command = await deliver_interaction(bot, fake, slash_payload("shop", "cancel"))
    await command.finished()
    message = fake.original_message(command.id)
    assert message is not None and message["content"] == "Cancel your plan?"

    click = await deliver_interaction(bot, fake, component_payload(message, label="Confirm"))
    await click.finished()

    [callback] = fake.interaction_responses(click.id)
    assert callback.status == 200
    assert callback.json["type"] == 7
    assert fake.messages[int(message["id"])]["content"] == "Plan cancelled."
    assert fake.messages[int(message["id"])]["components"] == []


async def test_a_reply_after_the_deadline_is_unknown_interaction(fake: FakeDiscord, bot: ShopBot) -> None:
    fake.deadline = 0.3
    delivery = await deliver_interaction(bot, fake, slash_payload("shop", "slow"))
    await delivery.finished()

    [callback] = fake.interaction_responses(delivery.id)
    assert (callback.status, callback.response["code"]) == (404, 10062)
    [error] = bot.errors
    assert isinstance(error, app_commands.CommandInvokeError)
    assert isinstance(error.original, discord.NotFound)
    assert error.original.code == 10062


async def test_a_second_answer_to_one_interaction_is_refused(fake: FakeDiscord, bot: ShopBot) -> None:
    payload = slash_payload("shop", "orders")
    first = await deliver_interaction(bot, fake, payload)
    await first.finished()
    # The same event handled again, as by a second bot process: Discord keeps the first answer.
    second = await deliver_interaction(bot, fake, payload)
    await second.finished()

    assert [r.status for r in fake.interaction_responses(first.id)] == [200, 400]
    [error] = bot.errors
    assert isinstance(error, app_commands.CommandInvokeError)
    assert isinstance(error.original, discord.HTTPException)
    assert error.original.code == 40060


async def test_followups_stop_working_after_fifteen_minutes() -> None:
    clock = ManualClock()
    async with FakeDiscord(clock=clock) as fake, running(ShopBot(), fake) as bot:
        await bot.tree.sync()
        delivery = await deliver_interaction(bot, fake, slash_payload("shop", "invoice", {"month": "May"}))
        await delivery.finished()
        [interaction] = bot.seen

        clock.now += 14 * 60
        await interaction.followup.send("still in time")
        clock.now += 2 * 60
        with pytest.raises(discord.HTTPException) as late:
            await interaction.followup.send("too late")

    assert (late.value.status, late.value.code) == (401, 50027)
    assert [m["content"] for m in fake.followups(delivery.id)] == ["Invoice for May", "still in time"]


async def test_a_message_over_discord_limits_is_rejected(fake: FakeDiscord, bot: ShopBot) -> None:
    delivery = await deliver_interaction(bot, fake, slash_payload("shop", "essay"))
    await delivery.finished()

    [callback] = fake.interaction_responses(delivery.id)
    assert (callback.status, callback.response["code"]) == (400, 50035)
    assert "content" in callback.response["errors"]
    [error] = bot.errors
    assert isinstance(error, app_commands.CommandInvokeError)
    assert "2000 or fewer" in str(error.original)


async def test_role_changes_follow_discord_rules(fake: FakeDiscord, bot: ShopBot) -> None:
    bot_position = fake.bot_role().position
    fake.add_role(CUSTOMER_ROLE_ID, "Customer", position=bot_position - 1)
    fake.add_role(ADMIN_ROLE_ID, "Admin", position=bot_position + 1)
    fake.add_member(DEFAULT_USER_ID, "ann")
    guild = await bot.fetch_guild(DEFAULT_GUILD_ID)
    member = await guild.fetch_member(DEFAULT_USER_ID)

    await member.add_roles(discord.Object(CUSTOMER_ROLE_ID), reason="bought Pro")
    assert fake.member_roles(DEFAULT_USER_ID) == {CUSTOMER_ROLE_ID}
    [put] = fake.calls("PUT", f"/guilds/{DEFAULT_GUILD_ID}/members/{DEFAULT_USER_ID}/roles/")
    assert put.path.endswith(f"/roles/{CUSTOMER_ROLE_ID}")
    assert put.headers["X-Audit-Log-Reason"] == "bought Pro"

    await member.remove_roles(discord.Object(CUSTOMER_ROLE_ID))
    assert fake.member_roles(DEFAULT_USER_ID) == set()
    assert len(fake.calls("DELETE", f"/guilds/{DEFAULT_GUILD_ID}/members/")) == 1

    # Above the bot's highest role: Discord refuses, and the cached guild shows why beforehand.
    with pytest.raises(discord.Forbidden) as refused:
        await member.add_roles(discord.Object(ADMIN_ROLE_ID))
    assert refused.value.code == 50013
    deliver_guild_create(bot, fake)  # the roles were added after the bot "connected"
    cached = bot.get_guild(DEFAULT_GUILD_ID)
    admin = cached.get_role(ADMIN_ROLE_ID) if cached else None
    assert cached is not None and admin is not None
    assert cached.me.guild_permissions.manage_roles
    assert cached.me.top_role.position == bot_position < admin.position

    fake.remove_member(DEFAULT_USER_ID)
    with pytest.raises(discord.NotFound) as gone:
        await guild.fetch_member(DEFAULT_USER_ID)
    assert gone.value.code == 10007


async def test_direct_messages_and_closed_dms(fake: FakeDiscord, bot: ShopBot) -> None:
    fake.add_user(DEFAULT_USER_ID, "ann")
    ann = await bot.fetch_user(DEFAULT_USER_ID)

    await ann.send("Your code is 123456")
    assert [m["content"] for m in fake.dm_messages(DEFAULT_USER_ID)] == ["Your code is 123456"]

    fake.block_dms(DEFAULT_USER_ID)
    with pytest.raises(discord.Forbidden) as refused:
        await ann.send("again")
    assert refused.value.code == 50007
    assert refused.value.text == "Cannot send messages to this user"


async def test_single_use_invite(fake: FakeDiscord, bot: ShopBot) -> None:
    channel = bot.get_channel(DEFAULT_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)

    invite = await channel.create_invite(max_age=3600, max_uses=1, unique=True)

    [stored] = fake.invites
    assert invite.code == stored.code
    assert (stored.max_uses, stored.max_age, stored.unique) == (1, 3600, True)
    assert invite.max_uses == 1


async def test_unknown_routes_are_recorded_and_json_is_served_without_charset(
    fake: FakeDiscord, bot: ShopBot
) -> None:
    with pytest.raises(discord.NotFound):
        await bot.http.request(discord.http.Route("GET", "/skus/1"))
    [unknown] = fake.calls("GET", "/skus/")
    assert (unknown.status, unknown.response["code"]) == (404, 0)

    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bot {fake.token}"}
        async with session.get(f"{fake.api_url}/users/@me", headers=headers) as response:
            assert response.headers["Content-Type"] == "application/json"


async def test_a_wrong_token_cannot_log_in(fake: FakeDiscord) -> None:
    with pytest.raises(discord.LoginFailure):
        async with running(ShopBot(), fake, token="a-revoked-token"):
            pass
    assert fake.calls("GET", "/users/@me")[0].status == 401


async def test_dm_slash_command_carries_a_user_not_a_member(fake: FakeDiscord, bot: ShopBot) -> None:
    payload = slash_payload("shop", "orders", guild_id=None)
    delivery = await deliver_interaction(bot, fake, payload)
    await delivery.finished()

    assert "member" not in payload and payload["user"]["id"] == str(DEFAULT_USER_ID)
    assert payload["context"] == 1
    [callback] = fake.interaction_responses(delivery.id)
    assert callback.json["data"]["content"] == "Orders page 1"


async def test_command_nesting_follows_discord_rules(fake: FakeDiscord, bot: ShopBot) -> None:
    def sub(name: str, *options: dict[str, object]) -> dict[str, object]:
        return {"type": 1, "name": name, "description": name, "options": list(options)}

    text = {"type": 3, "name": "text", "description": "text"}
    group = {"type": 2, "name": "group", "description": "group", "options": [sub("inner", text)]}
    fine = {"name": "fine", "description": "groups and subcommands side by side",
            "options": [group, sub("direct")]}
    await bot.http.bulk_upsert_global_commands(DEFAULT_APPLICATION_ID, [fine])

    too_deep = {"type": 2, "name": "outer", "description": "outer", "options": [group]}
    wrong = {"name": "wrong", "description": "d",
             "options": [too_deep, sub("mixed", sub("inside")), sub("twin"), sub("twin")]}
    with pytest.raises(discord.HTTPException) as refused:
        await bot.http.bulk_upsert_global_commands(DEFAULT_APPLICATION_ID, [wrong])
    assert refused.value.code == 50035
    errors = refused.value.text
    assert "0.options.0.options.0.type" in errors, "a group inside a group"
    assert "0.options.1.options.0.type" in errors, "a subcommand inside a subcommand"
    assert "0.options.3.name" in errors, "two options of one name"
    assert "0.options.2.name" not in errors
    assert [c["name"] for c in fake.commands()] == ["fine"], "a refused PUT changes nothing"
