"""One-time codes: expiry, single use, brute force, rate limits, and no enumeration."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import event, select

from core.identity import chat_links
from core.identity.customers import by_email
from core.kernel.events import ChatAccountLinked, ChatAccountUnlinked
from core.kernel.portal import Portal
from core.models import ChatLink, CodeChallenge
from handlers.context import Caller
from handlers.dispatcher import Dispatcher
from tests.conftest import Clock
from tests.helpers import caller_for, published, sent_mail, text_of


def stranger(name: str = "u1", platform: str = "console") -> Caller:
    return Caller(platform=platform, account_id=name)


async def latest_code(portal: Portal, email: str) -> str:
    mails = await sent_mail(portal, to=email, kind="code")
    match = re.search(r"\b(\d{6})\b", str(mails[-1]["Subject"]))
    assert match, "the code is in the subject"
    assert match.group(1) in text_of(mails[-1])
    return match.group(1)


async def test_sign_in_with_the_emailed_code(demo_portal: Portal) -> None:
    dispatcher, caller = Dispatcher(demo_portal), stranger()
    assert (await dispatcher.handle_line(caller, "orders")).title == "Please sign in"
    await dispatcher.handle_line(caller, "login Bob@Example.com")
    reply = await dispatcher.handle_line(caller, f"verify {await latest_code(demo_portal, 'bob@example.com')}")
    assert reply.ok and "Signed in as bob@example.com" in reply.plain_text()
    orders = await dispatcher.handle_line(caller, "orders")
    # Bob bought the handbook and the Sprite Club; alice gave him a seat of her team's product.
    assert [row[1] for row in orders.tables[0].rows] == ["The Indie Maker's Handbook", "Sprite Club",
                                                         "Tileset Forge Teams"]


async def test_a_code_works_once_and_only_for_ten_minutes(demo_portal: Portal, clock: Clock) -> None:
    dispatcher = Dispatcher(demo_portal)
    first = stranger("a")
    await dispatcher.handle_line(first, "login bob@example.com")
    code = await latest_code(demo_portal, "bob@example.com")
    assert (await dispatcher.handle_line(first, f"verify {code}")).ok
    second = stranger("a")
    reused = await dispatcher.handle_line(second, f"verify {code}")
    assert not reused.ok and second.customer_id is None

    late = stranger("b")
    await dispatcher.handle_line(late, "login bob@example.com")
    code = await latest_code(demo_portal, "bob@example.com")
    clock.advance(minutes=10, seconds=1)
    expired = await dispatcher.handle_line(late, f"verify {code}")
    assert "expired" in expired.plain_text() and late.customer_id is None


async def test_five_wrong_guesses_kill_the_code(demo_portal: Portal) -> None:
    dispatcher, caller = Dispatcher(demo_portal), stranger()
    await dispatcher.handle_line(caller, "login bob@example.com")
    code = await latest_code(demo_portal, "bob@example.com")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    answers = [(await dispatcher.handle_line(caller, f"verify {wrong}")).plain_text() for _ in range(5)]
    assert "4 tries left" in answers[0] and "Too many wrong codes" in answers[-1]
    right = await dispatcher.handle_line(caller, f"verify {code}")
    assert not right.ok and caller.customer_id is None


async def test_rate_limits_per_email_and_per_caller(demo_portal: Portal, clock: Clock) -> None:
    dispatcher = Dispatcher(demo_portal)
    for n in range(5):
        assert (await dispatcher.handle_line(stranger(f"c{n}"), "login bob@example.com")).ok
    limited = await dispatcher.handle_line(stranger("c9"), "login bob@example.com")
    assert not limited.ok and "Too many" in limited.plain_text()
    assert len(await sent_mail(demo_portal, to="bob@example.com", kind="code")) == 5

    caller = stranger("spammer")
    for n in range(10):
        await dispatcher.handle_line(caller, f"login someone{n}@example.com")
    assert "Too many" in (await dispatcher.handle_line(caller, "login alice@example.com")).plain_text()
    clock.advance(hours=1, seconds=1)
    assert (await dispatcher.handle_line(caller, "login alice@example.com")).ok


async def test_unknown_address_gets_the_same_answer_and_no_code(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    known = await dispatcher.handle_line(stranger("k"), "login bob@example.com")
    unknown = await dispatcher.handle_line(stranger("u"), "login nobody@example.com")
    assert known.plain_text().replace("bob", "X") == unknown.plain_text().replace("nobody", "X")
    [notice] = await sent_mail(demo_portal, to="nobody@example.com")
    assert "no purchases made with it" in text_of(notice)
    assert not re.search(r"\b\d{6}\b", text_of(notice) + str(notice["Subject"])), "no code in it"


async def test_known_and_unknown_addresses_take_the_same_database_work(demo_portal: Portal) -> None:
    # Timing told customers from strangers: both paths must run the same statements.
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    dispatcher = Dispatcher(demo_portal)
    event.listen(demo_portal.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        await dispatcher.handle_line(stranger("k"), "login bob@example.com")
        known, statements[:] = list(statements), []
        await dispatcher.handle_line(stranger("u"), "login nobody@example.com")
        unknown = list(statements)
    finally:
        event.remove(demo_portal.db.engine.sync_engine, "before_cursor_execute", count)
    assert known == unknown and any(s.startswith("INSERT") for s in known)


async def test_only_a_keyed_hash_of_the_code_is_stored(demo_portal: Portal) -> None:
    await Dispatcher(demo_portal).handle_line(stranger(), "login bob@example.com")
    code = await latest_code(demo_portal, "bob@example.com")
    async with demo_portal.db.unit_of_work() as session:
        challenge = await session.scalar(select(CodeChallenge).where(CodeChallenge.code_hash.is_not(None)))
    assert challenge is not None and challenge.code_hash
    stored = " ".join(str(getattr(challenge, column.key)) for column in CodeChallenge.__table__.columns)
    assert code not in stored
    unkeyed = {hashlib.sha256(text.encode()).hexdigest() for text in (code, f"bob@example.com\x00{code}")}
    assert challenge.code_hash not in unkeyed, "a six-digit code hashed without a key is trivially reversed"


async def test_a_chat_account_is_linked_and_can_switch(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    caller = stranger("4242", platform="discord")
    for email in ("bob@example.com", "alice@example.com"):
        await dispatcher.handle_line(caller, f"login {email}")
        reply = await dispatcher.handle_line(caller, f"verify {await latest_code(demo_portal, email)}")
    assert "was linked to bob@example.com before" in reply.plain_text()
    async with demo_portal.db.unit_of_work() as session:
        links = list(await session.scalars(select(ChatLink)))
    assert [(link.platform, link.account_id) for link in links] == [("discord", "4242")]
    # Each log names its own customer only: Alice's never holds Bob's address, his says it left.
    for email, words in (("alice@example.com", "Linked a Discord account"),
                         ("bob@example.com", "Signed out a Discord account (it signed in with another address)")):
        shown = (await dispatcher.handle_line(await caller_for(demo_portal, email), "activity")).tables[0].rows
        assert words in [row[1] for row in shown], email
        assert not any("example.com" in cell for row in shown for cell in row if "seat" not in cell), email
    assert (await dispatcher.handle_line(caller, "logout")).ok
    async with demo_portal.db.unit_of_work() as session:
        assert list(await session.scalars(select(ChatLink))) == []


async def test_the_per_email_limit_ignores_spelling_and_is_the_same_for_strangers(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    spellings = ["bob@example.com", "BOB@example.com", " Bob@Example.COM ", "<bob@example.com>",
                 "bob@EXAMPLE.com"]
    known = [await dispatcher.handle_line(stranger(f"k{n}"), f"login {s}") for n, s in enumerate(spellings)]
    unknown = [await dispatcher.handle_line(stranger(f"u{n}"), "login ghost@example.com") for n in range(5)]
    assert all(reply.ok for reply in known + unknown)
    sixth_known = await dispatcher.handle_line(stranger("k9"), "login Bob@example.com")
    sixth_unknown = await dispatcher.handle_line(stranger("u9"), "login ghost@example.com")
    assert not sixth_known.ok and sixth_known.plain_text() == sixth_unknown.plain_text()


async def test_a_code_only_works_for_the_caller_who_asked(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    asker, thief = stranger("asker", "discord"), stranger("thief", "discord")
    await dispatcher.handle_line(asker, "login bob@example.com")
    code = await latest_code(demo_portal, "bob@example.com")
    assert not (await dispatcher.handle_line(thief, f"verify {code}")).ok
    assert thief.customer_id is None
    assert (await dispatcher.handle_line(asker, f"verify {code}")).ok


async def test_a_new_login_replaces_the_old_code(demo_portal: Portal) -> None:
    dispatcher, caller = Dispatcher(demo_portal), stranger()
    await dispatcher.handle_line(caller, "login bob@example.com")
    first = await latest_code(demo_portal, "bob@example.com")
    await dispatcher.handle_line(caller, "login bob@example.com")
    second = await latest_code(demo_portal, "bob@example.com")
    if first != second:
        assert not (await dispatcher.handle_line(caller, f"verify {first}")).ok
    assert (await dispatcher.handle_line(caller, f"verify {second}")).ok
    assert caller.customer_id is not None


async def test_verify_without_login_and_for_an_unknown_address(demo_portal: Portal) -> None:
    dispatcher, caller = Dispatcher(demo_portal), stranger()
    assert "login" in (await dispatcher.handle_line(caller, "verify 123456")).plain_text()
    await dispatcher.handle_line(caller, "login ghost@example.com")
    guesses = [await dispatcher.handle_line(caller, f"verify {n:06d}") for n in range(5)]
    assert not any(reply.ok for reply in guesses) and caller.customer_id is None
    assert "4 tries left" in guesses[0].plain_text(), "the same answer as a known address"


async def test_the_code_mail_goes_only_to_the_customer(demo_portal: Portal) -> None:
    await Dispatcher(demo_portal).handle_line(stranger(), "login Bob@Example.com")
    [mail] = await sent_mail(demo_portal, kind="code")
    assert mail["To"] == "bob@example.com" and mail["Auto-Submitted"] == "auto-generated"
    assert mail["From"].addresses[0].addr_spec == "portal@shop.test"


async def test_unlinking_a_workspace_leaves_lookalike_ids_linked(demo_portal: Portal) -> None:
    """A workspace id is a prefix, not a pattern: "T_1:" must not match "TX1:"."""
    async with demo_portal.db.unit_of_work() as session:
        alice = await by_email(session, "alice@example.com")
        assert alice is not None
        for account in ("T_1:U1", "T_1:U2", "TX1:U3", "T_10:U4"):
            await chat_links.link_chat_account(session, alice, platform="slack", account_id=account)
    async with demo_portal.db.unit_of_work() as session:
        unlinked = await chat_links.unlink_chat_accounts_under(
            session, platform="slack", prefix="T_1:", actor="slack:T_1", reason="removed")
    async with demo_portal.db.unit_of_work() as session:
        left = {link.account_id for link in await session.scalars(select(ChatLink))}
    assert unlinked == 2
    assert left == {"T_10:U4", "TX1:U3"}


async def test_linking_and_unlinking_are_announced(demo_portal: Portal) -> None:
    async with demo_portal.db.unit_of_work() as session:
        alice, bob = await by_email(session, "alice@example.com"), await by_email(session, "bob@example.com")
        assert alice is not None and bob is not None
        await chat_links.link_chat_account(session, alice, platform="discord", account_id="42")
        await chat_links.link_chat_account(session, bob, platform="discord", account_id="42")
        await chat_links.link_chat_account(session, bob, platform="slack", account_id="T1:U1")
    async with demo_portal.db.unit_of_work() as session:
        assert await chat_links.unlink_chat_account(session, platform="discord", account_id="42")
        assert not await chat_links.unlink_chat_account(session, platform="discord", account_id="42")
        await chat_links.unlink_chat_accounts_under(session, platform="slack", prefix="T1:",
                                                    actor="slack:T1", reason="removed")
    chat = [e for e in await published(demo_portal) if isinstance(e, ChatAccountLinked | ChatAccountUnlinked)]
    assert chat == [
        ChatAccountLinked(customer_id=alice.id, platform="discord", account_id="42"),
        ChatAccountUnlinked(customer_id=alice.id, platform="discord", account_id="42"),
        ChatAccountLinked(customer_id=bob.id, platform="discord", account_id="42"),
        ChatAccountLinked(customer_id=bob.id, platform="slack", account_id="T1:U1"),
        ChatAccountUnlinked(customer_id=bob.id, platform="discord", account_id="42"),
        ChatAccountUnlinked(customer_id=bob.id, platform="slack", account_id="T1:U1"),
    ], "moving an account to another customer unlinks it from the first"


async def test_login_when_signed_in_says_so(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com")
    same = await dispatcher.handle_line(alice, "login Alice@Example.com")
    assert same.ok and "already signed in as alice@example.com" in same.plain_text()
    assert await sent_mail(demo_portal, to="alice@example.com", kind="code") == []
    other = await dispatcher.handle_line(alice, "login bob@example.com")
    assert "switches this account to bob@example.com" in other.plain_text()


async def test_code_hints_name_the_address_and_count_properly(demo_portal: Portal, clock: Clock) -> None:
    dispatcher = Dispatcher(demo_portal)
    caller = stranger("hints")
    await dispatcher.handle_line(caller, "login bob@example.com")
    answers = [(await dispatcher.handle_line(caller, "verify 000000")).plain_text() for _ in range(4)]
    assert "1 try left" in answers[3]
    await dispatcher.handle_line(caller, "login bob@example.com")
    clock.advance(minutes=11)
    assert "Send `login bob@example.com` again" in (await dispatcher.handle_line(caller, "verify 000000")).plain_text()
