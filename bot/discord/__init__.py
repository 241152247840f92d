"""The Discord front door (discord.py)."""

from __future__ import annotations

import logging

from bot.discord.door import DiscordDoor
from core.kernel.portal import Portal

log = logging.getLogger("shopkeep.discord")


async def start(portal: Portal) -> DiscordDoor | None:
    """Start the bot when SHOPKEEP_DISCORD_TOKEN is set; say what to fix in the server."""
    if not portal.settings.discord_token:
        return None
    door = DiscordDoor(portal)
    await door.start()
    for problem in await door.check_permissions():
        log.error("Discord roles will not work until this is fixed: %s", problem)
    return door


__all__ = ["DiscordDoor", "start"]
