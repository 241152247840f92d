"""Erasing a person: invoices stay exactly as issued, everything else that names them goes, and
their access ends; their teammates keep what they were given."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.bootstrap import outbox_sender
from core.accounts.export import everything
from core.identity import erasure
from core.identity.chat_links import link_chat_account
from core.identity.customers import by_email
from core.kernel.events import AccessChanged, ChatAccountUnlinked, CustomerErased
from core.kernel.portal import Portal
from core.licenses import api
from core.models import (
    AuditEvent,
    BillingDetails,
    ChatLink,
    CodeChallenge,
    Customer,
    Document,
    InboundMail,
    License,
    OutboundMail,
    TaxId,
)
from core.orders.ownership import owned_products
from handlers.context import Caller
from handlers.dispatcher import Dispatcher
from tests.helpers import caller_for, published, sent_mail

ALICE = "alice@example.com"


async def issued(portal: Portal) -> list[tuple[object, ...]]:
    async with portal.db.unit_of_work() as session:
        return [(d.id, d.number, d.customer_id, d.issued_at, d.total, d.snapshot, d.pdf_sha256)
                for d in await session.scalars(select(Document).order_by(Document.id))]


async def erase(portal: Portal, email: str) -> int:
    async with portal.db.unit_of_work() as session:
        customer = await by_email(session, email)
        assert customer is not None
        await erasure.erase(session, portal, customer, actor="operator via cli")
        return customer.id


async def test_erasure_keeps_the_invoices_and_takes_the_person(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    async with demo_portal.db.unit_of_work() as session:
        alice = await by_email(session, ALICE)
        assert alice is not None
        await link_chat_account(session, alice, platform="discord", account_id="4242")
        session.add(InboundMail(message_key="<m1@example.com>", envelope_from=ALICE, recipients={"to": []},
                                raw=b"From: alice@example.com\r\n\r\norders\r\n"))
        keys = list(await session.scalars(select(License.key).where(License.customer_id == alice.id)))
    await dispatcher.handle_line(Caller(platform="console", account_id="t"), f"login {ALICE}")
    await dispatcher.handle_line(await caller_for(demo_portal, ALICE), "transfer elsewhere@new.example")
    before = await issued(demo_portal)
    assert any(row[5]["buyer"]["email"] == ALICE for row in before)  # type: ignore[index]

    alice_id = await erase(demo_portal, ALICE)

    assert await issued(demo_portal) == before, "invoices, receipts and their snapshots as issued"
    async with demo_portal.db.unit_of_work() as session:
        gone = await session.get(Customer, alice_id)
        assert gone is not None and gone.email == f"erased-{alice_id}@erased.invalid"
        assert gone.name is None
        assert await session.get(BillingDetails, alice_id) is None, "who invoices named: in the invoices only"
        assert list(await session.scalars(select(TaxId).where(TaxId.customer_id == alice_id))) == []
        assert await by_email(session, ALICE) is None
        assert list(await session.scalars(select(ChatLink))) == []
        assert list(await session.scalars(select(CodeChallenge))) == [], "hers, and the one for her move"
        [mail] = await session.scalars(select(InboundMail))
        assert mail.raw == b"" and mail.envelope_from == gone.email
        owned = await owned_products(session, alice_id)
        [audited] = await session.scalars(select(AuditEvent).where(AuditEvent.action == "customer_erased"))
        data = await everything(session, demo_portal, alice_id)
    assert owned and not any(item.active for item in owned), "access ends"
    assert audited.actor == "operator via cli" and audited.customer_id == alice_id
    for key in keys:
        assert (await api.validate(demo_portal, key)).problem is api.Problem.DISABLED
    events = await published(demo_portal)
    assert ChatAccountUnlinked(customer_id=alice_id, platform="discord", account_id="4242") in events
    assert CustomerErased(customer_id=alice_id) in events and AccessChanged(customer_id=alice_id) in events

    # What is left of her names her only in the invoices the law keeps.
    left = json.dumps({name: rows for name, rows in data.items() if name != "documents"}, ensure_ascii=False)
    assert ALICE not in left.lower() and "Alice Moreau" not in left and "Atelier Moreau" not in left


async def test_teammates_keep_their_seats_and_lose_her_address(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    await outbox_sender(demo_portal).send_due()  # the invites she made them get went out
    await erase(demo_portal, ALICE)
    bob = await caller_for(demo_portal, "bob@example.com")
    orders = (await dispatcher.handle_line(bob, "orders")).plain_text()
    assert "Tileset Forge Teams" in orders, "the seat she gave him is his"
    log = (await dispatcher.handle_line(bob, "activity")).plain_text()
    assert "Got a seat of Tileset Forge Teams from erased-" in log and ALICE not in log
    async with demo_portal.db.unit_of_work() as session:
        kept = [(mail.subject, mail.raw) for mail in await session.scalars(
            select(OutboundMail).where(OutboundMail.recipient.in_(["bob@example.com", "dana@example.com"])))]
    assert len(kept) >= 3 and not [subject for subject, _ in kept if ALICE in subject]
    assert not [raw for _, raw in kept if ALICE.encode() in raw], "the copies that named her were emptied"
    assert any(raw for _, raw in kept), "the others stay"


async def test_an_erased_address_is_a_stranger_again(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    await erase(demo_portal, "bob@example.com")
    caller = Caller(platform="console", account_id="someone")
    assert (await dispatcher.handle_line(caller, "login bob@example.com")).ok
    [told] = [m for m in await sent_mail(demo_portal, to="bob@example.com", kind="code")]
    assert "we have no purchases made with it" in told.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    alice = await caller_for(demo_portal, ALICE)
    seats = (await dispatcher.handle_line(alice, "seats tileset-forge")).plain_text()
    assert "bob@example.com" not in seats and "1 of 5 seats assigned" in seats, "his seat was freed"
