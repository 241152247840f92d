"""Shared fixtures: a portal on a fresh database (SQLite always, PostgreSQL where configured),
a controllable clock, and the demo store.

PostgreSQL runs when SHOPKEEP_TEST_POSTGRES_URL is set (CI sets it to the local server). Each
test gets its own schema, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from config.settings import Settings, load_settings
from core.kernel.db import Database
from core.kernel.portal import Portal
from core.models import Base
from handlers.context import Context
from handlers.registry import NoArguments, command
from handlers.reply import Reply
from tests.helpers import throwaway_commands

POSTGRES_URL = os.environ.get("SHOPKEEP_TEST_POSTGRES_URL")
TEST_SECRET = "test-secret-key-0123456789abcdef"
WEBHOOK_SECRET = "whsec-test-0123456789"

# Sun 15 Mar 2026 12:00 UTC: a fixed "now" so dates in replies are predictable.
FIXED_NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = FIXED_NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def database_backends() -> list[Any]:
    postgres = pytest.param(
        "postgresql",
        marks=[pytest.mark.postgres] + ([] if POSTGRES_URL else [pytest.mark.skip(
            reason="PostgreSQL not configured: set SHOPKEEP_TEST_POSTGRES_URL "
                   "(e.g. postgresql://postgres@127.0.0.1:5432/test)")]),
    )
    return ["sqlite", postgres]


def asyncpg_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"postgresql+asyncpg://{rest}" if scheme.startswith("postgres") else url


@pytest.fixture(params=database_backends())
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings_factory(tmp_path: Path) -> Iterator[Any]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "secret_key": TEST_SECRET,
            "webhook_secret": WEBHOOK_SECRET,
            "public_url": "http://portal.test",
            "portal_address": "portal@shop.test",
            "store_name": "Test Store",
        }
        values.update(overrides)
        return load_settings(**values)

    # Keep the developer's own SHOPKEEP_* variables out of the tests.
    saved = {k: v for k, v in os.environ.items() if k.startswith("SHOPKEEP_")
             and k != "SHOPKEEP_TEST_POSTGRES_URL"}
    for key in saved:
        del os.environ[key]
    yield make
    os.environ.update(saved)


@pytest.fixture
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A URL and connect arguments for an empty database of the chosen backend."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}", {}
        return
    assert POSTGRES_URL
    url = asyncpg_url(POSTGRES_URL)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(url)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url, {"server_settings": {"search_path": schema}}
    finally:
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


async def create_schema(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)


@pytest.fixture
async def portal(settings_factory: Any, database_url: tuple[str, dict[str, Any]],
                 clock: Clock) -> AsyncIterator[Portal]:
    """A portal on an empty database (tables from the models; migrations have their own test)."""
    url, connect_args = database_url
    settings = settings_factory(database_url=url)
    portal = Portal(settings=settings, db=Database(url, connect_args), clock=clock)
    await create_schema(portal.db)
    yield portal
    await portal.close()


@pytest.fixture
async def demo_portal(portal: Portal) -> Portal:
    """The portal with the demo store seeded (alice and bob with their history)."""
    from bot.bootstrap import payment_provider
    from core import demo

    await demo.seed(portal, payments=payment_provider(portal))
    return portal


@pytest.fixture
def broken_reader() -> Iterator[None]:
    """A command `stats` that only reads and fails the way a bug would, mid-transaction."""
    with throwaway_commands():

        @command("stats", summary="A reader with a bug", reads_only=True)
        async def stats(ctx: Context, args: NoArguments) -> Reply:
            raise RuntimeError("a bug")

        yield
