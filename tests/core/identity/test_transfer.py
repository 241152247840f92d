"""Moving an account to another address: a code to the new address, everything follows in
place, chat links and codes end, the old address can undo it for 7 days; and every refusal."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select

from core.identity import transfer as transfers
from core.identity.chat_links import link_chat_account, links_of
from core.identity.customers import by_email
from core.kernel.errors import Conflict
from core.kernel.events import AccountTransferred, AccountTransferUndone, ChatAccountUnlinked
from core.kernel.portal import Portal
from core.kernel.security import TokenExpired
from core.models import AuditEvent, ChatLink, Customer, Document, Order
from core.orders.purchases import PurchaseItem, PurchaseRequest, record_purchase
from handlers.context import Caller
from handlers.dispatcher import ChangePolicy, Dispatcher
from tests.conftest import Clock
from tests.helpers import caller_for, published, sent_mail, text_of

NEW = "alice@new.example"


async def mailed_code(portal: Portal, to: str) -> str:
    """The newest code mailed to `to` (in the subject and the text, as with sign-in codes)."""
    mails = await sent_mail(portal, to=to, kind="code")
    assert mails, f"no code was mailed to {to}"
    found = re.search(r"\b(\d{6})\b", str(mails[-1]["Subject"]))
    assert found and f"confirm {found.group(1)}" in text_of(mails[-1])
    return found.group(1)


def undo_token(text: str) -> str:
    found = re.search(r"http://portal\.test/account/undo/(\S+)", text)
    assert found, text
    return found.group(1)


async def email_of(portal: Portal, customer_id: int) -> str:
    async with portal.db.unit_of_work() as session:
        customer = await session.get(Customer, customer_id)
        assert customer is not None
        return customer.email


async def link(portal: Portal, email: str, platform: str, account_id: str) -> None:
    async with portal.db.unit_of_work() as session:
        customer = await by_email(session, email)
        assert customer is not None
        await link_chat_account(session, customer, platform=platform, account_id=account_id)


async def documents(portal: Portal, customer_id: int) -> list[tuple[str, str, int, dict[str, object]]]:
    async with portal.db.unit_of_work() as session:
        return [(d.number, d.issued_at.isoformat(), d.total, d.snapshot) for d in await session.scalars(
            select(Document).where(Document.customer_id == customer_id).order_by(Document.id))]


async def test_a_code_at_the_new_address_moves_everything_in_place(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com")
    alice_id = alice.customer_id
    assert alice_id is not None
    await link(demo_portal, "alice@example.com", "discord", "4242")
    stranger = Caller(platform="console", account_id="someone")
    await dispatcher.handle_line(stranger, "login alice@example.com")  # an open sign-in code
    orders_before = (await dispatcher.handle_line(alice, "orders")).plain_text()
    issued = await documents(demo_portal, alice_id)
    assert issued and all(doc[3]["buyer"]["email"] == "alice@example.com" for doc in issued)  # type: ignore[index]

    asked = await dispatcher.handle_line(alice, f"transfer {NEW}")
    assert asked.ok and asked.confirmation is None, "the code goes to the new address, not here"
    assert f"we emailed a code to {NEW}. Send `confirm <code>` here" in asked.plain_text()
    assert await email_of(demo_portal, alice_id) == "alice@example.com", "nothing moved yet"

    done = await dispatcher.handle_line(alice, f"confirm {await mailed_code(demo_portal, NEW)}")
    assert done.ok and done.title == "Account moved", done.plain_text()
    assert alice.customer_id is None, "signed in with the old address, signed out with it"
    assert await email_of(demo_portal, alice_id) == NEW
    moved = await caller_for(demo_portal, NEW)
    assert moved.customer_id == alice_id
    assert (await dispatcher.handle_line(moved, "orders")).plain_text() == orders_before
    assert await documents(demo_portal, alice_id) == issued, "issued invoices never change"

    async with demo_portal.db.unit_of_work() as session:
        assert await links_of(session, alice_id) == []
        [audited] = await session.scalars(select(AuditEvent).where(AuditEvent.action == "account_transferred"))
    assert audited.customer_id == alice_id and audited.details["new_email"] == NEW
    said = await published(demo_portal)
    assert ChatAccountUnlinked(customer_id=alice_id, platform="discord", account_id="4242") in said
    assert [e.customer_id for e in said if isinstance(e, AccountTransferred)] == [alice_id]
    late = await dispatcher.handle_line(stranger, "verify 000000")
    assert "No sign-in is waiting" in late.plain_text(), "open codes of the old address ended"
    [notice] = await sent_mail(demo_portal, to="alice@example.com", kind="notice")
    assert NEW in text_of(notice) and undo_token(text_of(notice))


async def test_a_pending_seat_follows_its_member(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    dana, alice = await caller_for(demo_portal, "dana@example.com"), await caller_for(demo_portal, "alice@example.com")
    await dispatcher.handle_line(dana, "transfer dana@new.example")
    assert (await dispatcher.handle_line(dana, f"confirm {await mailed_code(demo_portal, 'dana@new.example')}")).ok
    seats = (await dispatcher.handle_line(alice, "seats tileset-forge")).tables[0].rows
    assert [(row[1], row[2]) for row in seats] == [("bob@example.com", "claimed"), ("dana@new.example", "pending")]

    phone = Caller(platform="discord", account_id="777")
    await dispatcher.handle_line(phone, "login dana@new.example")
    codes = await sent_mail(demo_portal, to="dana@new.example", kind="code")
    code = re.search(r"\d{6}", str(codes[-1]["Subject"]))
    assert code and (await dispatcher.handle_line(phone, f"verify {code.group()}")).ok
    seats = (await dispatcher.handle_line(alice, "seats tileset-forge")).tables[0].rows
    assert seats[1][1:3] == ["dana@new.example", "claimed"], "signing in with the new address claims it"


async def test_the_answer_never_tells_whether_the_address_has_an_account(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com")
    again = Caller(platform="console", account_id="second-terminal", customer_id=alice.customer_id)
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(demo_portal.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        taken = await dispatcher.handle_line(alice, "transfer bob@example.com")
        taken_work, statements[:] = list(statements), []
        free = await dispatcher.handle_line(again, "transfer nobody@example.com")
        free_work = list(statements)
    finally:
        event.remove(demo_portal.db.engine.sync_engine, "before_cursor_execute", count)
    assert taken.ok and free.ok
    assert taken.plain_text().replace("bob@example.com", "X") == free.plain_text().replace("nobody@example.com", "X")
    assert taken_work == free_work, "the same work too, so timing tells nothing"
    [to_bob] = await sent_mail(demo_portal, to="bob@example.com", kind="code")
    [to_nobody] = await sent_mail(demo_portal, to="nobody@example.com", kind="code")
    assert re.sub(r"\d{6}", "", text_of(to_bob)) == re.sub(r"\d{6}", "", text_of(to_nobody))


async def test_a_taken_address_is_refused_only_once_its_code_is_entered(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com")
    await dispatcher.handle_line(alice, "transfer bob@example.com")
    refused = await dispatcher.handle_line(alice, f"confirm {await mailed_code(demo_portal, 'bob@example.com')}")
    assert not refused.ok
    assert "bob@example.com already has an account here, and accounts are not merged" in refused.plain_text()
    assert await email_of(demo_portal, alice.customer_id or 0) == "alice@example.com"
    assert alice.customer_id is not None, "a refused move signs nobody out"
    bob = await caller_for(demo_portal, "bob@example.com")
    assert "The Indie Maker's Handbook" in (await dispatcher.handle_line(bob, "orders")).plain_text()
    assert [e for e in await published(demo_portal) if isinstance(e, AccountTransferred)] == []


async def test_refusals_and_wrong_codes(demo_portal: Portal, clock: Clock) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com")
    alice_id = alice.customer_id
    same = await dispatcher.handle_line(alice, "transfer Alice@Example.com")
    assert not same.ok and "already your address" in same.plain_text()
    bad = await dispatcher.handle_line(alice, "transfer not-an-address")
    assert not bad.ok and "doesn't look like an email address" in bad.plain_text()
    missing = await dispatcher.handle_line(alice, "transfer")
    assert not missing.ok and "Missing email" in missing.plain_text()

    await dispatcher.handle_line(alice, f"transfer {NEW}")
    code = await mailed_code(demo_portal, NEW)
    # Another conversation of the same customer (their Discord account) has no code waiting.
    elsewhere = Caller(platform="discord", account_id="99", customer_id=alice_id)
    assert "nothing waiting" in (await dispatcher.handle_line(elsewhere, f"confirm {code}")).plain_text()
    wrong = [await dispatcher.handle_line(alice, f"confirm {n:06d}") for n in range(5) if f"{n:06d}" != code]
    assert "4 tries left" in wrong[0].plain_text() and "Too many wrong codes" in wrong[4].plain_text()
    assert not (await dispatcher.handle_line(alice, f"confirm {code}")).ok, "five wrong guesses end the code"

    await dispatcher.handle_line(alice, f"transfer {NEW}")
    code = await mailed_code(demo_portal, NEW)
    clock.advance(minutes=10, seconds=1)
    assert "expired" in (await dispatcher.handle_line(alice, f"confirm {code}")).plain_text()

    await dispatcher.handle_line(alice, f"transfer {NEW}")
    first = await mailed_code(demo_portal, NEW)
    await dispatcher.handle_line(alice, "transfer other@new.example")
    second = await mailed_code(demo_portal, "other@new.example")
    if first != second:
        assert not (await dispatcher.handle_line(alice, f"confirm {first}")).ok, "a new request replaces it"
    assert (await dispatcher.handle_line(alice, f"confirm {second}")).ok
    again = await dispatcher.handle_line(Caller(platform="console", account_id=alice.account_id,
                                                customer_id=alice_id), f"confirm {second}")
    assert not again.ok, "a code works once"
    assert await email_of(demo_portal, alice_id or 0) == "other@new.example"


async def test_codes_for_a_move_count_with_sign_in_codes(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com")
    for n in range(4):
        assert (await dispatcher.handle_line(Caller(platform="console", account_id=f"s{n}"),
                                             "login busy@new.example")).ok
    assert (await dispatcher.handle_line(alice, "transfer busy@new.example")).ok
    sixth = await dispatcher.handle_line(alice, "transfer busy@new.example")
    assert not sixth.ok and "Too many codes were requested" in sixth.plain_text()
    assert len(await sent_mail(demo_portal, to="busy@new.example")) == 5


async def test_a_trusted_or_confirmed_request_still_needs_the_new_address(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com", platform="email")
    trusted = await dispatcher.handle_line(alice, f"transfer {NEW}", ChangePolicy.PRECONFIRMED)
    assert trusted.ok and trusted.title == "Check the new address"
    assert await email_of(demo_portal, alice.customer_id or 0) == "alice@example.com"

    unverified = await dispatcher.handle_line(alice, "transfer second@new.example", ChangePolicy.ROUND_TRIP)
    assert unverified.confirmation is not None, "an unverified sender confirms the request first"
    assert await sent_mail(demo_portal, to="second@new.example") == []
    asked = await dispatcher.handle_line(alice, f"confirm {unverified.confirmation.code}", ChangePolicy.ROUND_TRIP)
    assert asked.title == "Check the new address"
    code = await mailed_code(demo_portal, "second@new.example")
    assert (await dispatcher.handle_line(alice, f"confirm {code}", ChangePolicy.ROUND_TRIP)).ok
    assert await email_of(demo_portal, alice.customer_id or 0) == "second@new.example"


async def test_undo_gives_the_account_back_within_seven_days(demo_portal: Portal, clock: Clock) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com")
    alice_id = alice.customer_id or 0
    await dispatcher.handle_line(alice, f"transfer {NEW}")
    await dispatcher.handle_line(alice, f"confirm {await mailed_code(demo_portal, NEW)}")
    await link(demo_portal, NEW, "slack", "T1:U1")  # whoever holds the new address signed in
    [notice] = await sent_mail(demo_portal, to="alice@example.com", kind="notice")
    transfer_id = transfers.transfer_in(demo_portal, undo_token(text_of(notice)))

    clock.advance(days=6, hours=23)
    async with demo_portal.db.unit_of_work() as session:
        await transfers.undo(session, demo_portal, transfer_id)
    assert await email_of(demo_portal, alice_id) == "alice@example.com"
    async with demo_portal.db.unit_of_work() as session:
        assert list(await session.scalars(select(ChatLink))) == [], "the new address's chat links went"
        assert await by_email(session, NEW) is None
    [told] = await sent_mail(demo_portal, to=NEW, kind="notice")
    assert "went back to alice@example.com" in text_of(told)
    assert [type(e) for e in await published(demo_portal) if isinstance(e, AccountTransferUndone)] == [
        AccountTransferUndone]
    async with demo_portal.db.unit_of_work() as session:
        with pytest.raises(Conflict, match="already undone"):
            await transfers.undo(session, demo_portal, transfer_id)


async def test_undo_is_refused_late_or_once_the_old_address_is_someone_elses(demo_portal: Portal,
                                                                           clock: Clock) -> None:
    dispatcher = Dispatcher(demo_portal)
    for email, new in (("alice@example.com", NEW), ("bob@example.com", "bob@new.example")):
        caller = await caller_for(demo_portal, email)
        await dispatcher.handle_line(caller, f"transfer {new}")
        await dispatcher.handle_line(caller, f"confirm {await mailed_code(demo_portal, new)}")
    alice_id, bob_id = [transfers.transfer_in(demo_portal, undo_token(text_of(
        (await sent_mail(demo_portal, to=email, kind="notice"))[-1]))) for email in
        ("alice@example.com", "bob@example.com")]
    async with demo_portal.db.unit_of_work() as session:  # someone buys with alice's old address
        await record_purchase(session, demo_portal, PurchaseRequest(
            email="alice@example.com", external_id="after-the-move", items=[PurchaseItem(product="ebook")]))
    async with demo_portal.db.unit_of_work() as session:
        with pytest.raises(Conflict, match="has become another customer's address"):
            await transfers.undoable(session, demo_portal, alice_id)

    clock.advance(days=7, seconds=1)
    async with demo_portal.db.unit_of_work() as session:
        with pytest.raises(Conflict, match="can no longer be undone"):
            await transfers.undoable(session, demo_portal, bob_id)
    with pytest.raises(TokenExpired):
        transfers.transfer_in(demo_portal, undo_token(text_of(
            (await sent_mail(demo_portal, to="bob@example.com", kind="notice"))[-1])))


async def test_the_first_undo_link_undoes_a_chain_of_moves(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice_id = (await caller_for(demo_portal, "alice@example.com")).customer_id or 0
    for new in ("hop1@new.example", "hop2@new.example"):
        caller = Caller(platform="console", account_id=f"hop-{new}", customer_id=alice_id)
        await dispatcher.handle_line(caller, f"transfer {new}")
        await dispatcher.handle_line(caller, f"confirm {await mailed_code(demo_portal, new)}")
    first, second = [transfers.transfer_in(demo_portal, undo_token(text_of(
        (await sent_mail(demo_portal, to=email, kind="notice"))[0]))) for email in
        ("alice@example.com", "hop1@new.example")]
    async with demo_portal.db.unit_of_work() as session:
        await transfers.undo(session, demo_portal, first)
    assert await email_of(demo_portal, alice_id) == "alice@example.com"
    async with demo_portal.db.unit_of_work() as session:
        with pytest.raises(Conflict, match="already undone"):  # the later move's link takes nothing
            await transfers.undo(session, demo_portal, second)
    async with demo_portal.db.unit_of_work() as session:
        orders = list(await session.scalars(select(Order).where(Order.customer_id == alice_id)))
    assert orders, "the account kept everything through the moves"
