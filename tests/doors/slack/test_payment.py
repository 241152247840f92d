"""`/shop payment` through the real slack-bolt app: the cards, the link button to the payment
page, choosing the default and removing a card with Slack's confirm dialog, once, and only for
the customer who asked."""

from __future__ import annotations

from typing import Any

import pytest

from core.kernel.portal import Portal
from tests.conftest import Clock
from tests.doors.slack.conftest import BOB_ID, Slack, buttons, everything_said
from tests.handlers.cards import add_card, billed_by_shopkeep, cards, forget_cards

ALICE = "alice@example.com"


@pytest.fixture
async def shop(slack: Slack, clock: Clock) -> Slack:
    await forget_cards(slack.portal, ALICE)  # instead of the demo's card, these two
    await billed_by_shopkeep(slack.portal, ALICE)
    await add_card(slack.portal, ALICE, "pm_card_chargeDeclined")
    clock.advance(minutes=1)
    await add_card(slack.portal, ALICE)
    await slack.sign_in(ALICE)
    await slack.sign_in("bob@example.com", user=BOB_ID)
    return slack


def button(message: dict[str, Any], label: str) -> dict[str, Any]:
    [found] = [b for b in buttons(message) if b["text"]["text"] == label]
    return found


async def clicked(slack: Slack, pressed: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return await slack.answer((await slack.click(pressed["action_id"], pressed.get("value", ""), **kwargs)).name)


async def test_the_cards_and_a_link_button_to_the_payment_page(shop: Slack) -> None:
    answer = await shop.run("payment")

    said = everything_said(answer)
    assert "Your payment methods" in said and "Visa ending in 4242" in said and "Maker Pro Membership" in said
    assert "Test mode" in said and "This link works until" in said
    link = button(answer, "Add or update a card")
    assert link["url"].startswith("http://portal.test/pay/")


async def test_making_a_card_the_default_with_the_confirm_dialog_once(shop: Slack) -> None:
    preview = await shop.run("card default 2")

    assert "Make your Visa ending in 0002 the default?" in everything_said(preview)
    confirm = button(preview, "Make default")
    assert confirm["confirm"]["text"]["text"] == "Make your Visa ending in 0002 your default payment method"
    assert await cards(shop.portal, ALICE) == [("4242", True), ("0002", False)]

    first = await clicked(shop, confirm)
    second = await clicked(shop, confirm)

    assert "is now your default payment method" in everything_said(first)
    assert "already done" in everything_said(second)
    assert await cards(shop.portal, ALICE) == [("0002", True), ("4242", False)]


async def test_a_row_button_previews_the_removal_and_only_the_asker_can_confirm(shop: Slack) -> None:
    listing = await shop.run("payment")
    preview = await clicked(shop, button(listing, "Remove 2"))
    assert "Remove your Visa ending in 0002?" in everything_said(preview)
    confirm = button(preview, "Remove card")

    stranger = await clicked(shop, confirm, user=BOB_ID)
    assert "Only the person who asked" in everything_said(stranger)
    assert len(await cards(shop.portal, ALICE)) == 2

    done = await clicked(shop, confirm)
    assert "Your Visa ending in 0002 is removed." in everything_said(done)
    refused = await shop.run("payment remove 1")
    assert "the only payment method Maker Pro Membership renews with" in everything_said(refused)
    assert not [b for b in buttons(refused) if b["text"]["text"] == "Remove card"]
    assert await cards(shop.portal, ALICE) == [("4242", True)]


async def test_bob_sees_and_reaches_none_of_alices_cards(shop: Slack) -> None:
    await forget_cards(shop.portal, "bob@example.com")  # his declined demo card ends in 0002 too
    listing = await shop.run("payment", user=BOB_ID)
    assert "You have no saved card yet" in everything_said(listing) and "4242" not in everything_said(listing)
    for line in ("payment default 2", "payment remove 1"):
        assert "You have no saved payment method" in everything_said(await shop.run(line, user=BOB_ID))
    assert len(await cards(shop.portal, ALICE)) == 2


async def test_a_card_number_sent_to_slack_is_refused_and_pointed_at_payment(shop: Slack, demo_portal: Portal) -> None:
    answer = await shop.run("payment 4242 4242 4242 4242 12/30 123")
    said = everything_said(answer)
    assert "looks like a card number" in said and "payment" in said and "4242 4242" not in said
