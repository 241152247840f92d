"""Upgrading a database made before billing details were a record of their own: address lines are
read into their parts where they can be (country, postal code and city, a US state) and kept as
lines otherwise, tax IDs keep their values with what is known of them, nothing else of the
customers changes; and downgrading puts the lines back."""

from __future__ import annotations

import json
from typing import Any

from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection

from core.kernel.db import Database, alembic_config

PREVIOUS = "0010"  # the schema these rows were written under

CUSTOMERS: list[tuple[int, str, str | None, list[str], list[str]]] = [
    (1, "alice@example.com", "Alice Moreau", ["Atelier Moreau", "12 Rue des Lilas", "75011 Paris", "France"],
     ["FR40303265045"]),
    (2, "sam@example.com", "Sam Smith", ["1 Main St", "Springfield, IL 62701", "USA"], []),
    (3, "jo@example.de", None, ["Hauptstr. 1", "10115 Berlin, Deutschland"], []),
    (4, "vat@example.de", "VAT Only GmbH", ["Some Street 3", "Somewhere"], ["DE 136 695 976"]),
    (5, "mixup@example.de", "Mixup GmbH", ["Torstraße 5", "10119 Berlin", "Germany"], ["FR40303265045"]),
    (6, "zork@example.com", "Zork", ["c/o Nobody", "Planet Zork"], []),
    (7, "plain@example.com", None, [], []),
]


def _to(revision: str, *, down: bool = False) -> Any:
    def move(connection: Connection) -> None:
        (command.downgrade if down else command.upgrade)(alembic_config(connection), revision)

    return move


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def test_billing_details_are_carried_into_their_parts(database_url: tuple[str, dict[str, Any]]) -> None:
    db = Database(*database_url)
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(_to(PREVIOUS))
            for id_, email, name, lines, vat in CUSTOMERS:
                await connection.execute(text(
                    "INSERT INTO customers (id, email, name, locale, timezone, created_at, billing_name,"
                    " billing_address, tax_ids) VALUES (:id, :email, :name, 'en_US', 'UTC',"
                    " '2026-01-02 10:00:00+00', :billing_name, :lines, :vat)"),
                    {"id": id_, "email": email, "name": name, "billing_name": name, "lines": json.dumps(lines),
                     "vat": json.dumps([{"type": "eu_vat", "value": v} for v in vat])})
            await connection.execute(text(
                "INSERT INTO chat_links (id, customer_id, platform, account_id, created_at)"
                " VALUES (1, 1, 'discord', '42', '2026-01-03 10:00:00+00')"))
        assert "0011" in await db.upgrade()
        async with db.engine.connect() as connection:
            details = {row.customer_id: row for row in (await connection.execute(text(
                "SELECT customer_id, name, company, address_lines, postal_code, city, region, country,"
                " invoice_email FROM billing_details"))).all()}
            tax_ids = [tuple(row) for row in (await connection.execute(text(
                "SELECT customer_id, type, country, value, state FROM tax_ids ORDER BY customer_id"))).all()]
            customers = (await connection.execute(text("SELECT * FROM customers ORDER BY id"))).mappings().all()
            links = (await connection.execute(text("SELECT customer_id FROM chat_links"))).scalars().all()
    finally:
        await db.close()

    def parts(customer_id: int) -> tuple[Any, ...]:
        row = details[customer_id]
        return (_json(row.address_lines), row.postal_code, row.city, row.region, row.country)

    assert parts(1) == (["Atelier Moreau", "12 Rue des Lilas"], "75011", "Paris", None, "FR")
    assert details[1].name == "Alice Moreau" and details[1].company is None and details[1].invoice_email is None
    assert parts(2) == (["1 Main St"], "62701", "Springfield", "IL", "US")
    assert parts(3) == (["Hauptstr. 1"], "10115", "Berlin", None, "DE")
    assert parts(4) == (["Some Street 3", "Somewhere"], None, None, None, "DE")  # the country from the VAT number
    assert parts(5) == (["Torstraße 5"], "10119", "Berlin", None, "DE")
    assert parts(6) == (["c/o Nobody", "Planet Zork"], None, None, None, None)  # kept as it was
    assert 7 not in details
    assert tax_ids == [(1, "eu_vat", "FR", "FR40303265045", "not_verified"),
                       (4, "eu_vat", "DE", "DE136695976", "not_verified"),
                       (5, "eu_vat", "FR", "FR40303265045", "does_not_fit")]
    assert [c["email"] for c in customers] == [c[1] for c in CUSTOMERS]
    assert not {"billing_name", "billing_address", "tax_ids"} & set(customers[0])
    assert links == [1]  # customers was changed in place: nothing that refers to it went


async def test_downgrading_puts_the_lines_back(database_url: tuple[str, dict[str, Any]]) -> None:
    db = Database(*database_url)
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(_to("0011"))
            await connection.execute(text(
                "INSERT INTO customers (id, email, locale, timezone, created_at)"
                " VALUES (1, 'alice@example.com', 'en_US', 'UTC', '2026-01-02 10:00:00+00')"))
            await connection.execute(text(
                "INSERT INTO billing_details (customer_id, name, company, address_lines, postal_code, city,"
                " country) VALUES (1, 'Alice', 'Atelier', '[\"12 Rue des Lilas\"]', '75011', 'Paris', 'FR')"))
            await connection.execute(text(
                "INSERT INTO tax_ids (id, customer_id, type, country, value, state, created_at)"
                " VALUES (1, 1, 'eu_vat', 'FR', 'FR40303265045', 'verified', '2026-01-02 10:00:00+00')"))
            await connection.run_sync(_to(PREVIOUS, down=True))
            row = (await connection.execute(text(
                "SELECT billing_name, billing_address, tax_ids FROM customers"))).one()
    finally:
        await db.close()
    assert row.billing_name == "Alice"
    assert _json(row.billing_address) == ["Atelier", "12 Rue des Lilas", "75011 Paris", "FR"]
    assert _json(row.tax_ids) == [{"type": "eu_vat", "value": "FR40303265045"}]
