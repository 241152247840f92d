"""The subscription commands on the console: `subscriptions` and `plans` show what is stored;
each change shows core's preview (amounts, proration lines, the new price), waits for a
confirmation that keeps its quote, and is carried out once, with its audit entry, domain event
and mail; each guard refuses with core's own sentence and leaves nothing behind."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from adapters.payments.testmode import TestModeProvider
from core.kernel.portal import Portal
from core.models import AuditEvent, PendingAction, Product, Subscription, SubscriptionQuote
from core.models.subscriptions import MERCHANT
from core.subscriptions.renewals import RenewalWorker
from handlers.dispatcher import ChangePolicy, Dispatcher
from handlers.reply import Field
from tests.conftest import Clock
from tests.handlers.cards import add_card, customer
from tests.handlers.subscribing import ALICE, BOB, charges, confirm, quotes_used, say, state
from tests.helpers import caller_for, published, sent_mail, text_of

PERIOD_END = "Apr 13, 2026"


async def audit_actions(portal: Portal, email: str) -> list[str]:
    who = await customer(portal, email)
    async with portal.db.unit_of_work() as session:
        return list(await session.scalars(select(AuditEvent.action).where(
            AuditEvent.customer_id == who.id, AuditEvent.action.startswith("subscription_"),
            AuditEvent.actor != "renewals").order_by(AuditEvent.id)))


async def changes(portal: Portal, email: str) -> list[str]:
    who = await customer(portal, email)
    return [str(e.payload()["change"]) for e in await published(portal)
            if e.name == "subscription_changed" and e.payload()["customer_id"] == who.id
            and e.payload()["change"] != "renewed"]


async def test_subscriptions_shows_plan_price_state_and_card(demo_portal: Portal) -> None:
    reply = await say(demo_portal, ALICE, "plan")  # the alias

    [table] = reply.tables
    assert table.columns == ["#", "Product", "Plan", "Price", "Status", "Pays with"]
    assert table.rows == [["1", "Maker Pro Membership", "Pro monthly", "$12.00 a month",
                           f"renews {PERIOD_END}", "Visa ending in 4242"]]
    assert [(a.label, a.command) for a in table.actions if a] == [("Plans 1", "plans maker-pro")]
    bobs = await say(demo_portal, BOB, "subscriptions")
    assert bobs.tables[0].rows == [["1", "Sprite Club", "Sprite Club monthly", "$8.00 a month",
                                    "past due", "Visa ending in 0002"]]


async def test_plans_marks_the_current_one_and_offers_the_others(demo_portal: Portal) -> None:
    reply = await say(demo_portal, ALICE, "plans maker-pro")

    [table] = reply.tables
    assert table.columns == ["Plan", "Price", "Note"]  # every column is named, on every door
    assert table.rows == [["Basic monthly", "$5.00 a month", ""], ["Pro monthly", "$12.00 a month", "your plan"],
                          ["Pro yearly", "$120.00 a year", ""]]
    assert [a.command if a else None for a in table.actions] == [
        "change maker-pro basic", None, "change maker-pro yearly"]
    assert "nothing changes until you confirm" in reply.plain_text()


async def test_an_upgrade_shows_the_proration_then_is_charged_once(demo_portal: Portal) -> None:
    preview = await say(demo_portal, ALICE, "upgrade maker-pro yearly")

    # Pro monthly ($12) has 29 of its 31 days left at noon on Mar 15: 1200 x 29/31 = 1122.58,
    # rounded half-up to $11.23 of credit; the year starts today at $120: $108.77 due now.
    assert preview.title == "Move Maker Pro Membership to Pro yearly?"
    assert preview.paragraphs == [
        "Move Maker Pro Membership from Pro monthly to Pro yearly now; a new yearly period starts "
        "today and renews on Mar 15, 2027.", "Charged now to your Visa ending in 4242."]
    assert preview.fields == [Field("Due now", "$108.77"),
                              Field("Then", "$120.00 a year, renewing on Mar 15, 2027")]
    assert preview.tables[0].rows == [["Unused time on Pro monthly", "-$11.23"],
                                      ["Pro yearly, a new period from today", "$120.00"]]
    assert preview.confirmation is not None and preview.confirmation.confirm_label == "Change plan"
    assert preview.confirmation.summary == "Move Maker Pro Membership to Pro yearly"
    assert (await state(demo_portal, ALICE)).plan == "monthly"
    assert await charges(demo_portal, ALICE, "plan_change") == []

    done = await confirm(demo_portal, ALICE, preview)
    again = await confirm(demo_portal, ALICE, preview)

    assert done.title == "Plan changed" and done.paragraphs == [
        "Maker Pro Membership is now on Pro yearly. $108.77 was charged to your Visa ending in 4242. "
        "It renews on Mar 15, 2027 at $120.00 a year."]
    assert not again.ok and "already done" in again.plain_text()
    assert (await state(demo_portal, ALICE)).plan == "yearly"
    assert await charges(demo_portal, ALICE, "plan_change") == [(10877, "succeeded")]
    assert await audit_actions(demo_portal, ALICE) == ["subscription_plan_changed"]
    assert await changes(demo_portal, ALICE) == ["plan_changed"]
    [mail] = [m for m in await sent_mail(demo_portal, ALICE, kind="notice")
              if m["Subject"] == "Your Maker Pro Membership is now on Pro yearly"]
    assert "$108.77 was charged" in text_of(mail)


async def test_a_downgrade_waits_for_the_period_end_and_keep_drops_it(demo_portal: Portal) -> None:
    preview = await say(demo_portal, ALICE, "downgrade maker-pro basic")
    assert preview.paragraphs == [f"Move Maker Pro Membership from Pro monthly to Basic monthly on "
                                  f"{PERIOD_END}, when the current period ends; until then nothing changes."]
    assert preview.fields == [Field("Then", f"$5.00 a month, renewing on {PERIOD_END}")]
    assert (await confirm(demo_portal, ALICE, preview)).paragraphs == [
        f"Maker Pro Membership moves from Pro monthly to Basic monthly on {PERIOD_END}."]
    listed = await say(demo_portal, ALICE, "subscriptions")
    assert listed.tables[0].rows[0][4] == f"renews {PERIOD_END}; changes to Basic monthly on {PERIOD_END}"

    refused = await say(demo_portal, ALICE, "change maker-pro yearly")
    assert refused.plain_text() == (f"You have a plan change waiting (to Basic monthly on {PERIOD_END}); "
                                    "send `change maker-pro keep` to drop it.")
    kept = await confirm(demo_portal, ALICE, await say(demo_portal, ALICE, "change maker-pro keep"))
    assert kept.title == "Plan kept" and kept.paragraphs == [
        "Maker Pro Membership stays on Pro monthly; the change to Basic monthly is dropped."]
    assert (await state(demo_portal, ALICE)).scheduled_plan is None
    assert await changes(demo_portal, ALICE) == ["plan_change_scheduled", "plan_change_dropped"]


async def test_pause_until_a_date_then_resume_drops_it(demo_portal: Portal) -> None:
    preview = await say(demo_portal, ALICE, "pause maker-pro until 2026-06-01")
    assert preview.paragraphs[0].startswith(f"Pause Maker Pro Membership from {PERIOD_END}, when the "
                                            "current period ends, until Jun 1, 2026. Nothing is charged")
    assert preview.confirmation is not None and preview.confirmation.confirm_label == "Pause"
    done = await confirm(demo_portal, ALICE, preview)
    assert done.paragraphs == [f"Maker Pro Membership pauses on {PERIOD_END} and resumes on Jun 1, 2026."]
    listed = await say(demo_portal, ALICE, "subscriptions")
    assert listed.tables[0].rows[0][4] == f"renews {PERIOD_END}; pauses on {PERIOD_END} until Jun 1, 2026"
    assert (await say(demo_portal, ALICE, "pause maker-pro")).plain_text() == (
        f"Your Maker Pro Membership pauses on {PERIOD_END}; send `resume maker-pro` to drop the pause first.")

    resumed = await confirm(demo_portal, ALICE, await say(demo_portal, ALICE, "resume maker-pro"))
    assert resumed.paragraphs == ["Maker Pro Membership keeps running; the pause is dropped."]
    assert not (await state(demo_portal, ALICE)).pause_at_period_end


@pytest.mark.parametrize(("line", "said"), [
    ("pause maker-pro until 2026-04-01", f"The pause starts when the current period ends, on {PERIOD_END}; "
                                         "choose a resume date after it."),
    ("pause maker-pro until 2026-09-01", "The longest pause is 90 days: Maker Pro Membership can resume on "
                                         "Jul 12, 2026 at the latest."),
    ("pause maker-pro someday", "I don't understand the date 'someday'. Say a date like 2026-05-01, or "
                                "\"in 3 weeks\"."),
    ("resume maker-pro", "Your Maker Pro Membership is not paused."),
    ("uncancel maker-pro", "Your Maker Pro Membership is not cancelled."),
    ("resubscribe maker-pro", "You already have Maker Pro Membership; send `subscriptions` to see it."),
    ("change maker-pro monthly", "Your Maker Pro Membership is already on Pro monthly."),
    ("change maker-pro keep", "You have no plan change waiting for Maker Pro Membership."),
    ("change maker-pro platinum", "Maker Pro Membership has no plan 'platinum'. Its plans: Basic monthly "
                                  "(`basic`), Pro monthly (`monthly`), Pro yearly (`yearly`)."),
    ("cancel maker-pro now", "Maker Pro Membership cannot be cancelled at once here; send `cancel maker-pro` "
                             f"to end it on {PERIOD_END} (you keep access until then)."),
    ("cancel maker-pro bored", "Choose a reason from: too expensive, missing features, switched service, "
                               "unused, customer service, too complex, low quality, other (or leave it out)."),
    ("change maker-pro", "Missing plan: the plan's slug or name from `plans <product>`, or \"keep\" to drop "
                         "a plan change you planned. For example: `change maker-pro yearly`."),
    ("plans 7", "You have no subscription '7'. Yours: Maker Pro Membership (`maker-pro`)."),
])
async def test_each_refusal_is_a_sentence_and_leaves_nothing(demo_portal: Portal, line: str, said: str) -> None:
    reply = await say(demo_portal, ALICE, line)
    assert not reply.ok and reply.confirmation is None and said in reply.plain_text(), reply.plain_text()
    async with demo_portal.db.unit_of_work() as session:
        assert await session.scalar(select(func.count()).select_from(SubscriptionQuote)) == 0
        assert await session.scalar(select(func.count()).select_from(PendingAction)) == 0


async def test_cancel_offers_the_reasons_keeps_the_chosen_one_and_uncancel_undoes_it(
        demo_portal: Portal) -> None:
    asked = await say(demo_portal, ALICE, "cancel maker-pro")
    assert asked.paragraphs[0] == (f"Cancel Maker Pro Membership: it ends on {PERIOD_END}, when the current "
                                   "period ends, and you keep access until then. Nothing more is charged.")
    assert asked.confirmation is not None
    assert (asked.confirmation.confirm_label, asked.confirmation.cancel_label) == ("Cancel subscription", "Keep it")
    assert [(c.label, c.command) for c in asked.choices][:2] == [
        ("Too expensive", "cancel maker-pro too expensive"), ("Missing features", "cancel maker-pro missing features")]
    assert len(asked.choices) == 8

    with_reason = await say(demo_portal, ALICE, asked.choices[0].command)
    assert "Your reason: too expensive." in with_reason.plain_text() and with_reason.choices == []
    assert with_reason.confirmation is not None
    assert with_reason.confirmation.summary == "Cancel Maker Pro Membership (too expensive)"
    done = await confirm(demo_portal, ALICE, with_reason)
    assert done.title == "Cancelled" and done.paragraphs == [
        f"Maker Pro Membership is cancelled: it ends on {PERIOD_END} and you keep access until then. "
        "Changed your mind? Send `uncancel maker-pro`."]
    assert (await state(demo_portal, ALICE)).cancel_reason == "too expensive"
    assert (await say(demo_portal, ALICE, "subscriptions")).tables[0].rows[0][4] == f"ends {PERIOD_END}"

    for line, said in (
            ("cancel maker-pro", f"Your Maker Pro Membership is already cancelled; it ends on {PERIOD_END} — "
                                 "send `uncancel maker-pro` to keep it."),
            ("change maker-pro yearly", f"Your Maker Pro Membership is cancelled and ends on {PERIOD_END}; "
                                        "send `uncancel maker-pro` first to change its plan."),
            ("pause maker-pro", f"Your Maker Pro Membership is cancelled and ends on {PERIOD_END}; send "
                                "`uncancel maker-pro` first to pause it.")):
        assert (await say(demo_portal, ALICE, line)).plain_text() == said

    kept = await confirm(demo_portal, ALICE, await say(demo_portal, ALICE, "uncancel maker-pro"))
    assert kept.paragraphs == [f"Maker Pro Membership is kept: it renews on {PERIOD_END}."]
    assert not (await state(demo_portal, ALICE)).cancel_at_period_end
    assert await changes(demo_portal, ALICE) == ["cancel_scheduled", "uncanceled"]


async def test_a_paused_subscription_must_resume_first_and_resuming_charges_a_period(
        demo_portal: Portal, clock: Clock) -> None:
    await confirm(demo_portal, ALICE, await say(demo_portal, ALICE, "pause maker-pro until 2026-06-01"))
    clock.advance(days=30)  # past Apr 13: the renewals pass pauses it
    await RenewalWorker(demo_portal, TestModeProvider(demo_portal)).run_pass()
    assert (await state(demo_portal, ALICE)).status == "paused"

    for line, said in (
            ("change maker-pro yearly", "Your Maker Pro Membership is paused: a paused subscription resumes "
                                        "before it can change plan. Send `resume maker-pro` first."),
            ("pause maker-pro", "Your Maker Pro Membership is already paused until Jun 1, 2026; send "
                                "`resume maker-pro` to resume it.")):
        assert (await say(demo_portal, ALICE, line)).plain_text() == said
    preview = await say(demo_portal, ALICE, "resume maker-pro")
    assert preview.fields[0] == Field("Due now", "$12.00")
    done = await confirm(demo_portal, ALICE, preview)
    assert done.paragraphs == ["Maker Pro Membership is running again. $12.00 was charged. It renews on May 14, 2026."]
    assert (await state(demo_portal, ALICE)).status == "active"
    assert await charges(demo_portal, ALICE, "resume") == [(1200, "succeeded")]


async def test_bob_past_due_cancels_at_once_then_resubscribes_once_a_card_works(demo_portal: Portal) -> None:
    for line, said in (
            ("change sprite-club monthly", "Your Sprite Club is past due: its last renewal payment failed. "
                                           "Fix the payment first (send `payment`), then change plan."),
            ("pause sprite-club", "Sprite Club cannot be paused; you can cancel it with `cancel sprite-club`.")):
        assert (await say(demo_portal, BOB, line)).plain_text() == said
    asked = await say(demo_portal, BOB, "cancel sprite-club")
    assert asked.paragraphs[0] == "Cancel Sprite Club now: access ends at once."
    assert [c.label for c in asked.choices] == ["Too expensive", "Unused", "Low quality", "Other"]
    assert (await confirm(demo_portal, BOB, asked)).paragraphs == [
        "Sprite Club is cancelled and has ended; access has ended."]
    assert (await state(demo_portal, BOB, "sprite-club")).status == "canceled"
    for line, said in (
            ("cancel sprite-club", "Your Sprite Club has already ended."),
            ("resume sprite-club", "Your Sprite Club has ended; send `resubscribe sprite-club` to start it again."),
            ("change sprite-club monthly", "Your Sprite Club has ended; send `resubscribe sprite-club` to "
                                           "start it again.")):
        assert (await say(demo_portal, BOB, line)).plain_text() == said

    preview = await say(demo_portal, BOB, "resubscribe sprite-club")
    assert preview.fields[0] == Field("Due now", "$8.00")
    assert "Charged now to your Visa ending in 0002." in preview.paragraphs
    declined = await confirm(demo_portal, BOB, preview)
    assert declined.plain_text() == ("The payment failed: the card was declined, so you are not subscribed. "
                                     "Send `payment` to add or choose another card, then confirm again.")
    assert (await state(demo_portal, BOB, "sprite-club")).status == "canceled"

    await add_card(demo_portal, BOB)  # a 4242 card, now his default
    done = await confirm(demo_portal, BOB, preview)
    assert done.paragraphs[0].startswith("You are subscribed to Sprite Club again, on Sprite Club monthly. "
                                         "$8.00 was charged.")
    assert (await state(demo_portal, BOB, "sprite-club")).status == "active"
    assert (await confirm(demo_portal, BOB, preview)).ok is False
    assert (await charges(demo_portal, BOB, "resubscribe")) == [(800, "succeeded")]


async def test_two_previews_confirmed_the_second_is_refused_as_changed(demo_portal: Portal) -> None:
    cancel = await say(demo_portal, ALICE, "cancel maker-pro")
    downgrade = await say(demo_portal, ALICE, "change maker-pro basic")
    assert (await confirm(demo_portal, ALICE, downgrade)).ok
    refused = await confirm(demo_portal, ALICE, cancel)
    assert refused.plain_text() == ("Maker Pro Membership changed since this preview was made, so nothing "
                                    "was done. Ask again for a fresh preview.")
    assert not (await state(demo_portal, ALICE)).cancel_at_period_end
    assert await quotes_used(demo_portal) == 1


async def test_an_expired_preview_is_refused_and_may_be_asked_again(demo_portal: Portal, clock: Clock) -> None:
    preview = await say(demo_portal, ALICE, "cancel maker-pro")
    clock.advance(minutes=16)
    refused = await confirm(demo_portal, ALICE, preview)
    assert not refused.ok and ("expired" in refused.plain_text()), refused.plain_text()
    assert not (await state(demo_portal, ALICE)).cancel_at_period_end


async def test_a_trusted_email_changes_at_once(demo_portal: Portal) -> None:
    done = await say(demo_portal, ALICE, "cancel maker-pro unused", door="email", policy=ChangePolicy.PRECONFIRMED)
    assert done.title == "Cancelled" and done.confirmation is None
    assert (await state(demo_portal, ALICE)).cancel_reason == "unused"


async def test_the_policy_and_the_store_have_their_say(demo_portal: Portal) -> None:
    async with demo_portal.db.unit_of_work() as session:
        await session.execute(update(Product).where(Product.slug == "maker-pro").values(
            subscription_policy={"allow_plan_changes": False, "allow_pause": False}))
    assert (await say(demo_portal, ALICE, "change maker-pro yearly")).plain_text() == (
        "Maker Pro Membership does not allow plan changes here.")
    assert (await say(demo_portal, ALICE, "pause maker-pro")).plain_text() == (
        "Maker Pro Membership cannot be paused; you can cancel it with `cancel maker-pro`.")
    plans = await say(demo_portal, ALICE, "plans maker-pro")
    assert all(action is None for action in plans.tables[0].actions) and "no other plan" in plans.plain_text()

    async with demo_portal.db.unit_of_work() as session:
        await session.execute(update(Subscription).values(billed_by=MERCHANT))
    contact = "billing@shop.example.com"  # the demo store's contact address
    store = ("Maker Pro Membership is billed by Test Store's own store, so changes other than cancelling go "
             f"through the store: write to {contact}. You can cancel here with `cancel maker-pro`.")
    assert (await say(demo_portal, ALICE, "resume maker-pro")).plain_text() == store
    assert store in (await say(demo_portal, ALICE, "plans maker-pro")).plain_text()
    assert (await say(demo_portal, ALICE, "subscriptions")).tables[0].rows[0][5] == "billed by Test Store"
    cancelled = await confirm(demo_portal, ALICE, await say(demo_portal, ALICE, "cancel maker-pro"))
    assert cancelled.ok
    [told] = [m for m in await sent_mail(demo_portal, contact, kind="notice")]
    assert "alice@example.com" in str(told["Subject"])


async def test_without_a_payment_provider_nothing_is_previewed(demo_portal: Portal) -> None:
    caller = await caller_for(demo_portal, ALICE)
    reply = await Dispatcher(demo_portal).handle_line(caller, "cancel maker-pro")
    assert reply.plain_text() == "Subscriptions can't be changed here: no payment provider is set up."
    listed = await Dispatcher(demo_portal).handle_line(caller, "subscriptions")
    assert listed.ok and listed.tables


async def test_help_lists_the_commands_with_their_usage(demo_portal: Portal) -> None:
    listed = (await say(demo_portal, ALICE, "help")).plain_text()
    for usage in ("subscriptions", "plans <product>", "change <product> <plan>", "pause <product> [until]",
                  "resume <product>", "cancel <product> [now] [reason]", "uncancel <product>",
                  "resubscribe <product> [plan]"):
        assert usage in listed, usage
    assert "quote" not in (await say(demo_portal, ALICE, "help cancel")).plain_text()


async def test_autocomplete_offers_ones_own_subscriptions_plans_and_reasons(demo_portal: Portal) -> None:
    from handlers.suggest import suggest

    alice = await caller_for(demo_portal, ALICE, platform="discord")
    assert await suggest(demo_portal, alice, "subscriptions", "") == [
        ("1. Maker Pro Membership", "maker-pro")]
    assert await suggest(demo_portal, alice, "plans", "") == [
        ("Maker Pro Membership: Basic monthly", "basic"), ("Maker Pro Membership: Pro yearly", "yearly")]
    bob = await caller_for(demo_portal, BOB, platform="discord")
    assert await suggest(demo_portal, bob, "cancel_reasons", "") == [
        (r, r) for r in ("too expensive", "unused", "low quality", "other")]
    assert await suggest(demo_portal, bob, "subscriptions", "maker") == []

