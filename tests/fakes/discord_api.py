"""A local stand-in for the Discord REST API, so the real discord.py can run in tests.

Usage::

    async with FakeDiscord(deadline=3.0) as fake:
        discord.http.Route.BASE = fake.api_url   # tests.fakes.discord_gateway.running() does this
        ...
        assert fake.interaction_responses(interaction_id)[0].json["type"] == 4

Every URL discord.py builds, the bot's own requests and the interaction webhooks alike, is
``Route.BASE + path`` at the time the ``Route`` is made, so pointing ``Route.BASE`` here is enough.

The fake keeps the state Discord would keep and answers with Discord's status codes and error
codes: guilds with roles, members and channels, registered application commands, delivered
interactions (3-second deadline, single acknowledgement, 15-minute followup window), messages
and their attachments, DM channels and invites. Every request is recorded, failed ones too.
Requests it does not know get ``404 {"code": 0}`` and are recorded, so a test sees what was tried.

Responses carry ``Content-Type: application/json`` with no charset: discord.py only decodes JSON
when the header is exactly that, and aiohttp appends ``; charset=utf-8`` to text responses.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import json
import mimetypes
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

API_PREFIX = "/api/v10"

DEFAULT_TOKEN = "fake-bot-token"
# A bot user's id is its application's id on Discord.
DEFAULT_APPLICATION_ID = 1100000000000000001
DEFAULT_GUILD_ID = 1200000000000000001
DEFAULT_CHANNEL_ID = 1200000000000000002
DEFAULT_BOT_ROLE_ID = 1200000000000000003

# Permission bits (https://discord.com/developers/docs/topics/permissions).
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
MANAGE_ROLES = 1 << 28
USE_APPLICATION_COMMANDS = 1 << 31
ALL_PERMISSIONS = (1 << 53) - 1

EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | USE_APPLICATION_COMMANDS
)
BOT_ROLE_PERMISSIONS = EVERYONE_PERMISSIONS | MANAGE_ROLES

# Message flags.
EPHEMERAL = 1 << 6
LOADING = 1 << 7
IS_COMPONENTS_V2 = 1 << 15

# Interaction types and the callback types Discord accepts for each.
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
PONG, CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 1, 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9
_CALLBACKS_FOR: dict[int, frozenset[int]] = {
    PING: frozenset({PONG}),
    APPLICATION_COMMAND: frozenset({CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL}),
    MESSAGE_COMPONENT: frozenset(
        {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, MODAL}
    ),
    AUTOCOMPLETE: frozenset({AUTOCOMPLETE_RESULT}),
    MODAL_SUBMIT: frozenset({CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE}),
}

FOLLOWUP_WINDOW_SECONDS = 15 * 60

_DISCORD_EPOCH_MS = 1420070400000
_COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")
_MAX_UPLOAD_BYTES = 64 * 1024 * 1024

# The request being answered, parsed once by the middleware; aiohttp runs the middleware and the
# handler in one task, so the handler sees what the middleware set.
_current_call: contextvars.ContextVar[RecordedRequest] = contextvars.ContextVar("discord_fake_call")


class DiscordError(Exception):
    """Raised inside the fake to answer with Discord's error body ``{"code", "message", "errors"}``."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body


def unknown_interaction() -> DiscordError:
    return DiscordError(404, 10062, "Unknown interaction")


def already_acknowledged() -> DiscordError:
    return DiscordError(400, 40060, "Interaction has already been acknowledged.")


def unknown_webhook() -> DiscordError:
    return DiscordError(404, 10015, "Unknown Webhook")


def invalid_webhook_token() -> DiscordError:
    return DiscordError(401, 50027, "Invalid Webhook Token")


def unknown_message() -> DiscordError:
    return DiscordError(404, 10008, "Unknown Message")


def unknown_member() -> DiscordError:
    return DiscordError(404, 10007, "Unknown Member")


def missing_permissions() -> DiscordError:
    return DiscordError(403, 50013, "Missing Permissions")


def cannot_dm() -> DiscordError:
    return DiscordError(403, 50007, "Cannot send messages to this user")


def invalid_form_body(errors: dict[str, Any]) -> DiscordError:
    return DiscordError(400, 50035, "Invalid Form Body", errors)


# ---------------------------------------------------------------------- state Discord keeps


@dataclass
class FakeUser:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }


@dataclass
class FakeRole:
    id: int
    name: str
    position: int
    permissions: int = 0
    managed: bool = False
    bot_id: int | None = None  # set for the role Discord creates for a bot when it joins

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "position": self.position,
            "permissions": str(self.permissions),
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class FakeMember:
    user: FakeUser
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = "2026-01-01T00:00:00+00:00"

    def to_json(self) -> dict[str, Any]:
        return {
            "user": self.user.to_json(),
            "nick": self.nick,
            "avatar": None,
            "roles": [str(role_id) for role_id in self.roles],
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }


@dataclass
class FakeChannel:
    id: int
    name: str | None
    type: int = 0  # 0 guild text, 1 DM
    guild_id: int | None = None
    recipient: FakeUser | None = None  # DM channels only

    def to_json(self) -> dict[str, Any]:
        if self.type == 1:
            assert self.recipient is not None
            return {
                "id": str(self.id),
                "type": 1,
                "recipients": [self.recipient.to_json()],
                "last_message_id": None,
                "flags": 0,
            }
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }


@dataclass
class FakeGuild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    channels: dict[int, FakeChannel] = field(default_factory=dict)

    def permissions_of(self, user_id: int) -> int:
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        member = self.members.get(user_id)
        if member is None:
            return 0
        value = self.roles[self.id].permissions if self.id in self.roles else 0
        for role_id in member.roles:
            if role_id in self.roles:
                value |= self.roles[role_id].permissions
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value

    def top_position(self, user_id: int) -> int:
        member = self.members.get(user_id)
        if member is None:
            return -1
        return max((self.roles[r].position for r in member.roles if r in self.roles), default=0)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [role.to_json() for role in sorted(self.roles.values(), key=lambda r: r.position)],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
        }


@dataclass
class FakeInvite:
    code: str
    guild_id: int
    channel_id: int
    inviter_id: int
    max_age: int
    max_uses: int
    temporary: bool
    unique: bool
    created_at: datetime

    @property
    def expires_at(self) -> datetime | None:
        return self.created_at + timedelta(seconds=self.max_age) if self.max_age else None


@dataclass(frozen=True)
class Part:
    """One part of a multipart request body."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    headers: dict[str, str]
    json: Any  # the JSON body, or a multipart body's payload_json part
    parts: list[Part]
    status: int = 0
    response: Any = None
    # When the request arrived (time.perf_counter), for latency measurements.
    received_at: float = field(default_factory=time.perf_counter)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def files(self) -> list[Part]:
        """Uploaded files (``files[n]`` parts), in order."""
        return [part for part in self.parts if part.filename is not None]


@dataclass
class DeliveredInteraction:
    id: int
    token: str
    application_id: int
    type: int
    delivered_at: float
    guild_id: int | None
    channel_id: int | None
    payload: dict[str, Any]
    response_type: int | None = None  # set by the first accepted callback
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    modal: dict[str, Any] | None = None  # the modal the interaction was answered with


# ---------------------------------------------------------------------- the server


class FakeDiscord:
    """An aiohttp server on a free loopback port that answers like discord.com/api/v10."""

    def __init__(
        self,
        *,
        deadline: float = 3.0,
        token: str = DEFAULT_TOKEN,
        application_id: int = DEFAULT_APPLICATION_ID,
        bot_name: str = "shopkeep",
        clock: Callable[[], float] = time.monotonic,
        default_guild: bool = True,
    ) -> None:
        """``clock`` times the interaction deadline and followup window; pass a hand-moved clock to
        test the 15-minute window. ``default_guild`` adds DEFAULT_GUILD_ID with one text channel
        (DEFAULT_CHANNEL_ID) and the bot as a member holding DEFAULT_BOT_ROLE_ID (Manage Roles,
        position 10: roles added below 10 are within the bot's reach, 10 and above are not)."""
        self.deadline = deadline
        self.token = token
        self.application_id = application_id
        self.clock = clock
        self.bot = FakeUser(id=application_id, username=bot_name, bot=True)
        self.requests: list[RecordedRequest] = []
        self.users: dict[int, FakeUser] = {self.bot.id: self.bot}
        self.guilds: dict[int, FakeGuild] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self.deleted_message_ids: set[int] = set()
        self.attachments: dict[int, bytes] = {}
        self.invites: list[FakeInvite] = []
        self.interactions: dict[int, DeliveredInteraction] = {}
        self._by_token: dict[str, DeliveredInteraction] = {}
        self._commands: dict[int | None, dict[tuple[str, int], dict[str, Any]]] = {}
        self._dm_channels: dict[int, FakeChannel] = {}  # by channel id
        self._dm_channel_of: dict[int, int] = {}  # user id -> the DM channel id Discord hands out
        self._dm_blocked: set[int] = set()
        self._failures: list[tuple[str, str, DiscordError]] = []
        self._sequence = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        if default_guild:
            self.add_guild(DEFAULT_GUILD_ID, channel_ids=(DEFAULT_CHANNEL_ID,))

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeDiscord:
        app = web.Application(client_max_size=_MAX_UPLOAD_BYTES, middlewares=[self._middleware])
        self._add_routes(app.router)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def api_url(self) -> str:
        """Assign to ``discord.http.Route.BASE``."""
        return f"{self.base_url}{API_PREFIX}"

    # ------------------------------------------------------------------ test setup

    def add_user(self, user_id: int, username: str | None = None, **fields: Any) -> FakeUser:
        user = self.users.get(user_id)
        if user is None:
            user = FakeUser(id=user_id, username=username or f"user{user_id}", **fields)
            self.users[user_id] = user
        return user

    def add_guild(
        self,
        guild_id: int,
        *,
        name: str = "Shop",
        owner_id: int = 1,
        channel_ids: Iterable[int] = (),
        bot_permissions: int = BOT_ROLE_PERMISSIONS,
        bot_role_position: int = 10,
        everyone_permissions: int = EVERYONE_PERMISSIONS,
    ) -> FakeGuild:
        """A guild the bot is in: @everyone, the bot's own managed role, and the bot as a member.

        The bot's role gets id DEFAULT_BOT_ROLE_ID in the default guild and ``guild_id + 3`` elsewhere.
        """
        guild = FakeGuild(id=guild_id, name=name, owner_id=owner_id)
        guild.roles[guild_id] = FakeRole(
            id=guild_id, name="@everyone", position=0, permissions=everyone_permissions
        )
        bot_role_id = DEFAULT_BOT_ROLE_ID if guild_id == DEFAULT_GUILD_ID else guild_id + 3
        guild.roles[bot_role_id] = FakeRole(
            id=bot_role_id,
            name=self.bot.username,
            position=bot_role_position,
            permissions=bot_permissions,
            managed=True,
            bot_id=self.bot.id,
        )
        guild.members[self.bot.id] = FakeMember(user=self.bot, roles=[bot_role_id])
        for channel_id in channel_ids:
            guild.channels[channel_id] = FakeChannel(id=channel_id, name="general", guild_id=guild_id)
        self.guilds[guild_id] = guild
        return guild

    def guild(self, guild_id: int = DEFAULT_GUILD_ID) -> FakeGuild:
        return self.guilds[guild_id]

    def add_role(
        self,
        role_id: int,
        name: str,
        *,
        position: int,
        permissions: int = 0,
        guild_id: int = DEFAULT_GUILD_ID,
    ) -> FakeRole:
        """A role; it is above the bot's role (and out of the bot's reach) when ``position`` is higher."""
        role = FakeRole(id=role_id, name=name, position=position, permissions=permissions)
        self.guilds[guild_id].roles[role_id] = role
        return role

    def set_bot_roles(self, role_ids: Iterable[int], *, guild_id: int = DEFAULT_GUILD_ID) -> None:
        self.guilds[guild_id].members[self.bot.id].roles = list(role_ids)

    def bot_role(self, guild_id: int = DEFAULT_GUILD_ID) -> FakeRole:
        guild = self.guilds[guild_id]
        return next(role for role in guild.roles.values() if role.bot_id == self.bot.id)

    def add_member(
        self,
        user_id: int,
        username: str | None = None,
        *,
        roles: Iterable[int] = (),
        guild_id: int = DEFAULT_GUILD_ID,
    ) -> FakeMember:
        member = FakeMember(user=self.add_user(user_id, username), roles=list(roles))
        self.guilds[guild_id].members[user_id] = member
        return member

    def remove_member(self, user_id: int, *, guild_id: int = DEFAULT_GUILD_ID) -> None:
        """The user left: later member lookups and role changes answer 404 Unknown Member (10007)."""
        self.guilds[guild_id].members.pop(user_id, None)

    def member_roles(self, user_id: int, *, guild_id: int = DEFAULT_GUILD_ID) -> set[int]:
        return set(self.guilds[guild_id].members[user_id].roles)

    def block_dms(self, user_id: int) -> None:
        """Messages to this user's DM channel fail with 403 code 50007, as when DMs are closed."""
        self._dm_blocked.add(user_id)

    def fail_next(
        self,
        method: str,
        path_prefix: str,
        *,
        status: int,
        code: int,
        message: str,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests matching ``method`` and ``path_prefix`` with this error."""
        error = DiscordError(status, code, message)
        self._failures.extend([(method.upper(), path_prefix, error)] * times)

    # ------------------------------------------------------------------ interactions

    def deliver(self, payload: dict[str, Any]) -> None:
        """Register an interaction as sent over the gateway now; its deadline starts here.

        Fills in what Discord fills in: the registered command's id (and ``data.guild_id`` for a
        guild command) when ``data.id`` is None. A guild interaction's user becomes a member of
        the fake guild if they are not one yet; a component interaction's message is stored.
        Delivering the same interaction again keeps its first delivery time and acknowledgement.
        """
        if payload["type"] in (APPLICATION_COMMAND, AUTOCOMPLETE) and payload["data"].get("id") is None:
            self._stamp_command(payload)
        if int(payload["id"]) in self.interactions:
            return  # delivered again (a replayed event): same deadline, same acknowledgement
        guild_id = _optional_id(payload.get("guild_id"))
        channel_id = _optional_id(payload.get("channel_id") or payload.get("channel", {}).get("id"))
        if guild_id in self.guilds and "member" in payload:
            raw = payload["member"]
            user = self.add_user(int(raw["user"]["id"]), raw["user"]["username"])
            self.guilds[guild_id].members.setdefault(
                user.id, FakeMember(user=user, roles=[int(r) for r in raw.get("roles", [])])
            )
        if (
            guild_id in self.guilds
            and channel_id is not None
            and channel_id not in self.guilds[guild_id].channels
        ):
            self.guilds[guild_id].channels[channel_id] = FakeChannel(
                id=channel_id, name="general", guild_id=guild_id
            )
        user_json = payload.get("user") or payload.get("member", {}).get("user")
        if user_json is not None:
            user = self.add_user(int(user_json["id"]), user_json["username"])
            if payload.get("channel", {}).get("type") == 1 and channel_id is not None:
                self._register_dm_channel(channel_id, user)
        interaction = DeliveredInteraction(
            id=int(payload["id"]),
            token=payload["token"],
            application_id=int(payload["application_id"]),
            type=payload["type"],
            delivered_at=self.clock(),
            guild_id=guild_id,
            channel_id=channel_id,
            payload=payload,
        )
        message = payload.get("message")
        if message is not None:
            self.messages.setdefault(int(message["id"]), message)
            interaction.original_message_id = int(message["id"])
        self.interactions[interaction.id] = interaction
        self._by_token[interaction.token] = interaction

    def _stamp_command(self, payload: dict[str, Any]) -> None:
        data = payload["data"]
        guild_id = _optional_id(payload.get("guild_id"))
        command, scope = self.find_command(data["name"], guild_id=guild_id, type=data.get("type", 1))
        data["id"] = command["id"]
        if scope is not None:
            data["guild_id"] = str(scope)

    def find_command(
        self, name: str, *, guild_id: int | None = None, type: int = 1
    ) -> tuple[dict[str, Any], int | None]:
        """A synced command and the guild it was synced to (None for global); guild commands win."""
        scopes: list[int | None] = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            command = self._commands.get(scope, {}).get((name, type))
            if command is not None:
                return command, scope
        raise LookupError(f"command {name!r} was never synced to the fake (guild {guild_id})")

    def commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        """The commands last PUT globally (or to ``guild_id``), as the fake returned them."""
        return list(self._commands.get(guild_id, {}).values())

    def interaction_responses(self, interaction_id: int) -> list[RecordedRequest]:
        """Every callback posted for the interaction, rejected ones included (see ``.status``)."""
        return self.calls("POST", f"/interactions/{interaction_id}/")

    def modal(self, interaction_id: int) -> dict[str, Any] | None:
        """The modal the interaction was answered with, as Discord shows it, or None."""
        return self.interactions[interaction_id].modal

    def followups(self, interaction_id: int) -> list[dict[str, Any]]:
        """Followup messages as stored, including one that filled a deferred original."""
        interaction = self.interactions[interaction_id]
        return [self.messages[message_id] for message_id in interaction.followup_ids]

    def original_message(self, interaction_id: int) -> dict[str, Any] | None:
        message_id = self.interactions[interaction_id].original_message_id
        return None if message_id is None else self.messages[message_id]

    def channel_messages(self, channel_id: int) -> list[dict[str, Any]]:
        return [m for m in self.messages.values() if int(m["channel_id"]) == channel_id]

    def dm_messages(self, user_id: int) -> list[dict[str, Any]]:
        channel_ids = {c.id for c in self._dm_channels.values() if c.recipient and c.recipient.id == user_id}
        return [m for m in self.messages.values() if int(m["channel_id"]) in channel_ids]

    def _register_dm_channel(self, channel_id: int, user: FakeUser) -> FakeChannel:
        channel = self._dm_channels.setdefault(
            channel_id, FakeChannel(id=channel_id, name=None, type=1, recipient=user)
        )
        self._dm_channel_of.setdefault(user.id, channel_id)
        return channel

    # ------------------------------------------------------------------ what tests read

    def calls(self, method: str, path_prefix: str = "") -> list[RecordedRequest]:
        """Recorded requests with this method whose path (after /api/v10) starts with ``path_prefix``."""
        method = method.upper()
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    async def wait_for_calls(
        self, method: str, path_prefix: str = "", count: int = 1, within: float = 5.0
    ) -> list[RecordedRequest]:
        """Wait until ``count`` matching requests were answered; for work a bot does in tasks."""
        await self.wait_for(lambda: len(self.calls(method, path_prefix)) >= count, within)
        return self.calls(method, path_prefix)

    async def wait_for(self, done: Callable[[], bool], within: float = 5.0) -> None:
        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(done), within)
        except TimeoutError:
            # Say what did happen: the usual cause is a handler that raised inside discord.py.
            seen = [f"{r.method} {r.path} -> {r.status}" for r in self.requests]
            raise AssertionError(f"waited {within}s in vain; Discord API requests so far: {seen}") from None

    # ------------------------------------------------------------------ HTTP plumbing

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        p = API_PREFIX
        # aiohttp tries resources in the order they were added: literal "@me" paths go first.
        router.add_get(f"{p}/users/@me", self._get_me)
        router.add_post(f"{p}/users/@me/channels", self._create_dm)
        router.add_get(f"{p}/users/{{user_id}}", self._get_user)
        router.add_get(f"{p}/oauth2/applications/@me", self._get_application)
        router.add_get(f"{p}/applications/@me", self._get_application)
        for path in (
            f"{p}/applications/{{app_id}}/commands",
            f"{p}/applications/{{app_id}}/guilds/{{guild_id}}/commands",
        ):
            router.add_get(path, self._get_commands)
            router.add_put(path, self._put_commands)
        router.add_post(f"{p}/interactions/{{interaction_id}}/{{token}}/callback", self._interaction_callback)
        router.add_post(f"{p}/webhooks/{{app_id}}/{{token}}", self._create_followup)
        message_path = f"{p}/webhooks/{{app_id}}/{{token}}/messages/{{message_id}}"
        router.add_get(message_path, self._get_webhook_message)
        router.add_patch(message_path, self._edit_webhook_message)
        router.add_delete(message_path, self._delete_webhook_message)
        router.add_get(f"{p}/guilds/{{guild_id}}", self._get_guild)
        router.add_get(f"{p}/guilds/{{guild_id}}/roles", self._get_roles)
        router.add_get(f"{p}/guilds/{{guild_id}}/channels", self._get_guild_channels)
        router.add_get(f"{p}/guilds/{{guild_id}}/members/{{user_id}}", self._get_member)
        role_path = f"{p}/guilds/{{guild_id}}/members/{{user_id}}/roles/{{role_id}}"
        router.add_put(role_path, self._add_member_role)
        router.add_delete(role_path, self._remove_member_role)
        router.add_get(f"{p}/channels/{{channel_id}}", self._get_channel)
        router.add_post(f"{p}/channels/{{channel_id}}/messages", self._create_message)
        router.add_post(f"{p}/channels/{{channel_id}}/invites", self._create_invite)
        router.add_get(f"{p}/gateway", self._get_gateway)
        router.add_get(f"{p}/gateway/bot", self._get_gateway)
        router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._get_attachment)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        call = await _read_request(request)
        _current_call.set(call)
        self.requests.append(call)
        try:
            self._raise_injected_failure(call)
            self._check_authorization(request, call)
            response = await handler(request)
        except DiscordError as error:
            response = _json(error.body(), status=error.status)
        except web.HTTPException as error:  # no such route, or a method the route lacks
            response = _json({"message": f"{error.status}: {error.reason}", "code": 0}, status=error.status)
        call.status = response.status
        if (
            isinstance(response, web.Response)
            and response.body
            and response.content_type == "application/json"
        ):
            call.response = json.loads(response.body)  # type: ignore[arg-type]
        async with self._changed:
            self._changed.notify_all()
        return response

    def _raise_injected_failure(self, call: RecordedRequest) -> None:
        for index, (method, prefix, error) in enumerate(self._failures):
            if call.method == method and call.path.startswith(prefix):
                del self._failures[index]
                raise error

    def _check_authorization(self, request: web.Request, call: RecordedRequest) -> None:
        # Interaction callbacks and interaction webhooks are authorised by the token in the URL.
        if call.path.startswith(("/interactions/", "/attachments/")) or call.path == "/gateway":
            return
        if call.path.startswith("/webhooks/") and "token" in request.match_info:
            return
        if request.headers.get("Authorization") != f"Bot {self.token}":
            raise DiscordError(401, 0, "401: Unauthorized")

    def _snowflake(self) -> int:
        now_ms = int(time.time() * 1000)
        # Worker 2 here, worker 1 in discord_gateway's payload builders: ids never collide.
        return ((now_ms - _DISCORD_EPOCH_MS) << 22) | (2 << 17) | (next(self._sequence) & 0xFFF)

    # ------------------------------------------------------------------ users and the application

    async def _get_me(self, request: web.Request) -> web.Response:
        return _json(
            {**self.bot.to_json(), "verified": True, "mfa_enabled": False, "flags": 0, "locale": "en-US"}
        )

    async def _get_user(self, request: web.Request) -> web.Response:
        user = self.users.get(_path_id(request.match_info["user_id"]))
        if user is None:
            raise DiscordError(404, 10013, "Unknown User")
        return _json(user.to_json())

    async def _get_application(self, request: web.Request) -> web.Response:
        owner = FakeUser(id=1, username="merchant")
        return _json(
            {
                "id": str(self.application_id),
                "name": self.bot.username,
                "icon": None,
                "description": "",
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": owner.to_json(),
                "team": None,
                "verify_key": "0" * 64,
                "flags": 0,
                "bot": self.bot.to_json(),
                "interactions_endpoint_url": None,
                "redirect_uris": [],
                "integration_types_config": {"0": {}},
            }
        )

    async def _get_gateway(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = {"url": f"ws://{request.host}/gateway-not-served"}
        if request.path.endswith("/bot"):
            body["shards"] = 1
            body["session_start_limit"] = {
                "total": 1000,
                "remaining": 1000,
                "reset_after": 0,
                "max_concurrency": 1,
            }
        return _json(body)

    # ------------------------------------------------------------------ application commands

    def _command_scope(self, request: web.Request) -> int | None:
        if _path_id(request.match_info["app_id"]) != self.application_id:
            raise DiscordError(403, 50001, "Missing Access")
        guild_id = request.match_info.get("guild_id")
        if guild_id is None:
            return None
        if _path_id(guild_id) not in self.guilds:
            raise DiscordError(403, 50001, "Missing Access")
        return int(guild_id)

    async def _get_commands(self, request: web.Request) -> web.Response:
        return _json(self.commands(self._command_scope(request)))

    async def _put_commands(self, request: web.Request) -> web.Response:
        scope = self._command_scope(request)
        body = _current_call.get().json
        if not isinstance(body, list):
            raise invalid_form_body(
                {"_errors": [_error("LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")]}
            )
        errors: dict[str, Any] = {}
        for index, command in enumerate(body):
            _check_command(command, errors, (str(index),))
        keys = [(c.get("name"), c.get("type", 1)) for c in body]
        for index, key in enumerate(keys):
            if keys.index(key) != index:
                _put_error(
                    errors,
                    (str(index), "name"),
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    "Application command names must be unique",
                )
        if errors:
            raise invalid_form_body(errors)
        previous = self._commands.get(scope, {})
        stored: dict[tuple[str, int], dict[str, Any]] = {}
        for command in body:
            key = (command["name"], command.get("type", 1))
            old = previous.get(key)
            stored[key] = {
                "id": old["id"] if old else str(self._snowflake()),
                "application_id": str(self.application_id),
                "version": str(self._snowflake()),
                "type": 1,
                "description": "",
                "default_member_permissions": None,
                "nsfw": False,
                "integration_types": [0],
                "contexts": None,
                "options": [],
                **command,
                **({"guild_id": str(scope)} if scope is not None else {}),
            }
        self._commands[scope] = stored
        return _json(list(stored.values()))

    # ------------------------------------------------------------------ interaction callbacks

    async def _interaction_callback(self, request: web.Request) -> web.Response:
        call = _current_call.get()
        interaction = self.interactions.get(_path_id(request.match_info["interaction_id"]))
        if interaction is None or interaction.token != request.match_info["token"]:
            raise unknown_interaction()
        if interaction.response_type is not None:
            raise already_acknowledged()
        if self.clock() - interaction.delivered_at > self.deadline:
            raise unknown_interaction()
        body = _json_object(call)
        response_type = body.get("type")
        if response_type not in _CALLBACKS_FOR.get(interaction.type, frozenset()):
            raise invalid_form_body(
                {
                    "type": {
                        "_errors": [
                            _error("INTERACTION_RESPONSE_TYPE_INVALID", "Invalid interaction response type")
                        ]
                    }
                }
            )
        data = body.get("data") or {}
        flags = int(data.get("flags") or 0)
        message: dict[str, Any] | None = None
        if response_type == CHANNEL_MESSAGE:
            _check_message(data, call.files, require_content=True)
            message = self._store_message(
                interaction.channel_id,
                interaction.guild_id,
                data,
                call,
                message_type=20,
                flags=flags & EPHEMERAL,
                webhook_id=interaction.application_id,
            )
            interaction.original_message_id = int(message["id"])
        elif response_type == DEFERRED_CHANNEL_MESSAGE:
            message = self._store_message(
                interaction.channel_id,
                interaction.guild_id,
                {},
                call,
                message_type=20,
                flags=LOADING | (flags & EPHEMERAL),
                webhook_id=interaction.application_id,
            )
            interaction.original_message_id = int(message["id"])
        elif response_type == UPDATE_MESSAGE:
            _check_message(data, call.files, require_content=False)
            if interaction.original_message_id is None:
                raise unknown_message()
            message = self._edit_message(interaction.original_message_id, data, call)
        elif response_type == AUTOCOMPLETE_RESULT:
            _check_choices(data.get("choices"))
        elif response_type == MODAL:
            _check_modal(data)
            interaction.modal = data
        interaction.response_type = response_type
        if request.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        result: dict[str, Any] = {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.type,
                **(
                    {
                        "response_message_id": message["id"],
                        "response_message_loading": bool(message["flags"] & LOADING),
                        "response_message_ephemeral": bool(message["flags"] & EPHEMERAL),
                    }
                    if message is not None
                    else {}
                ),
            }
        }
        if message is not None:
            result["resource"] = {"type": response_type, "message": message}
        return _json(result)

    # ------------------------------------------------------------------ interaction webhooks

    def _webhook_interaction(self, request: web.Request) -> DeliveredInteraction:
        interaction = self._by_token.get(request.match_info["token"])
        if interaction is None or _path_id(request.match_info["app_id"]) != interaction.application_id:
            raise unknown_webhook()
        if self.clock() - interaction.delivered_at > FOLLOWUP_WINDOW_SECONDS:
            raise invalid_webhook_token()
        if interaction.response_type is None:
            raise unknown_webhook()
        return interaction

    def _webhook_message_id(self, request: web.Request, interaction: DeliveredInteraction) -> int:
        raw = request.match_info["message_id"]
        if raw == "@original":
            message_id = interaction.original_message_id
        else:
            message_id = _path_id(raw)
            if message_id not in (interaction.original_message_id, *interaction.followup_ids):
                message_id = None
        if message_id is None or message_id in self.deleted_message_ids or message_id not in self.messages:
            raise unknown_message()
        return message_id

    async def _create_followup(self, request: web.Request) -> web.Response:
        call = _current_call.get()
        interaction = self._webhook_interaction(request)
        body = _json_object(call)
        _check_message(body, call.files, require_content=True)
        original = self.original_message(interaction.id)
        if (
            interaction.response_type == DEFERRED_CHANNEL_MESSAGE
            and original is not None
            and original["flags"] & LOADING
        ):
            # The first followup after a deferral replaces the "thinking" message; whether it is
            # ephemeral was decided by the deferral, whatever flags the followup carries.
            message = self._edit_message(
                int(original["id"]), {k: v for k, v in body.items() if k != "flags"}, call
            )
        else:
            flags = int(body.get("flags") or 0) & EPHEMERAL
            message = self._store_message(
                interaction.channel_id,
                interaction.guild_id,
                body,
                call,
                message_type=0,
                flags=flags,
                webhook_id=interaction.application_id,
            )
        interaction.followup_ids.append(int(message["id"]))
        if request.query.get("wait") in ("1", "true", "True"):
            return _json(message)
        return web.Response(status=204)

    async def _get_webhook_message(self, request: web.Request) -> web.Response:
        interaction = self._webhook_interaction(request)
        return _json(self.messages[self._webhook_message_id(request, interaction)])

    async def _edit_webhook_message(self, request: web.Request) -> web.Response:
        call = _current_call.get()
        interaction = self._webhook_interaction(request)
        message_id = self._webhook_message_id(request, interaction)
        body = _json_object(call)
        _check_message(body, call.files, require_content=False)
        return _json(self._edit_message(message_id, body, call))

    async def _delete_webhook_message(self, request: web.Request) -> web.Response:
        interaction = self._webhook_interaction(request)
        self.deleted_message_ids.add(self._webhook_message_id(request, interaction))
        return web.Response(status=204)

    # ------------------------------------------------------------------ messages

    def _store_message(
        self,
        channel_id: int | None,
        guild_id: int | None,
        body: Mapping[str, Any],
        call: RecordedRequest,
        *,
        message_type: int,
        flags: int,
        webhook_id: int | None = None,
    ) -> dict[str, Any]:
        message_id = self._snowflake()
        message: dict[str, Any] = {
            "id": str(message_id),
            "channel_id": str(channel_id or 0),
            "author": self.bot.to_json(),
            "content": "",
            "timestamp": datetime.now(UTC).isoformat(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "pinned": False,
            "type": message_type,
            "flags": flags,
        }
        if guild_id is not None:
            message["guild_id"] = str(guild_id)
        if webhook_id is not None:
            message["webhook_id"] = str(webhook_id)
            message["application_id"] = str(self.application_id)
        self._apply_message_body(message, body, call)
        self.messages[message_id] = message
        return message

    def _edit_message(
        self, message_id: int, body: Mapping[str, Any], call: RecordedRequest
    ) -> dict[str, Any]:
        message = self.messages[message_id]
        self._apply_message_body(message, body, call)
        message["flags"] = (message["flags"] & ~LOADING) | (int(body.get("flags") or 0) & ~EPHEMERAL)
        message["edited_timestamp"] = datetime.now(UTC).isoformat()
        return message

    def _apply_message_body(
        self, message: dict[str, Any], body: Mapping[str, Any], call: RecordedRequest
    ) -> None:
        for key in ("content", "embeds", "components", "poll"):
            if key in body:
                message[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
        uploads = {part.name: part for part in call.files}
        if "attachments" not in body and not uploads:
            return
        kept = {a["id"]: a for a in message["attachments"]}
        listed = body.get("attachments")
        if listed is None:
            listed = [{"id": name[len("files[") : -1]} for name in uploads]
        attachments: list[dict[str, Any]] = []
        for entry in listed:
            if str(entry["id"]) in kept:
                attachments.append(kept[str(entry["id"])])
            elif f"files[{entry['id']}]" in uploads:
                part = uploads[f"files[{entry['id']}]"]
                attachments.append(self._store_attachment(message, part, entry))
        message["attachments"] = attachments

    def _store_attachment(
        self, message: dict[str, Any], part: Part, entry: Mapping[str, Any]
    ) -> dict[str, Any]:
        attachment_id = self._snowflake()
        filename = entry.get("filename") or part.filename or "file"
        content_type = part.content_type
        if content_type in (None, "application/octet-stream"):
            content_type = mimetypes.guess_type(filename)[0] or content_type
        self.attachments[attachment_id] = part.data
        url = f"{self.base_url}/attachments/{message['channel_id']}/{attachment_id}/{filename}"
        attachment: dict[str, Any] = {
            "id": str(attachment_id),
            "filename": filename,
            "size": len(part.data),
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
        }
        if entry.get("description"):
            attachment["description"] = entry["description"]
        if message["flags"] & EPHEMERAL:
            attachment["ephemeral"] = True
        return attachment

    async def _get_attachment(self, request: web.Request) -> web.Response:
        data = self.attachments.get(_path_id(request.match_info["attachment_id"]))
        if data is None:
            raise DiscordError(404, 0, "404: Not Found")
        return web.Response(body=data, content_type="application/octet-stream")

    def _channel(self, channel_id: int) -> FakeChannel:
        for guild in self.guilds.values():
            if channel_id in guild.channels:
                return guild.channels[channel_id]
        if channel_id in self._dm_channels:
            return self._dm_channels[channel_id]
        raise DiscordError(404, 10003, "Unknown Channel")

    def _require_guild_permission(self, channel: FakeChannel, permission: int) -> None:
        if (
            channel.guild_id is not None
            and not self.guilds[channel.guild_id].permissions_of(self.bot.id) & permission
        ):
            raise missing_permissions()

    async def _get_channel(self, request: web.Request) -> web.Response:
        return _json(self._channel(_path_id(request.match_info["channel_id"])).to_json())

    async def _create_message(self, request: web.Request) -> web.Response:
        call = _current_call.get()
        channel = self._channel(_path_id(request.match_info["channel_id"]))
        if channel.recipient is not None and channel.recipient.id in self._dm_blocked:
            raise cannot_dm()
        self._require_guild_permission(channel, VIEW_CHANNEL | SEND_MESSAGES)
        body = _json_object(call)
        _check_message(body, call.files, require_content=True)
        message = self._store_message(channel.id, channel.guild_id, body, call, message_type=0, flags=0)
        return _json(message)

    async def _create_dm(self, request: web.Request) -> web.Response:
        body = _json_object(_current_call.get())
        recipient_id = _optional_id(body.get("recipient_id"))
        if recipient_id is None:
            raise invalid_form_body(
                {"recipient_id": {"_errors": [_error("BASE_TYPE_REQUIRED", "This field is required")]}}
            )
        # Same id scheme as the payload builders in discord_gateway, so both name one channel.
        channel_id = self._dm_channel_of.get(recipient_id, recipient_id + 1)
        channel = self._register_dm_channel(channel_id, self.add_user(recipient_id))
        return _json(channel.to_json())

    async def _create_invite(self, request: web.Request) -> web.Response:
        channel = self._channel(_path_id(request.match_info["channel_id"]))
        if channel.guild_id is None:
            raise DiscordError(400, 50024, "Cannot execute action on this channel type")
        self._require_guild_permission(channel, CREATE_INSTANT_INVITE)
        body = _json_object(_current_call.get())
        invite = FakeInvite(
            code=secrets.token_urlsafe(6)[:8],
            guild_id=channel.guild_id,
            channel_id=channel.id,
            inviter_id=self.bot.id,
            max_age=int(body.get("max_age", 86400)),
            max_uses=int(body.get("max_uses", 0)),
            temporary=bool(body.get("temporary", False)),
            unique=bool(body.get("unique", False)),
            created_at=datetime.now(UTC),
        )
        self.invites.append(invite)
        guild = self.guilds[channel.guild_id]
        return _json(
            {
                "type": 0,
                "code": invite.code,
                "guild": {
                    "id": str(guild.id),
                    "name": guild.name,
                    "splash": None,
                    "banner": None,
                    "description": None,
                    "icon": None,
                    "features": [],
                    "verification_level": 0,
                    "vanity_url_code": None,
                    "nsfw_level": 0,
                    "premium_subscription_count": 0,
                },
                "channel": {"id": str(channel.id), "name": channel.name, "type": channel.type},
                "inviter": self.bot.to_json(),
                "uses": 0,
                "max_uses": invite.max_uses,
                "max_age": invite.max_age,
                "temporary": invite.temporary,
                "created_at": invite.created_at.isoformat(),
                "expires_at": invite.expires_at.isoformat() if invite.expires_at else None,
            }
        )

    # ------------------------------------------------------------------ guilds

    def _guild(self, request: web.Request) -> FakeGuild:
        guild = self.guilds.get(_path_id(request.match_info["guild_id"]))
        if guild is None:
            raise DiscordError(404, 10004, "Unknown Guild")
        return guild

    async def _get_guild(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        body = guild.to_json()
        if request.query.get("with_counts") in ("1", "true", "True"):
            body["approximate_member_count"] = len(guild.members)
            body["approximate_presence_count"] = 0
        return _json(body)

    async def _get_roles(self, request: web.Request) -> web.Response:
        return _json(self._guild(request).to_json()["roles"])

    async def _get_guild_channels(self, request: web.Request) -> web.Response:
        return _json([channel.to_json() for channel in self._guild(request).channels.values()])

    def _member(self, guild: FakeGuild, raw_user_id: str) -> FakeMember:
        user_id = self.bot.id if raw_user_id == "@me" else _path_id(raw_user_id)
        member = guild.members.get(user_id)
        if member is None:
            raise unknown_member()
        return member

    async def _get_member(self, request: web.Request) -> web.Response:
        return _json(self._member(self._guild(request), request.match_info["user_id"]).to_json())

    def _role_change(self, request: web.Request) -> tuple[FakeMember, int]:
        """Check a role change the way Discord does: member, role, Manage Roles, then hierarchy."""
        guild = self._guild(request)
        member = self._member(guild, request.match_info["user_id"])
        role = guild.roles.get(_path_id(request.match_info["role_id"]))
        if role is None:
            raise DiscordError(404, 10011, "Unknown Role")
        if not guild.permissions_of(self.bot.id) & MANAGE_ROLES:
            raise missing_permissions()
        if self.bot.id != guild.owner_id and role.position >= guild.top_position(self.bot.id):
            raise missing_permissions()
        return member, role.id

    async def _add_member_role(self, request: web.Request) -> web.Response:
        member, role_id = self._role_change(request)
        if role_id not in member.roles:
            member.roles.append(role_id)
        return web.Response(status=204)

    async def _remove_member_role(self, request: web.Request) -> web.Response:
        member, role_id = self._role_change(request)
        if role_id in member.roles:
            member.roles.remove(role_id)
        return web.Response(status=204)


# ---------------------------------------------------------------------- request parsing


async def _read_request(request: web.Request) -> RecordedRequest:
    path = request.path[len(API_PREFIX) :] if request.path.startswith(API_PREFIX) else request.path
    body: Any = None
    parts: list[Part] = []
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            data = await part.read(decode=False)  # type: ignore[union-attr]
            name = part.name or ""
            if name == "payload_json":
                body = json.loads(data)
                continue
            parts.append(
                Part(
                    name=name,
                    filename=part.filename,
                    content_type=part.headers.get("Content-Type"),
                    data=bytes(data),
                )
            )
    elif request.can_read_body:
        raw = await request.read()
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
    return RecordedRequest(
        method=request.method,
        path=path,
        query=dict(request.query),
        headers=dict(request.headers),
        json=body,
        parts=parts,
    )


def _json_object(call: RecordedRequest) -> dict[str, Any]:
    return call.json if isinstance(call.json, dict) else {}


def _json(body: Any, *, status: int = 200) -> web.Response:
    # body= (not text=) so aiohttp leaves the Content-Type without a charset.
    return web.Response(body=json.dumps(body).encode(), status=status, content_type="application/json")


def _path_id(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise DiscordError(
            400,
            50035,
            "Invalid Form Body",
            {"_errors": [_error("NUMBER_TYPE_COERCE", f"Value {raw!r} is not snowflake.")]},
        ) from None


def _optional_id(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


# ---------------------------------------------------------------------- Discord's limits


def _error(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def _put_error(errors: dict[str, Any], path: tuple[str, ...], code: str, message: str) -> None:
    """Nest an error the way Discord does: ``{"embeds": {"0": {"title": {"_errors": [...]}}}}``."""
    node = errors
    for key in path:
        node = node.setdefault(key, {})
    node.setdefault("_errors", []).append(_error(code, message))


def _check_length(errors: dict[str, Any], path: tuple[str, ...], value: Any, limit: int) -> int:
    if value is None:
        return 0
    if len(str(value)) > limit:
        _put_error(errors, path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
    return len(str(value))


def _check_message(body: Mapping[str, Any], files: list[Part], *, require_content: bool) -> None:
    """Discord's message limits; a new message must also have something to show."""
    errors: dict[str, Any] = {}
    flags = int(body.get("flags") or 0)
    _check_length(errors, ("content",), body.get("content"), 2000)
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        _put_error(errors, ("embeds",), "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    total = 0
    for index, embed in enumerate(embeds):
        at = ("embeds", str(index))
        total += _check_length(errors, (*at, "title"), embed.get("title"), 256)
        total += _check_length(errors, (*at, "description"), embed.get("description"), 4096)
        total += _check_length(errors, (*at, "footer", "text"), (embed.get("footer") or {}).get("text"), 2048)
        total += _check_length(errors, (*at, "author", "name"), (embed.get("author") or {}).get("name"), 256)
        fields = embed.get("fields") or []
        if len(fields) > 25:
            _put_error(errors, (*at, "fields"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        for number, embed_field in enumerate(fields):
            for key, limit in (("name", 256), ("value", 1024)):
                if not str(embed_field.get(key) or "").strip():
                    _put_error(
                        errors,
                        (*at, "fields", str(number), key),
                        "BASE_TYPE_REQUIRED",
                        "This field is required",
                    )
                total += _check_length(errors, (*at, "fields", str(number), key), embed_field.get(key), limit)
    if total > 6000:
        _put_error(errors, ("embeds",), "MESSAGE_EMBEDS_TOO_LONG", "Embed size exceeds maximum size of 6000")
    if not flags & IS_COMPONENTS_V2:
        _check_action_rows(errors, body.get("components") or [])
    if errors:
        raise invalid_form_body(errors)
    has_something = body.get("content") or embeds or files or body.get("components") or body.get("poll")
    if require_content and not has_something:
        raise DiscordError(400, 50006, "Cannot send an empty message")


TEXT_INPUT = 4


def _check_modal(data: Mapping[str, Any]) -> None:
    """Discord's modal limits: a title, a custom id, one to five rows of one text input each."""
    errors: dict[str, Any] = {}
    if not str(data.get("title") or "").strip():
        _put_error(errors, ("title",), "BASE_TYPE_REQUIRED", "This field is required")
    _check_length(errors, ("title",), data.get("title"), 45)
    if not data.get("custom_id"):
        _put_error(errors, ("custom_id",), "BASE_TYPE_REQUIRED", "This field is required")
    _check_length(errors, ("custom_id",), data.get("custom_id"), 100)
    rows = data.get("components") or []
    if not 1 <= len(rows) <= 5:
        _put_error(errors, ("components",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
    for index, row in enumerate(rows):
        at = ("components", str(index))
        inputs = row.get("components") or []
        if row.get("type") != 1 or len(inputs) != 1 or inputs[0].get("type") != TEXT_INPUT:
            _put_error(errors, at, "COMPONENT_INVALID", "A modal row holds one text input.")
            continue
        text_input = inputs[0]
        _check_length(errors, (*at, "components", "0", "label"), text_input.get("label"), 45)
        _check_length(errors, (*at, "components", "0", "custom_id"), text_input.get("custom_id"), 100)
        _check_length(errors, (*at, "components", "0", "value"), text_input.get("value"), 4000)
        _check_length(errors, (*at, "components", "0", "placeholder"), text_input.get("placeholder"), 100)
        if text_input.get("style") not in (1, 2):
            _put_error(errors, (*at, "components", "0", "style"), "BASE_TYPE_CHOICES", "Not a valid choice.")
    if errors:
        raise invalid_form_body(errors)


def _check_action_rows(errors: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    if len(rows) > 5:
        _put_error(errors, ("components",), "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
    for row_index, row in enumerate(rows):
        children = row.get("components") or []
        at = ("components", str(row_index), "components")
        if len(children) > 5:
            _put_error(errors, at, "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
        for index, child in enumerate(children):
            where = (*at, str(index))
            _check_length(errors, (*where, "label"), child.get("label"), 80)
            _check_length(errors, (*where, "custom_id"), child.get("custom_id"), 100)
            if child.get("type") == 2 and child.get("style") == 5:
                if not child.get("url"):
                    _put_error(errors, (*where, "url"), "BASE_TYPE_REQUIRED", "This field is required")
                _check_length(errors, (*where, "url"), child.get("url"), 512)
            elif child.get("type") == 2 and child.get("style") != 6 and not child.get("custom_id"):
                _put_error(errors, (*where, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")


def _check_choices(choices: Any) -> None:
    errors: dict[str, Any] = {}
    choices = choices or []
    if len(choices) > 25:
        _put_error(errors, ("data", "choices"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    for index, choice in enumerate(choices):
        _check_length(errors, ("data", "choices", str(index), "name"), choice.get("name"), 100)
        if isinstance(choice.get("value"), str):
            _check_length(errors, ("data", "choices", str(index), "value"), choice["value"], 100)
    if errors:
        raise invalid_form_body(errors)


def _check_command(command: Mapping[str, Any], errors: dict[str, Any], at: tuple[str, ...]) -> None:
    """Discord's rules for a command: a slash command is named and described like its options;
    a context-menu command (user 2, message 3) only needs a 1-32 character name."""
    if command.get("type", 1) == 1:
        _check_name_and_description(command, errors, at)
    elif not 1 <= len(str(command.get("name") or "")) <= 32:
        _put_error(errors, (*at, "name"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
    _check_options(command.get("options") or [], errors, at)


def _check_name_and_description(item: Mapping[str, Any], errors: dict[str, Any], at: tuple[str, ...]) -> None:
    name = str(item.get("name") or "")
    if not _COMMAND_NAME.match(name) or name != name.lower():
        _put_error(errors, (*at, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    if not 1 <= len(str(item.get("description") or "")) <= 100:
        _put_error(
            errors, (*at, "description"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
        )


_NESTING = {None: (1, 2), 2: (1,), 1: ()}  # what a command, a group, a subcommand may hold


def _check_options(
    options: list[dict[str, Any]], errors: dict[str, Any], at: tuple[str, ...], parent: int | None = None
) -> None:
    """``parent`` is the type of the option holding these (None: the command itself)."""
    if len(options) > 25:
        _put_error(errors, (*at, "options"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    names = [option.get("name") for option in options]
    nested = [option.get("type") in (1, 2) for option in options]
    seen_optional = False
    for index, option in enumerate(options):
        where = (*at, "options", str(index))
        _check_name_and_description(option, errors, where)
        if names.index(option.get("name")) != index:
            _put_error(errors, (*where, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME",
                       "Option names must be unique")
        kind = option.get("type")
        if (kind in (1, 2) and kind not in _NESTING[parent]) or (any(nested) and not all(nested)) or (
                parent == 2 and kind != 1):
            _put_error(errors, (*where, "type"), "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                       "Sub-command and sub-command group option types are mutually exclusive to all other types")
        if kind in (1, 2):  # subcommand, subcommand group
            _check_options(option.get("options") or [], errors, where, parent=kind)
            continue
        if option.get("required") and seen_optional:
            _put_error(
                errors,
                (*where, "required"),
                "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                "Required options must be placed before non-required options",
            )
        seen_optional = seen_optional or not option.get("required")
        choices = option.get("choices") or []
        if len(choices) > 25:
            _put_error(errors, (*where, "choices"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        if choices and option.get("autocomplete"):
            _put_error(
                errors,
                (*where, "autocomplete"),
                "APPLICATION_COMMAND_AUTOCOMPLETE_CHOICES",
                "Autocomplete cannot be used with choices",
            )
