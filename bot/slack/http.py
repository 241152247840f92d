"""Slack over shopkeep's own aiohttp server: /slack/events, and the OAuth install pages."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncBoltContext, AsyncBoltRequest
from slack_bolt.request.async_internals import build_async_context

from bot.slack.door import SlackDoor

log = logging.getLogger("shopkeep.slack")
EVENTS_PATH = "/slack/events"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
FORM = "application/x-www-form-urlencoded"


def _no_signature_dumps(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("Invalid request signature")


async def bolt_request(request: web.Request) -> AsyncBoltRequest:
    """The request as bolt wants it (the raw body is what Slack signed)."""
    body = await request.text()
    bolt = AsyncBoltRequest(body=body, query=request.query_string,
                            headers=request.headers)  # type: ignore[arg-type]
    if bolt.content_type == FORM and "payload" in body:
        # bolt 1.30 reads any form body that merely contains the word "payload" as a button
        # click and finds nothing in it: `/shop help payload` would vanish. Only a real
        # `payload` field is interactivity; anything else is a slash command's form.
        form = dict(parse_qsl(body, keep_blank_values=True))
        if "payload" not in form:
            bolt.body = form
            bolt.context = build_async_context(AsyncBoltContext({}), form)
    return bolt


def add_routes(app: web.Application, door: SlackDoor, *, events: bool = True) -> None:
    # Bolt logs a badly signed request's whole body at INFO, and anyone can send one: say it in
    # one line of our own instead.
    for name in ("slack_bolt.RequestVerification", "slack_bolt.AsyncRequestVerification"):
        logging.getLogger(name).addFilter(_no_signature_dumps)

    async def on_event(request: web.Request) -> web.Response:
        if not request.headers.get(TIMESTAMP_HEADER, "").strip().isdigit():
            # Bolt would raise on it (a 500 and a traceback per unsigned request).
            return web.json_response({"error": "invalid request"}, status=401)
        response = await to_aiohttp_response(await door.app.async_dispatch(await bolt_request(request)))
        if response.status == 401:
            log.warning("Slack: refused a request with a bad signature from %s", request.remote)
        return response

    if events:
        app.router.add_post(EVENTS_PATH, on_event)
    flow = door.oauth_flow
    if flow is None:
        return

    async def install(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await flow.handle_installation(await bolt_request(request)))

    async def oauth_redirect(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await flow.handle_callback(await bolt_request(request)))

    app.router.add_get(flow.install_path, install)
    app.router.add_get(flow.redirect_uri_path, oauth_redirect)
