"""Subscriptions through the real slack-bolt app and the fake Slack Web API: previews with their
amounts and a confirm dialog that runs once, the reasons to cancel as buttons, every guard's
refusal in core's words, nobody's buttons reaching another customer's subscription; and a direct
message (conversations.open, chat.postMessage) when a renewal payment fails, sent once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from bot.bootstrap import event_worker, payment_provider
from core.models import DomainEvent
from core.models.events import DELIVERED, PENDING
from core.subscriptions.renewals import RenewalWorker
from tests.doors.slack.conftest import BOB_ID, Slack, buttons, everything_said
from tests.doors.slack.test_install import ANN, many
from tests.doors.slack.test_licenses import confirm_button, press, row_buttons
from tests.fakes.slack_signing import DEFAULT_TEAM_ID
from tests.handlers.subscribing import ALICE, BOB, charges, state

__all__ = ["many"]  # the app installed in two workspaces, shared with the install tests
PERIOD_END = "Apr 13, 2026"


def button(message: dict[str, Any], label: str) -> dict[str, Any]:
    [found] = [b for b in buttons(message) if b["text"]["text"] == label]
    return found


async def signed_in(slack: Slack) -> Slack:
    await slack.sign_in(ALICE)
    await slack.sign_in(BOB, user=BOB_ID)
    return slack


async def test_an_upgrade_shows_its_amounts_and_the_confirm_dialog_runs_it_once(slack: Slack) -> None:
    await signed_in(slack)
    asked = await slack.run("upgrade maker-pro yearly")

    said = everything_said(asked)
    assert "Move Maker Pro Membership to Pro yearly?" in said and "$108.77" in said
    assert "Unused time on Pro monthly" in said and "-$11.23" in said and "$120.00 a year" in said
    confirm = confirm_button(asked)
    assert confirm["text"]["text"] == "Change plan"
    assert confirm["confirm"]["text"]["text"] == "Move Maker Pro Membership to Pro yearly"

    first, second = await press(slack, confirm), await press(slack, confirm)

    assert "is now on Pro yearly. $108.77 was charged" in everything_said(first)
    assert first["replace_original"] is True and "already done" in everything_said(second)
    assert await charges(slack.portal, ALICE, "plan_change") == [(10877, "succeeded")]


async def test_subscriptions_rows_lead_to_plans_and_a_scheduled_downgrade(slack: Slack) -> None:
    await signed_in(slack)
    listed = await slack.run("subscriptions")
    assert "Maker Pro Membership · Pro monthly · $12.00 a month" in everything_said(listed)
    plans = await press(slack, row_buttons(listed)[0])
    assert [b["value"] for b in row_buttons(plans)] == ["change maker-pro basic", "change maker-pro yearly"]
    asked = await press(slack, row_buttons(plans)[0])
    assert f"to Basic monthly on {PERIOD_END}, when the current period ends" in everything_said(asked)
    await press(slack, confirm_button(asked))
    again = await slack.run("plan")  # the alias
    assert f"changes to Basic monthly on {PERIOD_END}" in everything_said(again)


async def test_the_reasons_to_cancel_are_buttons(slack: Slack) -> None:
    await signed_in(slack)
    asked = await slack.run("cancel maker-pro")
    reasons = [b for b in buttons(asked) if b["action_id"].startswith("shopkeep.run.")]
    assert [b["value"] for b in reasons][:3] == ["cancel maker-pro too expensive",
                                                 "cancel maker-pro missing features",
                                                 "cancel maker-pro switched service"]
    assert button(asked, "Keep it")["action_id"] == "shopkeep.cancel"

    with_reason = await press(slack, button(asked, "Too complex"))
    assert "Your reason: too complex." in everything_said(with_reason)
    await press(slack, confirm_button(with_reason))
    assert (await state(slack.portal, ALICE)).cancel_reason == "too complex"
    kept = await press(slack, confirm_button(await slack.run("uncancel maker-pro")))
    assert f"is kept: it renews on {PERIOD_END}" in everything_said(kept)


async def refused(slack: Slack, line: str, said: str, *, user: str | None = None) -> None:
    answer = await slack.run(line, **({"user": user} if user else {}))
    assert said in everything_said(answer), (line, everything_said(answer))
    assert not [b for b in buttons(answer) if b["action_id"] == "shopkeep.confirm"], line


async def go_ahead(slack: Slack, line: str, *, user: str | None = None) -> str:
    asked = await slack.run(line, **({"user": user} if user else {}))
    return everything_said(await press(slack, confirm_button(asked), **({"user": user} if user else {})))


async def test_every_guard_refuses_in_cores_words(slack: Slack) -> None:
    """One state after another, each guard's sentence as the customer reads it in Slack."""
    await signed_in(slack)
    for line, said in (
            ("change maker-pro monthly", "Your Maker Pro Membership is already on Pro monthly."),
            ("change maker-pro platinum", "Maker Pro Membership has no plan 'platinum'."),
            ("change maker-pro keep", "You have no plan change waiting for Maker Pro Membership."),
            ("resume maker-pro", "Your Maker Pro Membership is not paused."),
            ("uncancel maker-pro", "Your Maker Pro Membership is not cancelled."),
            ("resubscribe maker-pro", "You already have Maker Pro Membership; send `/shop subscriptions` to see it."),
            ("cancel maker-pro now", "Maker Pro Membership cannot be cancelled at once here"),
            ("cancel maker-pro bored", "Choose a reason from: too expensive, missing features"),
            ("pause maker-pro until 2026-04-01", f"The pause starts when the current period ends, on {PERIOD_END}"),
            ("pause maker-pro until 2027-01-01", "The longest pause is 90 days: Maker Pro Membership can resume "
                                                 "on Jul 12, 2026 at the latest."),
            ("pause maker-pro until someday", "I don't understand the date 'someday'."),
            ("plans zine", "You have no subscription 'zine'. Yours: Maker Pro Membership (`maker-pro`)."),
    ):
        await refused(slack, line, said)

    assert "moves from Pro monthly to Basic monthly" in await go_ahead(slack, "downgrade maker-pro basic")
    await refused(slack, "change maker-pro yearly", f"You have a plan change waiting (to Basic monthly on "
                                                    f"{PERIOD_END}); send `/shop change maker-pro keep` to drop it.")
    await refused(slack, "pause maker-pro", "You have a plan change waiting")
    assert "stays on Pro monthly" in await go_ahead(slack, "change maker-pro keep")

    assert "pauses on" in await go_ahead(slack, "pause maker-pro until 2026-05-01")
    await refused(slack, "change maker-pro yearly", f"Your Maker Pro Membership pauses on {PERIOD_END}; send "
                                                    "`/shop resume maker-pro` to drop the pause first.")
    assert "the pause is dropped" in await go_ahead(slack, "resume maker-pro")

    assert "is cancelled" in await go_ahead(slack, "cancel maker-pro")
    await refused(slack, "cancel maker-pro", f"Your Maker Pro Membership is already cancelled; it ends on "
                                             f"{PERIOD_END} — send `/shop uncancel maker-pro` to keep it.")
    await refused(slack, "change maker-pro yearly", f"Your Maker Pro Membership is cancelled and ends on "
                                                    f"{PERIOD_END}; send `/shop uncancel maker-pro` first to "
                                                    "change its plan.")

    for line, said in (
            ("change sprite-club monthly", "Your Sprite Club is past due: its last renewal payment failed. Fix "
                                           "the payment first (send `/shop payment`), then change plan."),
            ("pause sprite-club", "Sprite Club cannot be paused; you can cancel it with `/shop cancel sprite-club`."),
            ("cancel sprite-club other", "Cancel Sprite Club now: access ends at once."),
    ):
        if line.startswith("cancel"):
            assert "has ended" in await go_ahead(slack, line, user=BOB_ID)
        else:
            await refused(slack, line, said, user=BOB_ID)
    for line, said in (
            ("cancel sprite-club", "Your Sprite Club has already ended."),
            ("pause sprite-club", "Your Sprite Club has ended; send `/shop resubscribe sprite-club` to start it again."),
    ):
        await refused(slack, line, said, user=BOB_ID)
    declined = await go_ahead(slack, "resubscribe sprite-club", user=BOB_ID)
    assert "The payment failed: the card was declined, so you are not subscribed." in declined
    assert (await state(slack.portal, BOB, "sprite-club")).status == "canceled"


async def test_someone_elses_buttons_reach_nothing(slack: Slack) -> None:
    await signed_in(slack)
    listed = await slack.run("subscriptions")
    asked = await slack.run("cancel maker-pro")
    theirs = await press(slack, row_buttons(listed)[0], user=BOB_ID)  # `plans maker-pro`, as bob
    assert "You have no subscription 'maker-pro'" in everything_said(theirs) and row_buttons(theirs) == []
    stranger = await press(slack, confirm_button(asked), user=BOB_ID)
    assert "Only the person who asked" in everything_said(stranger)
    reason = await press(slack, button(asked, "Unused"), user=BOB_ID)
    assert "You have no subscription 'maker-pro'" in everything_said(reason)
    assert not (await state(slack.portal, ALICE)).cancel_at_period_end


async def test_a_failed_renewal_is_a_direct_message_sent_once(slack: Slack) -> None:
    events = event_worker(slack.portal, slack=slack.door)
    await events.deliver_due()  # the demo's own failure, while bob has no Slack account linked
    assert slack.fake.calls("chat.postMessage") == []
    await slack.sign_in(BOB, user=BOB_ID)
    report = await RenewalWorker(slack.portal, payment_provider(slack.portal)).run_pass(
        slack.portal.now() + timedelta(days=3))
    assert [line for line in report.failed if "bob" in line]

    await events.deliver_due()

    assert [call["users"] for call in slack.fake.calls("conversations.open")] == [BOB_ID]
    [posted] = slack.fake.calls("chat.postMessage")
    assert posted["channel"] == slack.fake.dm_channel(DEFAULT_TEAM_ID, BOB_ID)
    said = everything_said(posted)
    assert "Your Sprite Club payment failed" in said and "the card was declined" in said
    assert "Send `/shop payment` to add a card" in said
    assert button(posted, "Fix the payment")["value"] == "payment"

    async with slack.portal.db.unit_of_work() as session:  # delivered again, as after a crash
        told = await session.scalar(select(func.max(DomainEvent.id)).where(
            DomainEvent.name == "renewal_payment_failed"))
        await session.execute(update(DomainEvent).where(DomainEvent.id == told)
                              .values(status=PENDING, next_attempt_at=None))
    assert await events.deliver_due() == 1
    assert len(slack.fake.calls("chat.postMessage")) == 1


async def test_a_direct_message_that_fails_is_tried_again_with_the_event(slack: Slack) -> None:
    events = event_worker(slack.portal, slack=slack.door)
    await events.deliver_due()
    await slack.sign_in(BOB, user=BOB_ID)
    await RenewalWorker(slack.portal, payment_provider(slack.portal)).run_pass(slack.portal.now() + timedelta(days=3))
    slack.fake.fail("chat.postMessage", "ratelimited")

    await events.deliver_due()
    assert await told_status(slack) == PENDING, "deferred, to be tried again"
    async with slack.portal.db.unit_of_work() as session:  # its retry comes due
        await session.execute(update(DomainEvent).where(DomainEvent.status == PENDING).values(next_attempt_at=None))
    await events.deliver_due()

    assert await told_status(slack) == DELIVERED
    assert len(slack.fake.calls("chat.postMessage")) == 2, "the failed call, then the one that went"


async def told_status(slack: Slack) -> str:
    async with slack.portal.db.unit_of_work() as session:
        status = await session.scalar(select(DomainEvent.status).where(
            DomainEvent.name == "renewal_payment_failed").order_by(DomainEvent.id.desc()).limit(1))
    assert status is not None
    return status


async def test_in_a_workspace_that_installed_the_app_the_message_goes_with_its_own_token(many: Slack) -> None:
    events = event_worker(many.portal, slack=many.door)
    await events.deliver_due()
    await many.sign_in(BOB, team="T0BBB", user=ANN)  # bob's workspace; ANN is someone else in T0AAA
    await RenewalWorker(many.portal, payment_provider(many.portal)).run_pass(many.portal.now() + timedelta(days=3))

    await events.deliver_due()

    posted = [(call.team_id, call.token, call.params["channel"]) for call in many.fake.recorded
              if call.method == "chat.postMessage"]
    assert posted == [("T0BBB", "xoxb-bbb", many.fake.dm_channel("T0BBB", ANN))]
