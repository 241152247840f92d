"""The hottest reads (Database.read_first): outside any transaction, they see what is committed,
and a connection the server dropped costs one retry, not an error."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from core.kernel.portal import Portal
from core.models import Customer


async def test_a_read_sees_what_was_committed_and_nothing_else(portal: Portal) -> None:
    query = select(Customer.email).where(Customer.email == "ana@example.com")
    assert await portal.db.read_first(query, {}) is None
    async with portal.db.unit_of_work() as session:
        session.add(Customer(email="ana@example.com"))
        await session.flush()
        assert await portal.db.read_first(query, {}) is None, "not committed yet"
    row = await portal.db.read_first(query, {})
    assert row is not None and row.email == "ana@example.com"


async def test_a_connection_the_server_dropped_costs_one_retry(portal: Portal) -> None:
    if portal.db.is_sqlite:
        pytest.skip("SQLite has no server to drop a connection")
    first = await portal.db.read_first(text("SELECT pg_backend_pid() AS pid"), {})
    assert first is not None
    async with portal.db.unit_of_work() as session:
        assert await session.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": first.pid})
    again = await portal.db.read_first(text("SELECT pg_backend_pid() AS pid"), {})
    assert again is not None and again.pid != first.pid
