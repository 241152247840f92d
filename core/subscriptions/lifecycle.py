"""Pausing, resuming, cancelling, un-cancelling and resubscribing: previews with their guards,
and applying exactly the previewed quote (core/subscriptions/quotes.py).

- `pause [until <date>]` pauses at the period end, until the date or for the product's longest
  pause; nothing is charged while paused; access continues only where the policy says so.
- `resume` drops a pause that has not begun, or ends one: a new period starts today and is
  charged now (for what shopkeep bills).
- `cancel` ends the subscription at the period end (always allowed); `cancel now` ends it at
  once where the policy allows, refunding nothing (`cancel_refund = "none"`) or the unused rest
  of the period, prorated to the second (`cancel_refund = "prorated"`), through the same refund
  path as any refund (core/billing/refunds.py). `uncancel` keeps it while it has not ended.
- `resubscribe [plan]` after the end: a new subscription (the old one stays as history), paid
  now for what shopkeep bills, with the customer's default card (the ended one's card may be the
  very card that failed).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.billing import refunds
from core.catalog.plans import period_end
from core.kernel import formatting
from core.kernel.errors import Conflict, InvalidInput, NotAllowed
from core.kernel.portal import Portal
from core.models import Customer, Entitlement, Order, Plan, Subscription, SubscriptionQuote
from core.models.refunds import CUSTOMER
from core.models.subscriptions import ACTIVE, CANCELED, ENDED_STATES, LIVE, PAST_DUE, PAUSED, SHOPKEEP
from core.payments.methods import default_method
from core.payments.provider import PaymentProvider, failure_words
from core.subscriptions import charging, merchant, quotes, refunding
from core.subscriptions.effects import announce
from core.subscriptions.policy import policy_for
from core.subscriptions.queries import find_plan, find_subscription
from core.subscriptions.wording import day, must_be_live, not_paused_or_past_due, nothing_scheduled, price

PRORATED = "prorated"  # cancel_refund: the unused rest of the period goes back
_IN = re.compile(r"^(?:in\s+)?(\d{1,4})\s*(day|week|month)s?$")


def resume_date(text: str, *, now: datetime, tz: str | None) -> date:
    """"2026-05-01", "in 3 weeks", "30 days": the day a pause should end."""
    words = " ".join(text.lower().split())
    try:
        return date.fromisoformat(words)
    except ValueError:
        pass
    match = _IN.match(words)
    if match is None:
        raise InvalidInput(f"I don't understand the date {text!r}. Say a date like 2026-05-01, or "
                           "\"in 3 weeks\".")
    count, unit = int(match[1]), match[2]
    today = now.astimezone(formatting.zone(tz)).date()
    return today + {"day": relativedelta(days=count), "week": relativedelta(weeks=count),
                    "month": relativedelta(months=count)}[unit]


def _start_of(day_: date, customer: Customer) -> datetime:
    return datetime.combine(day_, time(), formatting.zone(customer.timezone))


async def _load(session: AsyncSession, customer_id: int, product_ref: str
                ) -> tuple[Subscription, Customer]:
    subscription = await find_subscription(session, customer_id, product_ref)
    customer = await session.get(Customer, customer_id)
    assert customer is not None
    return subscription, customer


# Pause and resume.

async def preview_pause(session: AsyncSession, portal: Portal, customer_id: int, product_ref: str,
                        until: date | None = None) -> quotes.Preview:
    subscription, customer = await _load(session, customer_id, product_ref)
    name, slug = subscription.product.name, subscription.product.slug
    must_be_live(subscription)
    merchant.only_cancel(portal, subscription)
    policy = policy_for(portal, subscription.product)
    if not policy.allow_pause:
        raise NotAllowed(f"{name} cannot be paused; you can cancel it with `cancel {slug}`.")
    if subscription.status == PAUSED:
        resumes = f" until {day(customer, subscription.pause_until)}" if subscription.pause_until else ""
        raise Conflict(f"Your {name} is already paused{resumes}; send `resume {slug}` to resume it.")
    not_paused_or_past_due(subscription, what="pause")
    nothing_scheduled(subscription, customer, what="pause it")
    starts = subscription.current_period_end
    latest = starts + timedelta(days=policy.max_pause_days)
    resumes = _start_of(until, customer) if until else latest
    if resumes <= starts:
        raise InvalidInput(f"The pause starts when the current period ends, on {day(customer, starts)}; "
                           "choose a resume date after it.")
    if resumes > latest:
        raise InvalidInput(f"The longest pause is {policy.max_pause_days} days: {name} can resume on "
                           f"{day(customer, latest)} at the latest.")
    quote = await quotes.store(session, portal, subscription, action="pause",
                               details={"until": resumes.isoformat()})
    access = "You keep access while paused." if policy.access_while_paused else \
        "Access stops while paused and comes back when it resumes."
    summary = (f"Pause {name} from {day(customer, starts)}, when the current period ends, until "
               f"{day(customer, resumes)}. Nothing is charged while paused. {access}")
    return quotes.preview_of(quote, subscription, customer, summary, effective_at=starts,
                             recurring=f"{price(customer, subscription.plan)} again from "
                                       f"{day(customer, resumes)}")


@quotes.applies("pause")
async def _apply_pause(session: AsyncSession, portal: Portal, payments: PaymentProvider,
                       quote: SubscriptionQuote, subscription: Subscription, actor: str) -> quotes.Applied:
    customer = await session.get(Customer, subscription.customer_id)
    assert customer is not None
    subscription.pause_at_period_end = True
    subscription.pause_until = datetime.fromisoformat(quote.details["until"])
    await quotes.save(session)
    name = subscription.product.name
    message = (f"{name} pauses on {day(customer, subscription.current_period_end)} and resumes on "
               f"{day(customer, subscription.pause_until)}.")
    await announce(session, portal, subscription, change="pause_scheduled", actor=actor,
                   subject=f"Your {name} pauses on {day(customer, subscription.current_period_end)}",
                   paragraphs=[message, f"To resume earlier, or keep it running, send `resume "
                                        f"{subscription.product.slug}`."],
                   details={"until": quote.details["until"]})
    return quotes.Applied(subscription, message)


async def preview_resume(session: AsyncSession, portal: Portal, customer_id: int, product_ref: str
                         ) -> quotes.Preview:
    subscription, customer = await _load(session, customer_id, product_ref)
    name = subscription.product.name
    must_be_live(subscription)
    merchant.only_cancel(portal, subscription)
    if subscription.pause_at_period_end and subscription.status != PAUSED:
        quote = await quotes.store(session, portal, subscription, action="resume")
        summary = (f"Keep {name} running: drop the pause planned for "
                   f"{day(customer, subscription.current_period_end)}.")
        return quotes.preview_of(quote, subscription, customer, summary,
                                 recurring=price(customer, subscription.plan))
    if subscription.status != PAUSED:
        raise Conflict(f"Your {name} is not paused.")
    now = portal.now()
    due = subscription.plan.price if subscription.billed_by == SHOPKEEP else 0
    notes = []
    if due:
        method = await charging.method_for(session, subscription)
        if method is None:
            raise Conflict("Add a payment method first: send `payment` for a link to add a card.")
        notes.append(f"Charged now to your {method.label}.")
    elif subscription.billed_by != SHOPKEEP:
        notes.append(f"{portal.settings.store_name}'s store bills this subscription; nothing is "
                     "charged here.")
    quote = await quotes.store(session, portal, subscription, action="resume", amount_due=due)
    renews = period_end(subscription.plan, now)
    summary = f"Resume {name} now: a new period starts today and renews on {day(customer, renews)}."
    return quotes.preview_of(quote, subscription, customer, summary, effective_at=now, notes=notes,
                             lines=[quotes.PreviewLine(subscription.plan.name, due)] if due else [],
                             recurring=price(customer, subscription.plan))


async def start_new_period(session: AsyncSession, portal: Portal, payments: PaymentProvider,
                           subscription: Subscription, *, at: datetime, key: str, purpose: str) -> str:
    """A paused subscription running again from `at`: charged (what shopkeep bills) and a new
    period. Returns what was charged, as words for the message ("" when nothing was)."""
    paid = ""
    if subscription.billed_by == SHOPKEEP and subscription.plan.price > 0:
        charged = await charging.charge_now(session, portal, payments, subscription, subscription.plan,
                                            subscription.plan.price, key, purpose=purpose)
        if not charged.succeeded:
            raise Conflict(f"The payment failed: {failure_words(charged.charge.failure_code)}, so "
                           f"{subscription.product.name} did not resume. Send `payment` to add or "
                           "choose another card, then confirm again.")
        customer = await session.get(Customer, subscription.customer_id)
        assert customer is not None
        paid = (f" {formatting.money(charged.charge.amount, charged.charge.currency, customer.locale)}"
                " was charged.")
    subscription.status = ACTIVE
    subscription.paused_at = subscription.pause_until = None
    subscription.pause_at_period_end = False
    subscription.current_period_start = subscription.period_anchor = at
    subscription.current_period_end = period_end(subscription.plan, at)
    return paid


@quotes.applies("resume")
async def _apply_resume(session: AsyncSession, portal: Portal, payments: PaymentProvider,
                        quote: SubscriptionQuote, subscription: Subscription, actor: str) -> quotes.Applied:
    customer = await session.get(Customer, subscription.customer_id)
    assert customer is not None
    name = subscription.product.name
    if subscription.status != PAUSED:
        subscription.pause_at_period_end, subscription.pause_until = False, None
        await quotes.save(session)
        message = f"{name} keeps running; the pause is dropped."
        change = "pause_dropped"
    else:
        method = await charging.method_for(session, subscription)
        paid = await start_new_period(session, portal, payments, subscription, at=quote.prorated_at,
                                      key=f"resume:{quote.id}:{method.id if method else 0}",
                                      purpose="resume")
        await quotes.save(session)
        message = f"{name} is running again.{paid} It renews on " \
                  f"{day(customer, subscription.current_period_end)}."
        change = "resumed"
    await announce(session, portal, subscription, change=change, actor=actor,
                   subject=f"Your {name} is running", paragraphs=[message])
    return quotes.Applied(subscription, message)


# Cancel and uncancel.

def _reason(text: str | None, offered: list[str]) -> str | None:
    if text is None or not text.strip():
        return None
    wanted = " ".join(text.lower().split())
    match = next((reason for reason in offered if reason.lower() == wanted), None)
    if match is None:
        raise InvalidInput(f"Choose a reason from: {', '.join(offered)} (or leave it out).")
    return match


async def preview_cancel(session: AsyncSession, portal: Portal, customer_id: int, product_ref: str, *,
                         now: bool = False, reason: str | None = None) -> quotes.Preview:
    """Cancelling at the period end is always allowed; `now` where the policy allows it."""
    subscription, customer = await _load(session, customer_id, product_ref)
    name, slug = subscription.product.name, subscription.product.slug
    policy = policy_for(portal, subscription.product)
    chosen = _reason(reason, policy.cancellation_reasons)
    if subscription.status in ENDED_STATES:
        raise Conflict(f"Your {name} has already ended.")
    ends_at = subscription.current_period_end
    if subscription.cancel_at_period_end and not now:
        raise Conflict(f"Your {name} is already cancelled; it ends on {day(customer, ends_at)} — send "
                       f"`uncancel {slug}` to keep it.")
    # Nothing paid is left to run out while paused or past due: those end at once.
    at_once = now or subscription.status in (PAUSED, PAST_DUE)
    if now and not policy.allow_cancel_now:
        raise NotAllowed(f"{name} cannot be cancelled at once here; send `cancel {slug}` to end it on "
                         f"{day(customer, ends_at)} (you keep access until then).")
    back: list[tuple[Order, int]] = []
    if at_once:
        summary = f"Cancel {name} now: access ends at once."
        if now and subscription.status not in (PAUSED, PAST_DUE):
            if policy.cancel_refund == PRORATED:
                back = await _unused_part(session, subscription, portal.now())
            until = day(customer, ends_at)
            if back:
                currency = back[0][0].currency
                summary += (f" {formatting.money(sum(a for _, a in back), currency, customer.locale)} is "
                            f"refunded for the rest of the period (until {until}), to the way you paid.")
            else:
                summary += f" Nothing is refunded for the rest of the period (until {until})."
    else:
        summary = (f"Cancel {name}: it ends on {day(customer, ends_at)}, when the current period ends, "
                   "and you keep access until then. Nothing more is charged.")
    notes = []
    if subscription.scheduled_plan is not None or subscription.pause_at_period_end:
        notes.append("The change planned for the period end is dropped.")
    if not merchant.changes_reach_store(portal, subscription):
        notes.append(f"{portal.settings.store_name}'s store bills this subscription: we tell the store.")
    quote = await quotes.store(session, portal, subscription, action="cancel",
                               details={"now": at_once, "reason": chosen,
                                        "refunds": [[order.id, amount] for order, amount in back]})
    return quotes.preview_of(quote, subscription, customer, summary, notes=notes,
                             effective_at=portal.now() if at_once else ends_at)


async def _unused_part(session: AsyncSession, subscription: Subscription, at: datetime
                       ) -> list[tuple[Order, int]]:
    """What cancelling now at `at` gives back of each order that paid for the period, no more
    than is left to refund of it."""
    parts = []
    for order, amount in await refunding.unused_part(session, subscription, at):
        left = (await refunds.balance(session, order)).left
        if min(amount, left) > 0:
            parts.append((order, min(amount, left)))
    return parts


async def _refund_unused(session: AsyncSession, portal: Portal, payments: PaymentProvider,
                         quote: SubscriptionQuote, subscription: Subscription, actor: str) -> int:
    """Refund what the cancel preview said, through the refund path; returns the total."""
    total = 0
    for order_id, amount in quote.details.get("refunds", []):
        order = await session.get(Order, order_id)
        assert order is not None
        try:
            await refunds.refund_order(
                session, portal, payments, order, amount=amount, key=f"cancel:{quote.id}:{order_id}",
                reason=f"{subscription.product.name} cancelled at once: the unused rest of the period",
                requested_by=CUSTOMER, actor=actor)
        except Conflict:
            raise Conflict(f"Part of order {order.number} was refunded since the preview, so nothing "
                           f"was changed. Send `cancel {subscription.product.slug} now` again for a "
                           "fresh preview.") from None
        total += amount
    return total


def cancellation_reasons(portal: Portal, subscription: Subscription) -> list[str]:
    """The reasons `cancel` offers as choices for this product."""
    return list(policy_for(portal, subscription.product).cancellation_reasons)


@quotes.applies("cancel")
async def _apply_cancel(session: AsyncSession, portal: Portal, payments: PaymentProvider,
                        quote: SubscriptionQuote, subscription: Subscription, actor: str) -> quotes.Applied:
    customer = await session.get(Customer, subscription.customer_id)
    assert customer is not None
    name, slug = subscription.product.name, subscription.product.slug
    at = quote.prorated_at
    subscription.cancel_reason = quote.details.get("reason")
    subscription.canceled_at = at
    subscription.scheduled_plan_id, subscription.pause_at_period_end = None, False
    refunded = 0
    if quote.details["now"]:
        end(subscription, CANCELED, at)
        message = f"{name} is cancelled and has ended; access has ended."
        await quotes.save(session)
        refunded = await _refund_unused(session, portal, payments, quote, subscription, actor)
        if refunded:
            message += (f" {formatting.money(refunded, quote.currency, customer.locale)} is refunded "
                        "for the rest of the period; `refunds` shows it.")
    else:
        subscription.cancel_at_period_end = True
        message = (f"{name} is cancelled: it ends on {day(customer, subscription.current_period_end)} and "
                   f"you keep access until then. Changed your mind? Send `uncancel {slug}`.")
    await quotes.save(session)
    if subscription.billed_by == SHOPKEEP:
        await payments.cancel_subscription(subscription.provider_ref, at_period_end=not quote.details["now"])
    await announce(session, portal, subscription,
                   change="canceled" if quote.details["now"] else "cancel_scheduled", actor=actor,
                   subject=f"Your {name} is cancelled", paragraphs=[message],
                   details={"reason": subscription.cancel_reason, "now": quote.details["now"],
                            **({"refunded": refunded} if refunded else {})})
    return quotes.Applied(subscription, message)


def end(subscription: Subscription, status: str, at: datetime) -> None:
    """The subscription ends (canceled or expired) at `at`; nothing stays scheduled."""
    subscription.status, subscription.ended_at = status, at
    subscription.cancel_at_period_end = subscription.pause_at_period_end = False
    subscription.scheduled_plan_id = subscription.next_retry_at = None
    subscription.pause_until = None


async def preview_uncancel(session: AsyncSession, portal: Portal, customer_id: int, product_ref: str
                           ) -> quotes.Preview:
    subscription, customer = await _load(session, customer_id, product_ref)
    name = subscription.product.name
    must_be_live(subscription)
    if not subscription.cancel_at_period_end:
        raise Conflict(f"Your {name} is not cancelled.")
    quote = await quotes.store(session, portal, subscription, action="uncancel")
    summary = (f"Keep {name}: it renews on {day(customer, subscription.current_period_end)} instead of "
               "ending then.")
    return quotes.preview_of(quote, subscription, customer, summary,
                             recurring=price(customer, subscription.plan))


@quotes.applies("uncancel")
async def _apply_uncancel(session: AsyncSession, portal: Portal, payments: PaymentProvider,
                          quote: SubscriptionQuote, subscription: Subscription, actor: str) -> quotes.Applied:
    customer = await session.get(Customer, subscription.customer_id)
    assert customer is not None
    subscription.cancel_at_period_end = False
    subscription.cancel_reason = subscription.canceled_at = None
    await quotes.save(session)
    name = subscription.product.name
    message = f"{name} is kept: it renews on {day(customer, subscription.current_period_end)}."
    await announce(session, portal, subscription, change="uncanceled", actor=actor,
                   subject=f"Your {name} is kept", paragraphs=[message])
    return quotes.Applied(subscription, message)


# Resubscribe.

async def preview_resubscribe(session: AsyncSession, portal: Portal, customer_id: int, product_ref: str,
                              plan_ref: str | None = None) -> quotes.Preview:
    ended, customer = await _load(session, customer_id, product_ref)
    name, slug = ended.product.name, ended.product.slug
    if ended.status in LIVE:
        raise Conflict(f"You already have {name}; send `subscriptions` to see it.")
    merchant.only_cancel(portal, ended)
    if not policy_for(portal, ended.product).allow_resubscribe:
        raise NotAllowed(f"{name} cannot be restarted here; ask the store.")
    if not ended.product.active:
        raise Conflict(f"{name} is no longer sold.")
    plan = find_plan(ended, plan_ref) if plan_ref else (
        ended.plan if ended.plan.active else next((p for p in ended.product.plans if p.active), None))
    if plan is None or not plan.active:
        raise Conflict(f"{name} has no plan to subscribe to now.")
    due = plan.price if ended.billed_by == SHOPKEEP else 0
    notes = []
    if due:
        method = await default_method(session, ended.customer_id)
        if method is None:
            raise Conflict("Add a payment method first: send `payment` for a link to add a card.")
        notes.append(f"Charged now to your {method.label}.")
    elif ended.billed_by != SHOPKEEP:
        notes.append(f"{portal.settings.store_name}'s store bills this subscription; nothing is "
                     "charged here.")
    quote = await quotes.store(session, portal, ended, action="resubscribe", plan_id=plan.id,
                               amount_due=due, currency=plan.currency)
    now = portal.now()
    summary = (f"Subscribe to {name} again on {plan.name}, from today; it renews on "
               f"{day(customer, period_end(plan, now))}. Send `plans {slug}` to choose another plan.")
    return quotes.preview_of(quote, ended, customer, summary, effective_at=now, notes=notes,
                             lines=[quotes.PreviewLine(plan.name, due)] if due else [],
                             recurring=price(customer, plan))


@quotes.applies("resubscribe")
async def _apply_resubscribe(session: AsyncSession, portal: Portal, payments: PaymentProvider,
                             quote: SubscriptionQuote, ended: Subscription, actor: str) -> quotes.Applied:
    customer = await session.get(Customer, ended.customer_id)
    plan = await session.get(Plan, quote.plan_id)
    assert customer is not None and plan is not None
    at = quote.prorated_at
    method = await default_method(session, ended.customer_id)
    fresh = Subscription(customer_id=customer.id, product_id=ended.product_id, plan_id=plan.id,
                         status=ACTIVE, current_period_start=at, current_period_end=period_end(plan, at),
                         period_anchor=at, billed_by=ended.billed_by, provider=ended.provider,
                         payment_method_id=method.id if method and ended.billed_by == SHOPKEEP else None,
                         created_at=at)
    session.add(fresh)
    await quotes.save(session)
    await session.refresh(fresh, ["product", "plan"])
    item_id = None
    paid = ""
    if quote.amount_due:
        charged = await charging.charge_now(session, portal, payments, fresh, plan, quote.amount_due,
                                            f"resubscribe:{quote.id}:{method.id if method else 0}",
                                            purpose="resubscribe")
        if not charged.succeeded:
            raise Conflict(f"The payment failed: {failure_words(charged.charge.failure_code)}, so you "
                           "are not subscribed. Send `payment` to add or choose another card, then "
                           "confirm again.")
        assert charged.order is not None
        await session.refresh(charged.order, ["items"])
        item_id = charged.order.items[0].id
        fresh.order_id = charged.order.id
        paid = f" {formatting.money(quote.amount_due, quote.currency, customer.locale)} was charged."
    session.add(Entitlement(customer_id=customer.id, product_id=fresh.product_id, order_item_id=item_id,
                            subscription_id=fresh.id, created_at=at))
    await session.flush()
    name = fresh.product.name
    message = f"You are subscribed to {name} again, on {plan.name}.{paid} It renews on " \
              f"{day(customer, fresh.current_period_end)}."
    await announce(session, portal, fresh, change="resubscribed", actor=actor,
                   subject=f"Welcome back to {name}", paragraphs=[message],
                   details={"plan": plan.slug, "previous": ended.id})
    return quotes.Applied(fresh, message)


async def live_subscription(session: AsyncSession, customer_id: int, product_id: int) -> Subscription | None:
    return await session.scalar(select(Subscription).where(
        Subscription.customer_id == customer_id, Subscription.product_id == product_id,
        Subscription.status.in_(LIVE)))
