"""Refunds: once per key, never more than was paid, tax in proportion with the last one taking
the rest, the order's state, a credit note each, a mail at each state, and access ending with a
full refund (or a partial one the operator says so of), delivered through the refund's event.

The demo store gives the cases: Bob's e-book (a consumer, Irish VAT), Alice's purchases (a
French business under the reverse charge, her store-billed orders and her Maker Pro renewals
charged through the test-mode provider), Alice's team with Bob's and Dana's seats.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from adapters.payments.testmode import TestModeProvider
from bot.bootstrap import event_worker, payment_provider
from core.billing import refunds
from core.identity.customers import by_email
from core.kernel.db import Database
from core.kernel.errors import Conflict, InvalidInput, NotFound
from core.kernel.events import AccessChanged, RefundChanged
from core.kernel.portal import Portal
from core.models import (
    AuditEvent,
    Charge,
    Document,
    Entitlement,
    License,
    Order,
    Product,
    Refund,
    Seat,
    Subscription,
)
from core.models.billing import CREDIT_NOTE, ImmutableDocument
from core.models.refunds import OPERATOR
from core.payments.provider import PaymentProvider, RefundResult
from tests.helpers import published, sent_mail, text_of

ACTOR = "operator via cli"


class CountingProvider(TestModeProvider):
    """The test-mode provider, counting the refunds it was asked for (by key), and answering
    as told: at once (None), pending first then `settles_as`, or refused."""

    def __init__(self, portal: Portal, *, answer: str | None = None, settles_as: str = "succeeded") -> None:
        super().__init__(portal)
        self.asked: list[str] = []
        self.answer, self.settles_as = answer, settles_as

    async def refund(self, charge_ref: str, amount: int, currency: str, idempotency_key: str
                     ) -> RefundResult:
        self.asked.append(idempotency_key)
        done = await super().refund(charge_ref, amount, currency, idempotency_key)
        if self.answer == "pending":
            return RefundResult(False, done.provider_ref, pending=True)
        if self.answer == "refused":
            return RefundResult(False, done.provider_ref, "the charge was disputed")
        if self.answer == "down":
            raise TimeoutError("no answer")
        return done

    async def refund_status(self, provider_ref: str) -> RefundResult:
        if self.settles_as == "pending":
            return RefundResult(False, provider_ref, pending=True)
        if self.settles_as == "canceled":
            return RefundResult(False, provider_ref, "the bank called it off", canceled=True)
        return RefundResult(self.settles_as == "succeeded", provider_ref)


async def order_of(portal: Portal, external_id: str) -> Order:
    async with portal.db.unit_of_work() as session:
        found = await session.scalar(select(Order).where(Order.external_id == external_id))
    assert found is not None
    return found


async def paid_renewal(portal: Portal) -> Order:
    """Alice's newest Maker Pro renewal: charged through the test-mode provider, it pays for the
    current period."""
    async with portal.db.unit_of_work() as session:
        found = await session.scalar(select(Order).join(Charge, Charge.order_id == Order.id)
                                     .where(Order.source == "renewal", Charge.status == "succeeded",
                                            Order.customer_id == 1)
                                     .order_by(Order.placed_at.desc()).limit(1))
    assert found is not None
    return found


async def refund(portal: Portal, payments: PaymentProvider, order: Order, amount: int | None = None, *,
                 key: str | None = None, end_access: bool = False, reason: str | None = "Test") -> Refund:
    async with portal.db.unit_of_work() as session:
        fresh = await session.get(Order, order.id)
        assert fresh is not None
        return await refunds.refund_order(session, portal, payments, fresh, amount=amount, reason=reason,
                                          key=key or f"test-{uuid.uuid4()}", requested_by=OPERATOR,
                                          actor=ACTOR, end_access=end_access)


async def state_of(portal: Portal, order: Order) -> tuple[str, refunds.Balance]:
    async with portal.db.unit_of_work() as session:
        fresh = await session.get(Order, order.id)
        assert fresh is not None
        return fresh.status, await refunds.balance(session, fresh)


async def notes_of(portal: Portal, order: Order) -> list[Document]:
    async with portal.db.unit_of_work() as session:
        return list(await session.scalars(select(Document).where(
            Document.order_id == order.id, Document.kind == CREDIT_NOTE).order_by(Document.id)))


async def deliver_events(portal: Portal) -> None:
    """What `serve`'s event worker does with what was published."""
    await event_worker(portal).deliver_due()


@pytest.fixture
def provider(demo_portal: Portal) -> CountingProvider:
    return CountingProvider(demo_portal)


async def test_partial_refunds_stop_at_what_was_paid(demo_portal: Portal, provider: CountingProvider) -> None:
    ebook = await order_of(demo_portal, "demo-bob-ebook")
    await refund(demo_portal, provider, ebook, 500)
    await refund(demo_portal, provider, ebook, 1000)
    with pytest.raises(Conflict) as refused:
        await refund(demo_portal, provider, ebook, 401)
    assert refused.value.message == (f"Only $4.00 of order {ebook.number} is left to refund (paid $19.00, "
                                     "refunded $15.00); $4.01 is more than that.")
    for amount, words in ((0, "must be more than 0"), (-5, "must be more than 0")):
        with pytest.raises(InvalidInput, match=words):
            await refund(demo_portal, provider, ebook, amount)
    last = await refund(demo_portal, provider, ebook)  # what is left
    assert last.amount == 400
    with pytest.raises(Conflict, match=rf"Order {ebook.number} is already refunded in full \(\$19.00\)"):
        await refund(demo_portal, provider, ebook, 100)
    status, held = await state_of(demo_portal, ebook)
    assert status == "refunded" and (held.paid, held.refunded, held.left) == (1900, 1900, 0)
    assert provider.asked == [], "the store's checkout was paid for it: no provider is asked"


async def test_the_same_key_refunds_once(demo_portal: Portal, provider: CountingProvider) -> None:
    renewal = await paid_renewal(demo_portal)
    first = await refund(demo_portal, provider, renewal, 300, key="refund-once")
    again = await refund(demo_portal, provider, renewal, 300, key="refund-once")
    assert again.id == first.id and provider.asked == ["refund-once"]
    assert len(await notes_of(demo_portal, renewal)) == 1
    with pytest.raises(Conflict, match="was used for another refund"):
        await refund(demo_portal, provider, renewal, 500, key="refund-once")
    other = await order_of(demo_portal, "demo-alice-ebook")
    with pytest.raises(Conflict, match="was used for another refund"):
        await refund(demo_portal, provider, other, 300, key="refund-once")
    assert (await state_of(demo_portal, renewal))[1].refunded == 300


async def test_tax_goes_back_in_proportion_and_the_last_refund_takes_the_rest(
        demo_portal: Portal, provider: CountingProvider) -> None:
    ebook = await order_of(demo_portal, "demo-bob-ebook")
    async with demo_portal.db.unit_of_work() as session:
        invoice = await refunds.invoice_of(session, ebook)
    assert invoice is not None and (invoice.total, invoice.tax_total) == (1900, 355)  # 23 % VAT inside
    parts = [await refund(demo_portal, provider, ebook, amount) for amount in (500, 700, None)]
    assert [(p.amount, p.tax) for p in parts] == [(500, 93), (700, 131), (700, 131)]
    assert sum(p.tax for p in parts) == invoice.tax_total, "to the minor unit"
    for note, part in zip(await notes_of(demo_portal, ebook), parts, strict=True):
        assert (note.total, note.tax_total, note.subtotal) == (-part.amount, -part.tax, -(part.amount - part.tax))
        assert sum(line["amount"] for line in note.snapshot["lines"]) == note.total
        assert sum(line["net"] for line in note.snapshot["lines"]) == note.subtotal
        assert note.snapshot["taxes"] == [{"name": "VAT", "rate": "23", "base": note.subtotal,
                                           "amount": note.tax_total}]
        assert note.snapshot["corrects"] == invoice.number and note.related_document_id == invoice.id


async def test_a_reverse_charge_refund_gives_back_no_tax(demo_portal: Portal, provider: CountingProvider) -> None:
    pixel = await order_of(demo_portal, "demo-alice-pixel")
    done = await refund(demo_portal, provider, pixel, 5000)
    assert done.tax == 0
    note = (await notes_of(demo_portal, pixel))[-1]
    assert note.snapshot["treatment"]["kind"] == "reverse_charge" and note.tax_total == 0


async def test_each_state_is_audited_mailed_and_published(demo_portal: Portal) -> None:
    renewal = await paid_renewal(demo_portal)
    slow = CountingProvider(demo_portal, answer="pending")
    pending = await refund(demo_portal, slow, renewal, 500, reason="A workshop was cancelled")
    assert pending.state == "pending" and pending.credit_note_id is None
    status, held = await state_of(demo_portal, renewal)
    assert status == "paid" and (held.pending, held.left) == (500, 700), "held while on its way"
    with pytest.raises(Conflict, match=r"Only \$7.00 .* \$5.00 on its way back\); \$12.00 is more"):
        await refund(demo_portal, slow, renewal, 1200)

    async with demo_portal.db.unit_of_work() as session:
        row = await session.get(Refund, pending.id)
        assert row is not None
        settled = await refunds.follow(session, demo_portal, slow, row)
    assert settled.state == "succeeded" and settled.settled_at is not None and settled.credit_note_id
    assert slow.asked == [pending.idempotency_key], "followed by its reference, not asked again"
    assert (await state_of(demo_portal, renewal))[0] == "partially_refunded"

    mails = await sent_mail(demo_portal, to="alice@example.com", kind="refund")
    subjects = [str(m["Subject"]) for m in mails]
    assert subjects[-2:] == [f"Your refund of $5.00 for order {renewal.number} is on its way",
                             f"Refunded: $5.00 for order {renewal.number}"]
    said = text_of(mails[-1])
    [note] = await notes_of(demo_portal, renewal)
    assert f"Credit note {note.number} corrects invoice" in said and f"`invoice {note.number}`" in said
    assert "You keep your access" in said and "Reason: A workshop was cancelled" in said
    changes = [e for e in await published(demo_portal) if isinstance(e, RefundChanged)
               and e.refund_id == pending.id]
    assert [(e.state, e.ends_access) for e in changes] == [("pending", False), ("succeeded", False)]
    async with demo_portal.db.unit_of_work() as session:
        actions = list(await session.scalars(select(AuditEvent.action).where(
            AuditEvent.action.like("refund_%"), AuditEvent.details["order"].as_string() == renewal.number)
            .order_by(AuditEvent.id)))
    assert actions == ["refund_requested", "refund_pending", "refund_succeeded"]


@pytest.mark.parametrize("answer, settles_as, state, subject", [
    ("refused", "succeeded", "failed", "Your refund for order {} could not be made"),
    ("pending", "canceled", "canceled", "Your refund for order {} was called off"),
])
async def test_a_refund_that_does_not_go_through_gives_the_amount_back_to_refund(
        demo_portal: Portal, answer: str, settles_as: str, state: str, subject: str) -> None:
    renewal = await paid_renewal(demo_portal)
    payments = CountingProvider(demo_portal, answer=answer, settles_as=settles_as)
    done = await refund(demo_portal, payments, renewal, 1200)
    if done.state == "pending":
        async with demo_portal.db.unit_of_work() as session:
            row = await session.get(Refund, done.id)
            assert row is not None
            done = await refunds.follow(session, demo_portal, payments, row)
    assert done.state == state and done.credit_note_id is None and done.failure_message
    status, held = await state_of(demo_portal, renewal)
    assert status == "paid" and held.left == 1200 and await notes_of(demo_portal, renewal) == []
    mails = await sent_mail(demo_portal, to="alice@example.com", kind="refund")
    assert str(mails[-1]["Subject"]) == subject.format(renewal.number)
    assert "nothing was refunded" in text_of(mails[-1])
    assert (await refund(demo_portal, CountingProvider(demo_portal), renewal, 1200)).state == "succeeded"


async def test_a_provider_that_does_not_answer_leaves_the_refund_to_send_again(demo_portal: Portal) -> None:
    renewal = await paid_renewal(demo_portal)
    down, up = CountingProvider(demo_portal, answer="down"), CountingProvider(demo_portal)
    async with demo_portal.db.unit_of_work() as session:
        order = await session.get(Order, renewal.id)
        assert order is not None
        requested = await refunds.request(session, demo_portal, down, order, amount=600, reason=None,
                                          key="crash-safe", requested_by=OPERATOR, actor=ACTOR)
    with pytest.raises(TimeoutError):
        async with demo_portal.db.unit_of_work() as session:
            await refunds.send(session, demo_portal, down, requested.refund)
    async with demo_portal.db.unit_of_work() as session:
        row = await session.get(Refund, requested.refund.id)
        assert row is not None and row.state == "pending" and row.provider_ref is None
        settled = await refunds.follow(session, demo_portal, up, row)
    assert settled.state == "succeeded" and down.asked == up.asked == ["crash-safe"]


async def test_a_charge_refunds_through_the_provider_that_made_it(demo_portal: Portal) -> None:
    renewal = await paid_renewal(demo_portal)

    class Elsewhere(CountingProvider):
        name = "stripe"

    with pytest.raises(Conflict, match="was charged through testmode, which is not the payment provider"):
        await refund(demo_portal, Elsewhere(demo_portal), renewal, 100)
    done = await refund(demo_portal, payment_provider(demo_portal), renewal, 100)
    assert done.provider == "testmode" and (done.provider_ref or "").startswith("re_test_")


async def test_a_partial_refund_keeps_access_unless_the_operator_ends_it(
        demo_portal: Portal, provider: CountingProvider) -> None:
    pixel = await order_of(demo_portal, "demo-alice-pixel")
    await refund(demo_portal, provider, pixel, 1000)
    await deliver_events(demo_portal)
    assert await keys_of(demo_portal, "alice@example.com", "pixel-studio") == ["active"]
    ended = await refund(demo_portal, provider, pixel, 1000, end_access=True)
    await deliver_events(demo_portal)
    assert await keys_of(demo_portal, "alice@example.com", "pixel-studio") == ["disabled"]
    assert await access_of(demo_portal, "alice@example.com", "pixel-studio") == ["ended"]
    async with demo_portal.db.unit_of_work() as session:
        row = await session.get(Refund, ended.id)
        assert row is not None and row.access_ended_at is not None
    assert (await state_of(demo_portal, pixel))[0] == "partially_refunded"


async def test_a_full_refund_ends_the_products_keys_and_seats_it_gave(
        demo_portal: Portal, provider: CountingProvider) -> None:
    team = await order_of(demo_portal, "demo-alice-tileset")
    earlier = len(await published(demo_portal))
    await refund(demo_portal, provider, team)
    assert await access_of(demo_portal, "bob@example.com", "tileset-forge") == ["active"], \
        "access ends through the refund's event"
    await deliver_events(demo_portal)
    await deliver_events(demo_portal)  # delivered again: nothing more happens
    for member in ("alice@example.com", "bob@example.com", "dana@example.com"):
        assert set(await access_of(demo_portal, member, "tileset-forge")) <= {"ended"}, member
        assert set(await keys_of(demo_portal, member, "tileset-forge")) <= {"disabled"}, member
    async with demo_portal.db.unit_of_work() as session:
        states = set(await session.scalars(select(Seat.state)))
        assert states == {"unassigned"}
    told = [e.customer_id for e in (await published(demo_portal))[earlier:] if isinstance(e, AccessChanged)]
    async with demo_portal.db.unit_of_work() as session:
        team_ids = set(await session.scalars(select(Order.customer_id).where(Order.id == team.id)))
        team_ids |= set(await session.scalars(select(Seat.member_id)))
    assert sorted(told) == sorted(team_ids), "each of them once: the second delivery ended nothing"
    mail = (await sent_mail(demo_portal, to="alice@example.com", kind="refund"))[-1]
    assert "Your access to what you bought with it ends now." in text_of(mail)


async def test_refunding_what_paid_for_the_current_period_ends_the_subscription(demo_portal: Portal) -> None:
    renewal = await paid_renewal(demo_portal)
    payments = CountingProvider(demo_portal)
    await refund(demo_portal, payments, renewal)
    await deliver_events(demo_portal)
    async with demo_portal.db.unit_of_work() as session:
        pro = await session.scalar(select(Subscription).join(Product).where(
            Product.slug == "maker-pro", Subscription.customer_id == 1))
        assert pro is not None and pro.status == "canceled" and pro.cancel_reason == "refunded"
    assert await access_of(demo_portal, "alice@example.com", "maker-pro") == ["ended"]
    assert payments.asked, "through the provider that charged it"


async def test_refunding_an_older_period_leaves_the_subscription_running(demo_portal: Portal) -> None:
    async with demo_portal.db.unit_of_work() as session:
        first = await session.scalar(select(Order).where(Order.external_id == "demo-alice-pro"))
    assert first is not None
    await refund(demo_portal, CountingProvider(demo_portal), first)
    await deliver_events(demo_portal)
    assert await access_of(demo_portal, "alice@example.com", "maker-pro") == ["active"]


async def test_credit_notes_never_change(demo_portal: Portal, provider: CountingProvider) -> None:
    ebook = await order_of(demo_portal, "demo-bob-ebook")
    await refund(demo_portal, provider, ebook, 500)
    [note] = await notes_of(demo_portal, ebook)
    with pytest.raises(ImmutableDocument):
        async with demo_portal.db.unit_of_work() as session:
            row = await session.get(Document, note.id)
            assert row is not None
            row.total = -1


async def test_orders_are_found_by_number_and_scoped_by_customer(demo_portal: Portal) -> None:
    async with demo_portal.db.unit_of_work() as session:
        bob = await by_email(session, "bob@example.com")
        assert bob is not None
        for ref in ("SK-00015", "sk-15", "#15", "15"):
            assert (await refunds.find_order(session, ref)).number == "SK-00015"
        with pytest.raises(NotFound) as mine:
            await refunds.find_order(session, "SK-00008", customer_id=bob.id)
        with pytest.raises(NotFound) as missing:
            await refunds.find_order(session, "SK-99999", customer_id=bob.id)
        assert mine.value.message.replace("SK-00008", "X") == missing.value.message.replace("SK-99999", "X")


async def access_of(portal: Portal, email: str, product: str) -> list[str]:
    async with portal.db.unit_of_work() as session:
        who = await by_email(session, email)
        assert who is not None
        return list(await session.scalars(select(Entitlement.status).join(Product).where(
            Entitlement.customer_id == who.id, Product.slug == product).order_by(Entitlement.id)))


async def keys_of(portal: Portal, email: str, product: str) -> list[str]:
    async with portal.db.unit_of_work() as session:
        who = await by_email(session, email)
        assert who is not None
        return list(await session.scalars(select(License.status).join(Product).where(
            License.customer_id == who.id, Product.slug == product).order_by(License.id)))


def _engines(portal: Portal, database_url: tuple[str, dict[str, Any]]) -> list[Portal]:
    return [Portal(settings=portal.settings, db=Database(*database_url), clock=portal.clock) for _ in range(4)]


async def test_concurrent_refunds_of_one_order_never_pass_what_was_paid(
        demo_portal: Portal, backend: str, database_url: tuple[str, dict[str, Any]]) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite serializes writers; the concurrent case is PostgreSQL's")
    portals = _engines(demo_portal, database_url)
    renewal = await paid_renewal(demo_portal)  # $12.00, charged through the test-mode provider

    async def attempt(n: int) -> Refund | str:
        portal = portals[n % 4]
        try:
            return await refund(portal, CountingProvider(portal), renewal, 300)
        except Conflict as exc:
            return exc.message

    try:
        results = await asyncio.gather(*(attempt(n) for n in range(12)))
    finally:
        for portal in portals:
            await portal.db.close()
    made = [r for r in results if isinstance(r, Refund)]
    assert len(made) == 4 and sum(r.amount for r in made) == 1200
    assert all("Nothing is left to refund" in r or "is already refunded in full" in r
               for r in results if isinstance(r, str))
    status, held = await state_of(demo_portal, renewal)
    assert status == "refunded" and held.refunded == 1200 and sum(r.tax for r in made) == 0


async def test_credit_note_numbers_stay_gapless_and_unique_under_concurrent_refunds(
        demo_portal: Portal, backend: str, database_url: tuple[str, dict[str, Any]]) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite serializes writers; the concurrent case is PostgreSQL's")
    portals = _engines(demo_portal, database_url)
    async with demo_portal.db.unit_of_work() as session:
        orders = list(await session.scalars(select(Order).where(Order.status == "paid").order_by(Order.id)))

    async def attempt(n: int, order: Order) -> str | None:
        portal = portals[n % 4]
        try:
            async with portal.db.unit_of_work() as session:
                fresh = await session.get(Order, order.id)
                assert fresh is not None
                done = await refunds.refund_order(session, portal, CountingProvider(portal), fresh,
                                                  amount=100, reason="concurrent", key=f"c-{n}",
                                                  requested_by=OPERATOR, actor=ACTOR)
                note = await session.get(Document, done.credit_note_id)
                assert note is not None
                if n % 5 == 2:
                    raise RuntimeError("rolled back after taking a number")
                return note.number
        except RuntimeError:
            return None

    try:
        results = await asyncio.gather(*(attempt(n, order) for n, order in enumerate(orders * 2)))
    finally:
        for portal in portals:
            await portal.db.close()
    year = demo_portal.now().year
    numbers = sorted(r for r in results if r)
    assert len(numbers) == len(set(numbers)) == len(results) - len([r for r in results if r is None])
    async with demo_portal.db.unit_of_work() as session:
        stored = sorted(await session.scalars(select(Document.number).where(
            Document.kind == CREDIT_NOTE, Document.number.like(f"CN-{year}-%"))))
        issued = await session.scalar(select(func.count()).select_from(Refund).where(
            Refund.credit_note_id.is_not(None), Refund.reason == "concurrent"))
    assert stored == numbers == [f"CN-{year}-{n:04d}" for n in range(1, len(numbers) + 1)]
    assert issued == len(numbers)
