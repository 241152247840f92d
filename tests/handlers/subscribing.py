"""The subscription commands as a customer sends them, and what they left behind: the demo's
alice (Maker Pro, Pro monthly at $12, billed by shopkeep on her 4242 card, the period from
Mar 13 to Apr 13, 2026 at noon) and bob (Sprite Club, past due on a declined card)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from bot import bootstrap
from core.kernel.portal import Portal
from core.models import Charge, PendingAction, Product, Subscription, SubscriptionQuote
from handlers.dispatcher import ChangePolicy
from handlers.reply import Reply
from tests.handlers.cards import customer
from tests.helpers import caller_for

ALICE, BOB = "alice@example.com", "bob@example.com"


async def say(portal: Portal, who: str, line: str, *, door: str = "console",
              policy: ChangePolicy = ChangePolicy.PREVIEW) -> Reply:
    """`line` as the customer sends it through `door` (every door runs it so)."""
    caller = await caller_for(portal, who, platform=door)
    return await bootstrap.dispatcher(portal).handle_line(caller, line, policy)


async def confirm(portal: Portal, who: str, preview: Reply) -> Reply:
    """The customer goes ahead with what `preview` asked."""
    assert preview.ok and preview.confirmation is not None, preview.plain_text()
    return await say(portal, who, preview.confirmation.typed)


@dataclass(frozen=True)
class State:
    status: str
    plan: str
    scheduled_plan: str | None
    cancel_at_period_end: bool
    pause_at_period_end: bool
    cancel_reason: str | None


async def state(portal: Portal, email: str, product: str = "maker-pro") -> State:
    """The customer's latest subscription to `product`, as stored."""
    who = await customer(portal, email)
    async with portal.db.unit_of_work() as session:
        found = await session.scalar(
            select(Subscription).join(Product, Subscription.product_id == Product.id)
            .where(Subscription.customer_id == who.id, Product.slug == product)
            .options(joinedload(Subscription.plan), joinedload(Subscription.scheduled_plan))
            .order_by(Subscription.id.desc()).limit(1))
        assert found is not None
        return State(found.status, found.plan.slug,
                     found.scheduled_plan.slug if found.scheduled_plan else None,
                     found.cancel_at_period_end, found.pause_at_period_end, found.cancel_reason)


async def charges(portal: Portal, email: str, purpose: str | None = None) -> list[tuple[int, str]]:
    """(amount, status) of the customer's charges (of `purpose` only, when given), oldest first."""
    who = await customer(portal, email)
    query = select(Charge).where(Charge.customer_id == who.id).order_by(Charge.id)
    if purpose:
        query = query.where(Charge.purpose == purpose)
    async with portal.db.unit_of_work() as session:
        return [(c.amount, c.status) for c in await session.scalars(query)]


async def quote_of(portal: Portal, preview: Reply) -> int:
    """The quote a preview's confirmation keeps."""
    assert preview.confirmation is not None
    async with portal.db.unit_of_work() as session:
        action = await session.scalar(select(PendingAction).where(
            PendingAction.code == preview.confirmation.code))
        assert action is not None
        return int(action.arguments["quote"])


async def quotes_used(portal: Portal) -> int:
    async with portal.db.unit_of_work() as session:
        return int(await session.scalar(select(func.count()).select_from(SubscriptionQuote)
                                        .where(SubscriptionQuote.used_at.is_not(None))) or 0)
