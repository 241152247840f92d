"""Download links as a customer opens them in a browser: the file, or a page that says why not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from bot.web import create_app
from core.kernel.portal import Portal
from handlers.dispatcher import Dispatcher
from tests.conftest import Clock
from tests.helpers import caller_for


@pytest.fixture
async def site(demo_portal: Portal) -> AsyncIterator[str]:
    runner = web.AppRunner(create_app(demo_portal))
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0)
    await server.start()
    port = server._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def link(portal: Portal) -> str:
    reply = await Dispatcher(portal).handle_line(await caller_for(portal, "alice@example.com"), "product ebook")
    return next(item.url for item in reply.links if "/d/" in item.url).removeprefix(portal.settings.public_url)


async def opened(browser: Any, url: str) -> tuple[str, str]:
    def look() -> tuple[str, str]:
        browser.get(url)
        return browser.title, browser.find_element("tag name", "body").text

    return await asyncio.to_thread(look)


async def test_a_tampered_or_expired_link_shows_a_page_that_says_what_to_do(
        browser: Any, site: str, demo_portal: Portal, clock: Clock) -> None:
    path = await link(demo_portal)
    title, text = await opened(browser, site + path[:-3] + "abc")
    assert title == "This link is not valid" and "Copy the whole link" in text

    clock.advance(hours=1, seconds=1)
    title, text = await opened(browser, site + path)
    assert title == "This link has expired"
    assert "product <name>" in text and "`" not in text  # shown as code, not as backticks
    assert "Traceback" not in text
