"""Slack installations, OAuth states and taken deliveries, kept in shopkeep's own database.

The first two implement slack_sdk's async store interfaces so bolt's OAuth flow and authorization
use them unchanged. They only translate slack_sdk's records; keeping them is core's
(core.identity.installations, oauth_states, deliveries).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from core.identity import deliveries, installations, oauth_states
from core.identity.installations import BotCredentials, Installed, Workspace
from core.kernel.portal import Portal

PLATFORM = "slack"
log = logging.getLogger("shopkeep.slack")

# Secrets that belong to one person; cleared when that person's tokens are revoked.
_USER_SECRETS = ("user_token", "user_refresh_token", "user_token_expires_at", "user_scopes")


def _json_ready(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.timestamp() if isinstance(v, datetime) else v for k, v in values.items()}


def _details(values: dict[str, Any]) -> dict[str, Any]:
    """slack_sdk's record as stored; the bot token is kept in its own column only."""
    details = _json_ready(values)
    details.pop("bot_token", None)
    return details


class SqlInstallationStore(AsyncInstallationStore):
    """One record per workspace (or org); uninstalling keeps it with its token cleared."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        where = Workspace(installation.enterprise_id, installation.team_id,
                          bool(installation.is_enterprise_install))
        installed = Installed(
            team_name=installation.team_name,
            bot=BotCredentials(installation.bot_token, installation.bot_user_id,
                               installation.bot_id, tuple(installation.bot_scopes or ())),
            installer_user_id=installation.user_id,
            details=_details(installation.to_dict_for_copying()),
        )
        async with self.portal.db.unit_of_work() as session:
            await installations.save_installation(session, PLATFORM, where, installed,
                                                  now=self.portal.now())

    async def async_save_bot(self, bot: Bot) -> None:
        # Called on its own only after a token rotation: refresh the bot part of the record.
        where = Workspace(bot.enterprise_id, bot.team_id, bool(bot.is_enterprise_install))
        details = {k: v for k, v in _details(bot.to_dict()).items() if k != "custom_values"}
        async with self.portal.db.unit_of_work() as session:
            await installations.save_bot(
                session, PLATFORM, where, team_name=bot.team_name, details=details,
                bot=BotCredentials(bot.bot_token, bot.bot_user_id, bot.bot_id,
                                   tuple(bot.bot_scopes or ())))

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        where = Workspace(enterprise_id, team_id, bool(is_enterprise_install))
        async with self.portal.db.unit_of_work() as session:
            found = await installations.find(session, PLATFORM, where)
        if found is None:
            return None
        if user_id is not None and user_id != found.installer_user_id:
            return None  # only the installer's own record is kept
        values = {**found.details, "bot_token": found.bot.token, "bot_id": found.bot.bot_id,
                  "bot_user_id": found.bot.user_id, "team_name": found.team_name}
        values.setdefault("user_id", found.installer_user_id or "")
        return Installation(**values)

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        installation = await self.async_find_installation(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install)
        if installation is None or not installation.bot_token:
            return None
        return installation.to_bot()

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        async with self.portal.db.unit_of_work() as session:
            await installations.revoke(session, PLATFORM, Workspace(enterprise_id, team_id),
                                       now=self.portal.now())

    async def async_delete_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                        user_id: str | None = None) -> None:
        where = Workspace(enterprise_id, team_id)
        async with self.portal.db.unit_of_work() as session:
            # Revoking one person's tokens leaves the workspace installed.
            await installations.forget_details(session, PLATFORM, where, _USER_SECRETS)
            if user_id is None:
                await installations.revoke(session, PLATFORM, where, now=self.portal.now())

    async def installed_teams(self) -> list[str]:
        """Workspaces installed now (for operators and tests)."""
        async with self.portal.db.unit_of_work() as session:
            return await installations.installed_teams(session, PLATFORM)


class SqlOAuthStateStore(AsyncOAuthStateStore):
    """OAuth `state` values: issued when an install starts, usable once, within the expiry."""

    def __init__(self, portal: Portal, expiration_seconds: int = 600) -> None:
        self.portal = portal
        self.expiration_seconds = expiration_seconds

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        async with self.portal.db.unit_of_work() as session:
            return await oauth_states.issue(session, PLATFORM, now=self.portal.now(),
                                            lifetime=timedelta(seconds=self.expiration_seconds))

    async def async_consume(self, state: str) -> bool:
        async with self.portal.db.unit_of_work() as session:
            return await oauth_states.consume(session, PLATFORM, state, now=self.portal.now())


class DeliveryLog:
    """Which Slack requests were taken on: a redelivered one finds its id here and is skipped.

    Slack redelivers (X-Slack-Retry-Num) when it saw no ack in time. Simply acking every retry
    without running it would lose the request whenever the first delivery never got to its work
    (it never arrived, the process died, the ack was a 5xx). So every delivery, first or retry,
    claims Slack's id for the request (event_id, or the trigger_id of a command or click) when
    its work starts, after the ack: whichever comes first runs, the others stop there. The ack
    itself never waits for the database.
    """

    KEEP = timedelta(days=1)  # Slack gives up retrying after minutes
    PRUNE_EVERY = timedelta(hours=1)

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self._pruned_at: datetime | None = None

    async def first_time(self, delivery_id: str) -> bool:
        now = self.portal.now()
        async with self.portal.db.unit_of_work() as session:
            if not await deliveries.first_time(session, PLATFORM, delivery_id, now=now):
                return False
        if self._pruned_at is None or now - self._pruned_at > self.PRUNE_EVERY:
            self._pruned_at = now
            async with self.portal.db.unit_of_work() as session:
                await deliveries.prune(session, PLATFORM, before=now - self.KEEP)
        return True
