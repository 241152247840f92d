"""The Discord front door: slash commands, buttons, linked accounts, roles and invites."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

import discord
import discord.http
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket

from bot import bootstrap
from bot.discord.commands import build_group
from bot.discord.render import CANCEL, CONFIRM, RUN, render
from core.kernel.background import poll
from core.kernel.events import RenewalPaymentFailed
from core.kernel.portal import Portal
from core.orders import discord_roles
from handlers import notices
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
        # Acknowledge before any work: Discord's three seconds then hold however busy the
        # database is or however long a PDF takes; the answer follows as a private followup.
        await interaction.response.defer(ephemeral=True, thinking=True)
        caller = await self.caller(interaction.user)
        line = " ".join([command.name, *(str(v) for v in values.values())])
        reply = await self.dispatcher.run(caller, command, values, line=line)
        await self.send(interaction, reply)

    async def send(self, interaction: discord.Interaction, reply: Reply) -> None:
        message = render(reply)
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
        """Buttons carry what they do in their custom id, so they work after a restart."""
        if interaction.type is not discord.InteractionType.component:
            return
        custom_id = str((interaction.data or {}).get("custom_id", ""))
        if not custom_id.startswith((CONFIRM, CANCEL, RUN)):
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
