"""Chat workspaces the portal is installed into, with their bot credentials.

One record per workspace (or per organisation, for an install that covers a whole org): saved
again on every reinstall or token rotation, kept with its token cleared when uninstalled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.kernel.db import insert_for
from core.models import ChatInstallation
from core.models.chat_installations import NO_ID


@dataclass(frozen=True)
class Workspace:
    """Where an install lives: an organisation, a workspace, or a workspace in an organisation."""

    enterprise_id: str | None
    team_id: str | None
    org_wide: bool = False  # installed once for every workspace of the organisation

    @property
    def key(self) -> tuple[str, str]:
        # An org-wide install answers for every workspace of the org, so it is found by org alone.
        return self.enterprise_id or NO_ID, NO_ID if self.org_wide else (self.team_id or NO_ID)

    def named_by_revocation(self) -> list[tuple[str, str]]:
        """The records an uninstall or revocation naming this workspace ends."""
        # Those events name the workspace; an org-wide install is stored without one.
        keys = [(self.enterprise_id or NO_ID, self.team_id or NO_ID)]
        if self.enterprise_id and self.team_id:
            keys.append((self.enterprise_id, NO_ID))
        return keys


@dataclass(frozen=True)
class BotCredentials:
    token: str | None
    user_id: str | None
    bot_id: str | None
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Installed:
    """An install as saved: the columns the portal reads, and the platform's whole record."""

    team_name: str | None
    bot: BotCredentials
    installer_user_id: str | None
    # Everything else the platform told us (the installer's own tokens, app id, ...).
    details: dict[str, Any] = field(default_factory=dict)


async def save_installation(session: AsyncSession, platform: str, where: Workspace,
                            installed: Installed, *, now: datetime) -> None:
    """A (re)install: the record is replaced and in use again."""
    row = await _locked(session, platform, where.key, create=True)
    assert row is not None
    _set_bot(row, installed.team_name, installed.bot)
    row.installer_user_id = installed.installer_user_id
    row.data = dict(installed.details)
    row.installed_at = now
    row.revoked_at = None


async def save_bot(session: AsyncSession, platform: str, where: Workspace, *,
                   team_name: str | None, bot: BotCredentials, details: dict[str, Any]) -> None:
    """New bot credentials (a token rotation): the rest of the record stays, `details` added."""
    row = await _locked(session, platform, where.key, create=True)
    assert row is not None
    _set_bot(row, team_name, bot)
    row.data = {**row.data, **details}
    row.revoked_at = None


async def find(session: AsyncSession, platform: str, where: Workspace) -> Installed | None:
    """The install in use there, or None (never installed, or uninstalled since)."""
    row = await session.scalar(_record(platform, where.key))
    if row is None or row.revoked_at is not None:
        return None
    return Installed(
        team_name=row.team_name,
        bot=BotCredentials(row.bot_token, row.bot_user_id, row.bot_id,
                           tuple(filter(None, row.scopes.split(",")))),
        installer_user_id=row.installer_user_id, details=dict(row.data))


async def revoke(session: AsyncSession, platform: str, where: Workspace, *, now: datetime) -> None:
    """Uninstalled or the bot token revoked: the record stays, its token is gone."""
    for key in where.named_by_revocation():
        row = await _locked(session, platform, key)
        if row is not None:
            row.bot_token = None
            row.revoked_at = row.revoked_at or now


async def forget_details(session: AsyncSession, platform: str, where: Workspace,
                         names: Iterable[str]) -> None:
    """Drop parts of the platform's record (one person's revoked tokens); the install stays."""
    dropped = set(names)
    for key in where.named_by_revocation():
        row = await _locked(session, platform, key)
        if row is not None:
            row.data = {name: value for name, value in row.data.items() if name not in dropped}


async def installed_teams(session: AsyncSession, platform: str) -> list[str]:
    """Workspaces installed now, by id."""
    return list(await session.scalars(
        select(ChatInstallation.team_id)
        .where(ChatInstallation.platform == platform, ChatInstallation.revoked_at.is_(None))
        .order_by(ChatInstallation.team_id)))


def _set_bot(row: ChatInstallation, team_name: str | None, bot: BotCredentials) -> None:
    row.team_name = team_name
    row.bot_token = bot.token
    row.bot_user_id = bot.user_id
    row.bot_id = bot.bot_id
    row.scopes = ",".join(bot.scopes)


def _record(platform: str, key: tuple[str, str]) -> Select[tuple[ChatInstallation]]:
    return select(ChatInstallation).where(
        ChatInstallation.platform == platform, ChatInstallation.enterprise_id == key[0],
        ChatInstallation.team_id == key[1])


async def _locked(session: AsyncSession, platform: str, key: tuple[str, str], *,
                  create: bool = False) -> ChatInstallation | None:
    """The record under a row lock until the transaction ends; with `create`, made if missing.

    Two installs of one workspace at once insert one record between them (the other insert
    does nothing), then take turns on its lock.
    """
    if create:
        await session.execute(insert_for(session, ChatInstallation).values(
            platform=platform, enterprise_id=key[0], team_id=key[1]).on_conflict_do_nothing())
    return await session.scalar(_record(platform, key).with_for_update()
                                .execution_options(populate_existing=True))
