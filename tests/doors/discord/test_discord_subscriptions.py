"""Subscriptions in Discord, through the real discord.py client and the fake Discord API: the
commands under /shop (grouped, as 25 no longer fit), previews with their amounts and a Confirm
button that runs once, the cancellation reasons as buttons, nobody's buttons reaching someone
else's subscription; and a direct message to the linked member when a renewal payment fails,
sent once however often the event comes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.bootstrap import payment_provider
from core.kernel.portal import Portal
from core.models import DomainEvent
from core.models.events import PENDING
from core.subscriptions.renewals import RenewalWorker
from tests.doors.discord.test_discord_door import Bot, connected, sign_in, text_of
from tests.fakes.discord_api import DEFAULT_GUILD_ID
from tests.fakes.discord_gateway import (
    DEFAULT_USER_ID,
    autocomplete_payload,
    component_payload,
    deliver_interaction,
)
from tests.handlers.cards import add_card
from tests.handlers.subscribing import ALICE, BOB, charges, state
from tests.helpers import all_events_delivered

BOB_USER = DEFAULT_USER_ID + 100
COMMANDS = ("subscriptions", "plans", "change", "pause", "resume", "cancel", "uncancel", "resubscribe")


@pytest.fixture
async def bot(demo_portal: Portal) -> AsyncIterator[Bot]:
    async with connected(demo_portal) as bot:
        await sign_in(bot)
        yield bot


def labels(message: dict[str, Any]) -> list[str]:
    return [c.get("label", "") for row in message.get("components", []) for c in row["components"]]


async def slash(bot: Bot, name: str, user_id: int = DEFAULT_USER_ID, **options: Any) -> dict[str, Any]:
    """The command's answer as stored, buttons and all (the message a click is made on)."""
    await bot.slash(bot.path(name), user_id=user_id, **options)
    message = bot.fake.original_message(bot.last_id)
    assert message is not None
    return message


async def click(bot: Bot, message: dict[str, Any], label: str, *, user_id: int = DEFAULT_USER_ID
                ) -> dict[str, Any]:
    delivery = await deliver_interaction(bot.door.client, bot.fake, component_payload(
        message, label=label, user_id=user_id))
    await delivery.finished()
    answered = bot.fake.original_message(delivery.id)
    assert answered is not None
    return answered


async def test_every_subscription_command_is_a_subcommand_in_one_group(bot: Bot) -> None:
    paths = [bot.path(name) for name in COMMANDS]
    assert {path.split()[0] for path in paths} == {"memberships"} and len(set(paths)) == len(COMMANDS)
    for direct in ("login", "help", "orders", "payment"):
        assert bot.path(direct) == direct, "the other commands stay where customers know them"

    [shop] = bot.fake.commands(guild_id=DEFAULT_GUILD_ID)
    [group] = [o for o in shop["options"] if o["name"] == "memberships"]
    options = {sub["name"]: [(o["name"], o["type"], o.get("required", False)) for o in sub.get("options", [])]
               for sub in group["options"]}
    assert options["cancel"] == [("product", 3, True), ("now", 5, False), ("reason", 3, False)]
    assert options["change"] == [("product", 3, True), ("plan", 3, True)], "no quote: only confirmations keep it"

    listed = await slash(bot, "subscriptions")
    said = text_of(listed)
    assert "Maker Pro Membership" in said and "$12.00 a month" in said and "renews Apr 13, 2026" in said
    assert labels(listed) == ["Plans 1", "Payment methods"]


async def test_an_upgrade_shows_its_amounts_and_the_confirm_button_runs_it_once(bot: Bot) -> None:
    asked = await slash(bot, "change", product="maker-pro", plan="yearly")

    said = text_of(asked)
    assert "Move Maker Pro Membership to Pro yearly?" in said
    assert "Due now: $108.77" in said and "Then: $120.00 a year, renewing on Mar 15, 2027" in said
    assert "Unused time on Pro monthly" in said and "-$11.23" in said
    assert labels(asked) == ["Change plan", "Cancel"]

    done = await click(bot, asked, "Change plan")
    again = await click(bot, asked, "Change plan")

    assert "is now on Pro yearly. $108.77 was charged" in text_of(done)
    assert "already done" in text_of(again)
    assert await charges(bot.portal, ALICE, "plan_change") == [(10877, "succeeded")]


async def test_a_plans_row_button_previews_and_only_the_asker_can_confirm(bot: Bot) -> None:
    await sign_in(bot, BOB, user_id=BOB_USER)
    listed = await slash(bot, "plans", product="maker-pro")
    assert labels(listed) == ["Switch to Basic monthly", "Switch to Pro yearly"]

    asked = await click(bot, listed, "Switch to Basic monthly")
    assert "on Apr 13, 2026, when the current period ends" in text_of(asked)
    stranger = await click(bot, asked, "Change plan", user_id=BOB_USER)
    assert "Only the person who asked" in text_of(stranger)
    theirs = await click(bot, listed, "Switch to Pro yearly", user_id=BOB_USER)  # runs as bob
    assert "You have no subscription 'maker-pro'" in text_of(theirs) and labels(theirs) == []
    assert (await state(bot.portal, ALICE)).scheduled_plan is None

    done = await click(bot, asked, "Change plan")
    assert "moves from Pro monthly to Basic monthly on Apr 13, 2026" in text_of(done)
    assert (await state(bot.portal, ALICE)).scheduled_plan == "basic"


async def test_the_reasons_to_cancel_are_buttons_and_the_chosen_one_is_kept(bot: Bot) -> None:
    asked = await slash(bot, "cancel", product="maker-pro")
    assert labels(asked)[:2] == ["Cancel subscription", "Keep it"]
    assert labels(asked)[2:] == ["Too expensive", "Missing features", "Switched service", "Unused",
                                 "Customer service", "Too complex", "Low quality", "Other"]

    with_reason = await click(bot, asked, "Missing features")
    assert "Your reason: missing features." in text_of(with_reason)
    assert labels(with_reason) == ["Cancel subscription", "Keep it"]
    done = await click(bot, with_reason, "Cancel subscription")
    assert "is cancelled: it ends on Apr 13, 2026" in text_of(done)
    assert (await state(bot.portal, ALICE)).cancel_reason == "missing features"

    again = await slash(bot, "cancel", product="maker-pro")
    assert "Your Maker Pro Membership is already cancelled; it ends on Apr 13, 2026" in text_of(again)
    refused = await slash(bot, "cancel", product="maker-pro", now=True)
    assert "Maker Pro Membership cannot be cancelled at once here" in text_of(refused)
    assert labels(refused) == []
    kept = await click(bot, await slash(bot, "uncancel", product="1"), "Keep it")
    assert "is kept: it renews on Apr 13, 2026" in text_of(kept)


async def test_options_suggest_ones_own_subscriptions_and_reasons(bot: Bot) -> None:
    path = bot.path("cancel")
    for focused, wanted in (("product", ["1. Maker Pro Membership"]), ("reason", ["too expensive", "missing features"])):
        delivery = await deliver_interaction(bot.door.client, bot.fake, autocomplete_payload(
            "shop", path, focused=focused, value=""))
        await delivery.finished()
        [callback] = bot.fake.interaction_responses(delivery.id)
        assert callback.json is not None
        assert [c["name"] for c in callback.json["data"]["choices"]][:len(wanted)] == wanted


async def test_pause_until_a_date_and_a_refusal_is_cores_sentence(bot: Bot) -> None:
    asked = await slash(bot, "pause", product="maker-pro", until="2026-05-01")
    assert "until May 1, 2026. Nothing is charged while paused." in text_of(asked)
    await click(bot, asked, "Pause")
    refused = await slash(bot, "change", product="maker-pro", plan="yearly")
    assert ("Your Maker Pro Membership pauses on Apr 13, 2026; send `resume maker-pro` to drop the pause "
            "first.") in text_of(refused) and labels(refused) == []
    assert "the pause is dropped" in text_of(await click(bot, await slash(bot, "resume", product="maker-pro"),
                                                         "Resume"))


async def bob_fails_again(bot: Bot) -> None:
    """bob links his Discord account once the demo's own failure was told (to nobody in chat),
    and his declined card is tried again a few days on: the renewal fails once more."""
    await all_events_delivered(bot.portal)
    await sign_in(bot, BOB, user_id=BOB_USER)
    report = await RenewalWorker(bot.portal, payment_provider(bot.portal)).run_pass(
        bot.portal.now() + timedelta(days=3))
    assert [line for line in report.failed if "bob" in line], report


async def test_a_failed_renewal_is_a_direct_message_with_a_button_that_fixes_it(bot: Bot) -> None:
    await bob_fails_again(bot)
    await all_events_delivered(bot.portal)

    [dm] = bot.fake.dm_messages(BOB_USER)
    said = text_of(dm)
    assert "Your Sprite Club payment failed" in said and "the card was declined" in said
    assert "We try again on" in said and "Send `payment` to add a card" in said
    assert labels(dm) == ["Fix the payment"]
    fixed = await click(bot, dm, "Fix the payment", user_id=BOB_USER)
    assert "Your payment methods" in text_of(fixed) and "Visa ending in 0002" in text_of(fixed)
    assert "Add or update a card" in labels(fixed)
    assert bot.fake.dm_messages(DEFAULT_USER_ID) == [], "alice's renewal did not fail"


async def test_the_direct_message_is_sent_once_however_often_the_event_comes(bot: Bot) -> None:
    await bob_fails_again(bot)
    await all_events_delivered(bot.portal)
    assert len(bot.fake.dm_messages(BOB_USER)) == 1

    async with bot.portal.db.unit_of_work() as session:  # as after a worker died mid-delivery
        told = await session.scalar(select(func.max(DomainEvent.id)).where(
            DomainEvent.name == "renewal_payment_failed"))
        await session.execute(update(DomainEvent).where(DomainEvent.id == told)
                              .values(status=PENDING, next_attempt_at=None))
    await all_events_delivered(bot.portal)
    assert len(bot.fake.dm_messages(BOB_USER)) == 1


async def test_a_member_who_closed_their_dms_is_not_asked_again(bot: Bot) -> None:
    bot.fake.block_dms(BOB_USER)
    await bob_fails_again(bot)
    await all_events_delivered(bot.portal)  # not deferred to be retried: the email told him
    assert bot.fake.dm_messages(BOB_USER) == []


async def test_an_ended_subscription_is_started_again_with_the_subscribe_button(bot: Bot) -> None:
    await sign_in(bot, BOB, user_id=BOB_USER)
    ended = await click(bot, await slash(bot, "cancel", user_id=BOB_USER, product="sprite-club"),
                        "Cancel subscription", user_id=BOB_USER)
    assert "Sprite Club is cancelled and has ended" in text_of(ended)
    listed = await slash(bot, "subscriptions", user_id=BOB_USER)
    assert "canceled" in text_of(listed) and "Resubscribe 1" in labels(listed)
    await add_card(bot.portal, BOB)  # the declined card would fail again

    asked = await click(bot, listed, "Resubscribe 1", user_id=BOB_USER)
    assert "Subscribe to Sprite Club again?" in text_of(asked) and "Due now: $8.00" in text_of(asked)
    done = await click(bot, asked, "Subscribe", user_id=BOB_USER)
    again = await click(bot, asked, "Subscribe", user_id=BOB_USER)

    assert "You are subscribed to Sprite Club again" in text_of(done) and "already done" in text_of(again)
    assert await charges(bot.portal, BOB, "resubscribe") == [(800, "succeeded")]
    assert (await state(bot.portal, BOB, "sprite-club")).status == "active"
