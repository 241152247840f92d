"""Changing plan: previews with proration, and applying exactly the previewed quote.

Which way a change goes (the same for every provider):
- to a plan of higher rank, same interval: an upgrade, applied now; the proration (policy
  `proration`) is charged now (`prorate_now`), added to the next renewal (`next_period`), or
  not charged (`none`);
- to a longer interval (monthly to yearly): applied now, a new period starts today, and the new
  plan's price less the unused time is charged now;
- a downgrade or a shorter interval: scheduled for the period end (no credit for unused time);
  `change <product> keep` drops a scheduled change;
- plans in different currencies are never switched.

A store-billed subscription changes the same way in shopkeep, is never charged here, and the
store hears of it (core/subscriptions/merchant.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.catalog.plans import period_end
from core.kernel import formatting
from core.kernel.errors import Conflict, NotAllowed
from core.kernel.portal import Portal
from core.models import Customer, Plan, Subscription, SubscriptionQuote
from core.models.subscriptions import SHOPKEEP
from core.payments.provider import PaymentProvider, failure_words
from core.subscriptions import charging, merchant, quotes
from core.subscriptions.effects import announce
from core.subscriptions.policy import policy_for
from core.subscriptions.proration import Proration, ProrationLine, prorate
from core.subscriptions.queries import find_plan, find_subscription, switchable
from core.subscriptions.wording import day, must_be_live, not_paused_or_past_due, nothing_scheduled, price

KEEP = "keep"
MONTHS = {"month": 1, "year": 12}
UPGRADE, LONGER, DOWNGRADE, SHORTER = "upgrade", "longer_interval", "downgrade", "shorter_interval"


def direction(current: Plan, target: Plan) -> str:
    now, then = MONTHS.get(current.interval or "", 0), MONTHS.get(target.interval or "", 0)
    if then < now:
        return SHORTER
    if then > now:
        return LONGER
    return UPGRADE if target.rank > current.rank else DOWNGRADE


def applies_now(kind: str) -> bool:
    return kind in (UPGRADE, LONGER)


async def _customer(session: AsyncSession, customer_id: int) -> Customer:
    customer = await session.get(Customer, customer_id)
    assert customer is not None
    return customer


def _target(portal: Portal, subscription: Subscription, plan_ref: str) -> Plan:
    target = find_plan(subscription, plan_ref)
    name = subscription.product.name
    if target.id == subscription.plan_id:
        raise Conflict(f"Your {name} is already on {target.name}.")
    if target.currency != subscription.plan.currency:
        raise Conflict(f"Plans in different currencies cannot be switched: {subscription.plan.name} "
                       f"is in {subscription.plan.currency}, {target.name} in {target.currency}.")
    choice = next(c for c in switchable(portal, subscription) if c.plan.id == target.id)
    if not choice.allowed:
        others = ", ".join(f"`{c.plan.slug}`" for c in switchable(portal, subscription) if c.allowed)
        raise NotAllowed(f"{name} does not let you move to {target.name} here"
                         + (f"; you can move to {others}." if others else "."))
    return target


def _proration(policy_mode: str, kind: str, subscription: Subscription, target: Plan,
               at: Any) -> Proration:
    if policy_mode == "none" and kind == UPGRADE:
        return Proration(target.currency, at, ())
    result = prorate(subscription.plan, target, period_start=subscription.current_period_start,
                     period_end=subscription.current_period_end, at=at, new_period=kind == LONGER)
    if policy_mode == "none":  # a new period is paid in full; without proration, nothing is credited
        return Proration(target.currency, at, tuple(line for line in result.lines if line.kind != "unused"))
    return result


async def preview_change(session: AsyncSession, portal: Portal, customer_id: int, product_ref: str,
                         plan_ref: str) -> quotes.Preview:
    """`change <product> <plan>`: what moving to `plan_ref` does, stored as a quote; `keep` as
    the plan drops a scheduled change instead."""
    subscription = await find_subscription(session, customer_id, product_ref)
    customer = await _customer(session, customer_id)
    if plan_ref.strip().lower() == KEEP:
        return await _preview_keep(session, portal, subscription, customer)
    must_be_live(subscription)
    merchant.only_cancel(portal, subscription)
    not_paused_or_past_due(subscription, what="change plan")
    nothing_scheduled(subscription, customer, what="change its plan")
    policy = policy_for(portal, subscription.product)
    if not policy.allow_plan_changes:
        raise NotAllowed(f"{subscription.product.name} does not allow plan changes here.")
    target = _target(portal, subscription, plan_ref)
    kind, now = direction(subscription.plan, target), portal.now()
    name, current = subscription.product.name, subscription.plan.name
    by_shopkeep = subscription.billed_by == SHOPKEEP
    notes: list[str] = []
    lines: tuple[ProrationLine, ...] = ()
    amount_due = carry = 0
    if applies_now(kind):
        proration = _proration(policy.proration, kind, subscription, target, now)
        lines = proration.lines
        if kind == UPGRADE and policy.proration == "next_period":
            carry = proration.to_charge
        else:
            amount_due = proration.to_charge
        if kind == LONGER:
            summary = (f"Move {name} from {current} to {target.name} now; a new {target.interval}ly "
                       f"period starts today and renews on {day(customer, period_end(target, now))}.")
        else:
            summary = f"Move {name} from {current} to {target.name} now."
        if proration.amount_due < 0:
            notes.append("The unused time is worth more than the new plan costs now; nothing is "
                         "charged, and the difference is not paid out.")
    else:
        ends = day(customer, subscription.current_period_end)
        summary = (f"Move {name} from {current} to {target.name} on {ends}, when the current "
                   "period ends; until then nothing changes.")
    if not by_shopkeep:
        notes.append(f"{portal.settings.store_name}'s store bills this subscription and bills any "
                     "difference; nothing is charged here.")
        amount_due = carry = 0
    elif amount_due or carry:
        method = await charging.method_for(session, subscription)
        if method is None:
            raise Conflict("Add a payment method first: send `payment` for a link to add a card.")
        if amount_due:
            notes.append(f"Charged now to your {method.label}.")
        else:
            notes.append(f"The difference is added to your next renewal, on "
                         f"{day(customer, subscription.current_period_end)}.")
    elif applies_now(kind) and policy.proration == "none" and kind == UPGRADE:
        notes.append("There is no charge for the rest of this period.")
    quote = await quotes.store(
        session, portal, subscription, action="change_plan", plan_id=target.id, amount_due=amount_due,
        currency=target.currency,
        details={"kind": kind, "from": subscription.plan.slug, "to": target.slug, "carry": carry,
                 "lines": [[line.kind, line.plan_name, line.amount] for line in lines]})
    renews = period_end(target, now) if kind == LONGER else subscription.current_period_end
    return quotes.preview_of(
        quote, subscription, customer, summary,
        lines=[quotes.PreviewLine(line.description, line.amount) for line in lines],
        recurring=f"{price(customer, target)}, renewing on {day(customer, renews)}",
        effective_at=now if applies_now(kind) else subscription.current_period_end, notes=notes)


async def _preview_keep(session: AsyncSession, portal: Portal, subscription: Subscription,
                        customer: Customer) -> quotes.Preview:
    if subscription.scheduled_plan is None:
        raise Conflict(f"You have no plan change waiting for {subscription.product.name}.")
    quote = await quotes.store(session, portal, subscription, action=KEEP)
    summary = (f"Drop the change to {subscription.scheduled_plan.name} planned for "
               f"{day(customer, subscription.current_period_end)}; {subscription.product.name} stays on "
               f"{subscription.plan.name}.")
    return quotes.preview_of(quote, subscription, customer, summary,
                             recurring=price(customer, subscription.plan))


@quotes.applies("change_plan")
async def _apply_change(session: AsyncSession, portal: Portal, payments: PaymentProvider,
                        quote: SubscriptionQuote, subscription: Subscription, actor: str) -> quotes.Applied:
    target = await session.get(Plan, quote.plan_id)
    assert target is not None
    customer = await _customer(session, subscription.customer_id)
    kind, old = quote.details["kind"], subscription.plan
    name = subscription.product.name
    if not applies_now(kind):
        subscription.scheduled_plan_id = target.id
        await quotes.save(session)
        await session.refresh(subscription, ["scheduled_plan"])
        when = day(customer, subscription.current_period_end)
        message = f"{name} moves from {old.name} to {target.name} on {when}."
        await announce(session, portal, subscription, change="plan_change_scheduled", actor=actor,
                       subject=f"Your {name}: {target.name} from {when}",
                       paragraphs=[message, f"Until then nothing changes. To keep {old.name}, send "
                                            f"`change {subscription.product.slug} keep`."],
                       details={"from": old.slug, "to": target.slug,
                                "on": subscription.current_period_end.isoformat()})
        return quotes.Applied(subscription, message)
    paid = ""
    if quote.amount_due > 0:
        method = await charging.method_for(session, subscription)
        if method is None:
            raise Conflict("Add a payment method first: send `payment` for a link to add a card.")
        charged = await charging.charge_now(session, portal, payments, subscription, target,
                                            quote.amount_due, f"change:{quote.id}:{method.id}",
                                            purpose="plan_change")
        if not charged.succeeded:
            raise Conflict(f"The payment failed: {failure_words(charged.charge.failure_code)}, so the "
                           "plan did not change. Send `payment` to add or choose another card, then "
                           "confirm again.")
        paid = f" {formatting.money(quote.amount_due, quote.currency, customer.locale)} was " \
               f"charged to your {method.label}."
    now = quote.prorated_at
    subscription.plan_id = target.id
    subscription.carry_over += int(quote.details.get("carry", 0))
    if kind == LONGER:
        subscription.current_period_start = subscription.period_anchor = now
        subscription.current_period_end = period_end(target, now)
    await quotes.save(session)
    await session.refresh(subscription, ["plan"])
    message = (f"{name} is now on {target.name}.{paid} It renews on "
               f"{day(customer, subscription.current_period_end)} at {price(customer, target)}.")
    await announce(session, portal, subscription, change="plan_changed", actor=actor,
                   subject=f"Your {name} is now on {target.name}", paragraphs=[message],
                   details={"from": old.slug, "to": target.slug, "charged": quote.amount_due,
                            "currency": quote.currency})
    return quotes.Applied(subscription, message)


@quotes.applies(KEEP)
async def _apply_keep(session: AsyncSession, portal: Portal, payments: PaymentProvider,
                      quote: SubscriptionQuote, subscription: Subscription, actor: str) -> quotes.Applied:
    await session.refresh(subscription, ["scheduled_plan"])
    dropped = subscription.scheduled_plan
    subscription.scheduled_plan_id = None
    await quotes.save(session)
    name = subscription.product.name
    message = f"{name} stays on {subscription.plan.name}; the change to " \
              f"{dropped.name if dropped else 'another plan'} is dropped."
    await announce(session, portal, subscription, change="plan_change_dropped", actor=actor,
                   subject=f"Your {name} stays on {subscription.plan.name}", paragraphs=[message],
                   details={"dropped": dropped.slug if dropped else None})
    return quotes.Applied(subscription, message)
