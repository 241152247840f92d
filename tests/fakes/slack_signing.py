"""Requests as Slack sends them to an app: signed headers and the payload shapes of each kind.

Slash commands and interactivity arrive form-encoded (interactivity as a JSON ``payload`` field),
Events API callbacks as JSON. Every builder returns the exact body bytes to sign and send::

    body = slash_command_body(text="orders", response_url=fake.response_url("r1"))
    await http.post(url, data=body, headers=signed_headers(body, SECRET))
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"

DEFAULT_TEAM_ID = "T0SHOP"
DEFAULT_USER_ID = "U0ALICE"
DEFAULT_CHANNEL_ID = "D0ALICE"
DEFAULT_APP_ID = "A0SHOPKEEP"
# The deprecated verification token; bolt ignores it but Slack still sends one.
VERIFICATION_TOKEN = "verification-token"

_serial = itertools.count(1)


def sign(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The two headers Slack adds: ``v0=`` + HMAC-SHA256 of ``v0:<timestamp>:<body>``."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def signed_headers(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """``sign`` plus the Content-Type Slack uses for this kind of body."""
    content_type = JSON_CONTENT_TYPE if body.lstrip().startswith(b"{") else FORM_CONTENT_TYPE
    return {"Content-Type": content_type, **sign(body, secret, timestamp)}


def retry_headers(retry_num: int, reason: str = "http_timeout") -> dict[str, str]:
    """Headers Slack adds when it redelivers an event the app did not acknowledge in time."""
    return {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": reason}


def slash_command_body(
    command: str = "/shop",
    text: str = "orders",
    *,
    team_id: str = DEFAULT_TEAM_ID,
    user_id: str = DEFAULT_USER_ID,
    response_url: str = "https://hooks.slack.com/commands/T0SHOP/1/abc",
    trigger_id: str | None = None,
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_name: str = "directmessage",
    user_name: str | None = None,
    team_domain: str | None = None,
    api_app_id: str = DEFAULT_APP_ID,
) -> bytes:
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": team_domain or team_id.lower(),
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or _trigger_id(),
    }
    return urlencode(fields).encode()


def block_action_body(
    action_id: str,
    value: str,
    *,
    team_id: str = DEFAULT_TEAM_ID,
    user_id: str = DEFAULT_USER_ID,
    response_url: str | None = "https://hooks.slack.com/actions/T0SHOP/1/abc",
    channel_id: str = DEFAULT_CHANNEL_ID,
    block_id: str = "actions",
    message_ts: str = "1700000000.000100",
    ephemeral: bool = False,
    view_id: str | None = None,
    trigger_id: str | None = None,
    api_app_id: str = DEFAULT_APP_ID,
) -> bytes:
    """A button click. With ``view_id`` the button sits on a view (the Home tab), which has
    no channel and no response_url; otherwise on a message (``ephemeral`` for an ephemeral one,
    whose payload carries no copy of the message)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(team_id, user_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or _trigger_id(),
        "team": {"id": team_id, "domain": team_id.lower()},
        "enterprise": None,
        "is_enterprise_install": False,
        "state": {"values": {}},
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": action_id, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": _ts(),
            }
        ],
    }
    if view_id is not None:
        payload["container"] = {"type": "view", "view_id": view_id}
        payload["view"] = {"id": view_id, "team_id": team_id, "type": "home", "blocks": []}
    else:
        payload["container"] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": ephemeral,
        }
        payload["channel"] = {"id": channel_id, "name": "directmessage"}
        if not ephemeral:
            payload["message"] = {"type": "message", "ts": message_ts, "text": "", "blocks": []}
        if response_url is not None:
            payload["response_url"] = response_url
    return _form_payload(payload)


def view_submission_body(
    callback_id: str,
    values: Mapping[str, Mapping[str, str]],
    *,
    team_id: str = DEFAULT_TEAM_ID,
    user_id: str = DEFAULT_USER_ID,
    view_id: str = "V0MODAL",
    private_metadata: str = "",
    api_app_id: str = DEFAULT_APP_ID,
) -> bytes:
    """A modal's submit; ``values`` maps block_id -> action_id -> typed text."""
    state = {
        block_id: {
            action_id: {"type": "plain_text_input", "value": text} for action_id, text in inputs.items()
        }
        for block_id, inputs in values.items()
    }
    payload = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": team_id.lower()},
        "user": _user(team_id, user_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": _trigger_id(),
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": state},
            "hash": "1.hash",
            "app_id": api_app_id,
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _form_payload(payload)


def event_body(
    event: Mapping[str, Any],
    *,
    team_id: str = DEFAULT_TEAM_ID,
    api_app_id: str = DEFAULT_APP_ID,
    bot_user_id: str | None = None,
    event_id: str | None = None,
) -> bytes:
    """An Events API ``event_callback`` wrapping ``event``. Pass the same ``event_id`` to
    model Slack redelivering one event."""
    body = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_serial):08d}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id or f"UB{team_id}",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }
    return json.dumps(body).encode()


def url_verification_body(challenge: str) -> bytes:
    return json.dumps(
        {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    ).encode()


def app_home_opened_event(
    user_id: str = DEFAULT_USER_ID, channel_id: str = DEFAULT_CHANNEL_ID
) -> dict[str, Any]:
    return {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel_id,
        "tab": "home",
        "event_ts": _ts(),
    }


def app_uninstalled_event() -> dict[str, Any]:
    return {"type": "app_uninstalled", "event_ts": _ts()}


def tokens_revoked_event(bot_user_ids: Sequence[str] = (), user_ids: Sequence[str] = ()) -> dict[str, Any]:
    """``user_ids`` are the users whose user tokens were revoked (Slack calls them ``oauth``)."""
    return {
        "type": "tokens_revoked",
        "tokens": {"oauth": list(user_ids), "bot": list(bot_user_ids)},
        "event_ts": _ts(),
    }


def _form_payload(payload: Mapping[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def _user(team_id: str, user_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id}


def _trigger_id() -> str:
    return f"{next(_serial)}.{int(time.time())}.trigger"


def _ts() -> str:
    return f"{int(time.time())}.{next(_serial):06d}"
