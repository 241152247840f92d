"""The Discord front door: slash commands, buttons, linked accounts, roles and invites."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from typing import Any

import discord
import discord.http
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket

from bot import bootstrap
from bot.discord.commands import build_group
from bot.discord.render import (
    CANCEL,
    CONFIRM,
    FORM,
    RUN,
    STEP,
    DiscordMessage,
    continue_button,
    modal,
    render,
    sent_lines,
    steps,
)
from core.kernel.background import poll
from core.kernel.events import RenewalPaymentFailed
from core.kernel.portal import Portal
from core.orders import discord_roles
from handlers import forms, notices
from handlers.callers import caller_for
from handlers.context import Caller, DoorAbilities
from handlers.dispatcher import Dispatcher
from handlers.registry import REGISTRY, Command
from handlers.reply import Reply, answer_line
from handlers.suggest import suggest

log = logging.getLogger("shopkeep.discord")
DM_CLOSED = 50007  # "Cannot send messages to this user": the member closed their DMs
# Domain events sync the members concerned at once; the reconcile only repairs drift.
RECONCILE_INTERVAL = 300.0
# A form opens as a modal, which must be the first answer to an interaction: a command that may
# answer with one runs before answering, for at most this long (Discord waits three seconds);
# past it the answer is deferred, and the form comes as a message with a button that opens it.
FORM_BUDGET = 1.5


class DiscordDoor:
    def __init__(self, portal: Portal, dispatcher: Dispatcher | None = None) -> None:
        settings = portal.settings
        self.portal = portal
        self.dispatcher = dispatcher or bootstrap.dispatcher(portal)
        self.guild_id = settings.discord_guild_id
        discord.http.Route.BASE = settings.discord_api_url.rstrip("/")
        if settings.discord_gateway_url:
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)
        intents = discord.Intents.none()
        intents.guilds = True
        self.client = discord.Client(intents=intents)
        self.tree = app_commands.CommandTree(self.client)
        commands = REGISTRY.commands("discord")
        self.tree.add_command(build_group(settings.discord_command, commands, self.run, self.suggest),
                              guild=discord.Object(self.guild_id) if self.guild_id else None)
        self.client.event(self.on_interaction)
        self._tasks: list[asyncio.Task[Any]] = []
        self.form_budget = FORM_BUDGET

    # ---------------------------------------------------------------- lifecycle

    async def start(self, *, connect: bool = True) -> None:
        await self.client.login(self.portal.settings.discord_token or "")
        guild = discord.Object(self.guild_id) if self.guild_id else None
        await self.tree.sync(guild=guild)
        if connect:
            self._tasks.append(asyncio.create_task(self.client.connect(), name="discord-gateway"))
        self._tasks.append(asyncio.create_task(
            poll(self.reconcile, asyncio.Event(), interval=RECONCILE_INTERVAL, log=log),
            name="discord-roles"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.client.close()

    # ---------------------------------------------------------------- commands

    async def caller(self, user: discord.abc.User) -> Caller:
        return await caller_for(self.portal, platform="discord", account_id=str(user.id),
                                display_name=user.name,
                                abilities=DoorAbilities(create_invite=self.create_invite))

    async def run(self, interaction: discord.Interaction, command: Command, values: dict[str, Any]) -> None:
        line = " ".join([command.name, *(str(v) for v in values.values())])

        async def answer() -> Reply:
            return await self.dispatcher.run(await self.caller(interaction.user), command, values,
                                             line=line)

        if self.dispatcher.registry.opens_form(command):
            await self.open_or_answer(interaction, answer())
            return
        # Acknowledge before any work: Discord's three seconds then hold however busy the
        # database is or however long a PDF takes; the answer follows as a private followup.
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.send(interaction, await answer())

    async def open_or_answer(self, interaction: discord.Interaction, work: Coroutine[Any, Any, Reply],
                             *, step: int = 1, sent: str = "") -> None:
        """Answer with the reply's form as a modal (at `step`, holding what `sent` says was sent
        before) when it comes within the budget; otherwise, or without a form, as a message."""
        task = asyncio.ensure_future(work)
        try:
            reply = await asyncio.wait_for(asyncio.shield(task), self.form_budget)
        except TimeoutError:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await self.send(interaction, await task)
            return
        if reply.ok and reply.form is not None:
            form = reply.form
            saver = self.dispatcher.form_of(form.token) if sent else None
            if saver is not None:
                form = form.filled(forms.read_lines(saver, sent))
            await interaction.response.send_modal(modal(form, step))
            return
        await self.send(interaction, reply)

    async def submitted(self, interaction: discord.Interaction, custom_id: str) -> None:
        """A modal sent back: save that step; a next step opens from a Continue button (a
        submit cannot answer with another modal), what was wrong comes with Edit again."""
        number, _, token = custom_id.removeprefix(FORM).partition(":")
        step = int(number) if number.isdigit() else 1
        values = {str(part.get("custom_id")): str(part.get("value") or "")
                  for row in (interaction.data or {}).get("components", [])  # type: ignore[attr-defined]
                  for part in row.get("components", [])}
        await interaction.response.defer(ephemeral=True, thinking=True)
        caller = await self.caller(interaction.user)
        reply = await self.dispatcher.handle(caller, self.dispatcher.submission(token, values))
        saver = self.dispatcher.form_of(token)
        pages = steps(forms.fields(saver)) if saver is not None and reply.ok else []
        if saver is None or not reply.ok or step >= len(pages):
            await self.send(interaction, reply)
            return
        following = ", ".join(item.label for item in pages[step])
        reply.paragraphs.insert(0, f"Step {step} of {len(pages)} saved. Continue with: {following}.")
        message = render(reply)
        message.view = continue_button(message.view, step + 1, saver.form or "")
        await self.send_message(interaction, message)

    async def send(self, interaction: discord.Interaction, reply: Reply) -> None:
        await self.send_message(interaction, render(reply))

    async def send_message(self, interaction: discord.Interaction, message: DiscordMessage) -> None:
        kwargs: dict[str, Any] = {"embeds": message.embeds, "files": message.files, "ephemeral": True}
        if message.view is not None:
            kwargs["view"] = message.view
        if interaction.response.is_done():
            await interaction.followup.send(**kwargs)
        else:
            await interaction.response.send_message(**kwargs)

    async def suggest(self, interaction: discord.Interaction, source: str,
                      typed: str) -> list[tuple[str, str]]:
        return await suggest(self.portal, await self.caller(interaction.user), source, typed)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Buttons and modals carry what they do in their custom id, so they work after a restart."""
        custom_id = str((interaction.data or {}).get("custom_id", ""))
        if interaction.type is discord.InteractionType.modal_submit and custom_id.startswith(FORM):
            await self.submitted(interaction, custom_id)
            return
        if interaction.type is not discord.InteractionType.component:
            return
        if not custom_id.startswith((CONFIRM, CANCEL, RUN, STEP)):
            return
        step, sent, line = 1, "", custom_id.removeprefix(RUN)
        if custom_id.startswith(STEP):  # Continue, Edit again, Open the form: a modal at once
            number, _, line = custom_id.removeprefix(STEP).partition(":")
            step, sent = (int(number) if number.isdigit() else 1), sent_lines(interaction.message)
        command = self.dispatcher.invocation(line, "discord").command
        if custom_id.startswith(STEP) or (custom_id.startswith(RUN) and command is not None
                                          and self.dispatcher.registry.opens_form(command)):
            async def answer() -> Reply:
                return await self.dispatcher.handle_line(await self.caller(interaction.user), line)

            await self.open_or_answer(interaction, answer(), step=step, sent=sent)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        caller = await self.caller(interaction.user)
        if custom_id.startswith(CONFIRM):
            line = answer_line(custom_id.removeprefix(CONFIRM), accept=True)
        elif custom_id.startswith(CANCEL):
            line = answer_line(custom_id.removeprefix(CANCEL), accept=False)
        else:
            line = custom_id.removeprefix(RUN)
        await self.send(interaction, await self.dispatcher.handle_line(caller, line))

    # ---------------------------------------------------------------- direct messages

    async def tell_renewal_failed(self, event: RenewalPaymentFailed) -> None:
        """DM each Discord account linked to the customer, once however often the event comes."""
        notice = await notices.renewal_failed(self.portal, event, platform="discord")
        for account in notice.accounts:
            await notices.send_once(self.portal, "discord", f"{notice.key}:{account}",
                                    lambda account=account: self.direct_message(int(account), notice.reply))

    async def direct_message(self, user_id: int, reply: Reply) -> None:
        """Send `reply` to the user's DMs; a user who closed them is not asked again."""
        message = render(reply)
        kwargs: dict[str, Any] = {"embeds": message.embeds}
        if message.view is not None:
            kwargs["view"] = message.view
        channel = await self.client.create_dm(discord.Object(user_id))
        try:
            await channel.send(**kwargs)
        except discord.Forbidden as exc:
            if exc.code != DM_CLOSED:
                raise
            log.info("Discord: %s does not take direct messages; the email told them", user_id)

    # ---------------------------------------------------------------- invites and roles

    async def create_invite(self, channel_id: int, max_age: int) -> str:
        channel = await self.client.fetch_channel(channel_id)
        assert isinstance(channel, discord.abc.GuildChannel)
        invite = await channel.create_invite(max_uses=1, max_age=max_age, unique=True,
                                             reason="shopkeep: a customer asked for access")
        return invite.url

    async def sync_member(self, user_id: int) -> None:
        """Give the member exactly the managed roles their active products grant."""
        if not self.guild_id:
            return
        async with self.portal.db.unit_of_work() as session:
            managed = await discord_roles.managed_roles(session)
            links = await discord_roles.linked_discord_users(session)
            wanted = await discord_roles.roles_for(session, links.get(user_id))
        guild = discord.Object(self.guild_id)
        try:
            member = await self.client.http.get_member(self.guild_id, user_id)
        except discord.NotFound:
            return  # not in the server (yet); joining later is repaired by the reconcile
        have = {int(r) for r in member.get("roles", [])}
        for role in wanted - have:
            await self.client.http.add_role(guild.id, user_id, role, reason="shopkeep: access granted")
        for role in (have & managed) - wanted:
            await self.client.http.remove_role(guild.id, user_id, role, reason="shopkeep: access ended")

    async def sync_members(self, customer_id: int, *, account_ids: Iterable[int] = ()) -> None:
        """Sync every Discord member linked to the customer, and `account_ids` besides (an
        account just unlinked, whose managed roles must go)."""
        async with self.portal.db.unit_of_work() as session:
            members = await discord_roles.discord_users_of(session, customer_id)
        for user_id in sorted(members | set(account_ids)):
            await self.sync_member(user_id)

    async def reconcile(self) -> None:
        """Repair drift: missed events while offline, members who left and came back."""
        async with self.portal.db.unit_of_work() as session:
            users = list(await discord_roles.linked_discord_users(session))
        for user_id in users:
            try:
                await self.sync_member(user_id)
            except discord.HTTPException as exc:
                log.warning("could not sync roles of %s: %s", user_id, exc)

    async def check_permissions(self) -> list[str]:
        """What the operator must fix for roles to work, in words (empty when all is well)."""
        if not self.guild_id:
            return []
        async with self.portal.db.unit_of_work() as session:
            managed = await discord_roles.managed_roles(session)
        if not managed:
            return []
        guild = await self.client.fetch_guild(self.guild_id)
        me = await guild.fetch_member(self.client.user.id)  # type: ignore[union-attr]
        problems = []
        if not me.guild_permissions.manage_roles:
            problems.append("Give the bot's role the Manage Roles permission (Server Settings > Roles).")
        roles = {role.id: role for role in await guild.fetch_roles()}
        top = max((roles[r.id].position for r in me.roles if r.id in roles), default=0)
        for role_id in sorted(managed):
            role = roles.get(role_id)
            if role is None:
                problems.append(f"Role {role_id} from the catalog does not exist in the server.")
            elif role.position >= top:
                problems.append(f"Drag the bot's role above '{role.name}' in Server Settings > Roles; "
                                "a bot can only manage roles below its own.")
        return problems
