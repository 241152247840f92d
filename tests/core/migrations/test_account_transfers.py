"""Upgrading a database made before codes said what they were for and moves were kept: every
stored code is a sign-in code and an open one still signs in; a move then works on it; and the
way back down keeps the codes."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection

from core.identity import codes
from core.kernel.db import Database, alembic_config
from core.kernel.portal import Portal
from handlers.context import Caller
from handlers.dispatcher import Dispatcher
from tests.conftest import FIXED_NOW, Clock
from tests.helpers import sent_mail

PREVIOUS = "0009"  # the schema these rows were written under


def _to(revision: str) -> Any:
    def migrate(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    return migrate


def _down_to(revision: str) -> Any:
    def migrate(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), revision)

    return migrate


async def test_stored_codes_are_sign_in_codes_and_still_work(database_url: tuple[str, dict[str, Any]],
                                                             settings_factory: Any) -> None:
    db = Database(*database_url)
    portal = Portal(settings=settings_factory(database_url=database_url[0]), db=db, clock=Clock())
    open_hash = codes._hash(portal, "old@example.com", "246810")
    created, expires = FIXED_NOW - timedelta(minutes=2), FIXED_NOW + timedelta(minutes=8)
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(_to(PREVIOUS))
            await connection.execute(text(
                "INSERT INTO customers (id, email, locale, timezone, created_at, billing_address, tax_ids)"
                " VALUES (1, 'old@example.com', 'en_US', 'UTC', '2026-01-02 10:00:00+00', '[]', '[]')"))
            # Ids left to the database, so its sequences go on after them.
            for code_hash, used in ((open_hash, None), (None, created)):
                await connection.execute(text(
                    "INSERT INTO code_challenges (email, caller, code_hash, expires_at, failed_attempts,"
                    " used_at, created_at) VALUES ('old@example.com', 'console:terminal', :hash,"
                    " :expires, 0, :used, :created)"),
                    {"hash": code_hash, "used": used, "expires": expires, "created": created})
            await connection.execute(text(
                "INSERT INTO pending_actions (customer_id, action, arguments, summary, code, expires_at,"
                " state, created_at) VALUES (1, 'assign', '{}', 'Give a seat', 'ABC234', :expires,"
                " 'pending', :created)"), {"expires": expires, "created": created})
        assert "0010" in await db.upgrade()
        async with db.engine.connect() as connection:
            rows = (await connection.execute(text(
                "SELECT purpose, pending_action_id, code_hash FROM code_challenges ORDER BY id"))).all()
            moves = (await connection.execute(text("SELECT count(*) FROM account_transfers"))).scalar()
        assert [(row.purpose, row.pending_action_id, row.code_hash) for row in rows] == [
            ("sign_in", None, open_hash), ("sign_in", None, None)]
        assert moves == 0

        dispatcher = Dispatcher(portal)
        terminal = Caller(platform="console", account_id="terminal")
        welcome = await dispatcher.handle_line(terminal, "verify 246810")
        assert welcome.ok and "Signed in as old@example.com" in welcome.plain_text()

        await dispatcher.handle_line(terminal, "transfer new@example.com")
        [mail] = await sent_mail(portal, to="new@example.com", kind="code")
        found = re.search(r"\d{6}", str(mail["Subject"]))
        assert found
        moved = await dispatcher.handle_line(terminal, f"confirm {found.group()}")
        assert moved.ok, moved.plain_text()
        async with db.engine.connect() as connection:
            email = (await connection.execute(text("SELECT email FROM customers WHERE id = 1"))).scalar()
            kept = (await connection.execute(text("SELECT old_email, new_email FROM account_transfers"))).all()
        assert email == "new@example.com" and [tuple(row) for row in kept] == [
            ("old@example.com", "new@example.com")]

        async with db.engine.begin() as connection:
            await connection.run_sync(_down_to(PREVIOUS))
        async with db.engine.connect() as connection:
            left = (await connection.execute(text("SELECT count(*) FROM code_challenges"))).scalar()
        assert left == 3, "the way back keeps every code: the two stored, the one that moved"
    finally:
        await db.close()
