"""Previews and the quotes behind them: a preview is stored as it was shown (amounts, the
instant it was prorated at, the subscription's version) for 15 minutes, and confirming applies
exactly that quote once, or refuses when anything changed since.

Every service that changes a subscription has a `preview_*` that checks the guards and stores a
quote, and an apply step that `apply` runs by the quote's action. The front doors keep the quote
id in their pending confirmation and call `apply` when it is confirmed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from core.kernel import formatting
from core.kernel.errors import Conflict, NotFound
from core.kernel.portal import Portal
from core.models import Customer, Subscription, SubscriptionQuote
from core.payments.provider import PaymentProvider

QUOTE_TTL = timedelta(minutes=15)
IN_PROGRESS = "Another change is in progress for this subscription. Please try again in a moment."
CHANGED = ("{product} changed since this preview was made, so nothing was done. Ask again for "
           "a fresh preview.")


@dataclass(frozen=True)
class PreviewLine:
    description: str
    amount: int  # minor units; negative for a credit


@dataclass(frozen=True)
class Preview:
    """What a change will do, as the customer is asked to confirm it."""

    quote_id: int
    action: str  # change_plan, keep, pause, resume, cancel, uncancel, resubscribe
    subscription_id: int
    product: str  # the product's name
    product_slug: str
    summary: str  # one sentence: what happens and when
    currency: str
    locale: str
    lines: list[PreviewLine] = field(default_factory=list)
    amount_due: int = 0  # charged on confirmation (0: nothing is charged now)
    recurring: str | None = None  # "$20.00 a month"
    effective_at: datetime | None = None
    notes: list[str] = field(default_factory=list)  # "The store bills any difference."
    expires_at: datetime | None = None

    def money(self, amount: int) -> str:
        return formatting.money(amount, self.currency, self.locale)

    @property
    def text(self) -> str:
        """The whole preview as plain lines (the console and email show this)."""
        parts = [self.summary]
        parts += [f"  {line.description}: {self.money(line.amount)}" for line in self.lines]
        if self.lines or self.amount_due:
            parts.append(f"Due now: {self.money(self.amount_due)}")
        if self.recurring:
            parts.append(f"Then: {self.recurring}")
        return "\n".join(parts + self.notes)


@dataclass(frozen=True)
class Applied:
    subscription: Subscription
    message: str  # what was done, in one or two sentences


Applier = Callable[[AsyncSession, Portal, PaymentProvider, SubscriptionQuote, Subscription, str],
                   Awaitable[Applied]]
_APPLIERS: dict[str, Applier] = {}


def applies(action: str) -> Callable[[Applier], Applier]:
    """Register the function that carries out quotes of `action`."""
    def register(function: Applier) -> Applier:
        _APPLIERS[action] = function
        return function
    return register


async def store(session: AsyncSession, portal: Portal, subscription: Subscription, *, action: str,
                plan_id: int | None = None, amount_due: int = 0, currency: str | None = None,
                details: dict[str, Any] | None = None) -> SubscriptionQuote:
    now = portal.now()
    quote = SubscriptionQuote(
        customer_id=subscription.customer_id, subscription_id=subscription.id,
        subscription_version=subscription.version, action=action, plan_id=plan_id,
        details=details or {}, amount_due=amount_due,
        currency=currency or subscription.plan.currency, prorated_at=now,
        expires_at=now + QUOTE_TTL, created_at=now)
    session.add(quote)
    await session.flush()
    return quote


def preview_of(quote: SubscriptionQuote, subscription: Subscription, customer: Customer, summary: str,
               **values: Any) -> Preview:
    return Preview(quote_id=quote.id, action=quote.action, subscription_id=subscription.id,
                   product=subscription.product.name, product_slug=subscription.product.slug,
                   summary=summary, currency=quote.currency, locale=customer.locale,
                   amount_due=quote.amount_due, expires_at=quote.expires_at, **values)


async def apply(session: AsyncSession, portal: Portal, payments: PaymentProvider, customer_id: int,
                quote_id: int, *, actor: str) -> Applied:
    """Carry out the customer's quote exactly as previewed, once.

    Refuses (Conflict) when the quote was used, has expired, or the subscription changed since
    the preview; "another change is in progress" when a concurrent change got there first."""
    quote = await session.get(SubscriptionQuote, quote_id)
    if quote is None or quote.customer_id != customer_id:
        raise NotFound("There is no such change waiting; ask again for a preview.")
    subscription = await session.get(Subscription, quote.subscription_id, populate_existing=True)
    assert subscription is not None
    await session.refresh(subscription, ["product", "plan"])
    if quote.used_at is not None:
        raise Conflict("That change was already made.")
    if quote.expires_at <= portal.now():
        raise Conflict("That preview has expired (previews hold for 15 minutes). Ask again for a "
                       "fresh one.")
    if subscription.version != quote.subscription_version:
        raise Conflict(CHANGED.format(product=subscription.product.name))
    claimed = await session.execute(
        update(SubscriptionQuote).where(SubscriptionQuote.id == quote.id,
                                        SubscriptionQuote.used_at.is_(None))
        .values(used_at=portal.now()).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("That change was already made.")
    quote.used_at = portal.now()
    applied = await _APPLIERS[quote.action](session, portal, payments, quote, subscription, actor)
    await save(session)
    return applied


async def save(session: AsyncSession) -> None:
    """Flush the changes; a subscription someone else changed meanwhile refuses them."""
    try:
        await session.flush()
    except (StaleDataError, IntegrityError):  # IntegrityError: a second live subscription
        raise Conflict(IN_PROGRESS) from None
    except OperationalError as exc:  # SQLite: the other writer holds the database
        if "locked" in str(exc).lower() or "busy" in str(exc).lower():
            raise Conflict(IN_PROGRESS) from None
        raise
