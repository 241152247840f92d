"""Run a real discord.Client / commands.Bot against FakeDiscord, with no gateway connection.

Usage::

    async with FakeDiscord() as fake, running(bot, fake):
        await bot.tree.sync()
        delivery = await deliver_interaction(bot, fake, slash_payload("shop", "orders", {"page": 2}))
        await delivery.finished()
        [callback] = fake.interaction_responses(delivery.id)

``running`` points discord.py's REST base at the fake, logs in over REST only (``Client.login``
fetches the bot user and the application id, then runs ``setup_hook``), marks the client ready and
hands it a GUILD_CREATE for every guild the fake knows, as the gateway would after connecting.
Events are then fed straight into the connection state's parsers, the way the gateway reader does:
``deliver_interaction`` for INTERACTION_CREATE, ``deliver_guild_create`` to refresh a guild.

The payload builders produce interactions in the shape Discord sends (API v10). Guild interactions
carry ``member``; pass ``guild_id=None`` for the DM variant, which carries ``user`` and a DM channel.
The command id is left for ``FakeDiscord.deliver`` to fill from what the bot synced, and
``data.guild_id`` with it for guild commands: discord.py's CommandTree finds the command by name,
looking among a guild's commands only when ``data.guild_id`` is present.

``discord.http.Route.BASE`` is a class attribute: one bot and one fake per test at a time.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import secrets
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import discord
import discord.http

from tests.fakes.discord_api import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    DEFAULT_APPLICATION_ID,
    DEFAULT_CHANNEL_ID,
    DEFAULT_GUILD_ID,
    EVERYONE_PERMISSIONS,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    FakeDiscord,
)

ClientT = TypeVar("ClientT", bound=discord.Client)

DEFAULT_USER_ID = 1300000000000000001
DEFAULT_USERNAME = "ann"
# Discord limits uploads to 10 MiB in guilds without boosts.
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024

OptionValue = str | int | bool | float

_DISCORD_EPOCH_MS = 1420070400000
_sequence = itertools.count(1)


# ---------------------------------------------------------------------- client lifecycle


@asynccontextmanager
async def running(
    client: ClientT, fake: FakeDiscord, *, token: str | None = None, guild_create: bool = True
) -> AsyncIterator[ClientT]:
    """Log ``client`` in against ``fake`` (with the fake's token unless ``token`` is given) and make
    it ready; close it and restore the REST base after."""
    previous_base = discord.http.Route.BASE
    try:
        await login_without_gateway(client, fake, token=token)
        if guild_create:
            for guild_id in fake.guilds:
                deliver_guild_create(client, fake, guild_id)
        yield client
    finally:
        await client.close()
        discord.http.Route.BASE = previous_base


async def login_without_gateway(
    client: discord.Client, fake: FakeDiscord, *, token: str | None = None
) -> None:
    """``Client.login`` over REST against the fake, then what READY would do for ``is_ready()``."""
    # Every Route, interaction webhooks included, reads the class attribute when it is built.
    discord.http.Route.BASE = fake.api_url
    await client.login(fake.token if token is None else token)
    # Set by the READY handling of a gateway connection; wait_until_ready() and is_ready() read it.
    client._ready.set()


def deliver_guild_create(client: discord.Client, fake: FakeDiscord, guild_id: int = DEFAULT_GUILD_ID) -> None:
    """Feed GUILD_CREATE for the fake's guild: roles, channels and all members go into the cache.

    Sending every member (member_count equal to their number) makes the guild "chunked", so a
    client with the members intent does not try to request members over the missing websocket.
    Call again after changing the guild in the fake, as Discord would send update events.
    """
    guild = fake.guilds[guild_id]
    payload: dict[str, Any] = {
        **guild.to_json(),
        "unavailable": False,
        "large": False,
        "joined_at": "2026-01-01T00:00:00+00:00",
        "member_count": len(guild.members),
        "members": [member.to_json() for member in guild.members.values()],
        "channels": [channel.to_json() for channel in guild.channels.values()],
        "threads": [],
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }
    client._connection.parsers["GUILD_CREATE"](payload)


# ---------------------------------------------------------------------- delivering interactions


@dataclass
class Delivery:
    """One delivered interaction and the tasks discord.py started to handle it."""

    payload: dict[str, Any]
    tasks: set[asyncio.Task[Any]]

    @property
    def id(self) -> int:
        return int(self.payload["id"])

    async def finished(self, within: float = 5.0) -> None:
        """Wait until discord.py's handling is over (command, autocomplete, view callback, listeners).

        An exception that escaped discord.py's own error handling is raised here.
        """
        if not self.tasks:
            return
        done, pending = await asyncio.wait(self.tasks, timeout=within)
        if pending:
            raise AssertionError(f"interaction {self.id} still being handled after {within}s: {pending}")
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]


async def deliver_interaction(client: discord.Client, fake: FakeDiscord, payload: dict[str, Any]) -> Delivery:
    """Send an INTERACTION_CREATE to ``client`` as the gateway would; the fake's deadline starts now.

    discord.py handles interactions in tasks it creates while parsing; the returned Delivery knows
    them, so ``await delivery.finished()`` waits for the handler without sleeping.
    """
    fake.deliver(payload)
    before = asyncio.all_tasks()
    client._connection.parsers["INTERACTION_CREATE"](payload)
    return Delivery(payload=payload, tasks=asyncio.all_tasks() - before)


# ---------------------------------------------------------------------- payload builders


def slash_payload(
    command: str,
    sub: str | None = None,
    options: Mapping[str, OptionValue] | None = None,
    *,
    user_id: int = DEFAULT_USER_ID,
    username: str = DEFAULT_USERNAME,
    guild_id: int | None = DEFAULT_GUILD_ID,
    channel_id: int | None = None,
    roles: Iterable[int] = (),
    permissions: int = EVERYONE_PERMISSIONS,
    app_permissions: int = EVERYONE_PERMISSIONS,
    locale: str = "en-US",
    application_id: int = DEFAULT_APPLICATION_ID,
    command_id: int | None = None,
) -> dict[str, Any]:
    """A slash command (type 2): ``/command [group] sub option:value ...``.

    ``sub`` is a subcommand name or "group subcommand". Option types follow the Python values:
    str 3, int 4, bool 5, float 10. ``guild_id=None`` makes it a DM with the bot.
    ``command_id=None`` lets the fake fill in the id it returned when the bot synced.
    """
    data = {
        "id": None if command_id is None else str(command_id),
        "name": command,
        "type": 1,
        "options": _nest_options(sub, [_option(name, value) for name, value in (options or {}).items()]),
    }
    return _interaction(
        APPLICATION_COMMAND,
        data,
        user_id=user_id,
        username=username,
        guild_id=guild_id,
        channel_id=channel_id,
        roles=roles,
        permissions=permissions,
        app_permissions=app_permissions,
        locale=locale,
        application_id=application_id,
    )


def autocomplete_payload(
    command: str,
    sub: str | None = None,
    options: Mapping[str, OptionValue] | None = None,
    *,
    focused: str,
    value: str = "",
    focused_type: int = 3,
    user_id: int = DEFAULT_USER_ID,
    username: str = DEFAULT_USERNAME,
    guild_id: int | None = DEFAULT_GUILD_ID,
    channel_id: int | None = None,
    locale: str = "en-US",
    application_id: int = DEFAULT_APPLICATION_ID,
    command_id: int | None = None,
) -> dict[str, Any]:
    """An autocomplete request (type 4): the user is typing ``value`` into option ``focused``.

    Discord sends what was typed so far as text, whatever the option's type; ``focused_type``
    is the option's declared type (3 string, 4 integer, 10 number).
    """
    values = [_option(name, option_value) for name, option_value in (options or {}).items()]
    values.append({"type": focused_type, "name": focused, "value": value, "focused": True})
    data = {
        "id": None if command_id is None else str(command_id),
        "name": command,
        "type": 1,
        "options": _nest_options(sub, values),
    }
    return _interaction(
        AUTOCOMPLETE,
        data,
        user_id=user_id,
        username=username,
        guild_id=guild_id,
        channel_id=channel_id,
        locale=locale,
        application_id=application_id,
    )


def component_payload(
    message: Mapping[str, Any],
    *,
    custom_id: str | None = None,
    label: str | None = None,
    component_type: int = 2,
    values: Sequence[str] | None = None,
    user_id: int = DEFAULT_USER_ID,
    username: str = DEFAULT_USERNAME,
    roles: Iterable[int] = (),
    permissions: int = EVERYONE_PERMISSIONS,
    locale: str = "en-US",
    application_id: int = DEFAULT_APPLICATION_ID,
) -> dict[str, Any]:
    """A click on a component (type 3) of ``message``, e.g. ``fake.original_message(id)``.

    Name the component by ``custom_id`` or by its button ``label`` (views made without explicit
    custom ids get random ones). Guild and channel come from the message, as on Discord.
    ``component_type`` 2 is a button; pass 3 and ``values`` for a string select.
    """
    message = copy.deepcopy(dict(message))  # the handler must not alias the fake's stored message
    if custom_id is None:
        if label is None:
            raise ValueError("give custom_id or label")
        custom_id = _custom_id_by_label(message, label)
    data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
    if values is not None:
        data["values"] = list(values)
    guild_id = int(message["guild_id"]) if message.get("guild_id") else None
    payload = _interaction(
        MESSAGE_COMPONENT,
        data,
        user_id=user_id,
        username=username,
        guild_id=guild_id,
        channel_id=int(message["channel_id"]),
        roles=roles,
        permissions=permissions,
        locale=locale,
        application_id=application_id,
    )
    payload["message"] = message
    return payload


def modal_submit_payload(
    modal: Mapping[str, Any],
    values: Mapping[str, str] | None = None,
    *,
    user_id: int = DEFAULT_USER_ID,
    username: str = DEFAULT_USERNAME,
    guild_id: int | None = DEFAULT_GUILD_ID,
    channel_id: int | None = None,
    locale: str = "en-US",
    application_id: int = DEFAULT_APPLICATION_ID,
) -> dict[str, Any]:
    """A submit of ``modal`` (type 5), e.g. ``fake.modal(interaction_id)``: every text input
    comes back, holding what ``values`` gives for its custom id, else what it was shown with."""
    rows = []
    for row in modal.get("components") or []:
        text_input = row["components"][0]
        value = (values or {}).get(text_input["custom_id"], text_input.get("value") or "")
        rows.append({"type": 1, "components": [{"type": 4, "custom_id": text_input["custom_id"],
                                                "value": value}]})
    data = {"custom_id": modal["custom_id"], "components": rows}
    return _interaction(
        MODAL_SUBMIT,
        data,
        user_id=user_id,
        username=username,
        guild_id=guild_id,
        channel_id=channel_id,
        locale=locale,
        application_id=application_id,
    )


def dm_channel_id(user_id: int) -> int:
    """The DM channel id the payload builders and the fake both use for a user."""
    return user_id + 1


def user_json(user_id: int = DEFAULT_USER_ID, username: str = DEFAULT_USERNAME) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": username,
        "discriminator": "0",
        "global_name": username.title(),
        "avatar": None,
        "public_flags": 0,
    }


def _interaction(
    interaction_type: int,
    data: dict[str, Any],
    *,
    user_id: int,
    username: str,
    guild_id: int | None,
    channel_id: int | None,
    roles: Iterable[int] = (),
    permissions: int = EVERYONE_PERMISSIONS,
    app_permissions: int = EVERYONE_PERMISSIONS,
    locale: str,
    application_id: int,
) -> dict[str, Any]:
    user = user_json(user_id, username)
    payload: dict[str, Any] = {
        "id": str(_snowflake()),
        "application_id": str(application_id),
        "type": interaction_type,
        "token": f"aW50ZXJhY3Rpb24.{secrets.token_urlsafe(48)}",
        "version": 1,
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        "data": data,
        "locale": locale,
        "app_permissions": str(app_permissions),
        "entitlements": [],
        "entitlement_sku_ids": [],
    }
    if guild_id is not None:
        channel_id = channel_id or DEFAULT_CHANNEL_ID
        payload.update(
            {
                "guild_id": str(guild_id),
                "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
                "guild_locale": "en-US",
                "channel_id": str(channel_id),
                "channel": {
                    "id": str(channel_id),
                    "type": 0,
                    "guild_id": str(guild_id),
                    "name": "general",
                    "position": 0,
                    "permissions": str(permissions),
                    "nsfw": False,
                    "topic": None,
                    "parent_id": None,
                    "last_message_id": None,
                    "rate_limit_per_user": 0,
                    "flags": 0,
                },
                "member": {
                    "user": user,
                    "roles": [str(role_id) for role_id in roles],
                    "permissions": str(permissions),
                    "nick": None,
                    "avatar": None,
                    "premium_since": None,
                    "joined_at": "2026-01-01T00:00:00+00:00",
                    "pending": False,
                    "mute": False,
                    "deaf": False,
                    "flags": 0,
                    "communication_disabled_until": None,
                },
                # Installed to the guild ("0"), invoked in the guild (context 0).
                "authorizing_integration_owners": {"0": str(guild_id)},
                "context": 0,
            }
        )
    else:
        channel_id = channel_id or dm_channel_id(user_id)
        payload.update(
            {
                "channel_id": str(channel_id),
                "channel": {
                    "id": str(channel_id),
                    "type": 1,
                    "recipients": [user],
                    "flags": 0,
                    "last_message_id": None,
                },
                "user": user,
                # A guild install used from the bot's DM: owner "0", context 1 (BOT_DM).
                "authorizing_integration_owners": {"0": "0"},
                "context": 1,
            }
        )
    return payload


def _option(name: str, value: OptionValue) -> dict[str, Any]:
    # bool first: it is a subclass of int.
    if isinstance(value, bool):
        option_type = 5
    elif isinstance(value, int):
        option_type = 4
    elif isinstance(value, float):
        option_type = 10
    else:
        option_type = 3
    return {"type": option_type, "name": name, "value": value}


def _nest_options(sub: str | None, values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if sub is None:
        return values
    names = sub.split()
    if len(names) == 1:
        return [{"type": 1, "name": names[0], "options": values}]
    group, subcommand = names
    return [{"type": 2, "name": group, "options": [{"type": 1, "name": subcommand, "options": values}]}]


def _custom_id_by_label(message: Mapping[str, Any], label: str) -> str:
    found: list[str] = []

    def walk(components: Iterable[Mapping[str, Any]]) -> None:
        for component in components:
            if component.get("label") == label and component.get("custom_id"):
                found.append(component["custom_id"])
            walk(component.get("components") or [])
            if component.get("accessory"):
                walk([component["accessory"]])

    walk(message.get("components") or [])
    if len(found) != 1:
        raise LookupError(f"{len(found)} components labelled {label!r} in message {message.get('id')}")
    return found[0]


def _snowflake() -> int:
    now_ms = int(time.time() * 1000)
    # Worker 1 here, worker 2 in the fake: ids from both never collide.
    return ((now_ms - _DISCORD_EPOCH_MS) << 22) | (1 << 17) | (next(_sequence) & 0xFFF)
