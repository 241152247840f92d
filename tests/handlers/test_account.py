"""activity and export: the customer's own log in words, ten rows a page, in their time zone and
naming support mode; everything stored about them as JSON, their invoices as a zip of PDFs; and
nothing of anyone else's, whatever they type."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core.identity.chat_links import link_chat_account
from core.identity.customers import by_email, get_or_create
from core.kernel.portal import Portal
from core.models import Activation, AuditEvent, Customer, Document, InboundMail, License, Order
from handlers.commands import account
from handlers.context import Caller
from handlers.dispatcher import Dispatcher
from handlers.reply import Reply
from tests.conftest import FIXED_NOW
from tests.core.identity.test_transfer import mailed_code
from tests.handlers.test_isolation import everything_shown
from tests.helpers import caller_for

DOORS = ("console", "email", "discord", "slack")


async def run(portal: Portal, who: str, line: str, door: str = "console") -> Reply:
    return await Dispatcher(portal).handle_line(await caller_for(portal, who, platform=door), line)


async def erin_with_history(portal: Portal, events: list[tuple[str, str, dict[str, Any]]]) -> None:
    """A customer in Paris whose log holds `events` (action, actor, details), an hour apart,
    the last one at the fixed now."""
    async with portal.db.unit_of_work() as session:
        erin, _ = await get_or_create(session, "erin@example.com", "Erin")
        erin.timezone = "Europe/Paris"
        for hours_ago, (action, actor, details) in zip(range(len(events) - 1, -1, -1), events, strict=True):
            session.add(AuditEvent(at=FIXED_NOW - timedelta(hours=hours_ago), customer_id=erin.id,
                                   actor=actor, action=action, details=details))


async def test_activity_says_what_when_and_from_where(demo_portal: Portal) -> None:
    await erin_with_history(demo_portal, [
        ("purchase", "webhook", {"order": "SK-00042", "external_id": "x"}),
        ("signed_in", "discord:123", {}),
        ("seat_received", "console:alice", {"product": "tileset-forge", "owner": "alice@example.com"}),
        ("device_deactivated", "operator as customer via console",
         {"key": "ABCDE-•••••", "device": "Old ThinkPad", "instance_id": "x"}),
        ("plan_changed", "slack:T1:U1", {"plan": "yearly"}),
    ])
    reply = await run(demo_portal, "erin@example.com", "activity")
    [table] = reply.tables
    assert table.columns == ["When", "What", "From"]
    assert table.rows == [
        ["2026-03-15 13:00 CET", "Plan changed", "Slack"],
        ["2026-03-15 12:00 CET", "Deactivated a device, 'Old ThinkPad' (ABCDE-•••••)",
         "Console, operator support mode"],
        ["2026-03-15 11:00 CET", "Got a seat of Tileset Forge Teams from alice@example.com", "Console"],
        ["2026-03-15 10:00 CET", "Signed in with a code", "Discord"],
        ["2026-03-15 09:00 CET", "Bought order SK-00042", "Checkout"],
    ]
    assert "Operator support mode: the store's operator did it for you." in reply.plain_text()
    assert reply.choices == []


async def test_activity_comes_ten_rows_a_page(demo_portal: Portal) -> None:
    await erin_with_history(demo_portal, [(f"step_{n}", "email:erin@example.com", {}) for n in range(23)])
    first = await run(demo_portal, "erin@example.com", "activity")
    assert [row[1] for row in first.tables[0].rows] == [f"Step {n}" for n in range(22, 12, -1)]
    assert [c.command for c in first.choices] == ["activity page 2"]
    third = await run(demo_portal, "erin@example.com", "activity page 3")
    assert third.title == "Activity, page 3" and [row[1] for row in third.tables[0].rows] == [
        "Step 2", "Step 1", "Step 0"] and third.choices == []
    assert (await run(demo_portal, "erin@example.com", "activity 2")).title == "Activity, page 2"
    past = await run(demo_portal, "erin@example.com", "activity page 4")
    assert not past.ok and "There is no page 4: your activity fit on 3 pages." in past.plain_text()
    odd = await run(demo_portal, "erin@example.com", "activity yesterday")
    assert not odd.ok and "send `activity` or `activity page 2`" in odd.plain_text()


async def test_support_mode_is_marked_in_the_log_it_leaves(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com")
    operator = Caller(platform="console", account_id="operator:root", customer_id=alice.customer_id,
                      operator=True)
    asked = await dispatcher.handle_line(operator, "deactivate pixel-studio 2")
    assert asked.confirmation is not None
    assert (await dispatcher.handle_line(operator, f"confirm {asked.confirmation.code}")).ok
    newest = (await dispatcher.handle_line(alice, "activity")).tables[0].rows[0]
    assert newest[1].startswith("Deactivated a device, 'Old ThinkPad'")
    assert newest[2] == "Console, operator support mode"


async def exported(portal: Portal, who: str, door: str = "console") -> dict[str, Any]:
    reply = await run(portal, who, "export", door)
    assert reply.ok and reply.private, reply.plain_text()
    [attachment] = reply.attachments
    assert attachment.mime_type == "application/json" and attachment.filename.endswith(".json")
    return json.loads(attachment.data)  # type: ignore[no-any-return]


async def test_export_holds_everything_stored_about_the_customer(demo_portal: Portal) -> None:
    async with demo_portal.db.unit_of_work() as session:
        alice = await by_email(session, "alice@example.com")
        assert alice is not None
        await link_chat_account(session, alice, platform="discord", account_id="4242", display_name="ann")
        session.add(InboundMail(message_key="<m1@example.com>", envelope_from="Alice@Example.com",
                                recipients={"to": ["portal@shop.test"]},
                                raw=b"From: alice@example.com\r\nSubject: orders\r\n\r\norders please\r\n"))
        orders = list(await session.scalars(select(Order.external_id).where(Order.customer_id == alice.id)))
        documents = list(await session.scalars(select(Document.number).where(Document.customer_id == alice.id)))
        keys = list(await session.scalars(select(License.key).where(License.customer_id == alice.id)))
    await run(demo_portal, "alice@example.com", "transfer later@new.example")  # a code and a pending move

    data = await exported(demo_portal, "alice@example.com")
    assert data["format"] == "shopkeep-export/1" and data["customer"]["email"] == "alice@example.com"
    assert data["customer"]["name"] == "Alice Moreau"
    [details] = data["billing_details"]
    assert (details["company"], details["city"], details["country"]) == ("Atelier Moreau", "Paris", "FR")
    assert [(t["value"], t["state"]) for t in data["tax_ids"]] == [("FR40303265045", "not_verified")]
    assert sorted(o["external_id"] for o in data["orders"]) == sorted(orders)
    assert len(data["order_items"]) >= len(orders)
    assert sorted(d["number"] for d in data["documents"]) == sorted(documents)
    assert all(d["snapshot"]["buyer"]["email"] == "alice@example.com" for d in data["documents"])
    assert sorted(lic["key"] for lic in data["licenses"]) == sorted(keys), "her own keys, in full"
    assert {a["name"] for a in data["activations"]} >= {"Studio iMac", "Old ThinkPad"}
    assert {s["email"] for s in data["seats"]} == {"bob@example.com", "dana@example.com"}
    assert [(c["platform"], c["display_name"]) for c in data["chat_links"]] == [("discord", "ann")]
    assert {"subscriptions", "entitlements", "downloads", "audit_events", "account_transfers"} <= set(data)
    assert any(e["action"] == "chat_linked" for e in data["audit_events"])
    assert [m["raw"] for m in data["inbound_mail"]] == [
        "From: alice@example.com\r\nSubject: orders\r\n\r\norders please\r\n"]
    assert data["outbound_mail"] and all("raw" not in m for m in data["outbound_mail"])
    # What would let someone act as her is never handed out, not even to her.
    assert data["code_challenges"] and all("code_hash" not in c for c in data["code_challenges"])
    assert data["pending_actions"] and all("code" not in p for p in data["pending_actions"])


@pytest.mark.parametrize("door", DOORS)
async def test_nobody_exports_anything_of_anyone_else(demo_portal: Portal, door: str) -> None:
    async with demo_portal.db.unit_of_work() as session:
        alice = await by_email(session, "alice@example.com")
        assert alice is not None
        secrets = [*await session.scalars(select(License.key).where(License.customer_id == alice.id)),
                   *await session.scalars(select(Order.external_id).where(Order.customer_id == alice.id)),
                   *await session.scalars(select(Document.number).where(Document.customer_id == alice.id)),
                   "Studio iMac", "Old ThinkPad", "Alice Moreau", "Atelier Moreau"]
    bobs = json.dumps(await exported(demo_portal, "bob@example.com", door), ensure_ascii=False)
    # Bob holds a seat of alice's team: his log and his invite name its owner, nothing else of hers.
    assert not [secret for secret in secrets if secret in bobs]
    for line in ("export alice@example.com", "export invoices alice", "activity alice@example.com"):
        reply = await run(demo_portal, "bob@example.com", line, door)
        assert not reply.ok and not reply.attachments, line
    log = everything_shown(await run(demo_portal, "bob@example.com", "activity", door))
    assert not [secret for secret in secrets if secret in log]


async def test_export_invoices_is_a_zip_of_their_pdfs(demo_portal: Portal) -> None:
    bob = await run(demo_portal, "bob@example.com", "export invoices")
    assert bob.ok and bob.private
    [attachment] = bob.attachments
    assert attachment.mime_type == "application/zip" and attachment.filename.endswith(".zip")
    async with demo_portal.db.unit_of_work() as session:
        customer = await session.scalar(select(Customer).where(Customer.email == "bob@example.com"))
        assert customer is not None
        numbers = sorted(await session.scalars(select(Document.number).where(Document.customer_id == customer.id)))
    with zipfile.ZipFile(io.BytesIO(attachment.data)) as archive:
        assert sorted(archive.namelist()) == [f"{number}.pdf" for number in numbers]
        assert all(archive.read(name).startswith(b"%PDF") for name in archive.namelist())
    assert f"{len(numbers)} documents (invoice, receipt)" in bob.plain_text()

    last = await run(demo_portal, "alice@example.com", "export invoices last")
    with zipfile.ZipFile(io.BytesIO(last.attachments[0].data)) as archive:
        names = archive.namelist()
    assert len(names) == 2 and {name[:3] for name in names} == {"INV", "RCT"}, "the newest order's"
    none = await run(demo_portal, "bob@example.com", "export invoices 1999")
    assert not none.ok and "You have no invoices for 1999." in none.plain_text()
    odd = await run(demo_portal, "bob@example.com", "export invoices someday")
    assert not odd.ok and "I don't understand the period 'someday'" in odd.plain_text()
    other = await run(demo_portal, "bob@example.com", "export my cat")
    assert not other.ok and "not 'my cat'" in other.plain_text()


async def test_a_zip_too_large_for_a_message_asks_for_less(demo_portal: Portal,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(account, "MAX_ATTACHMENT_BYTES", 4000)
    reply = await run(demo_portal, "bob@example.com", "export invoices")
    assert not reply.ok and not reply.attachments
    assert re.search(r"Your \d+ documents are more than one message can carry\. Ask for a part at a "
                     r"time, e\.g\. `export invoices 20\d\d`", reply.plain_text())
    # The data file is packed into a zip when it is too large as it is.
    monkeypatch.setattr(account, "MAX_ATTACHMENT_BYTES", 30_000)
    data = await run(demo_portal, "alice@example.com", "export")
    [packed] = data.attachments
    assert packed.filename.endswith(".json.zip") and len(packed.data) <= 30_000
    with zipfile.ZipFile(io.BytesIO(packed.data)) as archive:
        [name] = archive.namelist()
        assert json.loads(archive.read(name))["customer"]["email"] == "alice@example.com"


async def test_a_move_code_is_only_for_the_account_and_conversation_that_asked(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com", platform="discord")
    await dispatcher.handle_line(alice, "transfer alice@new.example")
    code = await mailed_code(demo_portal, "alice@new.example")
    bob = await caller_for(demo_portal, "bob@example.com", platform="discord")
    assert "nothing waiting" in (await dispatcher.handle_line(bob, f"confirm {code}")).plain_text()
    # The same chat account, signed in as bob since: the code is alice's move, not his.
    switched = Caller(platform="discord", account_id=alice.account_id, customer_id=bob.customer_id)
    refused = await dispatcher.handle_line(switched, f"confirm {code}")
    assert not refused.ok and "confirms a change to another account" in refused.plain_text()
    async with demo_portal.db.unit_of_work() as session:
        assert await by_email(session, "alice@example.com") is not None
        assert await by_email(session, "bob@example.com") is not None
        devices = list(await session.scalars(select(Activation.name)))
    assert devices, "nothing else was touched"


async def test_an_address_the_account_left_is_not_exported_once_it_is_someone_elses(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    bob = await caller_for(demo_portal, "bob@example.com")
    await dispatcher.handle_line(bob, "transfer bob@new.example")
    assert (await dispatcher.handle_line(bob, f"confirm {await mailed_code(demo_portal, 'bob@new.example')}")).ok
    async with demo_portal.db.unit_of_work() as session:
        await get_or_create(session, "bob@example.com", "Another Bob")  # buys with the address bob left
        session.add(InboundMail(message_key="<new-owner@example.com>", envelope_from="bob@example.com",
                                recipients={"to": []}, raw=b"Subject: hello\r\n\r\nthe new owner writes\r\n"))
    data = json.dumps(await exported(demo_portal, "bob@new.example"))
    assert "the new owner writes" not in data and "Another Bob" not in data
    assert "account_transferred" in data, "the move itself is the account's"
