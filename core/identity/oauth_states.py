"""OAuth `state` values for installing the portal into a chat workspace: issued when an install
starts, good for one finish before they expire."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import OAuthState

# Abandoned installs leave states behind; those expired this long ago are cleared.
KEEP_EXPIRED = timedelta(days=1)


async def issue(session: AsyncSession, platform: str, *, now: datetime, lifetime: timedelta) -> str:
    await session.execute(delete(OAuthState).where(
        OAuthState.platform == platform, OAuthState.expires_at < now - KEEP_EXPIRED))
    state = secrets.token_urlsafe(32)
    session.add(OAuthState(state=state, platform=platform, created_at=now, expires_at=now + lifetime))
    return state


async def consume(session: AsyncSession, platform: str, state: str, *, now: datetime) -> bool:
    """Use `state` up: True only when it was issued here, has not expired and was never used."""
    used = await session.scalar(
        update(OAuthState)
        .where(OAuthState.state == state, OAuthState.platform == platform,
               OAuthState.consumed.is_(False), OAuthState.expires_at > now)
        .values(consumed=True)
        .returning(OAuthState.state)
        .execution_options(synchronize_session=False))
    return used is not None
