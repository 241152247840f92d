"""The one workspace's bot identity (auth.test), known before any request needs it.

Bolt's default for a single bot token calls auth.test on the first request, before the listener
can acknowledge: with Slack's API slow or down, Slack gives up after three seconds and the
customer sees an error. Here auth.test runs at start-up; each request is authorized from what it
returned, and when it could not be had, from the token alone while it is fetched again in the
background. Nothing on the way to the acknowledgement waits for Slack.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("shopkeep.slack")
FETCH_TIMEOUT = 5.0  # seconds start-up waits for auth.test


class BotIdentity:
    def __init__(self, token: str, client: AsyncWebClient) -> None:
        self.token = token
        self.client = client
        self.known: dict[str, Any] | None = None  # what auth.test said
        self._fetching: asyncio.Task[None] | None = None

    async def fetch(self) -> None:
        try:
            async with asyncio.timeout(FETCH_TIMEOUT):
                answer = await self.client.auth_test(token=self.token)
        except (SlackApiError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("Slack: auth.test failed (%s); answering anyway, trying again later",
                        type(exc).__name__)
            return
        self.known = dict(answer.data) if isinstance(answer.data, dict) else None

    def authorizer(self) -> Callable[..., Awaitable[AuthorizeResult]]:
        """Bolt's `authorize` function (a plain function: bolt passes arguments by their names)."""

        async def authorize(enterprise_id: str | None, team_id: str | None,
                            user_id: str | None) -> AuthorizeResult:
            return self.authorize(enterprise_id, team_id, user_id)

        return authorize

    def authorize(self, enterprise_id: str | None, team_id: str | None,
                  user_id: str | None) -> AuthorizeResult:
        """Never calls Slack itself."""
        if self.known is None and (self._fetching is None or self._fetching.done()):
            self._fetching = asyncio.create_task(self.fetch())
        known = self.known or {}
        return AuthorizeResult(enterprise_id=known.get("enterprise_id") or enterprise_id,
                               team_id=known.get("team_id") or team_id,
                               bot_user_id=known.get("user_id"), bot_id=known.get("bot_id"),
                               bot_token=self.token, user_id=user_id)


class StoredBotAuthorize(AsyncInstallationStoreAuthorize):
    """Many workspaces: each request is authorized from the bot its install stored (token, bot
    user id, bot id), so the first request of a workspace in this process does not wait for
    auth.test before the acknowledgement either. Bots whose tokens rotate, and records without
    the ids, take bolt's own way."""

    async def __call__(self, *, context: AsyncBoltContext, enterprise_id: str | None,
                       team_id: str | None, user_id: str | None,
                       **actor: str | None) -> AuthorizeResult | None:
        bot = await self.installation_store.async_find_bot(
            enterprise_id=enterprise_id, team_id=team_id,
            is_enterprise_install=context.is_enterprise_install)
        if bot is None or not bot.bot_token:
            return None  # not installed (bolt answers with the "no longer installed" message)
        if bot.bot_refresh_token or not (bot.bot_user_id and bot.bot_id):
            return await super().__call__(context=context, enterprise_id=enterprise_id,
                                          team_id=team_id, user_id=user_id, **actor)
        return AuthorizeResult(enterprise_id=bot.enterprise_id or enterprise_id,
                               team_id=bot.team_id or team_id, bot_user_id=bot.bot_user_id,
                               bot_id=bot.bot_id, bot_token=bot.bot_token,
                               bot_scopes=bot.bot_scopes, user_id=user_id)
