"""Upgrading a database made by the release before subscriptions could change: every stored
subscription is billed by the merchant (provider `external`), keeps its state and its
cancel_at_period_end, and a customer who held two live subscriptions of a product keeps the newest."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from core.kernel.db import Database, alembic_config
from core.models import Base

PREVIOUS_RELEASE = "0007"  # the schema of the last landed release


def _to(revision: str) -> Any:
    def upgrade(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    return upgrade


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def _seed(connection: Any) -> None:
    await connection.execute(text(
        "INSERT INTO customers (id, email, locale, timezone, created_at, billing_address, tax_ids)"
        " VALUES (1, 'old@example.com', 'en_US', 'UTC', '2026-01-02 10:00:00+00', '[]', '[]'),"
        " (2, 'two@example.com', 'en_US', 'UTC', '2026-01-02 10:00:00+00', '[]', '[]')"))
    await connection.execute(text(
        "INSERT INTO products (id, slug, name, kind, active, created_at, customer_can_deactivate)"
        " VALUES (1, 'club', 'The Club', 'subscription', true, '2026-01-01 10:00:00+00', true)"))
    await connection.execute(text(
        "INSERT INTO plans (id, product_id, slug, name, interval, price, currency, rank, active)"
        " VALUES (1, 1, 'monthly', 'Monthly', 'month', 1000, 'USD', 0, true)"))
    await connection.execute(text(
        "INSERT INTO subscriptions (id, customer_id, product_id, plan_id, status,"
        " current_period_start, current_period_end, cancel_at_period_end, created_at) VALUES"
        " (1, 1, 1, 1, 'active', '2026-02-01 10:00:00+00', '2026-03-01 10:00:00+00', true,"
        "  '2026-01-01 10:00:00+00'),"
        " (2, 2, 1, 1, 'active', '2026-01-01 10:00:00+00', '2026-02-01 10:00:00+00', false,"
        "  '2026-01-01 10:00:00+00'),"
        " (3, 2, 1, 1, 'active', '2026-02-05 10:00:00+00', '2026-03-05 10:00:00+00', false,"
        "  '2026-02-05 10:00:00+00'),"
        " (4, 1, 1, 1, 'cancelled', '2025-01-01 10:00:00+00', '2025-02-01 10:00:00+00', false,"
        "  '2025-01-01 10:00:00+00')"))
    await connection.execute(text(
        "INSERT INTO entitlements (id, customer_id, product_id, subscription_id, status, created_at)"
        " VALUES (1, 1, 1, 1, 'active', '2026-01-01 10:00:00+00'),"
        " (2, 2, 1, 2, 'active', '2026-01-01 10:00:00+00'),"
        " (3, 2, 1, 3, 'active', '2026-02-05 10:00:00+00')"))


async def test_stored_subscriptions_become_merchant_billed_and_keep_their_state(
        database_url: tuple[str, dict[str, Any]]) -> None:
    db = Database(*database_url)
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(_to(PREVIOUS_RELEASE))
            await _seed(connection)
        assert "0009" in await db.upgrade()
        async with db.engine.connect() as connection:
            rows = (await connection.execute(text(
                "SELECT id, status, billed_by, provider, cancel_at_period_end, pause_at_period_end,"
                " scheduled_plan_id, payment_method_id, version FROM subscriptions ORDER BY id"))).all()
            entitlements = (await connection.execute(text(
                "SELECT id, status FROM entitlements ORDER BY id"))).all()
            differences = await connection.run_sync(_differences)
        assert [tuple(r) for r in rows] == [
            (1, "active", "merchant", "external", True, False, None, None, 1),
            (2, "canceled", "merchant", "external", False, False, None, None, 1),  # the older of two
            (3, "active", "merchant", "external", False, False, None, None, 1),
            (4, "canceled", "merchant", "external", False, False, None, None, 1),
        ]
        assert [tuple(e) for e in entitlements] == [(1, "active"), (2, "ended"), (3, "active")]
        assert differences == [], "the migrated schema is the models' schema"
    finally:
        await db.close()


async def test_a_second_live_subscription_of_a_product_is_refused_by_the_database(
        database_url: tuple[str, dict[str, Any]]) -> None:
    db = Database(*database_url)
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(_to(PREVIOUS_RELEASE))
            await _seed(connection)
        await db.upgrade()
        async with db.engine.connect() as connection:
            try:
                await connection.execute(text(
                    "INSERT INTO subscriptions (customer_id, product_id, plan_id, status,"
                    " current_period_start, current_period_end, cancel_at_period_end, created_at)"
                    " VALUES (1, 1, 1, 'paused', '2026-02-01 10:00:00+00', '2026-03-01 10:00:00+00',"
                    " false, '2026-02-01 10:00:00+00')"))
            except Exception as exc:  # IntegrityError, wrapped per driver
                assert "uq_subscriptions_live" in str(exc) or "UNIQUE" in str(exc).upper()
            else:
                raise AssertionError("a second live subscription of the same product was stored")
            await connection.rollback()
    finally:
        await db.close()
