"""Upgrading a database made by the previous release: stored device limits keep their values
under their new name, and nothing becomes a team product."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection

from core.kernel.db import Database, alembic_config

PREVIOUS_RELEASE = "0003"  # the schema of the last landed release


def _to(revision: str) -> Any:
    def upgrade(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    return upgrade


async def test_stored_limits_survive_the_rename(database_url: tuple[str, dict[str, Any]]) -> None:
    db = Database(*database_url)
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(_to(PREVIOUS_RELEASE))
            # A product and a license as the previous release wrote them.
            await connection.execute(text(
                "INSERT INTO customers (id, email, locale, timezone, created_at, billing_address, tax_ids)"
                " VALUES (1, 'old@example.com', 'en_US', 'UTC', '2026-01-02 10:00:00+00', '[]', '[]')"))
            await connection.execute(text(
                "INSERT INTO products (id, slug, name, kind, active, license_seats, created_at)"
                " VALUES (1, 'app', 'The App', 'one_time', true, 3, '2026-01-01 10:00:00+00')"))
            await connection.execute(text(
                "INSERT INTO licenses (id, customer_id, product_id, key, seat_limit, status, created_at)"
                " VALUES (1, 1, 1, 'AAAAA-BBBBB-CCCCC-DDDDD-EEEEE', 6, 'active',"
                " '2026-01-02 10:00:00+00')"))
        assert await db.upgrade(), "the new revision was applied"
        async with db.engine.connect() as connection:
            product = (await connection.execute(text(
                "SELECT activation_limit, seats, license_days, customer_can_deactivate FROM products"
            ))).one()
            license = (await connection.execute(text(
                "SELECT key, activation_limit, status, expires_at, revoked_at FROM licenses"))).one()
            devices = (await connection.execute(text("SELECT count(*) FROM activations"))).scalar()
        assert tuple(product) == (3, None, None, True)
        assert tuple(license) == ("AAAAA-BBBBB-CCCCC-DDDDD-EEEEE", 6, "active", None, None)
        assert devices == 0
    finally:
        await db.close()
