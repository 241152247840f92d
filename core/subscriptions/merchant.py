"""Subscriptions the merchant's own store bills: shopkeep never charges them.

A customer's confirmed change is applied in shopkeep and sent to the store as a signed webhook
(SHOPKEEP_MERCHANT_WEBHOOK_URL), queued in the same transaction and retried with backoff until
the store's endpoint takes it; the store bills any difference. Without that URL, such a
subscription offers `cancel` only, which is recorded and mailed to the store's contact address.
The store reports each renewal it billed (the purchases webhook's renewal event), which moves
the subscription's period.

Notices are JSON:
    {"event": "subscription.plan_changed", "delivery_id": "...", "time": "...",
     "subscription": {"id": 7, "customer": "ann@example.com", "product": "club", "plan": "pro",
                      "status": "active", "current_period_end": "...", ...},
     "change": {...what the customer confirmed...}}
signed like the purchases webhook: X-Shopkeep-Signature: sha256=<HMAC-SHA256 of the body with
SHOPKEEP_WEBHOOK_SECRET>.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.kernel.background import poll
from core.kernel.errors import NotAllowed
from core.kernel.portal import Portal
from core.mail import notifications
from core.models import Customer, MerchantNotice, Plan, Subscription
from core.models.merchant import FAILED, QUEUED, SENDING, SENT
from core.models.subscriptions import MERCHANT

log = logging.getLogger("shopkeep.merchant")
SIGNATURE_HEADER = "X-Shopkeep-Signature"
MAX_ATTEMPTS = 12
LEASE = timedelta(minutes=2)


def billed_by_store(subscription: Subscription) -> bool:
    return subscription.billed_by == MERCHANT


def changes_reach_store(portal: Portal, subscription: Subscription) -> bool:
    """True when shopkeep bills it, or the store hears of changes through its webhook."""
    return not billed_by_store(subscription) or bool(portal.settings.merchant_webhook_url)


def store_contact(portal: Portal) -> str:
    return portal.settings.store.contact_email or portal.settings.portal_address


def only_cancel(portal: Portal, subscription: Subscription) -> None:
    """Refuse anything but `cancel` for a store-billed subscription the store cannot hear of."""
    if not changes_reach_store(portal, subscription):
        raise NotAllowed(
            f"{subscription.product.name} is billed by {portal.settings.store_name}'s own store, "
            f"so changes other than cancelling go through the store: write to "
            f"{store_contact(portal)}. You can cancel here with `cancel {subscription.product.slug}`.")


def describe(subscription: Subscription, customer: Customer, plan: Plan | None = None) -> dict[str, Any]:
    plan = plan or subscription.plan
    return {
        "id": subscription.id, "customer": customer.email, "product": subscription.product.slug,
        "plan": plan.slug, "price": plan.price, "currency": plan.currency, "interval": plan.interval,
        "status": subscription.status, "billed_by": subscription.billed_by,
        "current_period_start": subscription.current_period_start.isoformat(),
        "current_period_end": subscription.current_period_end.isoformat(),
        "cancel_at_period_end": subscription.cancel_at_period_end,
        "pause_at_period_end": subscription.pause_at_period_end,
        "pause_until": subscription.pause_until.isoformat() if subscription.pause_until else None,
        "scheduled_plan": subscription.scheduled_plan.slug if subscription.scheduled_plan else None,
    }


async def tell_store(session: AsyncSession, portal: Portal, subscription: Subscription,
                     customer: Customer, event: str, change: dict[str, Any], summary: str) -> None:
    """Queue the notice of a confirmed change (or, with no webhook URL, mail the store's
    contact address: only cancellations get here then)."""
    now = portal.now()
    if not portal.settings.merchant_webhook_url:
        await notifications.queue_notice(
            session, portal, store_contact(portal),
            f"{customer.email}: {subscription.product.name} {event.partition('.')[2].replace('_', ' ')}",
            [f"{customer.email} made this change in the customer portal: {summary}",
             f"{subscription.product.name} is billed by your store; please make the same change "
             "there.", json.dumps({"event": event, "subscription": describe(subscription, customer),
                                   "change": change}, indent=2)])
        return
    await session.refresh(subscription, ["scheduled_plan"])
    delivery_id = uuid.uuid4().hex
    payload = {"event": event, "delivery_id": delivery_id, "time": now.isoformat(),
               "subscription": describe(subscription, customer), "change": change}
    session.add(MerchantNotice(event=event, delivery_id=delivery_id, payload=payload,
                               created_at=now, next_attempt_at=now))


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookTransport(Protocol):
    """Posts a body to a URL (adapters/merchant/); returns the HTTP status, raises OSError or
    TimeoutError when the endpoint cannot be reached."""

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        ...

    async def close(self) -> None:
        ...


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(6 * 3600, 30 * 2 ** max(0, attempts - 1)))


class MerchantNotifier:
    """Sends queued notices to the store, from any number of processes (claimed with SKIP
    LOCKED on PostgreSQL), retried with backoff; a 2xx answer is taken, anything else is retried."""

    def __init__(self, portal: Portal, transport: WebhookTransport, *, batch: int = 20) -> None:
        self.portal = portal
        self.transport = transport
        self.batch = batch
        self.wakeup = asyncio.Event()

    async def send_due(self) -> int:
        url, secret = self.portal.settings.merchant_webhook_url, self.portal.settings.webhook_secret
        if not url or not secret:
            return 0
        now = self.portal.now()
        due = (select(MerchantNotice.id)
               .where(or_(MerchantNotice.status == QUEUED,
                          (MerchantNotice.status == SENDING) & (MerchantNotice.next_attempt_at <= now)),
                      MerchantNotice.next_attempt_at <= now)
               .order_by(MerchantNotice.id).limit(self.batch))
        claimed = await self.portal.db.claim(MerchantNotice, due, status=SENDING,
                                             next_attempt_at=now + LEASE,
                                             attempts=MerchantNotice.attempts + 1)
        sent = 0
        for notice in claimed:
            body = json.dumps(notice.payload, sort_keys=True).encode()
            headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature(secret, body),
                       "X-Shopkeep-Delivery": notice.delivery_id, "X-Shopkeep-Event": notice.event}
            try:
                status = await self.transport.post(url, body, headers)
                error = None if 200 <= status < 300 else f"HTTP {status}"
            except (OSError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
            await self._finish(notice, error)
            sent += error is None
        return sent

    async def _finish(self, notice: MerchantNotice, error: str | None) -> None:
        now = self.portal.now()
        if error is None:
            values: dict[str, Any] = {"status": SENT, "sent_at": now, "last_error": None}
        elif notice.attempts >= MAX_ATTEMPTS:
            log.error("giving up on merchant notice %s after %d attempts: %s", notice.id,
                      notice.attempts, error)
            values = {"status": FAILED, "last_error": error}
        else:
            values = {"status": QUEUED, "last_error": error,
                      "next_attempt_at": now + backoff(notice.attempts)}
        async with self.portal.db.unit_of_work() as session:
            await session.execute(update(MerchantNotice).where(MerchantNotice.id == notice.id)
                                  .values(**values))

    async def run(self, interval: float = 30.0) -> None:
        await poll(self.send_due, self.wakeup, interval=interval, log=log)

    async def close(self) -> None:
        await self.transport.close()


async def listing(session: AsyncSession, limit: int = 50) -> list[MerchantNotice]:
    return list(await session.scalars(select(MerchantNotice).order_by(MerchantNotice.id.desc())
                                      .limit(limit)))


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(MerchantNotice.status, func.count())
                                 .group_by(MerchantNotice.status))
    return {status: count for status, count in rows.all()}


async def retry_now(session: AsyncSession, now: datetime) -> int:
    notices = list(await session.scalars(select(MerchantNotice).where(
        MerchantNotice.status.in_((QUEUED, FAILED)))))
    for notice in notices:
        notice.status, notice.next_attempt_at = QUEUED, now
        if notice.attempts >= MAX_ATTEMPTS:
            notice.attempts = 0
    return len(notices)
