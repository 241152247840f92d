"""A customer's saved payment methods: listing them (with the subscriptions each pays for),
adding one, choosing the default, removing one. Always scoped by the customer: a method of
someone else is simply not found, whatever number is given.

A new method becomes the default, as "update my card" means. Making a method the default moves
every subscription that renewed with the old default onto it; removing a method moves its
subscriptions to the default. Adding or choosing a method while a subscription is past due has
its renewal tried again at once (the renewals worker hears RenewalsDue).

Changes of one customer's methods queue behind a lock on the customer, so two at once cannot
leave two defaults or none.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from core.accounts import audit
from core.kernel import events
from core.kernel.db import lock
from core.kernel.errors import Conflict, NotFound
from core.kernel.portal import Portal
from core.models import Customer, PaymentMethod, Subscription
from core.models.subscriptions import LIVE, PAST_DUE, SHOPKEEP
from core.payments.notices import queue_method_notice
from core.payments.provider import ProviderMethod


@dataclass(frozen=True)
class MethodListing:
    number: int  # 1 is the default, then newest first: what `payment default <n>` takes
    method: PaymentMethod
    used_by: list[str]  # the products whose live subscriptions renew with it

    @property
    def is_default(self) -> bool:
        return self.method.is_default


async def _saved(session: AsyncSession, customer_id: int) -> list[PaymentMethod]:
    return list(await session.scalars(
        select(PaymentMethod)
        .where(PaymentMethod.customer_id == customer_id, PaymentMethod.removed_at.is_(None))
        .order_by(PaymentMethod.is_default.desc(), PaymentMethod.created_at.desc(),
                  PaymentMethod.id.desc())
        .execution_options(populate_existing=True)))


async def _live_subscriptions(session: AsyncSession, customer_id: int) -> list[Subscription]:
    return list(await session.scalars(
        select(Subscription)
        .where(Subscription.customer_id == customer_id, Subscription.status.in_(LIVE))
        .options(joinedload(Subscription.product), joinedload(Subscription.plan))
        .order_by(Subscription.id)))


async def methods_of(session: AsyncSession, customer_id: int) -> list[MethodListing]:
    """The customer's saved methods: the default first, then the newest."""
    methods = await _saved(session, customer_id)
    subscriptions = await _live_subscriptions(session, customer_id)
    return [MethodListing(number, method, [s.product.name for s in subscriptions
                                           if s.payment_method_id == method.id])
            for number, method in enumerate(methods, start=1)]


async def default_method(session: AsyncSession, customer_id: int) -> PaymentMethod | None:
    return await session.scalar(select(PaymentMethod).where(
        PaymentMethod.customer_id == customer_id, PaymentMethod.removed_at.is_(None),
        PaymentMethod.is_default.is_(True)))


async def find_method(session: AsyncSession, customer_id: int, number: int | None = None, *,
                      method_id: int | None = None) -> MethodListing:
    """The customer's method by its number in `methods_of`, or by its id (what a confirmation
    keeps, so it acts on the card its preview showed even if the numbers moved meanwhile).
    Another customer's method is not found, by either."""
    listing = await methods_of(session, customer_id)
    if method_id is not None:
        found = next((item for item in listing if item.method.id == method_id), None)
        if found is None:
            raise NotFound("That payment method is no longer saved. Send `payment` to see yours.")
        return found
    if not listing:
        raise NotFound("You have no saved payment method. Send `payment` for a link to add one.")
    found = next((item for item in listing if item.number == number), None)
    if found is None:
        raise NotFound(f"You have no payment method {number}; yours are numbered 1 to "
                       f"{len(listing)} (send `payment` to see them).")
    return found


async def _retry_past_due(session: AsyncSession, portal: Portal, customer_id: int,
                          method: PaymentMethod) -> None:
    """Past-due subscriptions move to `method` and are tried again at once."""
    retried = False
    for subscription in await _live_subscriptions(session, customer_id):
        if subscription.status == PAST_DUE and subscription.billed_by == SHOPKEEP:
            subscription.payment_method_id = method.id
            subscription.next_retry_at = portal.now()
            retried = True
    if retried:
        events.publish(session, events.RenewalsDue(customer_id=customer_id))


async def _make_default(session: AsyncSession, portal: Portal, customer_id: int,
                        method: PaymentMethod, methods: list[PaymentMethod]) -> None:
    old = next((m for m in methods if m.is_default and m.id != method.id), None)
    for other in methods:
        other.is_default = other.id == method.id
    method.is_default = True
    for subscription in await _live_subscriptions(session, customer_id):
        if subscription.billed_by != SHOPKEEP:
            continue
        if subscription.payment_method_id is None or (
                old is not None and subscription.payment_method_id == old.id):
            subscription.payment_method_id = method.id
    await session.flush()
    await _retry_past_due(session, portal, customer_id, method)


async def add_method(session: AsyncSession, portal: Portal, customer_id: int, provider: str,
                     method: ProviderMethod, *, actor: str, setup_ref: str | None = None
                     ) -> PaymentMethod:
    """Save a method the provider holds; it becomes the default. `setup_ref` names the hosted
    setup that added it, which adds one method only (a second submission is an IntegrityError
    on the unique setup_ref)."""
    await lock(session, Customer, customer_id)
    methods = await _saved(session, customer_id)
    added = PaymentMethod(customer_id=customer_id, provider=provider, provider_ref=method.ref,
                          setup_ref=setup_ref, brand=method.brand, last4=method.last4,
                          exp_month=method.exp_month, exp_year=method.exp_year,
                          is_default=True, created_at=portal.now())
    session.add(added)
    await session.flush()
    await _make_default(session, portal, customer_id, added, methods)
    await audit.record(session, at=portal.now(),
                       customer_id=customer_id, actor=actor, action="payment_method_added",
                       method=added.label, expiry=added.expiry)
    events.publish(session, events.PaymentMethodChanged(customer_id=customer_id,
                                                        payment_method_id=added.id, change="added"))
    await queue_method_notice(session, portal, customer_id,
                              f"A {added.label} (expires {added.expiry}) was added to your account "
                              "and is now your default payment method."
                              + await _renewing(session, customer_id, added))
    return added


def preview_default(chosen: MethodListing, listing: list[MethodListing]) -> str:
    """What `set_default` will do, in one sentence (refuses when there is nothing to do)."""
    if chosen.is_default:
        raise Conflict(f"Your {chosen.method.label} is already your default payment method.")
    old = next((item for item in listing if item.is_default), None)
    moved = f" {_products(old.used_by)} will renew with it instead of your {old.method.label}." \
        if old is not None and old.used_by else ""
    return f"Make your {chosen.method.label} (expires {chosen.method.expiry}) the default.{moved}"


async def set_default(session: AsyncSession, portal: Portal, customer_id: int, number: int | None = None,
                      *, method_id: int | None = None, actor: str) -> PaymentMethod:
    """Make method `number` (or `method_id`) the default; the subscriptions that used the old
    default follow."""
    await lock(session, Customer, customer_id)
    listing = await methods_of(session, customer_id)
    chosen = await find_method(session, customer_id, number, method_id=method_id)
    preview_default(chosen, listing)
    await _make_default(session, portal, customer_id, chosen.method, [i.method for i in listing])
    await audit.record(session, at=portal.now(), customer_id=customer_id, actor=actor,
                       action="payment_method_default", method=chosen.method.label)
    events.publish(session, events.PaymentMethodChanged(
        customer_id=customer_id, payment_method_id=chosen.method.id, change="default"))
    await queue_method_notice(session, portal, customer_id,
                              f"Your {chosen.method.label} (expires {chosen.method.expiry}) is now your "
                              "default payment method."
                              + await _renewing(session, customer_id, chosen.method))
    return chosen.method


async def _removal_guard(session: AsyncSession, customer_id: int, chosen: MethodListing,
                         listing: list[MethodListing]) -> PaymentMethod | None:
    """The method that takes over, or a refusal when none can."""
    others = [item.method for item in listing if item.method.id != chosen.method.id]
    if others:
        return next((m for m in others if m.is_default), others[0])
    paying = [s for s in await _live_subscriptions(session, customer_id)
              if s.billed_by == SHOPKEEP and s.plan.price > 0 and not s.cancel_at_period_end]
    if paying:
        names = _products([s.product.name for s in paying])
        raise Conflict(f"Your {chosen.method.label} is the only payment method {names} renews "
                       "with. Add another with `payment` first, or cancel the subscription.")
    return None


async def preview_remove(session: AsyncSession, customer_id: int, number: int | None = None, *,
                         method_id: int | None = None) -> str:
    listing = await methods_of(session, customer_id)
    chosen = await find_method(session, customer_id, number, method_id=method_id)
    successor = await _removal_guard(session, customer_id, chosen, listing)
    text = f"Remove your {chosen.method.label} (expires {chosen.method.expiry})."
    if successor is not None and (chosen.is_default or chosen.used_by):
        text += f" Your {successor.label} becomes the default"
        text += f" and pays for {_products(chosen.used_by)}." if chosen.used_by else "."
    return text


async def remove(session: AsyncSession, portal: Portal, customer_id: int, number: int | None = None, *,
                 method_id: int | None = None, actor: str) -> PaymentMethod:
    """Remove method `number` (or `method_id`); refused for the last method of a paid
    subscription that renews."""
    await lock(session, Customer, customer_id)
    listing = await methods_of(session, customer_id)
    chosen = await find_method(session, customer_id, number, method_id=method_id)
    successor = await _removal_guard(session, customer_id, chosen, listing)
    method = chosen.method
    method.removed_at, method.is_default = portal.now(), False
    for subscription in await _live_subscriptions(session, customer_id):
        if subscription.payment_method_id == method.id:
            subscription.payment_method_id = successor.id if successor is not None else None
    if successor is not None and not successor.is_default:
        successor.is_default = True
    await session.flush()
    await audit.record(session, at=portal.now(), customer_id=customer_id, actor=actor,
                       action="payment_method_removed", method=method.label)
    events.publish(session, events.PaymentMethodChanged(
        customer_id=customer_id, payment_method_id=method.id, change="removed"))
    after = f" Your {successor.label} is your default payment method." if successor is not None else ""
    await queue_method_notice(session, portal, customer_id,
                              f"Your {method.label} was removed from your account.{after}")
    return method


async def _renewing(session: AsyncSession, customer_id: int, method: PaymentMethod) -> str:
    """" The Club renews with it.", or nothing when no subscription does."""
    names = [s.product.name for s in await _live_subscriptions(session, customer_id)
             if s.payment_method_id == method.id]
    return f" {_products(names)} {'renews' if len(names) == 1 else 'renew'} with it." if names else ""


def _products(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names) or "nothing"
    return ", ".join(names[:-1]) + " and " + names[-1]
