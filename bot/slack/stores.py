"""Slack installations, OAuth states and taken deliveries, kept in shopkeep's own database.

The first two implement slack_sdk's async store interfaces so bolt's OAuth flow and authorization
use them unchanged; the tables are the generic ones in core.models.chat_installations.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.kernel.portal import Portal
from core.models import ChatDelivery, ChatInstallation, OAuthState
from core.models.chat_installations import NO_ID

PLATFORM = "slack"
log = logging.getLogger("shopkeep.slack")

# Secrets that belong to one person; cleared when that person's tokens are revoked.
_USER_SECRETS = ("user_token", "user_refresh_token", "user_token_expires_at", "user_scopes")


def _key(enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
         ) -> tuple[str, str]:
    # An org-wide install answers for every workspace of the org, so it is found by org alone.
    team = NO_ID if is_enterprise_install else (team_id or NO_ID)
    return enterprise_id or NO_ID, team


def _json_ready(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.timestamp() if isinstance(v, datetime) else v for k, v in values.items()}


class SqlInstallationStore(AsyncInstallationStore):
    """One row per workspace (or org); uninstalling keeps the row with its token cleared."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    @property
    def logger(self) -> logging.Logger:
        return log

    async def _row(self, session: AsyncSession, key: tuple[str, str], *, lock: bool = False
                   ) -> ChatInstallation | None:
        query = select(ChatInstallation).where(
            ChatInstallation.platform == PLATFORM,
            ChatInstallation.enterprise_id == key[0],
            ChatInstallation.team_id == key[1],
        )
        return await session.scalar(query.with_for_update() if lock else query)

    async def _upsert(self, key: tuple[str, str], values: dict[str, Any]) -> None:
        for attempt in (1, 2):
            try:
                async with self.portal.db.unit_of_work() as session:
                    row = await self._row(session, key, lock=True)
                    if row is None:
                        row = ChatInstallation(platform=PLATFORM, enterprise_id=key[0], team_id=key[1])
                        session.add(row)
                    for name, value in values.items():
                        setattr(row, name, value)
                    row.revoked_at = None
                return
            except IntegrityError:
                # Two installs of one workspace at once: the other one inserted; update it now.
                if attempt == 2:
                    raise

    async def async_save(self, installation: Installation) -> None:
        data = _json_ready(installation.to_dict_for_copying())
        data.pop("bot_token", None)
        await self._upsert(
            _key(installation.enterprise_id, installation.team_id, installation.is_enterprise_install),
            {
                "team_name": installation.team_name,
                "bot_token": installation.bot_token,
                "bot_user_id": installation.bot_user_id,
                "bot_id": installation.bot_id,
                "installer_user_id": installation.user_id,
                "scopes": ",".join(installation.bot_scopes or ()),
                "data": data,
                "installed_at": self.portal.now(),
            },
        )

    async def async_save_bot(self, bot: Bot) -> None:
        # Called on its own only after a token rotation: refresh the bot part of the record.
        key = _key(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
        async with self.portal.db.unit_of_work() as session:
            row = await self._row(session, key)
            data = dict(row.data) if row is not None else {}
        bot_values = _json_ready(bot.to_dict())
        bot_values.pop("bot_token", None)
        data.update({k: v for k, v in bot_values.items() if k != "custom_values"})
        await self._upsert(key, {
            "team_name": bot.team_name,
            "bot_token": bot.bot_token,
            "bot_user_id": bot.bot_user_id,
            "bot_id": bot.bot_id,
            "scopes": ",".join(bot.bot_scopes or ()),
            "data": data,
        })

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        async with self.portal.db.unit_of_work() as session:
            row = await self._row(session, _key(enterprise_id, team_id, is_enterprise_install))
        if row is None or row.revoked_at is not None:
            return None
        if user_id is not None and user_id != row.installer_user_id:
            return None  # only the installer's own record is kept
        values = {**row.data, "bot_token": row.bot_token, "bot_id": row.bot_id,
                  "bot_user_id": row.bot_user_id, "team_name": row.team_name}
        values.setdefault("user_id", row.installer_user_id or "")
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
            for key in _keys_for_deletion(enterprise_id, team_id):
                row = await self._row(session, key, lock=True)
                if row is not None:
                    row.bot_token = None
                    row.revoked_at = row.revoked_at or self.portal.now()

    async def async_delete_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                        user_id: str | None = None) -> None:
        async with self.portal.db.unit_of_work() as session:
            for key in _keys_for_deletion(enterprise_id, team_id):
                row = await self._row(session, key, lock=True)
                if row is None:
                    continue
                # Revoking one person's tokens leaves the workspace installed.
                row.data = {k: v for k, v in row.data.items() if k not in _USER_SECRETS}
                if user_id is None:
                    row.bot_token = None
                    row.revoked_at = row.revoked_at or self.portal.now()

    async def installed_teams(self) -> list[str]:
        """Workspaces installed now (for operators and tests)."""
        async with self.portal.db.unit_of_work() as session:
            rows = await session.scalars(
                select(ChatInstallation.team_id).where(
                    ChatInstallation.platform == PLATFORM, ChatInstallation.revoked_at.is_(None)
                ).order_by(ChatInstallation.team_id)
            )
            return list(rows)


def _keys_for_deletion(enterprise_id: str | None, team_id: str | None) -> list[tuple[str, str]]:
    # Revocation events name the workspace; an org-wide install is stored without one.
    keys = [(enterprise_id or NO_ID, team_id or NO_ID)]
    if enterprise_id and team_id:
        keys.append((enterprise_id, NO_ID))
    return keys


class SqlOAuthStateStore(AsyncOAuthStateStore):
    """OAuth `state` values: issued when an install starts, usable once, within the expiry."""

    def __init__(self, portal: Portal, expiration_seconds: int = 600) -> None:
        self.portal = portal
        self.expiration_seconds = expiration_seconds

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        now = self.portal.now()
        async with self.portal.db.unit_of_work() as session:
            # Abandoned installs leave states behind; clear the old ones as new ones come.
            await session.execute(delete(OAuthState).where(
                OAuthState.platform == PLATFORM, OAuthState.expires_at < now - timedelta(days=1)))
            session.add(OAuthState(state=state, platform=PLATFORM, created_at=now,
                                   expires_at=now + timedelta(seconds=self.expiration_seconds)))
        return state

    async def async_consume(self, state: str) -> bool:
        async with self.portal.db.unit_of_work() as session:
            result = await session.execute(
                update(OAuthState)
                .where(OAuthState.state == state, OAuthState.platform == PLATFORM,
                       OAuthState.consumed.is_(False), OAuthState.expires_at > self.portal.now())
                .values(consumed=True)
                .execution_options(synchronize_session=False)
            )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


class DeliveryLog:
    """Which Slack requests were taken on: a redelivered one finds its id here and is skipped.

    Slack redelivers (X-Slack-Retry-Num) when it saw no ack in time. Simply acking every retry
    without running it would lose the request whenever the first delivery never got to its work
    (it never arrived, the process died, the ack was a 5xx). So every delivery, first or retry,
    claims Slack's id for the request (event_id, or the trigger_id of a command or click) with a
    unique insert when its work starts, after the ack: whichever comes first runs, the others
    stop there. The ack itself never waits for the database.
    """

    KEEP = timedelta(days=1)  # Slack gives up retrying after minutes

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self._pruned_at: datetime | None = None

    async def first_time(self, delivery_id: str) -> bool:
        now = self.portal.now()
        try:
            async with self.portal.db.unit_of_work() as session:
                session.add(ChatDelivery(platform=PLATFORM, delivery_id=delivery_id[:200],
                                         received_at=now))
        except IntegrityError:
            return False
        if self._pruned_at is None or now - self._pruned_at > timedelta(hours=1):
            self._pruned_at = now
            async with self.portal.db.unit_of_work() as session:
                await session.execute(delete(ChatDelivery).where(
                    ChatDelivery.platform == PLATFORM, ChatDelivery.received_at < now - self.KEEP))
        return True
