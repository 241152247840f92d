"""Saved payment methods: which subscriptions each pays for, choosing the default (the
subscriptions follow), removing one (never the last of a paid subscription), only ever one's own."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from adapters.payments.testmode import TestModeProvider
from core.kernel.errors import Conflict, NotFound
from core.kernel.portal import Portal
from core.models import AuditEvent, PaymentMethod, Subscription
from core.models.subscriptions import PAST_DUE
from core.payments import methods
from tests.conftest import Clock
from tests.core.payments.conftest import customer
from tests.helpers import published


async def add_card(portal: Portal, provider: TestModeProvider, email: str, token: str = "pm_card_visa"
                   ) -> PaymentMethod:
    who = await customer(portal, email)
    async with portal.db.unit_of_work() as session:
        return await methods.add_method(session, portal, who.id, provider.name,
                                        await provider.attach_method("cus", token), actor="test")


async def listing(portal: Portal, email: str) -> list[tuple[str, bool, list[str]]]:
    who = await customer(portal, email)
    async with portal.db.unit_of_work() as session:
        return [(item.method.last4, item.is_default, item.used_by)
                for item in await methods.methods_of(session, who.id)]


async def test_a_new_card_becomes_the_default_and_pays_for_the_subscriptions(
        store: Portal, provider: TestModeProvider, clock: Clock) -> None:
    await add_card(store, provider, "ann@example.com")
    assert await listing(store, "ann@example.com") == [("4242", True, ["The Club", "The Zine"])]

    clock.advance(minutes=1)
    await add_card(store, provider, "ann@example.com", "pm_card_chargeDeclined")

    assert await listing(store, "ann@example.com") == [
        ("0002", True, ["The Club", "The Zine"]), ("4242", False, [])]


async def test_choosing_the_default_moves_the_subscriptions_that_used_the_old_one(
        store: Portal, provider: TestModeProvider, clock: Clock) -> None:
    await add_card(store, provider, "ann@example.com")
    clock.advance(minutes=1)
    await add_card(store, provider, "ann@example.com", "pm_card_chargeDeclined")
    ann = await customer(store, "ann@example.com")

    async with store.db.unit_of_work() as session:
        items = await methods.methods_of(session, ann.id)
        preview = methods.preview_default(items[1], items)
        await methods.set_default(session, store, ann.id, 2, actor="customer via console")

    assert preview == ("Make your Visa ending in 4242 (expires 12/29) the default. The Club and The "
                       "Zine will renew with it instead of your Visa ending in 0002.")
    assert await listing(store, "ann@example.com") == [
        ("4242", True, ["The Club", "The Zine"]), ("0002", False, [])]
    async with store.db.unit_of_work() as session:
        with pytest.raises(Conflict, match="already your default"):
            await methods.set_default(session, store, ann.id, 1, actor="test")
        actions = list(await session.scalars(select(AuditEvent.action).where(
            AuditEvent.customer_id == ann.id).order_by(AuditEvent.id)))
    assert actions[-1] == "payment_method_default"
    assert [e.payload()["change"] for e in await published(store)
            if e.name == "payment_method_changed"] == ["added", "added", "default"]


async def test_the_last_card_of_a_paid_subscription_cannot_be_removed(
        store: Portal, provider: TestModeProvider) -> None:
    await add_card(store, provider, "ann@example.com")
    ann = await customer(store, "ann@example.com")

    async with store.db.unit_of_work() as session:
        with pytest.raises(Conflict) as refused:
            await methods.preview_remove(session, ann.id, 1)
    assert refused.value.message == (
        "Your Visa ending in 4242 is the only payment method The Club and The Zine renews with. "
        "Add another with `payment` first, or cancel the subscription.")
    async with store.db.unit_of_work() as session:
        with pytest.raises(Conflict):
            await methods.remove(session, store, ann.id, 1, actor="test")
    assert await listing(store, "ann@example.com") == [("4242", True, ["The Club", "The Zine"])]


async def test_removing_a_card_moves_its_subscriptions_to_the_other(
        store: Portal, provider: TestModeProvider, clock: Clock) -> None:
    await add_card(store, provider, "ann@example.com")
    clock.advance(minutes=1)
    await add_card(store, provider, "ann@example.com", "pm_card_chargeDeclined")
    ann = await customer(store, "ann@example.com")

    async with store.db.unit_of_work() as session:
        preview = await methods.preview_remove(session, ann.id, 1)
        await methods.remove(session, store, ann.id, 1, actor="test")

    assert preview == ("Remove your Visa ending in 0002 (expires 12/29). Your Visa ending in 4242 "
                       "becomes the default and pays for The Club and The Zine.")
    assert await listing(store, "ann@example.com") == [("4242", True, ["The Club", "The Zine"])]


async def test_nobody_reaches_another_customers_methods_by_number(
        store: Portal, provider: TestModeProvider) -> None:
    await add_card(store, provider, "ann@example.com")
    olga = await customer(store, "olga@example.com")

    async with store.db.unit_of_work() as session:
        with pytest.raises(NotFound, match="no saved payment method"):
            await methods.set_default(session, store, olga.id, 1, actor="test")
        with pytest.raises(NotFound, match="no saved payment method"):
            await methods.remove(session, store, olga.id, 1, actor="test")
    await add_card(store, provider, "olga@example.com")
    async with store.db.unit_of_work() as session:
        with pytest.raises(NotFound, match="numbered 1 to 1"):
            await methods.remove(session, store, olga.id, 2, actor="test")
    assert await listing(store, "ann@example.com") == [("4242", True, ["The Club", "The Zine"])]


async def test_a_card_added_while_past_due_is_tried_at_once(store: Any, provider: TestModeProvider,
                                                            clock: Clock) -> None:
    ann = await customer(store, "ann@example.com")
    async with store.db.unit_of_work() as session:
        club = await session.scalar(select(Subscription).where(Subscription.customer_id == ann.id))
        assert club is not None
        club.status, club.next_retry_at = PAST_DUE, clock.now.replace(year=2027)

    await add_card(store, provider, "ann@example.com")

    async with store.db.unit_of_work() as session:
        club = await session.get(Subscription, club.id)
    assert club is not None and club.next_retry_at == clock.now and club.payment_method_id is not None
    assert "renewals_due" in [e.name for e in await published(store)]
