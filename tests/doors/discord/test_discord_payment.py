"""`/shop payment` through the real discord.py client and the fake Discord API: the cards and the
link button to the payment page, choosing the default and removing a card with the Confirm
button (once, and only by the asker), autocomplete from the caller's own cards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.kernel.portal import Portal
from tests.conftest import Clock
from tests.doors.discord.test_discord_door import Bot, connected, sign_in, text_of
from tests.fakes.discord_api import DEFAULT_GUILD_ID, EPHEMERAL
from tests.fakes.discord_gateway import (
    DEFAULT_USER_ID,
    autocomplete_payload,
    component_payload,
    deliver_interaction,
)
from tests.handlers.cards import add_card, billed_by_shopkeep, cards, forget_cards

BOB_USER = DEFAULT_USER_ID + 100


@pytest.fixture
async def bot(demo_portal: Portal, clock: Clock) -> AsyncIterator[Bot]:
    await forget_cards(demo_portal, "alice@example.com")  # instead of the demo's card, these two
    await billed_by_shopkeep(demo_portal, "alice@example.com")
    await add_card(demo_portal, "alice@example.com", "pm_card_chargeDeclined")
    clock.advance(minutes=1)
    await add_card(demo_portal, "alice@example.com")
    async with connected(demo_portal) as bot:
        await sign_in(bot)
        yield bot


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for row in message.get("components", []) for c in row["components"]]


async def click(bot: Bot, message: dict[str, Any], label: str, user_id: int = DEFAULT_USER_ID
                ) -> tuple[dict[str, Any], dict[str, Any]]:
    """A click on a button of `message`: what the user sees, and that message itself (to click on)."""
    delivery = await deliver_interaction(bot.door.client, bot.fake,
                                         component_payload(message, label=label, user_id=user_id))
    await delivery.finished()
    shown = bot.fake.original_message(delivery.id)
    assert shown is not None
    return bot.answer(delivery.id), shown


async def test_the_cards_and_a_link_button_to_the_payment_page(bot: Bot) -> None:
    answer = await bot.slash(bot.path("payment"))

    assert answer["flags"] & EPHEMERAL
    said = text_of(answer)
    assert "Your payment methods" in said and "Visa ending in 4242" in said and "Maker Pro Membership" in said
    assert "Test mode" in said
    [link] = [b for b in buttons(answer) if "url" in b]
    assert link["label"] == "Add or update a card" and link["url"].startswith("http://portal.test/pay/")
    assert {b["label"] for b in buttons(answer) if "url" not in b} >= {"Make 2 the default", "Remove 2"}


async def test_the_options_are_typed_and_the_card_is_suggested_from_ones_own(bot: Bot) -> None:
    [shop] = bot.fake.commands(guild_id=DEFAULT_GUILD_ID)
    [command] = [o for o in shop["options"] if o["name"] == "payment"]
    options = {o["name"]: o for o in command["options"]}
    assert [c["value"] for c in options["action"]["choices"]] == ["default", "remove"]
    assert options["card"]["autocomplete"] is True

    delivery = await deliver_interaction(bot.door.client, bot.fake, autocomplete_payload(
        "shop", "payment", focused="card", value=""))
    await delivery.finished()
    [callback] = bot.fake.interaction_responses(delivery.id)
    assert callback.json is not None
    assert [c["name"] for c in callback.json["data"]["choices"]] == [
        "1. Visa ending in 4242 (default)", "2. Visa ending in 0002"]


async def test_making_a_card_the_default_with_the_confirm_button_once(bot: Bot) -> None:
    preview = await bot.slash(bot.path("payment"), action="default", card="2")
    assert "Make your Visa ending in 0002 the default?" in text_of(preview)
    assert "Maker Pro Membership will renew with it instead of your Visa ending in 4242" in text_of(preview)
    message = bot.fake.original_message(bot.last_id)
    assert message is not None and [b["label"] for b in buttons(message)][:2] == ["Make default", "Cancel"]
    assert await cards(bot.portal, "alice@example.com") == [("4242", True), ("0002", False)]

    done, _ = await click(bot, message, "Make default")
    again, _ = await click(bot, message, "Make default")

    assert "is now your default payment method" in text_of(done)
    assert "already" in text_of(again).lower()
    assert await cards(bot.portal, "alice@example.com") == [("0002", True), ("4242", False)]


async def test_a_row_button_previews_the_removal_and_only_the_asker_can_confirm(bot: Bot) -> None:
    await sign_in(bot, "bob@example.com", user_id=BOB_USER)
    await bot.slash(bot.path("payment"))
    listing = bot.fake.original_message(bot.last_id)
    assert listing is not None

    preview, message = await click(bot, listing, "Remove 2")  # runs `payment remove 2`: a preview
    assert "Remove your Visa ending in 0002?" in text_of(preview)
    assert await cards(bot.portal, "alice@example.com") == [("4242", True), ("0002", False)]

    stranger, _ = await click(bot, message, "Remove card", user_id=BOB_USER)
    assert "Only the person who asked" in text_of(stranger)
    assert len(await cards(bot.portal, "alice@example.com")) == 2

    done, _ = await click(bot, message, "Remove card")
    assert "Your Visa ending in 0002 is removed." in text_of(done)
    assert await cards(bot.portal, "alice@example.com") == [("4242", True)]

    refused = await bot.slash(bot.path("payment"), action="remove", card="1")
    assert "the only payment method Maker Pro Membership renews with" in text_of(refused)
    assert not [b for b in buttons(refused) if b.get("label") == "Remove card"]


async def test_bob_sees_none_of_alices_cards(bot: Bot) -> None:
    await forget_cards(bot.portal, "bob@example.com")  # his declined demo card ends in 0002 too
    await sign_in(bot, "bob@example.com", user_id=BOB_USER)
    listing = await bot.slash(bot.path("payment"), user_id=BOB_USER)
    assert "You have no saved card yet" in text_of(listing) and "4242" not in text_of(listing)
    refused = await bot.slash(bot.path("payment"), user_id=BOB_USER, action="default", card="1")
    assert "You have no saved payment method" in text_of(refused)
    delivery = await deliver_interaction(bot.door.client, bot.fake, autocomplete_payload(
        "shop", "payment", focused="card", value="", user_id=BOB_USER))
    await delivery.finished()
    [callback] = bot.fake.interaction_responses(delivery.id)
    assert callback.json is not None and callback.json["data"]["choices"] == []
