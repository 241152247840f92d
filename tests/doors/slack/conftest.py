"""shopkeep's real HTTP server with the Slack door mounted, a fake Slack Web API, and a client that
sends requests signed the way Slack signs them."""

from __future__ import annotations

import dataclasses
import email
import itertools
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientSession, web
from sqlalchemy import select

from bot.slack import SlackDoor, mount
from bot.web import create_app
from core.identity.chat_links import link_chat_account
from core.identity.customers import by_email
from core.kernel.portal import Portal
from core.models import OutboundMail
from handlers.dispatcher import Dispatcher
from handlers.registry import Registry
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import (
    DEFAULT_TEAM_ID,
    DEFAULT_USER_ID,
    block_action_body,
    event_body,
    signed_headers,
    slash_command_body,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-t0shop"
CLIENT_ID = "111.222"
CLIENT_SECRET = "oauth-secret"
BOB_ID = "U0BOB"
CAROL_ID = "U0CAROL"  # a member whose email the workspace keeps to itself

_names = itertools.count(1)


def slack_portal(portal: Portal, **settings: Any) -> Portal:
    """The same portal and database, with Slack settings."""
    values = {"slack_signing_secret": SECRET, **settings}
    return dataclasses.replace(portal, settings=portal.settings.model_copy(update=values))


@dataclass
class Sent:
    status: int
    text: str
    name: str  # the response_url's name on the fake


@dataclass
class Slack:
    """Talks to shopkeep as Slack would, and reads what shopkeep sent back to Slack."""

    url: str
    door: SlackDoor
    fake: FakeSlack
    http: ClientSession
    portal: Portal

    async def post(self, body: bytes, *, headers: dict[str, str] | None = None,
                   secret: str = SECRET, timestamp: int | None = None) -> tuple[int, str]:
        sent = {**signed_headers(body, secret, timestamp), **(headers or {})}
        async with self.http.post(f"{self.url}/slack/events", data=body, headers=sent) as resp:
            return resp.status, await resp.text()

    async def command(self, text: str, *, team: str = DEFAULT_TEAM_ID, user: str = DEFAULT_USER_ID,
                      headers: dict[str, str] | None = None, body: bytes | None = None,
                      **fields: Any) -> Sent:
        name = f"r{next(_names)}"
        body = body or slash_command_body(text=text, team_id=team, user_id=user,
                                          response_url=self.fake.response_url(name), **fields)
        status, answer = await self.post(body, headers=headers)
        return Sent(status, answer, name)

    async def run(self, text: str, **kwargs: Any) -> dict[str, Any]:
        """A slash command and the answer posted to its response_url."""
        sent = await self.command(text, **kwargs)
        assert sent.status == 200, sent
        return await self.answer(sent.name)

    async def answer(self, name: str, count: int = 1) -> dict[str, Any]:
        return (await self.fake.wait_for_responses(name, count))[count - 1]

    async def click(self, action_id: str, value: str, *, team: str = DEFAULT_TEAM_ID,
                    user: str = DEFAULT_USER_ID, **fields: Any) -> Sent:
        name = f"c{next(_names)}"
        fields.setdefault("response_url", self.fake.response_url(name))
        body = block_action_body(action_id, value, team_id=team, user_id=user, **fields)
        status, answer = await self.post(body)
        return Sent(status, answer, name)

    async def event(self, event: dict[str, Any], *, team: str = DEFAULT_TEAM_ID,
                    headers: dict[str, str] | None = None, **fields: Any) -> int:
        status, _ = await self.post(event_body(event, team_id=team, **fields), headers=headers)
        return status

    async def sign_in(self, email_address: str, *, team: str = DEFAULT_TEAM_ID,
                      user: str = DEFAULT_USER_ID) -> None:
        """Link the Slack account directly, for tests about something else than signing in."""
        async with self.portal.db.unit_of_work() as session:
            customer = await by_email(session, email_address)
            assert customer is not None
            await link_chat_account(session, customer, platform="slack", account_id=f"{team}:{user}")


def everything_said(message: dict[str, Any]) -> str:
    """All text of a message or view: fallback, header, sections, fields, context, buttons."""
    parts = [message.get("text", "")]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("plain_text", "mrkdwn"):
                parts.append(node["text"])
            for key, value in node.items():
                if key != "confirm":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks", []))
    return "\n".join(parts)


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [element for block in message.get("blocks", []) if block["type"] == "actions"
            for element in block["elements"]]


async def latest_code(portal: Portal, address: str) -> str:
    """The sign-in code from the newest mail queued to `address`."""
    async with portal.db.unit_of_work() as session:
        mail = await session.scalar(select(OutboundMail).where(
            OutboundMail.recipient == address, OutboundMail.kind == "code"
        ).order_by(OutboundMail.id.desc()).limit(1))
    assert mail is not None, f"no code was mailed to {address}"
    message = email.message_from_bytes(mail.raw)
    found = re.search(r"\b(\d{6})\b", str(message["Subject"]))
    assert found, message["Subject"]
    return found.group(1)


async def codes_sent(portal: Portal) -> int:
    async with portal.db.unit_of_work() as session:
        return len(list(await session.scalars(select(OutboundMail.id).where(
            OutboundMail.kind == "code"))))


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    async with ClientSession() as session:
        yield session


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as fake:
        fake.add_workspace(DEFAULT_TEAM_ID, BOT_TOKEN, users={
            DEFAULT_USER_ID: {"email": "alice@example.com", "name": "alice"},
            BOB_ID: {"email": "bob@example.com", "name": "bob"},
            CAROL_ID: {"name": "carol"},
        })
        yield fake


StartSlack = Callable[..., AbstractAsyncContextManager[Slack]]


@pytest.fixture
def start_slack(fake: FakeSlack, http: ClientSession) -> StartSlack:
    """Serve shopkeep (web app + Slack door) over real HTTP on a free loopback port."""

    @asynccontextmanager
    async def start(portal: Portal, *, registry: Registry | None = None, **settings: Any
                    ) -> AsyncIterator[Slack]:
        settings.setdefault("slack_api_url", fake.api_url)
        if "slack_client_id" not in settings:
            settings.setdefault("slack_bot_token", BOT_TOKEN)
        portal = slack_portal(portal, **settings)
        app = create_app(portal)
        dispatcher = Dispatcher(portal, registry) if registry is not None else None
        door = mount(app, portal, dispatcher=dispatcher)
        assert door is not None
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            await door.start()
            host, port = runner.addresses[0][:2]
            yield Slack(f"http://{host}:{port}", door, fake, http, portal)
        finally:
            await door.close()
            await runner.cleanup()

    return start


@pytest.fixture
async def slack(start_slack: StartSlack, demo_portal: Portal) -> AsyncIterator[Slack]:
    """The demo store, installed in one workspace with a bot token."""
    async with start_slack(demo_portal) as slack:
        yield slack
