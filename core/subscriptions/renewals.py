"""Renewals: each period end of a live subscription, from any number of workers.

A pass claims the subscriptions that are due as of a moment (a lease in one atomic UPDATE,
SKIP LOCKED on PostgreSQL, so two workers never take the same one) and takes each one step:

- at the period end: a scheduled cancellation ends it; a scheduled pause pauses it; a scheduled
  plan takes over; then what shopkeep bills is charged (the plan's price plus any proration
  carried over) with the idempotency key of that period and attempt, the invoice and receipt are
  issued, and the next period starts. Store-billed subscriptions are never charged: their
  periods move when the store reports a renewal (`record_merchant_renewal`);
- a failed charge makes it past_due and starts dunning: it is tried again the configured days
  after the renewal date (`[portal] dunning_retry_days`, 2, 5 and 7 by default); each failure is
  mailed to the customer and published (RenewalPaymentFailed) for the chat doors; after the last
  retry it expires and access ends;
- a pause that reaches its resume date: the subscription runs again and is renewed at once.

A crash between the provider's charge and the commit loses nothing: the next pass asks again
with the same key, the provider answers the same charge, and one order and invoice are recorded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from core.accounts import audit
from core.billing.issuing import issue_for_order
from core.catalog.plans import next_period_end
from core.identity.customers import by_email, normalize_email
from core.kernel import events, formatting
from core.kernel.background import poll
from core.kernel.errors import Conflict, InvalidInput, NotFound
from core.kernel.portal import Portal
from core.kernel.validation import no_controls
from core.models import Customer, Order, OrderItem, Plan, Product, Subscription
from core.models.subscriptions import (
    ACTIVE,
    CANCELED,
    EXPIRED,
    MERCHANT,
    PAST_DUE,
    PAUSED,
    SHOPKEEP,
    TRIALING,
)
from core.orders.purchases import PurchaseResult, existing_order
from core.payments.customers import as_provider_customer, provider_customer
from core.payments.provider import PaymentProvider, failure_words
from core.subscriptions import charging, quotes
from core.subscriptions.access import sync_access
from core.subscriptions.effects import announce
from core.subscriptions.lifecycle import end
from core.subscriptions.wording import day

log = logging.getLogger("shopkeep.renewals")
LEASE = timedelta(minutes=5)
MAX_STEPS = 1000  # a pass never runs away: at most this many steps per subscription


@dataclass
class RenewalReport:
    """What a pass did, one line per subscription and step."""

    charged: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # ended, paused, resumed, plan changed
    skipped: list[str] = field(default_factory=list)  # due, but someone else changed it first

    @property
    def total(self) -> int:
        return len(self.charged) + len(self.failed) + len(self.changed)


def due_query(at: datetime, now: datetime) -> Any:
    """The ids of subscriptions with something due as of `at` and not held by another worker."""
    period_over = and_(Subscription.status.in_((ACTIVE, TRIALING)), Subscription.current_period_end <= at,
                       or_(Subscription.billed_by == SHOPKEEP, Subscription.cancel_at_period_end,
                           Subscription.pause_at_period_end, Subscription.scheduled_plan_id.is_not(None)))
    retry = and_(Subscription.status == PAST_DUE, Subscription.billed_by == SHOPKEEP,
                 Subscription.next_retry_at <= at)
    resume = and_(Subscription.status == PAUSED, Subscription.pause_until <= at)
    free = or_(Subscription.renewal_lease_until.is_(None), Subscription.renewal_lease_until <= now)
    return (select(Subscription.id).where(or_(period_over, retry, resume), free)
            .order_by(Subscription.current_period_end, Subscription.id))


class RenewalWorker:
    def __init__(self, portal: Portal, payments: PaymentProvider, *, batch: int = 20) -> None:
        self.portal = portal
        self.payments = payments
        self.batch = batch
        self.wakeup = asyncio.Event()

    async def due(self, at: datetime | None = None) -> list[Subscription]:
        """What a pass as of `at` would take, without taking it (`renewals --dry-run`)."""
        at = at or self.portal.now()
        async with self.portal.db.unit_of_work() as session:
            ids = list(await session.scalars(due_query(at, self.portal.now())))
            return list(await session.scalars(
                select(Subscription).where(Subscription.id.in_(ids))
                .options(joinedload(Subscription.product), joinedload(Subscription.plan),
                         joinedload(Subscription.scheduled_plan))
                .order_by(Subscription.current_period_end, Subscription.id)))

    async def run_pass(self, at: datetime | None = None,
                       progress: Callable[[int], None] | None = None) -> RenewalReport:
        """Take every due subscription as far as `at` (default now). `progress` hears of each
        subscription done."""
        at = at or self.portal.now()
        report = RenewalReport()
        while claimed := await self.portal.db.claim(
                Subscription, due_query(at, self.portal.now()).limit(self.batch),
                renewal_lease_until=self.portal.now() + LEASE):
            for subscription in claimed:
                await self._renew(subscription.id, at, report)
                if progress is not None:
                    progress(1)
            if len(claimed) < self.batch:
                break
        return report

    async def _renew(self, subscription_id: int, at: datetime, report: RenewalReport) -> None:
        try:
            for _ in range(MAX_STEPS):
                async with self.portal.db.unit_of_work() as session:
                    subscription = await _load(session, subscription_id)
                    if not is_due(subscription, at):
                        subscription.renewal_lease_until = None
                        await quotes.save(session)
                        return
                    line = await step(session, self.portal, self.payments, subscription, at)
                    subscription.renewal_lease_until = None
                    await quotes.save(session)
                getattr(report, line[0]).append(line[1])
        except Conflict:  # a customer's change got there first: the next pass takes it up
            report.skipped.append(f"subscription {subscription_id}")
        except Exception:  # the provider did not answer, or a bug: retried when the lease ends
            log.exception("renewal of subscription %s failed; it is tried again later", subscription_id)
            report.skipped.append(f"subscription {subscription_id}")

    async def run(self, interval: float = 60.0) -> None:
        """Renew forever: every `interval`, and at once when woken (a card added while past due)."""
        await poll(self.run_pass, self.wakeup, interval=interval, log=log)


async def _load(session: AsyncSession, subscription_id: int) -> Subscription:
    subscription = await session.scalar(
        select(Subscription).where(Subscription.id == subscription_id)
        .options(joinedload(Subscription.product).selectinload(Product.plans),
                 joinedload(Subscription.plan), joinedload(Subscription.scheduled_plan))
        .execution_options(populate_existing=True))
    assert subscription is not None
    return subscription


def is_due(subscription: Subscription, at: datetime) -> bool:
    if subscription.status in (ACTIVE, TRIALING) and subscription.current_period_end <= at:
        return (subscription.billed_by == SHOPKEEP or subscription.cancel_at_period_end
                or subscription.pause_at_period_end or subscription.scheduled_plan_id is not None)
    if subscription.status == PAST_DUE:
        return (subscription.billed_by == SHOPKEEP and subscription.next_retry_at is not None
                and subscription.next_retry_at <= at)
    return subscription.status == PAUSED and subscription.pause_until is not None \
        and subscription.pause_until <= at


def _who(subscription: Subscription, customer: Customer) -> str:
    return f"{customer.email} {subscription.product.slug}"


async def step(session: AsyncSession, portal: Portal, payments: PaymentProvider,
               subscription: Subscription, at: datetime) -> tuple[str, str]:
    """Take one due subscription one step; returns (report list, line)."""
    customer = await session.get(Customer, subscription.customer_id)
    assert customer is not None
    who, name = _who(subscription, customer), subscription.product.name
    ends = subscription.current_period_end
    if subscription.status == PAUSED:
        resumes = subscription.pause_until
        assert resumes is not None
        subscription.status, subscription.paused_at, subscription.pause_until = ACTIVE, None, None
        # A zero-length period ending at the resume date: the next step renews it from there.
        subscription.current_period_start = subscription.current_period_end = resumes
        subscription.period_anchor = resumes
        await announce(session, portal, subscription, change="resumed", actor="renewals",
                       subject=f"Your {name} is running again",
                       paragraphs=[f"{name} resumed on {day(customer, resumes)} after its pause."])
        return "changed", f"{who}: resumed"
    if subscription.status in (ACTIVE, TRIALING):
        if subscription.cancel_at_period_end:
            end(subscription, CANCELED, ends)
            await announce(session, portal, subscription, change="ended", actor="renewals",
                           subject=f"Your {name} has ended",
                           paragraphs=[f"{name} ended on {day(customer, ends)}, as you asked. Send "
                                       f"`resubscribe {subscription.product.slug}` to start it again."])
            return "changed", f"{who}: ended (cancelled)"
        if subscription.pause_at_period_end:
            subscription.status, subscription.paused_at = PAUSED, ends
            subscription.pause_at_period_end = False
            until = subscription.pause_until
            await announce(session, portal, subscription, change="paused", actor="renewals",
                           subject=f"Your {name} is paused",
                           paragraphs=[f"{name} is paused from {day(customer, ends)}"
                                       + (f" until {day(customer, until)}." if until else ".")])
            return "changed", f"{who}: paused"
        if subscription.scheduled_plan_id is not None:
            old, new = subscription.plan, subscription.scheduled_plan
            assert new is not None
            subscription.plan_id, subscription.scheduled_plan_id = new.id, None
            if new.interval != old.interval:
                subscription.period_anchor = ends  # the new interval counts from here
            await quotes.save(session)
            await session.refresh(subscription, ["plan", "scheduled_plan"])
            await announce(session, portal, subscription, change="plan_changed", actor="renewals",
                           subject=f"Your {name} is now on {new.name}",
                           paragraphs=[f"{name} moved from {old.name} to {new.name} on "
                                       f"{day(customer, ends)}, as planned."],
                           details={"from": old.slug, "to": new.slug}, tell_store=False)
            if subscription.billed_by != SHOPKEEP:
                return "changed", f"{who}: now on {new.slug}"
    return await _charge_period(session, portal, payments, subscription, customer, at)


async def _charge_period(session: AsyncSession, portal: Portal, payments: PaymentProvider,
                         subscription: Subscription, customer: Customer, at: datetime) -> tuple[str, str]:
    plan, ends = subscription.plan, subscription.current_period_end
    who = _who(subscription, customer)
    amount = plan.price + subscription.carry_over
    if amount <= 0:
        _advance(subscription, await _anchor(session, subscription))
        return "changed", f"{who}: renewed (free)"
    attempt = subscription.failed_attempts
    key = f"renewal:{subscription.id}:{ends.isoformat()}:{attempt}"
    charged = await charging.charge(session, portal, payments, subscription, plan=plan, amount=amount,
                                    key=key, purpose="renewal", placed_at=ends if attempt == 0 else at,
                                    issue=False)
    money = formatting.money(amount, plan.currency, customer.locale)
    if charged.succeeded:
        anchor = await _anchor(session, subscription)
        subscription.status, subscription.failed_attempts, subscription.next_retry_at = ACTIVE, 0, None
        subscription.carry_over = 0
        subscription.payment_method_id = charged.charge.payment_method_id
        _advance(subscription, anchor)
        if charged.order is not None and not charged.replayed:
            # Issued now that the subscription is in the period the renewal pays for.
            await issue_for_order(session, portal, charged.order)
        await audit.record(session, at=portal.now(),
                           customer_id=customer.id, actor="renewals", action="renewal",
                           product=subscription.product.slug, amount=amount, currency=plan.currency,
                           order=charged.order.number if charged.order else None)
        events.publish(session, events.SubscriptionChanged(customer_id=customer.id,
                                                           subscription_id=subscription.id,
                                                           change="renewed"))
        return "charged", f"{who}: {money} charged, renews {subscription.current_period_end:%Y-%m-%d}"
    return await _failed(session, portal, payments, subscription, customer, charged, at, money)


async def _failed(session: AsyncSession, portal: Portal, payments: PaymentProvider,
                  subscription: Subscription, customer: Customer, charged: charging.Charged,
                  at: datetime, money: str) -> tuple[str, str]:
    who, name, slug = _who(subscription, customer), subscription.product.name, subscription.product.slug
    reason = failure_words(charged.charge.failure_code)
    retry_days = portal.settings.portal.dunning_retry_days
    subscription.failed_attempts += 1
    attempt = subscription.failed_attempts
    link = await _setup_link(session, payments, customer)
    fix = f"Send `payment` in the portal to add or choose a card{link}."
    if attempt > len(retry_days):
        end(subscription, EXPIRED, at)
        paragraphs = [f"We could not renew {name}: {reason}, again. We tried {attempt} times, so it "
                      "has ended and your access with it.",
                      f"To come back, send `resubscribe {slug}` once a card works. {fix}"]
        subject = f"{name} has ended: the renewal payment failed"
        line, change, next_try = f"{who}: {reason}; expired after {attempt} attempts", "expired", None
    else:
        subscription.status = PAST_DUE
        wanted = subscription.current_period_end + timedelta(days=retry_days[attempt - 1])
        subscription.next_retry_at = max(wanted, at + timedelta(days=1))
        next_try = subscription.next_retry_at
        paragraphs = [f"We could not renew {name} ({money}): {reason}.",
                      f"{fix} We try again on {day(customer, next_try)}; you keep access until the "
                      f"last try on {day(customer, _last_try(subscription, retry_days))}."]
        subject = f"Action needed: the payment for {name} failed"
        line, change = f"{who}: {reason}; retry {subscription.next_retry_at:%Y-%m-%d}", "payment_failed"
    await quotes.save(session)
    await announce(session, portal, subscription, change=change, actor="renewals", subject=subject,
                   paragraphs=paragraphs, details={"reason": charged.charge.failure_code,
                                                   "attempt": attempt}, tell_store=False)
    events.publish(session, events.RenewalPaymentFailed(
        customer_id=customer.id, subscription_id=subscription.id, product=name, reason=reason,
        attempt=attempt, next_retry_at=next_try.isoformat() if next_try else None,
        fix="payment" if next_try else f"resubscribe {slug}"))
    return "failed", line


def _last_try(subscription: Subscription, retry_days: list[int]) -> datetime:
    return max(subscription.current_period_end + timedelta(days=retry_days[-1]),
               subscription.next_retry_at or subscription.current_period_end)


async def _setup_link(session: AsyncSession, payments: PaymentProvider, customer: Customer) -> str:
    try:
        link = await payments.setup_link(as_provider_customer(customer),
                                         await provider_customer(session, payments, customer))
    except Exception:  # a link is a convenience; the command always works
        log.warning("no setup link for customer %s", customer.id, exc_info=True)
        return ""
    return f", or open {link.url} (it works for 30 minutes)"


async def _anchor(session: AsyncSession, subscription: Subscription) -> datetime:
    if subscription.period_anchor is not None:
        return subscription.period_anchor
    first = await session.get(Order, subscription.order_id) if subscription.order_id else None
    return first.placed_at if first is not None else subscription.current_period_start


def _advance(subscription: Subscription, anchor: datetime) -> None:
    ends = subscription.current_period_end
    subscription.current_period_start = ends
    subscription.current_period_end = next_period_end(subscription.plan, anchor, ends)


# Renewals the merchant's store billed.

class MerchantRenewal(BaseModel):
    """The purchases webhook's renewal event: the store billed one more period."""

    model_config = ConfigDict(extra="forbid")

    event: Literal["renewal"]
    email: str
    product: str = Field(min_length=1, description="product slug")
    external_id: str = Field(min_length=1, max_length=200)
    amount: int | None = Field(default=None, ge=0, le=10**12)
    time: datetime | None = None
    period_end: datetime | None = None

    _plain = field_validator("product", "external_id")(no_controls)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        try:
            return normalize_email(value)
        except InvalidInput as exc:
            raise ValueError(exc.message) from None

    @field_validator("time", "period_end")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must include a time zone, e.g. 2026-03-01T10:00:00Z")
        return value


async def record_merchant_renewal(session: AsyncSession, portal: Portal, report: MerchantRenewal,
                                  *, actor: str = "webhook") -> PurchaseResult:
    """One more period of a store-billed subscription: an order with its invoice and receipt,
    and the period moves (to `period_end` when the store says it). Replays by external_id."""
    replay = await existing_order(session, report.external_id)
    if replay is not None:
        return PurchaseResult(replay, created=False, new_customer=False)
    customer = await by_email(session, report.email)
    product = await session.scalar(select(Product).where(Product.slug == report.product))
    subscription = None if customer is None or product is None else await session.scalar(
        select(Subscription).where(Subscription.customer_id == customer.id,
                                   Subscription.product_id == product.id,
                                   Subscription.status.in_((ACTIVE, TRIALING, PAST_DUE, PAUSED)))
        .options(joinedload(Subscription.plan), joinedload(Subscription.product),
                 selectinload(Subscription.scheduled_plan)))
    if subscription is None or customer is None:
        raise NotFound(f"product: {report.email} has no live subscription of {report.product!r}")
    if subscription.billed_by != MERCHANT:
        raise Conflict("product: shopkeep bills this subscription itself; the store does not report "
                       "its renewals")
    placed_at = report.time or portal.now()
    if subscription.scheduled_plan is not None:
        subscription.plan_id, subscription.scheduled_plan_id = subscription.scheduled_plan.id, None
        await session.flush()
        await session.refresh(subscription, ["plan"])
    plan: Plan = subscription.plan
    amount = plan.price if report.amount is None else report.amount
    order = Order(customer_id=customer.id, external_id=report.external_id, currency=plan.currency,
                  total=amount, placed_at=placed_at, source="renewal",
                  request=report.model_dump(mode="json"),
                  items=[OrderItem(product_id=subscription.product_id, plan_id=plan.id, quantity=1,
                                   unit_amount=amount, amount=amount)])
    session.add(order)
    anchor = await _anchor(session, subscription)
    subscription.status = ACTIVE
    subscription.cancel_at_period_end = subscription.pause_at_period_end = False
    if report.period_end is not None:
        subscription.current_period_start = subscription.current_period_end
        subscription.current_period_end = report.period_end
    else:
        _advance(subscription, anchor)
    await quotes.save(session)
    await issue_for_order(session, portal, order)
    await audit.record(session, at=portal.now(), customer_id=customer.id, actor=actor, action="renewal",
                       order=order.number, product=subscription.product.slug)
    events.publish(session, events.SubscriptionChanged(customer_id=customer.id,
                                                       subscription_id=subscription.id, change="renewed"))
    await sync_access(session, portal, subscription)
    return PurchaseResult(order, created=True, new_customer=False)




def describe_step(subscription: Subscription, at: datetime) -> str:
    """What a pass as of `at` would do next with a due subscription (`renewals --dry-run`)."""
    name = f"#{subscription.id} {subscription.product.slug} (customer {subscription.customer_id})"
    if subscription.status == PAUSED:
        return f"{name}: resume (paused until {subscription.pause_until:%Y-%m-%d})"
    if subscription.status == PAST_DUE:
        return f"{name}: retry the failed payment (attempt {subscription.failed_attempts + 1})"
    if subscription.cancel_at_period_end:
        return f"{name}: end, as cancelled"
    if subscription.pause_at_period_end:
        return f"{name}: pause"
    plan = subscription.scheduled_plan or subscription.plan
    change = f"move to {plan.slug}, then " if subscription.scheduled_plan is not None else ""
    if subscription.billed_by != SHOPKEEP:
        return f"{name}: {change.removesuffix(', then ')}"
    amount = formatting.money(plan.price + subscription.carry_over, plan.currency)
    return f"{name}: {change}charge {amount} for the period from {subscription.current_period_end:%Y-%m-%d}"
