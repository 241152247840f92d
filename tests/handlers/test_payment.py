"""`payment` (alias `card`) on the console: the saved cards and the link to add one, `payment
default <n>` and `payment remove <n>` with a preview and a confirmation that runs once, and
nobody reaching another customer's cards by any number or id."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from adapters.payments.testmode import TestModeProvider
from core.kernel.portal import Portal
from core.models import AuditEvent, PaymentMethod, PendingAction, Subscription
from handlers.dispatcher import Dispatcher
from handlers.reply import Reply
from tests.conftest import Clock
from tests.handlers.cards import (
    add_card,
    all_methods,
    billed_by_shopkeep,
    cards,
    customer,
    forget_cards,
    payment,
)
from tests.helpers import caller_for, published, sent_mail, text_of

ALICE, BOB, DANA = "alice@example.com", "bob@example.com", "dana@example.com"


@pytest.fixture
async def alice_cards(demo_portal: Portal, clock: Clock) -> Portal:
    """alice's Maker Pro renews through shopkeep; instead of the demo's card she has a 0002 card
    (2, older) and a 4242 card (1, newer, the default)."""
    await forget_cards(demo_portal, ALICE)
    await billed_by_shopkeep(demo_portal, ALICE)
    await add_card(demo_portal, ALICE, "pm_card_chargeDeclined")
    clock.advance(minutes=1)
    await add_card(demo_portal, ALICE, "pm_card_visa")
    return demo_portal


async def confirm(portal: Portal, email: str, preview: Reply) -> Reply:
    assert preview.ok and preview.confirmation is not None, preview.plain_text()
    return await payment(portal, email, preview.confirmation.typed)


async def renews_with(portal: Portal, email: str) -> str | None:
    who = await customer(portal, email)
    async with portal.db.unit_of_work() as session:
        subscription = await session.scalar(select(Subscription).where(
            Subscription.customer_id == who.id, Subscription.billed_by == "shopkeep"))
        assert subscription is not None
        method = await session.get(PaymentMethod, subscription.payment_method_id) \
            if subscription.payment_method_id else None
    return method.last4 if method else None


async def audit_actions(portal: Portal, email: str) -> list[str]:
    who = await customer(portal, email)
    async with portal.db.unit_of_work() as session:
        return list(await session.scalars(select(AuditEvent.action).where(
            AuditEvent.customer_id == who.id, AuditEvent.action.startswith("payment_method"))
            .order_by(AuditEvent.id)))


async def notices(portal: Portal, email: str) -> list[str]:
    """What the mail confirming each change of card said, oldest first."""
    return [text_of(m).split("\n\n")[1] for m in await sent_mail(portal, to=email, kind="payment")]


async def changes(portal: Portal, email: str = ALICE) -> list[str]:
    who = await customer(portal, email)
    return [str(e.payload()["change"]) for e in await published(portal)
            if e.name == "payment_method_changed" and e.payload()["customer_id"] == who.id]


async def test_with_no_card_the_answer_is_a_link_to_the_test_mode_page(demo_portal: Portal) -> None:
    await forget_cards(demo_portal, ALICE)
    reply = await payment(demo_portal, ALICE)

    text = reply.plain_text()
    assert reply.ok and reply.title == "Your payment methods"
    assert "You have no saved card yet" in text and "Test mode" in text and reply.tables == []
    [link] = reply.links
    assert link.label == "Add or update a card" and link.url.startswith("http://portal.test/pay/")
    assert link.expires_at is not None and "valid until" in text
    page = await TestModeProvider(demo_portal).open_setup(link.url.rpartition("/")[2])
    assert page.ok and page.email == ALICE, "the link opens alice's own page"


async def test_the_listing_shows_each_card_the_default_and_what_it_pays_for(alice_cards: Portal) -> None:
    reply = await payment(alice_cards, ALICE, "card")  # the alias

    [table] = reply.tables
    assert table.columns == ["#", "Card", "Expires", "Default", "Pays for"]
    assert table.rows == [["1", "Visa ending in 4242", "12/29", "yes", "Maker Pro Membership"],
                          ["2", "Visa ending in 0002", "12/29", "", "-"]]
    assert [c.command for c in reply.choices] == ["payment remove 1", "payment default 2", "payment remove 2"]
    assert "4242 4242" not in reply.plain_text(), "only the last four, ever"
    assert len(reply.links) == 1


async def test_an_expired_card_is_marked(alice_cards: Portal, clock: Clock) -> None:
    clock.advance(days=4 * 366)
    [table] = (await payment(alice_cards, ALICE)).tables
    assert table.rows[0][2] == "12/29 (expired)"


async def test_making_a_card_the_default_asks_first_then_moves_the_subscriptions(alice_cards: Portal) -> None:
    preview = await payment(alice_cards, ALICE, "payment default 2")

    assert preview.title == "Make your Visa ending in 0002 the default?"
    assert preview.paragraphs == ["Make your Visa ending in 0002 (expires 12/29) the default. Maker Pro "
                                  "Membership will renew with it instead of your Visa ending in 4242."]
    assert preview.confirmation is not None and preview.confirmation.confirm_label == "Make default"
    assert await cards(alice_cards, ALICE) == [("4242", True), ("0002", False)], "nothing changed yet"
    assert await renews_with(alice_cards, ALICE) == "4242"
    mailed = await notices(alice_cards, ALICE)
    assert len(mailed) == 2, "one for each card added, none for the preview"

    done = await confirm(alice_cards, ALICE, preview)

    assert done.ok and done.title == "Default card changed"
    assert done.paragraphs == ["Your Visa ending in 0002 (expires 12/29) is now your default payment method. "
                               "Maker Pro Membership will renew with it."]
    assert await cards(alice_cards, ALICE) == [("0002", True), ("4242", False)]
    assert await renews_with(alice_cards, ALICE) == "0002"
    assert await audit_actions(alice_cards, ALICE) == ["payment_method_added", "payment_method_added",
                                                       "payment_method_default"]
    assert await changes(alice_cards) == ["added", "added", "default"]
    assert (await notices(alice_cards, ALICE))[2:] == [
        "Your Visa ending in 0002 (expires 12/29) is now your default payment method. Maker Pro "
        "Membership renews with it."]
    [mail] = (await sent_mail(alice_cards, to=ALICE, kind="payment"))[2:]
    assert mail["Subject"] == "Your payment method at Test Store changed"
    assert "If you did not make this change" in text_of(mail)


async def test_a_confirmation_runs_once(alice_cards: Portal) -> None:
    preview = await payment(alice_cards, ALICE, "payment default 2")
    assert (await confirm(alice_cards, ALICE, preview)).ok
    again = await confirm(alice_cards, ALICE, preview)
    assert not again.ok and "already done" in again.plain_text()
    assert await changes(alice_cards) == ["added", "added", "default"]
    assert len(await notices(alice_cards, ALICE)) == 3, "one mail for the one change"


async def test_the_default_card_is_already_the_default(alice_cards: Portal) -> None:
    reply = await payment(alice_cards, ALICE, "payment default 1")
    assert not reply.ok and reply.plain_text() == "Your Visa ending in 4242 is already your default payment method."
    async with alice_cards.db.unit_of_work() as session:
        assert await session.scalar(select(func.count()).select_from(PendingAction)) == 0


async def test_removing_the_default_hands_its_subscriptions_to_the_other_card(alice_cards: Portal) -> None:
    preview = await payment(alice_cards, ALICE, "payment remove 1")

    assert preview.title == "Remove your Visa ending in 4242?"
    assert preview.paragraphs == ["Remove your Visa ending in 4242 (expires 12/29). Your Visa ending in "
                                  "0002 becomes the default and pays for Maker Pro Membership."]
    assert len(await cards(alice_cards, ALICE)) == 2

    done = await confirm(alice_cards, ALICE, preview)

    assert done.title == "Card removed"
    assert done.paragraphs == ["Your Visa ending in 4242 is removed.",
                               "Your Visa ending in 0002 is your default payment method now."]
    assert await cards(alice_cards, ALICE) == [("0002", True)]
    assert await renews_with(alice_cards, ALICE) == "0002"
    assert (await audit_actions(alice_cards, ALICE))[-1] == "payment_method_removed"
    assert (await changes(alice_cards))[-1] == "removed"
    assert (await notices(alice_cards, ALICE))[-1] == ("Your Visa ending in 4242 was removed from your "
                                                       "account. Your Visa ending in 0002 is your default "
                                                       "payment method.")


async def test_the_last_card_of_a_paid_subscription_cannot_be_removed(alice_cards: Portal) -> None:
    assert (await confirm(alice_cards, ALICE, await payment(alice_cards, ALICE, "payment remove 2"))).ok

    refused = await payment(alice_cards, ALICE, "payment remove 1")

    assert not refused.ok and refused.confirmation is None
    assert refused.plain_text() == ("Your Visa ending in 4242 is the only payment method Maker Pro Membership "
                                    "renews with. Add another with `payment` first, or cancel the subscription.")
    assert await cards(alice_cards, ALICE) == [("4242", True)]


async def test_a_refusal_at_confirmation_leaves_the_request_to_confirm_later(alice_cards: Portal) -> None:
    """Both removals previewed while two cards were saved; the second to be confirmed would
    leave the subscription without a card, so it is refused and stays pending."""
    first = await payment(alice_cards, ALICE, "payment remove 1")
    second = await payment(alice_cards, ALICE, "payment remove 2")
    assert (await confirm(alice_cards, ALICE, first)).ok

    refused = await confirm(alice_cards, ALICE, second)

    assert not refused.ok and "the only payment method" in refused.plain_text()
    assert await cards(alice_cards, ALICE) == [("0002", True)]
    async with alice_cards.db.unit_of_work() as session:
        states = list(await session.scalars(select(PendingAction.state).order_by(PendingAction.id)))
    assert states == ["done", "pending"]


async def test_a_card_without_a_paid_subscription_can_be_removed(demo_portal: Portal) -> None:
    added = await add_card(demo_portal, DANA)  # she holds a seat, and pays for nothing
    done = await confirm(demo_portal, DANA, await payment(demo_portal, DANA, "payment remove 1"))
    assert done.paragraphs == ["Your Visa ending in 4242 is removed.",
                               "You have no saved card now; send `payment` for a link to add one."]
    assert await cards(demo_portal, DANA) == []
    [kept] = [m for m in await all_methods(demo_portal) if m.id == added.id]
    assert kept.removed_at is not None, "kept as history"


async def test_the_confirmation_acts_on_the_card_it_showed_even_if_the_numbers_moved(
        alice_cards: Portal, clock: Clock) -> None:
    preview = await payment(alice_cards, ALICE, "payment remove 1")  # the 4242 card
    clock.advance(minutes=1)
    await add_card(alice_cards, ALICE, "pm_card_chargeDeclinedInsufficientFunds")  # now number 1
    assert await cards(alice_cards, ALICE) == [("9995", True), ("4242", False), ("0002", False)]

    assert (await confirm(alice_cards, ALICE, preview)).ok

    assert await cards(alice_cards, ALICE) == [("9995", True), ("0002", False)]


@pytest.mark.parametrize(("line", "said"), [
    ("payment frobnicate 1", "The action must be `default` or `remove`, as in `payment default 2`."),
    ("payment 2", "The action must be `default` or `remove`"),
    ("payment default", "Which card? Send `payment default <number>` with its number from `payment`."),
    ("payment remove", "Which card? Send `payment remove <number>`"),
    ("payment default 7", "You have no payment method 7; yours are numbered 1 to 2 (send `payment` to see them)."),
    ("payment remove two", "Name the card by its number from `payment`, like `payment default 2`; 'two' is not one."),
    ("payment delete 0", "You have no payment method 0"),
])
async def test_bad_input_is_told_what_to_send(alice_cards: Portal, line: str, said: str) -> None:
    reply = await payment(alice_cards, ALICE, line)
    assert not reply.ok and said in reply.plain_text(), reply.plain_text()
    assert "pydantic" not in reply.plain_text() and "Traceback" not in reply.plain_text()
    assert len(await cards(alice_cards, ALICE)) == 2


async def test_a_card_number_in_a_message_is_refused_and_pointed_at_payment(demo_portal: Portal) -> None:
    saved = [m.id for m in await all_methods(demo_portal)]  # the demo's cards
    reply = await payment(demo_portal, ALICE, "payment 4242 4242 4242 4242 12/30 123")
    assert not reply.ok and "looks like a card number" in reply.plain_text()
    assert "Send `payment` for a link" in reply.plain_text() and "4242" not in reply.plain_text()
    assert [m.id for m in await all_methods(demo_portal)] == saved, "nothing saved"


async def test_nobody_sees_or_changes_another_customers_cards(alice_cards: Portal) -> None:
    await forget_cards(alice_cards, BOB)  # his declined demo card ends in 0002 too
    alices = await all_methods(alice_cards)

    listing = await payment(alice_cards, BOB)
    assert listing.tables == [] and "4242" not in listing.plain_text() and "0002" not in listing.plain_text()
    for line in ("payment default 1", "payment remove 2", *(f"payment remove #{m.id}" for m in alices),
                 *(f"payment default #{m.id}" for m in alices)):
        reply = await payment(alice_cards, BOB, line)
        assert not reply.ok and reply.confirmation is None, line
        assert "Visa" not in reply.plain_text(), f"{line} tells nothing of alice's cards"

    await add_card(alice_cards, BOB, "pm_card_chargeDeclinedInsufficientFunds")
    for line in ("payment remove #{}", "payment default #{}"):
        reply = await payment(alice_cards, BOB, line.format(alices[0].id))
        assert reply.plain_text() == "That payment method is no longer saved. Send `payment` to see yours."

    # alice's own confirmation, sent by bob, is not his to use.
    preview = await payment(alice_cards, ALICE, "payment remove 2")
    assert preview.confirmation is not None
    by_code = await payment(alice_cards, BOB, preview.confirmation.typed)
    by_token = await payment(alice_cards, BOB, f"confirm {preview.confirmation.token}")
    assert "nothing waiting for confirmation" in by_code.plain_text()
    assert "Only the person who asked" in by_token.plain_text()
    assert await cards(alice_cards, ALICE) == [("4242", True), ("0002", False)]
    assert await cards(alice_cards, BOB) == [("9995", True)]


async def test_without_a_payment_provider_the_command_says_so(demo_portal: Portal) -> None:
    reply = await Dispatcher(demo_portal).handle_line(await caller_for(demo_portal, ALICE), "payment")
    assert not reply.ok and "no payment provider is set up" in reply.plain_text()


async def test_signed_out_callers_are_asked_to_sign_in(demo_portal: Any) -> None:
    from handlers.context import Caller

    reply = await Dispatcher(demo_portal).handle_line(Caller("console", "someone"), "payment")
    assert not reply.ok and reply.title == "Please sign in"
