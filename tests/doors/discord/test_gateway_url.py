"""SHOPKEEP_DISCORD_GATEWAY_URL: the bot opens its gateway connection where the operator says."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web
from discord.gateway import DiscordWebSocket

from bot.discord.door import DiscordDoor
from config.settings import Settings
from core.kernel.portal import Portal
from tests.fakes.discord_api import FakeDiscord


async def test_the_gateway_connection_goes_to_the_configured_url(
        settings_factory: Callable[..., Settings], portal: Portal) -> None:
    arrived: asyncio.Queue[str] = asyncio.Queue()

    async def gateway(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await arrived.put(request.query_string)
        await socket.close()
        return socket

    app = web.Application()
    app.router.add_get("/gateway", gateway)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    default = DiscordWebSocket.DEFAULT_GATEWAY
    task: asyncio.Task[Any] | None = None
    async with FakeDiscord() as fake:
        settings = settings_factory(discord_token=fake.token, discord_api_url=fake.api_url,
                                    discord_gateway_url=f"ws://127.0.0.1:{port}/gateway")
        door = DiscordDoor(Portal(settings=settings, db=portal.db))
        try:
            await door.client.login(fake.token)  # REST from the fake; the socket goes to ours
            task = asyncio.create_task(door.client.connect(reconnect=False))
            query = await asyncio.wait_for(arrived.get(), timeout=10)
            assert "v=10" in query
        finally:
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            await door.client.close()
            DiscordWebSocket.DEFAULT_GATEWAY = default
            await runner.cleanup()
