"""Upgrading a database made before invoices kept their supply date and tax treatment: issued
documents keep their numbers, amounts and snapshots; their supply date is their order's time;
those that charged tax are marked standard; and the old snapshots still render with net lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection

from config.settings import Settings
from core.billing.render import render_html
from core.kernel.db import Database, alembic_config
from core.models import Document

PREVIOUS = "0007"  # the schema these documents were issued under

OLD_SNAPSHOT = {
    "seller": {"name": "Old Shop", "legal_name": "Old Shop Ltd", "address": ["1 Market Street", "London"],
               "tax_id": "GB123456789", "email": "billing@old.example", "footer": None},
    "buyer": {"name": "Alice", "email": "old@example.com", "address": [], "tax_ids": [], "locale": "en_US",
              "timezone": "UTC"},
    # Lines were kept gross, with the tax inside them.
    "lines": [{"description": "The App", "quantity": 1, "unit_amount": 14900, "amount": 14900,
               "tax_rate": "20", "tax": 2483}],
    "taxes": [{"name": "VAT", "rate": "20", "amount": 2483}],
    "order_number": "SK-00001", "paid_at": "2026-02-10T09:30:00+00:00", "payment_status": "paid",
}


def _to(revision: str) -> Any:
    def upgrade(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    return upgrade


async def test_issued_documents_are_carried_unchanged(database_url: tuple[str, dict[str, Any]],
                                                      settings_factory: Any) -> None:
    db = Database(*database_url)
    placed = "2026-02-10 09:30:00+00"
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(_to(PREVIOUS))
            await connection.execute(text(
                "INSERT INTO customers (id, email, locale, timezone, created_at, billing_address, tax_ids)"
                " VALUES (1, 'old@example.com', 'en_US', 'UTC', '2026-01-02 10:00:00+00', '[]', '[]')"))
            await connection.execute(text(
                "INSERT INTO orders (id, customer_id, external_id, status, currency, total, placed_at, source,"
                f" created_at) VALUES (1, 1, 'ord-1', 'paid', 'USD', 14900, '{placed}', 'api', '{placed}')"))
            for id_, kind, number, related, tax, status in (
                    (1, "invoice", "INV-2026-0001", None, 2483, "paid"),
                    (2, "receipt", "RCT-2026-0001", 1, 2483, "paid"),
                    (3, "invoice", "INV-2026-0002", None, 0, "paid"),
                    (4, "credit_note", "CN-2026-0001", 1, 0, "credited")):
                await connection.execute(text(
                    "INSERT INTO documents (id, kind, number, customer_id, order_id, related_document_id,"
                    " issued_at, currency, subtotal, tax_total, total, amount_paid, status, snapshot)"
                    f" VALUES (:id, :kind, :number, 1, :order, :related, '{placed}', 'USD', :subtotal, :tax,"
                    " 14900, 14900, :status, :snapshot)"),
                    {"id": id_, "kind": kind, "number": number, "related": related,
                     "order": None if kind == "credit_note" else 1, "subtotal": 14900 - tax, "tax": tax,
                     "status": status, "snapshot": json.dumps({**OLD_SNAPSHOT, "kind": kind})})
        assert "0008" in await db.upgrade()
        async with db.engine.connect() as connection:
            rows = (await connection.execute(text(
                "SELECT number, supplied_at, tax_treatment, subtotal, tax_total, total, amount_paid, snapshot"
                " FROM documents ORDER BY id"))).all()
    finally:
        await db.close()

    supplied = datetime(2026, 2, 10, 9, 30, tzinfo=UTC)

    def moment(value: Any) -> datetime | None:
        if value is None:
            return None
        parsed = datetime.fromisoformat(str(value)) if not isinstance(value, datetime) else value
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    assert [(row.number, moment(row.supplied_at), row.tax_treatment) for row in rows] == [
        ("INV-2026-0001", supplied, "standard"), ("RCT-2026-0001", supplied, "standard"),
        ("INV-2026-0002", supplied, None), ("CN-2026-0001", None, None)]
    assert [(row.subtotal, row.tax_total, row.total, row.amount_paid) for row in rows[:2]] == [
        (12417, 2483, 14900, 14900)] * 2
    snapshot = rows[0].snapshot if isinstance(rows[0].snapshot, dict) else json.loads(rows[0].snapshot)
    assert snapshot == {**OLD_SNAPSHOT, "kind": "invoice"}

    # The old invoice renders with its lines net, matching the subtotal it was issued with.
    settings: Settings = settings_factory()
    old = Document(kind="invoice", number="INV-2026-0001", customer_id=1, issued_at=supplied,
                   currency="USD", subtotal=12417, tax_total=2483, total=14900, amount_paid=14900,
                   status="paid", snapshot=snapshot)
    html = " ".join(render_html(old, settings).split())
    assert ('<td>The App</td><td class="num">1</td><td class="num">$124.17</td> <td class="num">20 %</td>'
            '<td class="num">$124.17</td>') in html
    assert "VAT 20 % on $124.17" in html and "Date of supply" not in html
