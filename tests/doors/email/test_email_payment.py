"""`payment` by email, end to end through the mail desk: the cards and the link in the answer,
a change confirmed by replying (or at once with a trusted DKIM pass), once, and only by the
customer; a card number in a mail is refused, pointed at `payment`, and not kept."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select

from core.models import InboundMail
from tests.conftest import Clock
from tests.doors.email.conftest import MailDesk, mail, text
from tests.doors.email.test_email_e2e import TRUSTED, code_in
from tests.handlers.cards import add_card, billed_by_shopkeep, cards, forget_cards

ALICE = "alice@example.com"


NOTICE = "Your payment method at Test Store changed"


async def exchange(desk: MailDesk, raw: EmailMessage, **kwargs: Any) -> tuple[EmailMessage, list[EmailMessage]]:
    """Send `raw`; the one answer to it, and the mails that confirm a change it made."""
    before = len(desk.relay.messages)
    await desk.send(raw, **kwargs)
    await desk.deliver()
    new = desk.relay.messages[before:]
    answers = [m for m in new if m["Subject"] != NOTICE]
    assert len(answers) == 1, "exactly one answer"
    return answers[0], [m for m in new if m["Subject"] == NOTICE]


@pytest.fixture
async def shop(desk: MailDesk, clock: Clock) -> MailDesk:
    await forget_cards(desk.portal, ALICE)  # instead of the demo's card, these two
    await billed_by_shopkeep(desk.portal, ALICE)
    await add_card(desk.portal, ALICE, "pm_card_chargeDeclined")
    clock.advance(minutes=1)
    await add_card(desk.portal, ALICE)
    await desk.deliver()
    assert [m["Subject"] for m in desk.relay.messages] == [NOTICE] * 2
    desk.relay.messages.clear()
    return desk


async def test_the_answer_lists_the_cards_and_carries_the_link(shop: MailDesk) -> None:
    reply = await shop.exchange(mail("payment"))

    said = text(reply)
    assert reply["To"] == ALICE
    assert "Your payment methods" in said and "Visa ending in 4242" in said and "Maker Pro Membership" in said
    assert "http://portal.test/pay/" in said and "Test mode" in said
    assert "confirm" not in said.lower(), "looking changes nothing: no confirmation asked"


@pytest.mark.parametrize("how", ["reply", "code"])
async def test_an_unverified_change_is_confirmed_by_the_round_trip_once(shop: MailDesk, how: str) -> None:
    asked = await shop.exchange(mail("payment default 2"))

    said = text(asked)
    assert "Make your Visa ending in 0002 the default?" in said
    assert "Maker Pro Membership will renew with it instead of your Visa ending in 4242" in said
    assert await cards(shop.portal, ALICE) == [("4242", True), ("0002", False)]
    if how == "reply":
        reply_to = str(asked["Reply-To"])
        answer = mail(f"yes\n\nOn Tue, Shop wrote:\n> {said}", subject=f"Re: {asked['Subject']}")
        done, notices = await exchange(shop, answer, recipients=(reply_to,))
        again, more = await exchange(shop, mail("yes", subject="Re: again"), recipients=(reply_to,))
    else:
        done, notices = await exchange(shop, mail(f"confirm {code_in(asked)}"))
        again, more = await exchange(shop, mail(f"confirm {code_in(asked)}"))

    assert "Your Visa ending in 0002 (expires 12/29) is now your default payment method." in text(done)
    assert "already done" in text(again)
    assert [m["To"] for m in notices] == [ALICE] and more == [], "one confirming mail for the one change"
    assert "Your Visa ending in 0002 (expires 12/29) is now your default payment method." in text(notices[0])
    assert await cards(shop.portal, ALICE) == [("0002", True), ("4242", False)]


async def test_a_trusted_dkim_pass_removes_at_once(shop: MailDesk) -> None:
    reply, notices = await exchange(shop, mail("payment remove 2", Authentication_Results=TRUSTED))
    assert "Your Visa ending in 0002 is removed." in text(reply)
    assert len(notices) == 1 and "Your Visa ending in 0002 was removed from your account." in text(notices[0])
    assert await cards(shop.portal, ALICE) == [("4242", True)]


async def test_the_last_card_is_refused_by_email_too(shop: MailDesk) -> None:
    await exchange(shop, mail("payment remove 2", Authentication_Results=TRUSTED))
    reply = await shop.exchange(mail("payment remove 1"))
    assert "the only payment method Maker Pro Membership renews with" in text(reply)
    assert "confirm" not in text(reply).lower()
    assert await cards(shop.portal, ALICE) == [("4242", True)]


async def test_bob_reaches_none_of_alices_cards(shop: MailDesk) -> None:
    await forget_cards(shop.portal, "bob@example.com")  # his declined demo card ends in 0002 too
    listing = await shop.exchange(mail("payment", sender="bob@example.com"))
    assert "You have no saved card yet" in text(listing) and "4242" not in text(listing)
    refused = await shop.exchange(mail("payment remove 1", sender="bob@example.com",
                                       Authentication_Results=TRUSTED.replace("example.com", "example.com")))
    assert "You have no saved payment method" in text(refused)
    asked = await shop.exchange(mail("payment remove 2"))
    stolen = await shop.exchange(mail("yes", sender="bob@example.com"), recipients=(str(asked["Reply-To"]),))
    assert stolen["To"] == "bob@example.com" and "removed" not in text(stolen)
    assert len(await cards(shop.portal, ALICE)) == 2


async def test_a_card_number_with_its_expiry_and_cvc_is_refused_and_not_kept(shop: MailDesk) -> None:
    reply = await shop.exchange(mail("payment\n4242 4242 4242 4242 12/30 123\n",
                                     Message_ID="<card-cvc@example.com>"))

    said = text(reply)
    assert "Your payment methods" in said, "the command before it still ran"
    assert "(a line that looks like a card number; not read. Send `payment` to add a card)" in said
    assert "4242 4242 4242 4242" not in reply.as_string()
    async with shop.portal.db.unit_of_work() as session:
        stored = b"".join(await session.scalars(select(InboundMail.raw))).decode("utf-8", "replace")
    assert "4242 4242 4242 4242" not in stored and "[card number removed] 12/30 123" in stored


async def test_a_command_with_a_card_number_is_refused_and_pointed_at_payment(shop: MailDesk) -> None:
    reply = await shop.exchange(mail("payment default 4242 4242 4242 4242 123"))
    said = text(reply)
    assert "looks like a card number" in said and "Send `payment` for a link" in said
    assert "4242 4242" not in reply.as_string()
    assert await cards(shop.portal, ALICE) == [("4242", True), ("0002", False)]
