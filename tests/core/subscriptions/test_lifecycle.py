"""Pause, resume, cancel, uncancel and resubscribe: each refused with a sentence that says what
to do instead, and each applied exactly as previewed, with access following."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from adapters.payments.testmode import TestModeProvider
from core.kernel.errors import Conflict, InvalidInput, NotAllowed
from core.kernel.portal import Portal
from core.licenses import api as license_api
from core.models import Entitlement, License, Subscription
from core.subscriptions import lifecycle
from core.subscriptions.access import sync_access
from core.subscriptions.lifecycle import resume_date
from tests.conftest import FIXED_NOW, Clock
from tests.core.payments.conftest import CATALOG, customer, load, subscribe
from tests.core.subscriptions.conftest import add_card, charges, confirm, preview, subscription_of
from tests.helpers import published


async def entitlement_status(portal: Portal, email: str) -> list[str]:
    who = await customer(portal, email)
    async with portal.db.unit_of_work() as session:
        return list(await session.scalars(select(Entitlement.status).join(
            Subscription, Entitlement.subscription_id == Subscription.id).where(
            Entitlement.customer_id == who.id, Subscription.product_id == (
                await subscription_of(portal, email)).product_id).order_by(Entitlement.id)))


def test_resume_dates_read_as_a_person_writes_them() -> None:
    assert resume_date("2026-05-01", now=FIXED_NOW, tz="UTC") == date(2026, 5, 1)
    assert resume_date("in 3 weeks", now=FIXED_NOW, tz="UTC") == date(2026, 4, 5)
    assert resume_date("30 days", now=FIXED_NOW, tz="UTC") == date(2026, 4, 14)
    with pytest.raises(InvalidInput, match="like 2026-05-01"):
        resume_date("soonish", now=FIXED_NOW, tz="UTC")


async def test_a_pause_waits_for_the_period_end_and_never_passes_the_longest_pause(
        store: Portal, provider: TestModeProvider) -> None:
    with pytest.raises(InvalidInput) as too_long:
        await preview(store, "ann@example.com", lifecycle.preview_pause, "club", date(2026, 9, 1))
    assert too_long.value.message == ("The longest pause is 90 days: The Club can resume on Jul 14, "
                                      "2026 at the latest.")
    with pytest.raises(InvalidInput, match="choose a resume date after it"):
        await preview(store, "ann@example.com", lifecycle.preview_pause, "club", date(2026, 4, 1))

    shown = await preview(store, "ann@example.com", lifecycle.preview_pause, "club", date(2026, 5, 15))
    assert shown.summary.startswith("Pause The Club from Apr 15, 2026, when the current period ends, "
                                    "until May 15, 2026. Nothing is charged while paused.")
    await confirm(store, provider, "ann@example.com", shown)
    club = await subscription_of(store, "ann@example.com")
    assert club.pause_at_period_end and club.status == "active"

    with pytest.raises(Conflict, match="pauses on Apr 15, 2026; send `resume club`"):
        await preview(store, "ann@example.com", lifecycle.preview_pause, "club")
    kept = await preview(store, "ann@example.com", lifecycle.preview_resume, "club")
    assert kept.summary == "Keep The Club running: drop the pause planned for Apr 15, 2026."
    await confirm(store, provider, "ann@example.com", kept)
    assert not (await subscription_of(store, "ann@example.com")).pause_at_period_end


async def test_resuming_a_paused_subscription_charges_a_new_period(
        store: Portal, provider: TestModeProvider, clock: Clock) -> None:
    await add_card(store, provider, "ann@example.com")
    club = await subscription_of(store, "ann@example.com")
    async with store.db.unit_of_work() as session:
        row = await session.get(Subscription, club.id)
        assert row is not None
        row.status = "paused"
    clock.advance(days=40)
    shown = await preview(store, "ann@example.com", lifecycle.preview_resume, "club")
    assert shown.amount_due == 1000 and "renews on May 24, 2026" in shown.summary

    done = await confirm(store, provider, "ann@example.com", shown)

    assert "running again. $10.00 was charged." in done.message
    club = await subscription_of(store, "ann@example.com")
    assert (club.status, club.current_period_start) == ("active", clock.now)
    assert await charges(store) == [("resume", 1000, "succeeded", None)]


async def test_cancel_at_the_period_end_then_uncancel(store: Portal, provider: TestModeProvider) -> None:
    shown = await preview(store, "ann@example.com", lifecycle.preview_cancel, "club",
                          reason="Too expensive")
    assert shown.summary == ("Cancel The Club: it ends on Apr 15, 2026, when the current period ends, "
                             "and you keep access until then. Nothing more is charged.")
    await confirm(store, provider, "ann@example.com", shown)
    club = await subscription_of(store, "ann@example.com")
    assert (club.cancel_at_period_end, club.cancel_reason, club.status) == (True, "too expensive", "active")
    assert await entitlement_status(store, "ann@example.com") == ["active"]

    with pytest.raises(Conflict) as twice:
        await preview(store, "ann@example.com", lifecycle.preview_cancel, "club")
    assert twice.value.message == ("Your The Club is already cancelled; it ends on Apr 15, 2026 — send "
                                   "`uncancel club` to keep it.")
    await confirm(store, provider, "ann@example.com",
                  await preview(store, "ann@example.com", lifecycle.preview_uncancel, "club"))
    club = await subscription_of(store, "ann@example.com")
    assert not club.cancel_at_period_end and club.cancel_reason is None
    with pytest.raises(Conflict, match="is not cancelled"):
        await preview(store, "ann@example.com", lifecycle.preview_uncancel, "club")


async def test_a_reason_must_be_one_of_those_offered(store: Portal) -> None:
    with pytest.raises(InvalidInput) as refused:
        await preview(store, "ann@example.com", lifecycle.preview_cancel, "club", reason="meh")
    assert refused.value.message == (
        "Choose a reason from: too expensive, missing features, switched service, unused, customer "
        "service, too complex, low quality, other (or leave it out).")


async def test_cancelling_now_is_the_products_choice_and_ends_access_at_once(
        store: Portal, provider: TestModeProvider, tmp_path: Path) -> None:
    with pytest.raises(NotAllowed) as refused:
        await preview(store, "ann@example.com", lifecycle.preview_cancel, "club", now=True)
    assert refused.value.message == ("The Club cannot be cancelled at once here; send `cancel club` to "
                                     "end it on Apr 15, 2026 (you keep access until then).")
    await load(store, tmp_path, CATALOG.replace('slug = "club"\nname = "The Club"\nkind = "subscription"\n',
                                                'slug = "club"\nname = "The Club"\nkind = "subscription"\n'
                                                '  [products.subscription]\n  allow_cancel_now = true\n'))
    shown = await preview(store, "ann@example.com", lifecycle.preview_cancel, "club", now=True)
    assert "Nothing is refunded for the rest of the period (until Apr 15, 2026)." in shown.summary

    await confirm(store, provider, "ann@example.com", shown)

    club = await subscription_of(store, "ann@example.com")
    assert (club.status, club.ended_at) == ("canceled", store.now())
    assert await entitlement_status(store, "ann@example.com") == ["ended"]
    assert "access_changed" in [e.name for e in await published(store)]
    with pytest.raises(Conflict, match="has ended; send `resubscribe club`"):
        await preview(store, "ann@example.com", lifecycle.preview_pause, "club")


async def test_resubscribing_starts_a_new_subscription_and_keeps_the_old(
        store: Portal, provider: TestModeProvider, clock: Clock, tmp_path: Path) -> None:
    await add_card(store, provider, "ann@example.com")
    club = await subscription_of(store, "ann@example.com")
    async with store.db.unit_of_work() as session:
        row = await session.get(Subscription, club.id)
        assert row is not None
        row.status, row.ended_at = "expired", clock.now
    with pytest.raises(Conflict, match="You already have The Zine"):
        await preview(store, "ann@example.com", lifecycle.preview_resubscribe, "zine")

    shown = await preview(store, "ann@example.com", lifecycle.preview_resubscribe, "club", "pro")
    assert shown.amount_due == 2000
    done = await confirm(store, provider, "ann@example.com", shown)

    assert "subscribed to The Club again, on Pro. $20.00 was charged." in done.message
    ann = await customer(store, "ann@example.com")
    async with store.db.unit_of_work() as session:
        states = list(await session.execute(select(Subscription.status, Subscription.plan_id).where(
            Subscription.customer_id == ann.id, Subscription.product_id == club.product_id)
            .order_by(Subscription.id)))
    assert [status for status, _ in states] == ["expired", "active"]
    statuses = await entitlement_status(store, "ann@example.com")
    assert len(statuses) == 2 and statuses[-1] == "active", "a new entitlement for the new subscription"


async def test_a_subscriptions_license_key_works_exactly_while_it_gives_access(
        store: Portal, provider: TestModeProvider, tmp_path: Path) -> None:
    keyed = CATALOG.replace('slug = "club"\nname = "The Club"\nkind = "subscription"\n',
                            'slug = "club"\nname = "The Club"\nkind = "subscription"\n'
                            '  [products.license]\n  activation_limit = 2\n'
                            '  [products.subscription]\n  allow_cancel_now = true\n')
    await load(store, tmp_path, keyed)
    await subscribe(store, "kim@example.com")
    await add_card(store, provider, "kim@example.com")
    kim = await customer(store, "kim@example.com")
    async with store.db.unit_of_work() as session:
        key = await session.scalar(select(License.key).where(License.customer_id == kim.id))
    assert key is not None and (await license_api.validate(store, key)).ok

    # Paused at a period end without access: the app is told the key has expired.
    club = await subscription_of(store, "kim@example.com")
    async with store.db.unit_of_work() as session:
        row = await session.get(Subscription, club.id, options=[joinedload(Subscription.product)])
        assert row is not None
        row.status = "paused"
        await sync_access(session, store, row)
    assert (await license_api.validate(store, key)).problem is license_api.Problem.EXPIRED

    await confirm(store, provider, "kim@example.com",
                  await preview(store, "kim@example.com", lifecycle.preview_resume, "club"))
    assert (await license_api.validate(store, key)).ok, "resumed: the same key works again"

    await confirm(store, provider, "kim@example.com",
                  await preview(store, "kim@example.com", lifecycle.preview_cancel, "club", now=True))
    answer = await license_api.validate(store, key)
    assert answer.problem is license_api.Problem.EXPIRED and answer.key is not None
    assert answer.key.status == "expired"
