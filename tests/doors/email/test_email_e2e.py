"""The email front door end to end: real SMTP in, the worker, replies captured at a real relay."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from pydantic import Field
from sqlalchemy import select

from bot.bootstrap import outbox_sender
from bot.mail.worker import MailWorker
from core.accounts import audit
from core.kernel.db import Database
from core.kernel.portal import Portal
from core.mail import inbox, outbox
from core.models import InboundMail
from handlers import parser
from handlers.context import Context
from handlers.parser import Invocation
from handlers.registry import Arguments, command
from handlers.reply import Reply
from tests.doors.email.conftest import PORTAL, MailDesk, mail, text
from tests.helpers import throwaway_commands


async def test_orders_by_subject_with_threading_headers(desk: MailDesk) -> None:
    sent = mail(subject="orders", Message_ID="<q1@example.com>")
    reply = await desk.exchange(sent)
    assert reply["To"] == "alice@example.com" and reply["Subject"] == "Re: orders"
    assert reply["In-Reply-To"] == "<q1@example.com>" and reply["Auto-Submitted"] == "auto-replied"
    assert reply["X-Shopkeep-Loop"] and reply["Message-ID"].endswith("@shop.test>")
    assert reply.get_body(preferencelist=("html",)) is not None
    assert "Pixel Studio Pro" in text(reply) and "Founders Circle" in text(reply)


async def test_several_commands_in_order_then_ignored_lines_then_help(desk: MailDesk) -> None:
    reply = text(await desk.exchange(mail("product ebook\nprodct 3\nhelp\nwhat is this\nthanks\nreveal 3\n")))
    assert reply.index("> product ebook") < reply.index("> help")
    assert "indie-makers-handbook" not in reply.lower() or "/d/" in reply
    assert 'prodct 3   (did you mean "product"?)' in reply and "what is this" in reply
    assert "> reveal 3" not in reply  # after "thanks" nothing is read
    assert "Send \"help\" for everything" in reply


QUOTED_REPLIES = {
    "gmail": "orders\n\nOn Tue, 3 Mar 2026 at 10:00, Shop <portal@shop.test> wrote:\n> product 3\n> help\n",
    "outlook": "orders\n\n________________________________\nFrom: Shop <portal@shop.test>\nSent: Tuesday, "
               "March 3, 2026 10:00 AM\nTo: Alice\nSubject: Re: help\n\nproduct 3\n",
    "apple": "orders\n\n> On 3 Mar 2026, at 10:00, Shop <portal@shop.test> wrote:\n>\n> product 3\n",
}


@pytest.mark.parametrize("client", sorted(QUOTED_REPLIES))
async def test_quoted_replies_are_not_run(desk: MailDesk, client: str) -> None:
    reply = text(await desk.exchange(mail(QUOTED_REPLIES[client], subject="Re: your message")))
    assert "> orders" in reply and "> product 3" not in reply


async def test_html_only_mail(desk: MailDesk) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "alice@example.com", PORTAL, "hi"
    message.set_content("<html><body><p>product ebook</p><div id='divRplyFwdMsg'><p>orders</p></div>"
                        "</body></html>", subtype="html")
    reply = text(await desk.exchange(message))
    assert "> product ebook" in reply and "> orders" not in reply


async def test_legacy_charsets_and_encoded_subjects(desk: MailDesk) -> None:
    latin = ("From: =?ISO-8859-1?Q?Alice_M=FCller?= <alice@example.com>\r\nTo: portal@shop.test\r\n"
             "Subject: =?ISO-8859-1?Q?product_Indie_Maker=92s?=\r\nMIME-Version: 1.0\r\n"
             "Content-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
             "reveal 3\r\nDanke f\xfcr alles \x96 \x93sch\xf6n\x94\r\n").encode("latin-1")
    reply = text(await desk.exchange(latin))
    assert "> product Indie Maker’s" in reply  # Windows-1252 right quote decoded
    assert "> reveal 3" in reply and "Danke für alles – “schön”" in reply


async def test_iso_8859_1_body_and_utf8_encoded_subject(desk: MailDesk) -> None:
    raw = ("From: alice@example.com\r\nTo: portal@shop.test\r\n"
           "Subject: =?UTF-8?B?UmU6IG9yZGVycw==?=\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n"
           "\r\nproduct ebook\r\nMerci beaucoup, =E0 bient=F4t\r\n").encode("ascii")
    reply = text(await desk.exchange(raw))
    assert reply.index("> orders") < reply.index("> product ebook")
    assert "Merci beaucoup, à bientôt" in reply


async def test_outlook_original_message_and_reply_with_nothing_above_the_quote(desk: MailDesk) -> None:
    original = ("orders\r\n\r\n-----Original Message-----\r\nFrom: Test Store <portal@shop.test>\r\n"
                "Sent: Tuesday, March 3, 2026 10:00 AM\r\nTo: alice@example.com\r\nSubject: RE: help\r\n"
                "\r\nproduct 3\r\n")
    reply = text(await desk.exchange(mail(original, subject="RE: your message")))
    assert "> orders" in reply and "> product 3" not in reply
    nothing = original.split("-----Original Message-----\r\n", 1)[1]
    reply = text(await desk.exchange(mail(nothing, subject="RE: your message")))
    assert "> product 3" not in reply and "we found none in yours" in reply  # nothing to run


async def test_product_and_help_and_a_suggestion(desk: MailDesk) -> None:
    reply = text(await desk.exchange(mail("product pixel-studio\nhelp\nordrs\n")))
    assert "> product pixel-studio" in reply and "Pixel Studio" in reply
    assert "> help" in reply and "orders" in reply.split("> help", 1)[1]
    assert 'ordrs   (did you mean "orders"?)' in reply


async def test_a_mail_without_commands_is_a_question_answered_with_three_commands(desk: MailDesk) -> None:
    question = ("Hi,\n\nI bought the handbook last week but cannot find the download.\n"
                "Ordrs or invoices, where do I look?\n\nAlice\n")
    reply = await desk.exchange(mail(question, subject="Hi there"))  # one reply
    said = text(reply)
    assert "Thanks for writing!" in said
    suggested = [line.split()[0] for line in said.splitlines() if line.startswith("  ")]
    assert suggested == ["orders", "invoices", "help"]
    html = reply.get_body(preferencelist=("html",))
    assert html is not None and "<code>invoices</code>" in str(html.get_content())
    assert "did you mean" not in said.lower() and "Not understood" not in said
    assert "What you can do" not in said and "What it does" not in said  # not the full help
    assert "Ordrs" not in said and "> " not in said  # nothing of the question is repeated


async def test_sign_in_by_email_is_told_the_address_is_enough(desk: MailDesk) -> None:
    said = text(await desk.exchange(mail("login alice@example.com\nverify 123456\norders\n")))
    assert "> login alice@example.com" in said and "> verify 123456" in said
    assert said.count("By email you need no sign-in: we know you by the address you write from.") == 2
    assert "don't know the command" not in said and "Not understood" not in said
    assert "Pixel Studio Pro" in said  # the orders after it still ran


async def test_card_numbers_never_come_back_by_email(desk: MailDesk) -> None:
    reply = await desk.exchange(mail("orders\n4111 1111 1111 1111\nproduct 4242424242424242\n",
                                     subject="card 4111111111111111"))
    raw = reply.as_string()
    assert "4111" not in raw and "4242" not in raw
    assert "looks like a card number" in text(reply)


async def test_card_numbers_are_not_kept_in_the_stored_mail(desk: MailDesk) -> None:
    plain = mail("orders\nmy card is 4111 1111 1111 1111\n", subject="card 4242424242424242",
                 Message_ID="<card1@example.com>")
    encoded = EmailMessage()
    for name in ("From", "To", "Subject"):
        encoded[name] = plain[name]
    encoded["Message-ID"] = "<card2@example.com>"
    encoded.set_content("orders\n5555 5555 5555 4444 exp 12/29\n", cte="base64")
    await desk.send(plain)
    await desk.send(encoded)
    await desk.deliver()
    async with desk.portal.db.unit_of_work() as session:
        stored = list(await session.scalars(select(InboundMail.raw)))
    kept = b"".join(stored).decode("utf-8", "replace")
    assert len(stored) == 2 and "orders" in kept
    for digits in ("4111", "4242", "5555", "NTU1NSA1"):  # the last: the card in base64
        assert digits not in kept


async def test_answered_mail_is_emptied_after_the_retention_period_and_not_answered_again(
        desk: MailDesk) -> None:
    message = mail("orders", Message_ID="<old@example.com>")
    await desk.exchange(message)
    desk.portal.clock.advance(days=31)  # type: ignore[attr-defined]
    desk.worker = MailWorker(desk.portal)  # a new process: purges on its first pass
    await desk.deliver()
    async with desk.portal.db.unit_of_work() as session:
        [(raw, key)] = (await session.execute(select(InboundMail.raw, InboundMail.message_key))).all()
    assert raw == b"" and key == "<old@example.com>"
    await desk.send(message)
    await desk.deliver()
    assert len(desk.relay.messages) == 1, "the re-sent copy still gets no second answer"


class NoteArguments(Arguments):
    text: str = Field(min_length=1)


NOTES: list[str] = []  # every note that really ran, to count changes


@pytest.fixture
def note_command() -> Iterator[None]:
    """A throwaway command that changes something (an audit entry) and says so."""
    with throwaway_commands():
        NOTES.clear()

        @command("note", summary="Leave a note on the account", mutates=True)
        async def note(ctx: Context, args: NoteArguments) -> Reply:
            await audit.record(ctx.session, customer_id=ctx.customer_id, actor=ctx.caller.actor,
                               action="note", text=args.text)
            NOTES.append(args.text)
            return Reply.text(f"Noted: {args.text}")

        yield


TRUSTED = "mx.shop.test; dkim=pass header.d=example.com header.s=s1; dmarc=pass header.from=example.com"
FORGED = "mx.attacker.test; dkim=pass header.d=example.com; dmarc=pass header.from=example.com"
UNALIGNED = "mx.shop.test; dkim=pass header.d=bulk-mailer.example.net; dmarc=fail header.from=example.com"


@pytest.mark.usefixtures("note_command")
async def test_changes_run_with_a_trusted_dkim_pass(desk: MailDesk) -> None:
    reply = await desk.exchange(mail("note hello", Authentication_Results=TRUSTED))
    assert "Noted: hello" in text(reply) and reply["Reply-To"] is None
    assert NOTES == ["hello"]


def code_in(message: EmailMessage) -> str:
    return text(message).split('"confirm ')[1].split('"')[0]


@pytest.mark.usefixtures("note_command")
@pytest.mark.parametrize("authentication", [FORGED, UNALIGNED, None], ids=["forged", "unaligned", "none"])
@pytest.mark.parametrize("how", ["reply", "code"])
async def test_unverified_changes_need_a_confirmation_round_trip(
        desk: MailDesk, how: str, authentication: str | None) -> None:
    headers = {"Authentication_Results": authentication} if authentication else {}
    asked = await desk.exchange(mail("note Hello World", **headers))
    assert "Noted" not in text(asked) and "confirm" in text(asked) and NOTES == []
    reply_to = str(asked["Reply-To"])
    assert reply_to.startswith("portal+") and reply_to.endswith("@shop.test")
    assert asked["To"] == "alice@example.com"
    if how == "reply":
        # The customer's reply quotes our message, subject and all; only the confirmation runs.
        answer = mail(f"yes\n\nOn Tue, Shop wrote:\n> {text(asked)}", subject=f"Re: {asked['Subject']}")
        del answer["To"]
        answer["To"] = reply_to
        done = await desk.exchange(answer, recipients=(reply_to,))
        again = await desk.exchange(mail("yes", subject="Re: again"), recipients=(reply_to,))
    else:
        code = code_in(asked)
        done = await desk.exchange(mail(f"confirm {code}"))
        again = await desk.exchange(mail(f"confirm {code.lower()}"))
    assert "Noted: Hello World" in text(done)
    assert "already done" in text(again)
    assert NOTES == ["Hello World"]  # exactly once, arguments with their case


@pytest.mark.usefixtures("note_command")
async def test_someone_else_cannot_use_a_confirmation(desk: MailDesk) -> None:
    asked = await desk.exchange(mail("note mine"))
    reply_to = str(asked["Reply-To"])
    answer = await desk.exchange(mail("yes", sender="bob@example.com"), recipients=(reply_to,))
    assert answer["To"] == "bob@example.com" and "Noted" not in text(answer)
    code = await desk.exchange(mail(f"confirm {code_in(asked)}", sender="bob@example.com"))
    assert "Noted" not in text(code) and NOTES == []


@pytest.mark.parametrize(("headers", "envelope_sender"), [
    ({}, ""),
    ({"From": "MAILER-DAEMON@example.com"}, "bounces@example.com"),
    ({}, "MAILER-DAEMON@mx.example.com"),
    ({"From": "postmaster@example.com"}, "postmaster@example.com"),
    ({"Auto-Submitted": "auto-replied"}, "alice@example.com"),
    ({"Auto-Submitted": "auto-generated"}, "alice@example.com"),
    ({"Precedence": "bulk"}, "alice@example.com"),
    ({"Precedence": "junk"}, "alice@example.com"),
    ({"Precedence": "list"}, "alice@example.com"),
    ({"List-Id": "<news.example.com>"}, "alice@example.com"),
    ({"From": PORTAL}, PORTAL),
    ({"From": "Shop <portal+17.1800000000.abcdefghijklmnopqrst@shop.test>"}, "alice@example.com"),
    ({"X-Shopkeep-Loop": PORTAL}, "alice@example.com"),
    ({"X-Autoreply": "yes"}, "alice@example.com"),
    ({"X-Auto-Response-Suppress": "All"}, "alice@example.com"),
    ({"From": "Alice <alice@example.com>, Bob <bob@example.com>"}, "alice@example.com"),
])
async def test_never_answers_robots_lists_or_itself(desk: MailDesk, headers: dict[str, str],
                                                     envelope_sender: str) -> None:
    message = mail("orders")
    for name, value in headers.items():
        del message[name]
        message[name] = value
    await desk.send(message, sender=envelope_sender)
    await desk.deliver()
    assert desk.relay.messages == []
    async with desk.portal.db.unit_of_work() as session:
        outcome = await session.scalar(select(InboundMail.outcome))
    assert outcome and outcome.startswith("no reply")


async def test_unknown_sender_gets_a_polite_answer_about_nothing_else(desk: MailDesk) -> None:
    reply = await desk.exchange(mail("orders", sender="stranger@example.org"))
    assert reply["To"] == "stranger@example.org"
    assert "could not find a customer account" in text(reply) and "Pixel" not in text(reply)


async def test_refusals_at_the_smtp_door(desk: MailDesk) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        await desk.send(mail("orders"), recipients=("someone@shop.test",))
    assert refused.value.recipients["someone@shop.test"][0] == 550
    big = mail("orders\n" + "x" * (1024 * 1024 + 10))

    def send_big() -> None:
        with smtplib.SMTP("127.0.0.1", desk.port) as session:
            session.send_message(big, to_addrs=[PORTAL])

    with pytest.raises(smtplib.SMTPException) as too_big:
        await asyncio.to_thread(send_big)
    assert "552" in str(too_big.value)


@pytest.mark.usefixtures("note_command")
async def test_hourly_limit_then_one_notice_then_silence(desk: MailDesk) -> None:
    for n in range(5):
        await desk.exchange(mail("orders", Message_ID=f"<r{n}@example.com>"))
    notice = await desk.exchange(mail("note over the limit", Message_ID="<r5@example.com>",
                                      Authentication_Results=TRUSTED))
    assert "pausing answers" in text(notice) and "Noted" not in text(notice)
    await desk.send(mail("note still over", Message_ID="<r6@example.com>", Authentication_Results=TRUSTED))
    await desk.deliver()
    assert len(desk.relay.messages) == 6 and NOTES == []  # over the limit nothing runs
    desk.portal.clock.advance(minutes=61)  # type: ignore[attr-defined]
    assert "Noted: later" in text(await desk.exchange(mail("note later", Authentication_Results=TRUSTED)))


async def test_a_resent_message_is_answered_once(desk: MailDesk) -> None:
    message = mail("orders", Message_ID="<same@example.com>")
    await desk.send(message)
    await desk.send(message)
    await desk.deliver()
    assert len(desk.relay.messages) == 1


async def test_many_messages_at_once_are_each_kept_and_answered_once(desk: MailDesk) -> None:
    # Stored many to a commit: copies arriving in the same commit still count as copies.
    desk.portal.settings.mail_replies_per_hour = 50
    messages = [mail("orders", Message_ID=f"<burst{n}@example.com>") for n in range(12)]
    await asyncio.gather(*(desk.send(m) for m in [*messages, *messages[:4]]))
    async with desk.portal.db.unit_of_work() as session:
        assert len(list(await session.scalars(select(InboundMail)))) == 12
    await desk.deliver()
    assert sorted(str(m["In-Reply-To"]) for m in desk.relay.messages) == sorted(
        f"<burst{n}@example.com>" for n in range(12))


@pytest.mark.usefixtures("note_command", "broken_reader")
async def test_a_failing_message_does_not_hold_up_the_others(desk: MailDesk) -> None:
    desk.portal.settings.mail_replies_per_hour = 50
    sent = [mail("orders", Message_ID="<one@example.com>"),
            mail("stats", Message_ID="<bug@example.com>"),
            mail("note kept", Message_ID="<note@example.com>", Authentication_Results=TRUSTED),
            mail("product ebook", Message_ID="<two@example.com>")]
    for message in sent:
        await desk.send(message)
    await desk.deliver()
    replies = {str(m["In-Reply-To"]): text(m) for m in desk.relay.messages}
    assert sorted(replies) == sorted(str(m["Message-ID"]) for m in sent)
    assert "Your orders" in replies["<one@example.com>"]
    assert "Something went wrong on our side" in replies["<bug@example.com>"]
    assert "The Indie Maker's Handbook" in replies["<two@example.com>"]
    assert NOTES == ["kept"], "the change ran once, whatever its neighbours did"


async def test_a_restart_after_250_still_answers_once(desk: MailDesk, database_url: Any) -> None:
    await desk.send(mail("orders", Message_ID="<crash@example.com>"))
    # The process dies right after its 250: no worker ran, everything stops.
    desk.server.close()
    await desk.server.wait_closed()
    await desk.portal.db.close()
    restarted = Portal(settings=desk.portal.settings, db=Database(*database_url), clock=desk.portal.clock)
    try:
        assert await MailWorker(restarted).process_pending() == 1
        assert await MailWorker(restarted).process_pending() == 0
        await outbox_sender(restarted).send_due()
        await outbox_sender(restarted).send_due()
    finally:
        await restarted.close()
    assert [str(m["In-Reply-To"]) for m in desk.relay.messages] == ["<crash@example.com>"]


async def test_a_worker_dying_mid_message_is_replaced_once_its_lease_ends(desk: MailDesk) -> None:
    await desk.send(mail("orders", Message_ID="<lease@example.com>"))
    assert len(await inbox.claim(desk.portal)) == 1  # claimed, then its worker dies
    assert await desk.worker.process_pending() == 0  # still leased to the dead worker
    desk.portal.clock.advance(minutes=3)  # type: ignore[attr-defined]
    assert await desk.worker.process_pending() == 1
    await desk.deliver()
    assert [str(m["In-Reply-To"]) for m in desk.relay.messages] == ["<lease@example.com>"]


@pytest.mark.usefixtures("note_command")
async def test_a_trusted_change_is_not_repeated_after_a_crash(desk: MailDesk) -> None:
    await desk.send(mail("note once", Authentication_Results=TRUSTED))
    await inbox.claim(desk.portal)  # the first worker may have run it before dying
    desk.portal.clock.advance(minutes=3)  # type: ignore[attr-defined]
    await desk.deliver()
    (reply,) = desk.relay.messages
    assert "Noted" not in text(reply) and "confirm" in text(reply) and NOTES == []


async def test_relay_down_then_up_delivers_once(desk: MailDesk) -> None:
    await desk.relay.stop()
    await desk.send(mail("orders", Message_ID="<down@example.com>"))
    await desk.deliver()
    async with desk.portal.db.unit_of_work() as session:
        queued = (await outbox.listing(session))[0]  # the newest
    assert queued.status == "queued" and queued.last_error
    await desk.relay.start()
    await outbox_sender(desk.portal).send_due()
    assert desk.relay.messages == []  # backing off: not due yet
    desk.portal.clock.advance(minutes=2)  # type: ignore[attr-defined]
    await outbox_sender(desk.portal).send_due()
    await outbox_sender(desk.portal).send_due()
    assert [str(m["In-Reply-To"]) for m in desk.relay.messages] == ["<down@example.com>"]
    async with desk.portal.db.unit_of_work() as session:
        rows = await outbox.listing(session)
    assert [row.status for row in rows if row.id == queued.id] == ["sent"]


async def test_two_workers_never_answer_the_same_message(desk: MailDesk, database_url: Any) -> None:
    for n in range(12):
        await desk.send(mail("help", Message_ID=f"<w{n}@example.com>", sender="Alice <alice@example.com>"))
    other = Portal(settings=desk.portal.settings.model_copy(update={"mail_replies_per_hour": 100}),
                   db=Database(*database_url), clock=desk.portal.clock)
    mine = Portal(settings=other.settings, db=desk.portal.db, clock=desk.portal.clock)
    try:
        handled = await asyncio.gather(MailWorker(mine).process_pending(), MailWorker(other).process_pending())
        await outbox_sender(mine).send_due()
    finally:
        await other.close()
    assert sum(handled) == 12
    assert sorted(str(m["In-Reply-To"]) for m in desk.relay.messages) == sorted(
        f"<w{n}@example.com>" for n in range(12))


async def test_invoice_march_comes_back_as_a_pdf_attachment(desk: MailDesk) -> None:
    reply = await desk.exchange(mail("", subject="invoice March"))
    attachments = list(reply.iter_attachments())
    assert attachments and all(a.get_content_type() == "application/pdf" for a in attachments)
    names = [a.get_filename() for a in attachments]
    assert all(name and name.startswith("INV-2026-") for name in names)
    assert "March 2026" in text(reply)
    for attachment in attachments:
        data = attachment.get_content()
        assert isinstance(data, bytes) and data.startswith(b"%PDF")


async def test_smtputf8_sender_gets_an_answer(desk: MailDesk) -> None:
    message = mail("orders", sender="José <josé@exämple.com>")

    def send() -> None:
        with smtplib.SMTP("127.0.0.1", desk.port, timeout=10) as session:
            session.send_message(message, from_addr="josé@exämple.com", to_addrs=[PORTAL],
                                 mail_options=["SMTPUTF8"])

    await asyncio.to_thread(send)
    await desk.deliver()
    (reply,) = desk.relay.messages
    assert reply["To"] == "josé@exämple.com" and "could not find a customer account" in text(reply)


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    """Every line the shared parser was given, and every text checked for card numbers in it."""
    lines: list[str] = []
    checked: list[str] = []
    parse, check = Invocation.parse, parser.looks_like_card_number

    def counting_parse(cls: type[Invocation], line: str) -> Invocation:
        lines.append(line)
        return parse(line)

    def counting_check(text: str) -> bool:
        checked.append(text)
        return check(text)

    monkeypatch.setattr(Invocation, "parse", classmethod(counting_parse))
    monkeypatch.setattr(parser, "looks_like_card_number", counting_check)
    return lines, checked


async def test_each_line_is_parsed_and_checked_for_card_numbers_once(
        desk: MailDesk, parsed: tuple[list[str], list[str]]) -> None:
    reply = await desk.exchange(mail("product ebook\nordrs\n4111 1111 1111 1111\nhelp\nthanks\n",
                                     subject="Re: orders"))
    lines, checked = parsed
    # The stored copy already has the card number masked; the line is still read as one.
    assert lines == ["orders", "product ebook", "ordrs", "[card number removed]", "help"]
    assert checked == lines
    said = text(reply)
    assert said.index("> orders") < said.index("> product ebook") < said.index("> help")
    assert 'ordrs   (did you mean "orders"?)' in said and "4111" not in reply.as_string()
    assert "(a line that looks like a card number; not read. Send `payment` to add a card)" in said
