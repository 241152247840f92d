"""The Slack front door (slack-bolt, async).

HTTP mode puts `/slack/events` (and, for an app installable in many workspaces, `/slack/install`
and `/slack/oauth_redirect`) on shopkeep's own aiohttp server; with SHOPKEEP_SLACK_APP_TOKEN the
app talks over Socket Mode instead. Use::

    door = mount(app, portal)      # before the aiohttp runner starts; None when Slack is off
    if door is not None:
        await door.start()         # after the server listens
        ...
        await door.close()         # lets acknowledged answers finish
"""

from __future__ import annotations

from aiohttp import web

from bot.slack.door import SlackDoor
from bot.slack.http import add_routes
from core.kernel.portal import Portal
from handlers.dispatcher import Dispatcher

__all__ = ["SlackDoor", "enabled", "mount"]


def enabled(portal: Portal) -> bool:
    settings = portal.settings
    return bool(settings.slack_app_token or settings.slack_signing_secret)


def mount(app: web.Application, portal: Portal, *, dispatcher: Dispatcher | None = None
          ) -> SlackDoor | None:
    """Add the Slack routes to `app`; returns the door, or None when Slack is not configured."""
    if not enabled(portal):
        return None
    door = SlackDoor.create(portal, dispatcher=dispatcher)
    if door.socket_mode:
        # Events arrive over the socket; only the install pages need HTTP.
        if door.oauth_flow is not None:
            add_routes(app, door, events=False)
        return door
    add_routes(app, door)
    return door
