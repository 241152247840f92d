"""The Slack app manifest for this shopkeep: paste it at api.slack.com/apps ("From a manifest")
and the app has the command, scopes, events and URLs the door expects."""

from __future__ import annotations

from typing import Any

from bot.slack.door import BOT_SCOPES
from bot.slack.http import EVENTS_PATH
from config.settings import Settings

# Events the door listens to; the last two need no scope.
BOT_EVENTS = ("app_home_opened", "app_uninstalled", "tokens_revoked")


def manifest(settings: Settings) -> dict[str, Any]:
    base = settings.public_url.rstrip("/")
    socket_mode = bool(settings.slack_app_token)
    events_url = None if socket_mode else f"{base}{EVENTS_PATH}"
    command: dict[str, Any] = {
        "command": settings.slack_command,
        "description": "Your orders, subscriptions, downloads, invoices and licenses",
        "usage_hint": "orders | invoice March | help",
        # Escaped, a mention arrives as <@U123|name>, which the door turns into an email.
        "should_escape": True,
    }
    event_subscriptions: dict[str, Any] = {"bot_events": list(BOT_EVENTS)}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if events_url is not None:
        command["url"] = events_url
        event_subscriptions["request_url"] = events_url
        interactivity["request_url"] = events_url
    return {
        "display_information": {"name": settings.store_name[:35]},
        "features": {
            "app_home": {"home_tab_enabled": True, "messages_tab_enabled": True,
                         "messages_tab_read_only_enabled": True},
            "bot_user": {"display_name": settings.store_name[:80], "always_online": True},
            "slash_commands": [command],
        },
        "oauth_config": {
            "redirect_urls": [f"{base}/slack/oauth_redirect"],
            "scopes": {"bot": list(BOT_SCOPES)},
        },
        "settings": {
            "event_subscriptions": event_subscriptions,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }
