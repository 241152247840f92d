"""Changing plan: upgrades now with a proration charged once, longer intervals starting a new
period, downgrades scheduled for the period end, exactly the previewed quote or nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from adapters.payments.testmode import TestModeProvider
from core.kernel.errors import Conflict, NotAllowed, NotFound
from core.kernel.portal import Portal
from core.models import AuditEvent
from core.subscriptions import changes, lifecycle
from tests.conftest import Clock
from tests.core.payments.conftest import customer
from tests.core.subscriptions.conftest import (
    add_card,
    charges,
    confirm,
    invoices,
    preview,
    subscribe,
    subscription_of,
)
from tests.helpers import published, sent_mail, text_of

# The purchase is at the fixed now (15 Mar 12:00); its period ends 15 Apr 12:00: 31 days.
HALF_WAY = datetime(2026, 3, 31, tzinfo=UTC)


async def test_an_upgrade_half_way_charges_five_dollars_once_with_an_invoice(
        store: Portal, provider: TestModeProvider, clock: Clock) -> None:
    await add_card(store, provider, "ann@example.com")
    clock.now = HALF_WAY
    shown = await preview(store, "ann@example.com", changes.preview_change, "club", "pro")

    assert [(line.description, line.amount) for line in shown.lines] == [
        ("Unused time on Basic", -500), ("Remaining time on Pro", 1000)]
    assert shown.amount_due == 500
    assert shown.text.splitlines() == [
        "Move The Club from Basic to Pro now.",
        "  Unused time on Basic: -$5.00", "  Remaining time on Pro: $10.00", "Due now: $5.00",
        "Then: $20.00 a month, renewing on Apr 15, 2026", "Charged now to your Visa ending in 4242."]
    before = len(await invoices(store))

    clock.advance(minutes=5)  # confirming later still applies the quote as shown
    done = await confirm(store, provider, "ann@example.com", shown)

    assert "now on Pro" in done.message and "$5.00 was charged" in done.message
    assert (await subscription_of(store, "ann@example.com")).plan.slug == "pro"
    assert await charges(store) == [("plan_change", 500, "succeeded", None)]
    assert (await invoices(store))[before:] == [500]
    with pytest.raises(Conflict, match="already made"):
        await confirm(store, provider, "ann@example.com", shown)
    assert await charges(store) == [("plan_change", 500, "succeeded", None)]
    [*_, mail] = await sent_mail(store, "ann@example.com", kind="notice")
    assert mail["Subject"] == "Your The Club is now on Pro" and "$5.00 was charged" in text_of(mail)
    assert "subscription_changed" in [e.name for e in await published(store)]


async def test_a_preview_that_no_longer_holds_is_refused(store: Portal, provider: TestModeProvider,
                                                         clock: Clock) -> None:
    await add_card(store, provider, "ann@example.com")
    upgrade = await preview(store, "ann@example.com", changes.preview_change, "club", "pro")
    cancel = await preview(store, "ann@example.com", lifecycle.preview_cancel, "club")
    await confirm(store, provider, "ann@example.com", cancel)

    with pytest.raises(Conflict, match="changed since this preview"):
        await confirm(store, provider, "ann@example.com", upgrade)

    await add_card(store, provider, "olga@example.com")
    late = await preview(store, "olga@example.com", changes.preview_change, "club", "pro-yearly")
    clock.advance(minutes=16)
    with pytest.raises(Conflict, match="expired"):
        await confirm(store, provider, "olga@example.com", late)
    assert await charges(store) == []


async def test_two_changes_at_once_apply_one(store: Portal, provider: TestModeProvider) -> None:
    await add_card(store, provider, "ann@example.com")
    upgrade = await preview(store, "ann@example.com", changes.preview_change, "club", "pro")
    cancel = await preview(store, "ann@example.com", lifecycle.preview_cancel, "club")

    results = await asyncio.gather(confirm(store, provider, "ann@example.com", upgrade),
                                   confirm(store, provider, "ann@example.com", cancel),
                                   return_exceptions=True)

    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], Conflict)
    assert "another change is in progress" in refused[0].message.lower() or \
        "changed since this preview" in refused[0].message
    club = await subscription_of(store, "ann@example.com")
    assert (club.plan.slug == "pro") != club.cancel_at_period_end


async def test_a_downgrade_waits_for_the_period_end_and_keep_drops_it(
        store: Portal, provider: TestModeProvider) -> None:
    await subscribe(store, "dora@example.com", plan="pro")
    shown = await preview(store, "dora@example.com", changes.preview_change, "club", "basic")
    assert shown.amount_due == 0 and shown.lines == []
    assert shown.summary == ("Move The Club from Pro to Basic on Apr 15, 2026, when the current period "
                             "ends; until then nothing changes.")
    await confirm(store, provider, "dora@example.com", shown)
    assert (await subscription_of(store, "dora@example.com")).scheduled_plan_id is not None

    with pytest.raises(Conflict) as waiting:
        await preview(store, "dora@example.com", changes.preview_change, "club", "pro-yearly")
    assert waiting.value.message == ("You have a plan change waiting (to Basic on Apr 15, 2026); send "
                                     "`change club keep` to drop it.")
    kept = await preview(store, "dora@example.com", changes.preview_change, "club", "keep")
    await confirm(store, provider, "dora@example.com", kept)
    club = await subscription_of(store, "dora@example.com")
    assert club.scheduled_plan_id is None and club.plan.slug == "pro"
    with pytest.raises(Conflict, match="no plan change waiting"):
        await preview(store, "dora@example.com", changes.preview_change, "club", "keep")


async def test_a_longer_interval_starts_a_new_period_now(store: Portal, provider: TestModeProvider,
                                                         clock: Clock) -> None:
    await add_card(store, provider, "ann@example.com")
    clock.now = HALF_WAY
    shown = await preview(store, "ann@example.com", changes.preview_change, "club", "pro-yearly")
    assert [line.amount for line in shown.lines] == [-500, 20000] and shown.amount_due == 19500

    await confirm(store, provider, "ann@example.com", shown)

    club = await subscription_of(store, "ann@example.com")
    assert (club.plan.slug, club.current_period_start, club.current_period_end) == (
        "pro-yearly", HALF_WAY, HALF_WAY.replace(year=2027))


async def test_a_declined_card_changes_nothing(store: Portal, provider: TestModeProvider) -> None:
    await add_card(store, provider, "ann@example.com", "pm_card_chargeDeclined")
    before = await invoices(store)
    shown = await preview(store, "ann@example.com", changes.preview_change, "club", "pro")

    with pytest.raises(Conflict) as refused:
        await confirm(store, provider, "ann@example.com", shown)

    assert refused.value.message.startswith("The payment failed: the card was declined, so the plan "
                                            "did not change.")
    assert (await subscription_of(store, "ann@example.com")).plan.slug == "basic"
    assert await invoices(store) == before


@pytest.mark.parametrize(("plan", "refusal"), [
    ("basic", "already on Basic"),
    ("basic-eur", "Plans in different currencies cannot be switched: Basic is in USD, Basic (EUR) in EUR."),
    ("gold", "The Club has no plan 'gold'."),
])
async def test_plans_that_cannot_be_chosen_are_refused(store: Portal, plan: str, refusal: str) -> None:
    with pytest.raises((Conflict, NotFound)) as refused:
        await preview(store, "ann@example.com", changes.preview_change, "club", plan)
    assert refusal in refused.value.args[0]


async def test_an_upgrade_needs_a_card_on_file(store: Portal) -> None:
    with pytest.raises(Conflict, match="Add a payment method first: send `payment`"):
        await preview(store, "ann@example.com", changes.preview_change, "club", "pro")


async def test_a_paused_subscription_resumes_before_it_changes_plan(
        store: Portal, provider: TestModeProvider, clock: Clock) -> None:
    club = await subscription_of(store, "ann@example.com")
    async with store.db.unit_of_work() as session:
        row = await session.get(type(club), club.id)
        assert row is not None
        row.status = "paused"
    with pytest.raises(Conflict) as refused:
        await preview(store, "ann@example.com", changes.preview_change, "club", "pro")
    assert refused.value.message == ("Your The Club is paused: a paused subscription resumes before it "
                                     "can change plan. Send `resume club` first.")


async def test_nobody_previews_or_confirms_another_customers_subscription(
        store: Portal, provider: TestModeProvider) -> None:
    await add_card(store, provider, "ann@example.com")
    shown = await preview(store, "ann@example.com", changes.preview_change, "club", "pro")
    with pytest.raises(NotFound):
        await confirm(store, provider, "olga@example.com", shown)
    with pytest.raises(NotFound, match="no subscription 'zine'"):
        await preview(store, "olga@example.com", changes.preview_change, "zine", "monthly")
    assert (await subscription_of(store, "ann@example.com")).plan.slug == "basic"


async def test_a_store_billed_subscription_offers_cancel_only_without_a_webhook(
        store: Portal, provider: TestModeProvider) -> None:
    await subscribe(store, "mia@example.com", billed_by="merchant")
    with pytest.raises(NotAllowed) as refused:
        await preview(store, "mia@example.com", changes.preview_change, "club", "pro")
    assert "billed by Test Store's own store" in refused.value.message
    assert "You can cancel here with `cancel club`" in refused.value.message

    shown = await preview(store, "mia@example.com", lifecycle.preview_cancel, "club")
    await confirm(store, provider, "mia@example.com", shown)

    assert (await subscription_of(store, "mia@example.com")).cancel_at_period_end
    [told] = await sent_mail(store, "portal@shop.test")
    assert "mia@example.com" in told["Subject"] and "please make the same change" in text_of(told)
    assert await charges(store) == []


async def test_the_audit_log_names_each_change(store: Portal, provider: TestModeProvider) -> None:
    await add_card(store, provider, "ann@example.com")
    await confirm(store, provider, "ann@example.com",
                  await preview(store, "ann@example.com", changes.preview_change, "club", "pro"))
    ann = await customer(store, "ann@example.com")
    async with store.db.unit_of_work() as session:
        entry = await session.scalar(select(AuditEvent).where(
            AuditEvent.customer_id == ann.id, AuditEvent.action == "subscription_plan_changed"))
    assert entry is not None and entry.actor == "customer via console"
    # Changed at the very start of the period: the whole month of the difference.
    assert entry.details == {"product": "club", "from": "basic", "to": "pro", "charged": 1000,
                             "currency": "USD"}


async def test_the_same_preview_confirmed_twice_at_once_charges_once(
        store: Portal, provider: TestModeProvider) -> None:
    await add_card(store, provider, "ann@example.com")
    shown = await preview(store, "ann@example.com", changes.preview_change, "club", "pro")

    results = await asyncio.gather(*(confirm(store, provider, "ann@example.com", shown) for _ in range(2)),
                                   return_exceptions=True)

    assert sum(isinstance(r, Conflict) for r in results) == 1
    assert await charges(store) == [("plan_change", 1000, "succeeded", None)]
