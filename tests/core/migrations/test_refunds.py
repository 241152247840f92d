"""Upgrading a database made before refunds were kept: orders keep their state, documents stay as
issued, the schema is the models' own, and refunds work on it at once (the credit note numbers
go on from those issued before); downgrading drops the refunds and reads an order refunded in part
as paid again, the state the previous release knows."""

from __future__ import annotations

import json
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from core.billing import refunds
from core.kernel.db import Database, alembic_config
from core.kernel.portal import Portal
from core.models import Base, Document, Order
from core.models.refunds import OPERATOR
from tests.conftest import FIXED_NOW

PREVIOUS = "0011"  # billing details and tax IDs: the schema these rows were written under
AT = "2026-02-10 09:30:00+00"
SNAPSHOT = {
    "version": 2, "kind": "invoice",
    "seller": {"name": "Old Shop", "legal_name": "Old Shop Ltd", "address": ["1 Market Street", "Dublin"],
               "tax_id": "IE3141592S", "email": "billing@old.example", "footer": None},
    "buyer": {"name": "Ann", "email": "ann@example.com", "address": [], "tax_ids": [], "locale": "en_US",
              "timezone": "UTC"},
    "lines": [{"description": "The App", "quantity": 1, "unit_net": "1000", "net": 1000, "tax_rate": "23",
               "tax": 230, "amount": 1230}],
    "taxes": [{"name": "VAT", "rate": "23", "base": 1000, "amount": 230}],
    "order_number": "SK-00001", "supplied_at": "2026-02-10T09:30:00+00:00",
}
ORDERS = [(1, "paid", 1230), (2, "refunded", 1230), (3, "paid", 500)]


def _to(revision: str, *, down: bool = False) -> Any:
    def move(connection: Connection) -> None:
        (command.downgrade if down else command.upgrade)(alembic_config(connection), revision)

    return move


def _differences(connection: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                 Base.metadata))


async def _seed(connection: Any) -> None:
    await connection.execute(text(
        "INSERT INTO customers (id, email, name, locale, timezone, created_at)"
        f" VALUES (1, 'ann@example.com', 'Ann', 'en_US', 'UTC', '{AT}')"))
    await connection.execute(text(
        "INSERT INTO products (id, slug, name, kind, active, created_at, customer_can_deactivate)"
        f" VALUES (1, 'app', 'The App', 'one_time', true, '{AT}', true)"))
    for id_, status, total in ORDERS:
        await connection.execute(text(
            "INSERT INTO orders (id, customer_id, external_id, status, currency, total, placed_at, source,"
            f" created_at) VALUES ({id_}, 1, 'ord-{id_}', '{status}', 'EUR', {total}, '{AT}', 'api', '{AT}')"))
        await connection.execute(text(
            "INSERT INTO order_items (id, order_id, product_id, quantity, unit_amount, amount)"
            f" VALUES ({id_}, {id_}, 1, 1, {total}, {total})"))
    await connection.execute(text(
        "INSERT INTO documents (id, kind, number, customer_id, order_id, issued_at, supplied_at,"
        " tax_treatment, currency, subtotal, tax_total, total, amount_paid, status, snapshot)"
        f" VALUES (1, 'invoice', 'INV-2026-0001', 1, 1, '{AT}', '{AT}', 'standard', 'EUR', 1000, 230, 1230,"
        " 1230, 'paid', :snapshot)"), {"snapshot": json.dumps(SNAPSHOT)})
    await connection.execute(text(
        "INSERT INTO documents (id, kind, number, customer_id, order_id, related_document_id, issued_at,"
        " currency, subtotal, tax_total, total, amount_paid, status, snapshot)"
        f" VALUES (2, 'credit_note', 'CN-2026-0001', 1, 2, 1, '{AT}', 'EUR', -1230, 0, -1230, 0,"
        " 'credited', :snapshot)"), {"snapshot": json.dumps({**SNAPSHOT, "kind": "credit_note"})})
    await connection.execute(text(
        "INSERT INTO document_counters (kind, year, value) VALUES ('invoice', 2026, 1), ('credit_note', 2026, 1)"))
    if connection.dialect.name == "postgresql":  # ids given above: new rows take the next ones
        await connection.execute(text("SELECT setval(pg_get_serial_sequence('documents', 'id'), 2)"))


async def test_orders_keep_their_state_and_refunds_work_at_once(
        database_url: tuple[str, dict[str, Any]], settings_factory: Any) -> None:
    db = Database(*database_url)
    portal = Portal(settings=settings_factory(database_url=database_url[0]), db=db, clock=lambda: FIXED_NOW)
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(_to(PREVIOUS))
            await _seed(connection)
        assert await db.upgrade() == ["0012"]
        async with db.engine.connect() as connection:
            states = (await connection.execute(text("SELECT id, status, total FROM orders ORDER BY id"))).all()
            documents = (await connection.execute(text("SELECT number, total FROM documents ORDER BY id"))).all()
            held = (await connection.execute(text("SELECT count(*) FROM refunds"))).scalar()
            assert await connection.run_sync(_differences) == [], "the migrated schema is the models' schema"

        async with db.unit_of_work() as session:
            order = await session.get(Order, 1)
            assert order is not None
            done = await refunds.refund_order(session, portal, None, order, amount=615, reason="half",
                                              key="after-upgrade", requested_by=OPERATOR, actor="test")
        async with db.unit_of_work() as session:
            issued = await session.get(Document, done.credit_note_id)
            note = issued.number if issued is not None else None
            order = await session.get(Order, 1)
            assert order is not None and order.status == "partially_refunded"
    finally:
        await db.close()
    assert [tuple(row) for row in states] == ORDERS
    assert [tuple(row) for row in documents] == [("INV-2026-0001", 1230), ("CN-2026-0001", -1230)]
    assert held == 0
    assert (done.amount, done.tax, done.state) == (615, 115, "succeeded")
    assert note == "CN-2026-0002", "credit note numbers go on from those issued before"


async def test_downgrading_drops_the_refunds_and_keeps_the_credit_notes(
        database_url: tuple[str, dict[str, Any]], settings_factory: Any) -> None:
    db = Database(*database_url)
    portal = Portal(settings=settings_factory(database_url=database_url[0]), db=db, clock=lambda: FIXED_NOW)
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(_to(PREVIOUS))
            await _seed(connection)
        await db.upgrade()
        async with db.unit_of_work() as session:
            order = await session.get(Order, 1)
            assert order is not None
            await refunds.refund_order(session, portal, None, order, amount=100, reason=None, key="part",
                                       requested_by=OPERATOR, actor="test")
        async with db.engine.begin() as connection:
            await connection.run_sync(_to(PREVIOUS, down=True))
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
            states = (await connection.execute(text("SELECT id, status FROM orders ORDER BY id"))).all()
            kinds = (await connection.execute(text("SELECT kind FROM documents ORDER BY id"))).scalars().all()
    finally:
        await db.close()
    assert "refunds" not in tables
    assert [tuple(row) for row in states] == [(1, "paid"), (2, "refunded"), (3, "paid")]
    assert kinds == ["invoice", "credit_note", "credit_note"], "issued documents stay"
