"""Delivering domain events to their subscribers, from any number of workers.

Each worker claims due events with a lease in one atomic UPDATE (SKIP LOCKED on PostgreSQL), so
an event goes to one worker; a worker that dies mid-way only delays its events until the lease
runs out. Delivery is at least once: every subscriber's effect must be idempotent (a role sync,
a wake-up), because an event whose worker died after the effect is delivered again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.kernel.background import poll
from core.kernel.events import PUBLISHED, Event, decode
from core.kernel.portal import Portal
from core.models import DomainEvent
from core.models.events import DELIVERED, DELIVERING, FAILED, PENDING

log = logging.getLogger("shopkeep.events")

E = TypeVar("E", bound=Event)
Subscriber = Callable[[Any], Awaitable[object]]

BATCH = 10
DELIVERY_TIMEOUT = 20.0  # seconds all subscribers of one event may take together
LEASE = timedelta(minutes=5)  # longer than a whole batch may take: BATCH * DELIVERY_TIMEOUT
BACKOFF_BASE = 5  # seconds before the first retry; doubles each time
BACKOFF_CAP = 3600
MAX_ATTEMPTS = 10  # about an hour and a half of retries, then the event is marked failed
# Delivered events are kept this long (what happened, for an operator looking back), then deleted;
# failed ones stay until someone looks at them.
KEEP_DELIVERED = timedelta(days=30)
PRUNE_EVERY = timedelta(hours=1)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1)))


class Subscribers:
    """Who reacts to which event, as the composition root decides."""

    def __init__(self) -> None:
        self._by_name: dict[str, list[Subscriber]] = defaultdict(list)

    def subscribe(self, event_type: type[E], subscriber: Callable[[E], Awaitable[object]]) -> None:
        self._by_name[event_type.name].append(subscriber)

    def of(self, event: Event) -> list[Subscriber]:
        return list(self._by_name.get(event.name, ()))


class EventWorker:
    def __init__(self, portal: Portal, subscribers: Subscribers, *, batch: int = BATCH) -> None:
        self.portal = portal
        self.subscribers = subscribers
        self.batch = batch
        self.wakeup = asyncio.Event()
        self._pruned_at: datetime | None = None

    async def deliver_due(self) -> int:
        """Deliver every event that is due now; returns how many were delivered."""
        now = self.portal.now()
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
            await self.prune(before=now - KEEP_DELIVERED)
        delivered = 0
        while claimed := await self._claim():
            for record in claimed:
                delivered += await self._deliver(record)
            if len(claimed) < self.batch:
                break
        return delivered

    async def prune(self, *, before: datetime) -> int:
        """Delete events delivered before `before`; returns how many."""
        async with self.portal.db.unit_of_work() as session:
            done = await session.execute(delete(DomainEvent).where(
                DomainEvent.status == DELIVERED, DomainEvent.delivered_at < before))
        return int(done.rowcount or 0)  # type: ignore[attr-defined]

    async def _claim(self) -> list[DomainEvent]:
        now = self.portal.now()
        due = (
            select(DomainEvent.id)
            .where(DomainEvent.status.in_((PENDING, DELIVERING)),
                   or_(DomainEvent.next_attempt_at.is_(None), DomainEvent.next_attempt_at <= now))
            .order_by(DomainEvent.id)
            .limit(self.batch)
        )
        return await self.portal.db.claim(DomainEvent, due, status=DELIVERING,
                                          next_attempt_at=now + LEASE,
                                          attempts=DomainEvent.attempts + 1)

    async def _deliver(self, record: DomainEvent) -> int:
        try:
            event = decode(record)
            async with asyncio.timeout(DELIVERY_TIMEOUT):
                for subscriber in self.subscribers.of(event):
                    await subscriber(event)
        except Exception as exc:  # whatever a subscriber throws: retried later, never lost
            await self._deferred(record, exc)
            return 0
        await self._set(record, status=DELIVERED, delivered_at=self.portal.now(), last_error=None)
        return 1

    async def _deferred(self, record: DomainEvent, exc: BaseException) -> None:
        error = f"{type(exc).__name__}: {exc}"[:1000]
        if record.attempts >= MAX_ATTEMPTS:
            log.error("giving up on event %s %s %s after %d attempts: %s",
                      record.id, record.name, record.payload, record.attempts, error)
            await self._set(record, status=FAILED, last_error=error)
            return
        log.warning("event %s %s deferred (attempt %d): %s", record.id, record.name,
                    record.attempts, error)
        await self._set(record, status=PENDING, last_error=error,
                        next_attempt_at=self.portal.now() + backoff(record.attempts))

    async def _set(self, record: DomainEvent, **values: object) -> None:
        async with self.portal.db.unit_of_work() as session:
            await session.execute(update(DomainEvent).where(DomainEvent.id == record.id).values(**values))

    def _woken_by(self, session: AsyncSession) -> None:
        if session.info.get(PUBLISHED):
            self.wakeup.set()

    async def run(self, interval: float = 2.0) -> None:
        """Deliver forever: at once after a unit of work of this process published an event,
        and every `interval` for events other processes wrote and retries coming due."""
        stop_listening = self.portal.db.after_commit(self._woken_by)
        try:
            await poll(self.deliver_due, self.wakeup, interval=interval, log=log)
        finally:
            stop_listening()
