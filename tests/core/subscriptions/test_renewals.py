"""Renewals: one charge and one invoice per period however often the worker crashes, dunning
through to the end of access, scheduled changes applied at the period end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from adapters.payments.testmode import TestModeProvider
from core.kernel.portal import Portal
from core.models import Entitlement
from core.payments.provider import ChargeRequest, ChargeResult
from core.subscriptions import changes, lifecycle, renewals
from core.subscriptions.renewals import RenewalWorker
from tests.conftest import Clock
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

PERIOD_END = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)  # of the purchases made at the fixed now


class CountingProvider(TestModeProvider):
    """The test-mode provider, keeping count of what it was asked, as a real one would."""

    def __init__(self, portal: Portal) -> None:
        super().__init__(portal)
        self.asked: list[str] = []

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        self.asked.append(request.idempotency_key)
        return await super().charge(request)


@pytest.fixture
def counting(portal: Portal) -> CountingProvider:
    return CountingProvider(portal)


async def test_a_renewal_charges_the_card_issues_the_invoice_and_starts_the_next_period(
        store: Portal, counting: CountingProvider, clock: Clock) -> None:
    await add_card(store, counting, "ann@example.com")
    await add_card(store, counting, "olga@example.com")
    worker = RenewalWorker(store, counting)
    assert (await worker.run_pass()).total == 0, "nothing is due before the period ends"
    before = await invoices(store, "ann@example.com")

    clock.now = PERIOD_END + timedelta(minutes=1)
    report = await worker.run_pass()

    assert sorted(report.charged) == ["ann@example.com club: $10.00 charged, renews 2026-05-15",
                                      "ann@example.com zine: $3.00 charged, renews 2026-05-15",
                                      "olga@example.com club: $10.00 charged, renews 2026-05-15"]
    assert report.failed == [] and len(counting.asked) == 3
    club = await subscription_of(store, "ann@example.com")
    assert (club.current_period_start, club.current_period_end) == (PERIOD_END, PERIOD_END.replace(month=5))
    assert sorted((await invoices(store, "ann@example.com"))[len(before):]) == [300, 1000]
    assert (await worker.run_pass()).total == 0 and len(counting.asked) == 3


async def test_a_crash_after_the_charge_before_the_commit_charges_once(
        store: Portal, counting: CountingProvider, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    await add_card(store, counting, "olga@example.com")
    issue = renewals.issue_for_order  # the renewal's invoice, issued in its new period
    crashes = [1]

    async def crash_once(*args: Any, **kwargs: Any) -> Any:
        if crashes:
            crashes.pop()
            raise SystemError("the process died here")
        return await issue(*args, **kwargs)

    monkeypatch.setattr(renewals, "issue_for_order", crash_once)
    before = await invoices(store, "olga@example.com")
    clock.now = PERIOD_END + timedelta(minutes=1)
    worker = RenewalWorker(store, counting)

    first = await worker.run_pass()
    assert first.charged == [] and await charges(store, "olga@example.com") == [], "nothing was committed"
    assert (await worker.run_pass()).total == 0, "the crashed worker's lease still holds it"
    clock.advance(minutes=6)
    second = await worker.run_pass()

    assert second.charged == ["olga@example.com club: $10.00 charged, renews 2026-05-15"]
    assert len(counting.asked) == 2 and len(set(counting.asked)) == 1, "asked twice with one key"
    assert await charges(store, "olga@example.com") == [("renewal", 1000, "succeeded", None)]
    assert (await invoices(store, "olga@example.com"))[len(before):] == [1000]


async def test_dunning_retries_then_ends_access(store: Portal, counting: CountingProvider,
                                                clock: Clock) -> None:
    await add_card(store, counting, "olga@example.com", "pm_card_chargeDeclinedInsufficientFunds")
    worker = RenewalWorker(store, counting)
    clock.now = PERIOD_END
    first = await worker.run_pass()

    assert [line for line in first.failed if "olga" in line] == [
        "olga@example.com club: the card has insufficient funds; retry 2026-04-17"]
    club = await subscription_of(store, "olga@example.com")
    assert (club.status, club.failed_attempts) == ("past_due", 1)
    [mail] = [m for m in await sent_mail(store, "olga@example.com", kind="notice")]
    assert mail["Subject"] == "Action needed: the payment for The Club failed"
    assert "Send `payment` in the portal" in text_of(mail) and "http://portal.test/pay/" in text_of(mail)
    olga = (await subscription_of(store, "olga@example.com")).customer_id
    [failed] = [e for e in await published(store) if e.name == "renewal_payment_failed"
                and e.payload()["customer_id"] == olga]
    assert failed.payload()["fix"] == "payment" and failed.payload()["next_retry_at"] is not None

    for days, state in ((2, "past_due"), (5, "past_due"), (7, "expired")):
        clock.now = PERIOD_END + timedelta(days=days)
        await worker.run_pass()
        assert (await subscription_of(store, "olga@example.com")).status == state

    async with store.db.unit_of_work() as session:
        access = list(await session.scalars(select(Entitlement.status).where(
            Entitlement.subscription_id == club.id)))
    assert access == ["ended"]
    assert [c[2:] for c in await charges(store, "olga@example.com")] == [("failed", "insufficient_funds")] * 4
    last = (await sent_mail(store, "olga@example.com", kind="notice"))[-1]
    assert last["Subject"] == "The Club has ended: the renewal payment failed"
    ended = [e.payload() for e in await published(store)
             if e.name == "renewal_payment_failed" and e.payload()["customer_id"] == olga][-1]
    assert ended["next_retry_at"] is None and ended["fix"] == "resubscribe club"


async def test_a_card_added_while_past_due_is_charged_at_once(store: Portal, counting: CountingProvider,
                                                              clock: Clock) -> None:
    await add_card(store, counting, "olga@example.com", "pm_card_chargeDeclined")
    worker = RenewalWorker(store, counting)
    clock.now = PERIOD_END
    await worker.run_pass()
    clock.advance(hours=3)
    await add_card(store, counting, "olga@example.com")

    report = await worker.run_pass()

    assert [line for line in report.charged if "olga" in line] == [
        "olga@example.com club: $10.00 charged, renews 2026-05-15"]
    assert (await subscription_of(store, "olga@example.com")).status == "active"


async def test_scheduled_changes_happen_at_the_period_end(store: Portal, counting: CountingProvider,
                                                          clock: Clock) -> None:
    await add_card(store, counting, "ann@example.com")
    await add_card(store, counting, "olga@example.com")
    await confirm(store, counting, "ann@example.com",
                  await preview(store, "ann@example.com", lifecycle.preview_cancel, "zine"))
    await confirm(store, counting, "olga@example.com",
                  await preview(store, "olga@example.com", lifecycle.preview_pause, "club",
                                PERIOD_END.date() + timedelta(days=10)))
    await subscribe(store, "dora@example.com", plan="pro")
    await add_card(store, counting, "dora@example.com")
    await confirm(store, counting, "dora@example.com",
                  await preview(store, "dora@example.com", changes.preview_change, "club", "basic"))

    clock.now = PERIOD_END
    report = await RenewalWorker(store, counting).run_pass()

    assert sorted(report.changed) == ["ann@example.com zine: ended (cancelled)", "olga@example.com club: paused"]
    zine, paused = await subscription_of(store, "ann@example.com", "zine"), await subscription_of(
        store, "olga@example.com")
    assert (zine.status, paused.status) == ("canceled", "paused")
    dora = await subscription_of(store, "dora@example.com")
    assert dora.plan.slug == "basic" and "dora@example.com club: $10.00 charged, renews 2026-05-15" in report.charged

    clock.now = datetime(2026, 4, 25, tzinfo=UTC)  # the pause ends at the start of its last day
    resumed = await RenewalWorker(store, counting).run_pass()
    assert resumed.changed == ["olga@example.com club: resumed"]
    assert [line for line in resumed.charged if "olga" in line] == [
        "olga@example.com club: $10.00 charged, renews 2026-05-25"]


async def test_store_billed_subscriptions_are_never_charged(store: Portal, counting: CountingProvider,
                                                            clock: Clock) -> None:
    await subscribe(store, "mia@example.com", billed_by="merchant")
    await add_card(store, counting, "mia@example.com")
    clock.now = PERIOD_END + timedelta(days=40)

    report = await RenewalWorker(store, counting).run_pass()

    assert [line for line in report.charged if "mia" in line] == []
    assert (await subscription_of(store, "mia@example.com")).current_period_end == PERIOD_END


async def test_proration_for_the_next_period_is_added_to_the_renewal(
        store: Portal, counting: CountingProvider, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store.settings.portal, "proration", "next_period")
    await add_card(store, counting, "olga@example.com")
    clock.now = datetime(2026, 3, 31, tzinfo=UTC)  # half-way: $5.00 owed
    shown = await preview(store, "olga@example.com", changes.preview_change, "club", "pro")
    assert shown.amount_due == 0 and "added to your next renewal" in shown.text
    await confirm(store, counting, "olga@example.com", shown)
    assert await charges(store, "olga@example.com") == []

    clock.now = PERIOD_END
    report = await RenewalWorker(store, counting).run_pass()

    assert "olga@example.com club: $25.00 charged, renews 2026-05-15" in report.charged
