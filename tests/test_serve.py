"""`shopkeep serve --demo` on a fresh data dir: migrates, seeds, answers HTTP and SMTP, stops."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import socket
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.serve import serve
from config.settings import Settings, SettingsError, load_settings
from core.kernel.db import Database
from core.models import Base
from tests.fakes.relay import free_port


async def test_serve_demo_starts_answers_and_stops(settings_factory: Callable[..., Settings],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    http, smtp = free_port(), free_port()
    settings = settings_factory(http_listen=f"127.0.0.1:{http}", smtp_listen=f"127.0.0.1:{smtp}")
    started, stop = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(settings, with_demo=True, started=started, stop=stop))
    await asyncio.wait_for(started.wait(), 30)
    async with aiohttp.ClientSession() as client, client.get(f"http://127.0.0.1:{http}/healthz") as response:
        assert response.status == 200 and (await response.json())["database"] == "ok"

    def greet() -> int:
        with smtplib.SMTP("127.0.0.1", smtp, timeout=5) as session:
            return session.noop()[0]

    assert await asyncio.to_thread(greet) == 250
    assert not [r for r in caplog.records if r.name == "mail.log"], "SMTP chatter is not in the log"
    assert not [r for r in caplog.records if "seller" in r.getMessage()], "the demo fills the seller"
    stop.set()
    # Workers cancelled mid-write can leave SQLite's other connection waiting out its busy
    # timeout (30 s) before everything has closed; a stop must still come within that.
    await asyncio.wait_for(task, 45)


async def test_migrations_build_exactly_the_models(database_url: tuple[str, dict[str, Any]]) -> None:
    db = Database(*database_url)
    try:
        applied = await db.upgrade()
        assert applied and applied[0] == "0001"
        assert await db.pending_migrations() == []

        def diff(connection: Any) -> list[Any]:
            return compare_metadata(MigrationContext.configure(connection), Base.metadata)

        async with db.engine.connect() as connection:
            assert await connection.run_sync(diff) == []
    finally:
        await db.close()


async def test_a_port_in_use_names_the_setting(settings_factory: Callable[..., Settings]) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        for name, settings in (
                ("SHOPKEEP_HTTP_LISTEN", settings_factory(http_listen=f"127.0.0.1:{port}",
                                                          smtp_listen=f"127.0.0.1:{free_port()}")),
                ("SHOPKEEP_SMTP_LISTEN", settings_factory(http_listen=f"127.0.0.1:{free_port()}",
                                                          smtp_listen=f"127.0.0.1:{port}"))):
            with pytest.raises(SettingsError) as refused:
                await asyncio.wait_for(serve(settings), 30)
            assert str(refused.value).startswith(f"{name}: 127.0.0.1:{port} is already in use")
    finally:
        taken.close()


async def test_moving_the_http_server_without_its_public_url_warns(
        settings_factory: Callable[..., Settings], caplog: pytest.LogCaptureFixture) -> None:
    base = settings_factory()
    http = free_port()
    settings = load_settings(data_dir=base.data_dir, secret_key=base.secret_key,
                             http_listen=f"127.0.0.1:{http}", smtp_listen=f"127.0.0.1:{free_port()}")
    started, stop = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(settings, started=started, stop=stop))
    await asyncio.wait_for(started.wait(), 30)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert any("SHOPKEEP_PUBLIC_URL" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


async def test_a_seller_missing_from_the_settings_is_warned_about_at_start(
        settings_factory: Callable[..., Settings], caplog: pytest.LogCaptureFixture) -> None:
    async def warnings_at_start(settings: Settings) -> list[str]:
        caplog.clear()
        started, stop = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(serve(settings, started=started, stop=stop))
        await asyncio.wait_for(started.wait(), 30)
        stop.set()
        await asyncio.wait_for(task, 10)
        return [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "seller" in r.getMessage()]

    listen = {"http_listen": f"127.0.0.1:{free_port()}", "smtp_listen": f"127.0.0.1:{free_port()}"}
    [warning] = await warnings_at_start(settings_factory(**listen, store={"tax_rate": 20}))
    assert "[store] legal_name, [store] address, [store] tax_id, [store] country" in warning
    assert "SHOPKEEP_STORE__LEGAL_NAME" in warning and "VAT number" in warning
    complete = {"legal_name": "Seller Ltd", "address": ["1 Quay", "Dublin", "Ireland"],
                "tax_id": "IE3141592S", "tax_rate": 23}
    listen = {"http_listen": f"127.0.0.1:{free_port()}", "smtp_listen": f"127.0.0.1:{free_port()}"}
    assert await warnings_at_start(settings_factory(**listen, store=complete)) == []
