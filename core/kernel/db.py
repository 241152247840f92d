"""The database: one async engine and its units of work, a reader for the hottest reads, and
schema migrations through Alembic."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, Executable, Row, Select, event, make_url, select, text, update
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import greenlet_spawn

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
READERS = 10  # connections for the hottest reads (read_first), beside the main pool


def create_engine(url: str, connect_args: dict[str, Any] | None = None) -> AsyncEngine:
    if url.startswith("sqlite"):
        _create_private(make_url(url).database)
        engine = create_async_engine(url, connect_args={"timeout": 30, **(connect_args or {})})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                               connect_args=connect_args or {})


def _create_private(path: str | None) -> None:
    """Create a SQLite database file readable by its owner only: it holds every customer's
    data. (SQLite gives its -wal and -shm files the same permissions.)"""
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    database = Path(path)
    database.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def insert_for(session: AsyncSession, model: Any) -> sqlite.Insert | postgresql.Insert:
    """An INSERT that knows the session's database's ON CONFLICT clause (SQLite or PostgreSQL)."""
    if session.get_bind().dialect.name == "sqlite":
        return sqlite.insert(model)
    return postgresql.insert(model)


async def lock(session: AsyncSession, model: Any, row_id: int) -> None:
    """Hold the row `row_id` of `model` until the transaction ends, so what is counted and added
    under it stays exact however many requests race: SELECT ... FOR UPDATE on PostgreSQL. SQLite
    has no row locks, so there a no-op write takes its one write lock at once: other writers wait
    for the commit (busy_timeout), and every read after it sees the latest rows."""
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(update(model).where(model.id == row_id).values(id=model.id)
                              .execution_options(synchronize_session=False))
    else:
        await session.execute(select(model.id).where(model.id == row_id).with_for_update())


class Database:
    def __init__(self, url: str, connect_args: dict[str, Any] | None = None) -> None:
        self.url = url
        self.engine = create_engine(url, connect_args)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._after_commit: list[Callable[[AsyncSession], None]] = []
        # Where read_first runs. An SQLite file: in a thread of its own with the standard driver,
        # one handoff per read instead of one per cursor call. PostgreSQL: on a pool of its own in
        # autocommit that does not ping before each use, one round trip instead of four.
        self._sqlite_reads = _threaded_sqlite_reader(url) if self.is_sqlite else None
        self._reader = self.engine if self.is_sqlite else create_async_engine(
            url, isolation_level="AUTOCOMMIT", pool_size=READERS, max_overflow=0,
            connect_args=connect_args or {})
        # Readers wait for one of the pool's own connections rather than open an extra one that
        # is closed again on return: a new connection (an SQLite thread, a PostgreSQL backend)
        # costs more than many reads, and a busy API would open one per request.
        self._readers = asyncio.Semaphore(READERS)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block succeeds, rolled back on any error."""
        async with self.sessions() as session:
            async with session.begin():
                yield session
            for hook in list(self._after_commit):
                hook(session)

    async def read_first(self, statement: Executable, params: dict[str, Any]) -> Row[Any] | None:
        """The first row of one read that needs no transaction, for the hottest reads (an app
        checking its license key): no session, no BEGIN or COMMIT, and on PostgreSQL one round
        trip, on a pool of its own that does not ping before each use. A connection the server
        dropped meanwhile (a restart) costs one retry. Writes, and reads that must agree with each
        other, use unit_of_work."""
        if self._sqlite_reads is not None:
            reader, thread = self._sqlite_reads
            return await asyncio.get_running_loop().run_in_executor(
                thread, _read_first, reader, statement, params)
        for attempt in (1, 2):
            try:
                async with self._readers:
                    # The whole read in one greenlet: connect, execute, fetch, give back.
                    return await greenlet_spawn(_read_first, self._reader.sync_engine, statement, params)
            except DBAPIError as error:
                if attempt == 2 or not error.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    def after_commit(self, hook: Callable[[AsyncSession], None]) -> Callable[[], None]:
        """Call `hook` with the session after each unit of work commits (a worker's wake-up);
        returns the function that removes it again."""
        self._after_commit.append(hook)
        return lambda: self._after_commit.remove(hook)

    async def claim(self, model: Any, due: Select[Any], **values: Any) -> list[Any]:
        """Take the rows `due` selects (by id) and set `values` on them, in one atomic UPDATE.

        Workers use it to lease queued work: SQLite serializes writers, and on PostgreSQL SKIP
        LOCKED lets several processes claim side by side without ever taking the same row.
        """
        if not self.is_sqlite:
            due = due.with_for_update(skip_locked=True)
        async with self.unit_of_work() as session:
            rows = await session.scalars(
                update(model).where(model.id.in_(due.scalar_subquery())).values(**values)
                .returning(model).execution_options(synchronize_session=False))
            return sorted(rows, key=lambda row: row.id)

    async def upgrade(self) -> list[str]:
        """Apply pending migrations; returns the revisions applied."""
        async with self.engine.begin() as connection:
            return await connection.run_sync(_upgrade)

    async def pending_migrations(self) -> list[str]:
        async with self.engine.connect() as connection:
            return await connection.run_sync(_pending)

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as connection:
                await asyncio.wait_for(connection.execute(text("SELECT 1")), timeout=2)
            return True
        except Exception:
            return False

    async def close(self) -> None:
        if self._sqlite_reads is not None:
            reader, thread = self._sqlite_reads
            self._sqlite_reads = None  # closing twice is harmless; later reads use the engine
            await asyncio.get_running_loop().run_in_executor(thread, reader.dispose)
            thread.shutdown()
        if self._reader is not self.engine:
            await self._reader.dispose()
        await self.engine.dispose()


def _threaded_sqlite_reader(url: str) -> tuple[Engine, ThreadPoolExecutor] | None:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None  # a database only the async engine's own connection sees
    reader = create_sync_engine(make_url(url).set(drivername="sqlite"),
                                connect_args={"timeout": 30, "check_same_thread": False})
    event.listen(reader, "connect", _sqlite_pragmas)
    return reader, ThreadPoolExecutor(1, thread_name_prefix="sqlite-reads")


def _read_first(engine: Engine, statement: Executable, params: dict[str, Any]) -> Row[Any] | None:
    with engine.connect() as connection:
        return connection.execute(statement, params).first()


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _pending(connection: Connection) -> list[str]:
    script = ScriptDirectory.from_config(alembic_config())
    current = set(MigrationContext.configure(connection).get_current_heads())
    pending: list[str] = []
    for revision in script.walk_revisions():
        if revision.revision in current:
            break
        pending.append(revision.revision)
    return list(reversed(pending))


def _upgrade(connection: Connection) -> list[str]:
    pending = _pending(connection)
    if pending:
        command.upgrade(alembic_config(connection), "heads")
    return pending
