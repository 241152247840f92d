"""Domain events: written with their change, delivered once it commits, retried, never lost."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
from sqlalchemy import select

from core.kernel import events
from core.kernel.db import Database
from core.kernel.event_delivery import LEASE, MAX_ATTEMPTS, EventWorker, Subscribers, backoff
from core.kernel.events import AccessChanged, Event
from core.kernel.portal import Portal
from core.models import DomainEvent
from core.models.events import DELIVERED, FAILED, PENDING
from tests.conftest import Clock


@dataclass
class Recorder:
    """A subscriber to AccessChanged that notes each customer id it hears, per worker."""

    seen: list[int] = field(default_factory=list)
    heard: asyncio.Queue[int] = field(default_factory=asyncio.Queue)
    failing: set[int] = field(default_factory=set)  # customer ids it fails for, for now
    pause: float = 0.0

    def subscribers(self) -> Subscribers:
        subscribers = Subscribers()
        subscribers.subscribe(AccessChanged, self.hear)
        return subscribers

    async def hear(self, event: AccessChanged) -> None:
        await asyncio.sleep(self.pause)
        if event.customer_id in self.failing:
            raise RuntimeError(f"the chat service is down for {event.customer_id}")
        self.seen.append(event.customer_id)
        self.heard.put_nowait(event.customer_id)


async def publish(portal: Portal, *customer_ids: int) -> None:
    async with portal.db.unit_of_work() as session:
        for customer_id in customer_ids:
            events.publish(session, AccessChanged(customer_id=customer_id))


async def stored(portal: Portal) -> dict[int, DomainEvent]:
    """Stored events by the customer id in their payload."""
    async with portal.db.unit_of_work() as session:
        rows = await session.scalars(select(DomainEvent).order_by(DomainEvent.id))
        return {row.payload["customer_id"]: row for row in rows}


@pytest.fixture
async def other_portal(portal: Portal, database_url: tuple[str, dict[str, Any]],
                       clock: Clock) -> AsyncIterator[Portal]:
    """A second process on the same database: its own engine, no wake-ups shared."""
    other = Portal(settings=portal.settings, db=Database(*database_url), clock=clock)
    yield other
    await other.close()


async def test_an_event_whose_change_rolled_back_is_never_delivered(portal: Portal) -> None:
    recorder = Recorder()
    with pytest.raises(RuntimeError):
        async with portal.db.unit_of_work() as session:
            events.publish(session, AccessChanged(customer_id=7))
            raise RuntimeError("the change failed half-way")
    assert await EventWorker(portal, recorder.subscribers()).deliver_due() == 0
    assert recorder.seen == []


async def test_two_workers_at_once_deliver_each_event_exactly_once(portal: Portal,
                                                                   other_portal: Portal) -> None:
    await publish(portal, *range(12))
    first, second = Recorder(pause=0.01), Recorder(pause=0.01)
    counts = await asyncio.gather(EventWorker(portal, first.subscribers(), batch=2).deliver_due(),
                                  EventWorker(other_portal, second.subscribers(), batch=2).deliver_due())
    assert sorted(first.seen + second.seen) == list(range(12))
    assert all(counts), "both workers took a share"
    assert await EventWorker(portal, first.subscribers()).deliver_due() == 0
    assert {row.status for row in (await stored(portal)).values()} == {DELIVERED}


async def test_a_failing_subscriber_is_retried_while_other_events_flow(portal: Portal,
                                                                       clock: Clock) -> None:
    recorder = Recorder(failing={1})
    worker = EventWorker(portal, recorder.subscribers())
    await publish(portal, 1, 2)
    assert await worker.deliver_due() == 1
    failed = (await stored(portal))[1]
    assert failed.status == PENDING and failed.attempts == 1
    assert failed.last_error == "RuntimeError: the chat service is down for 1"

    await publish(portal, 3)
    assert await worker.deliver_due() == 1, "a later event does not wait behind the failing one"
    recorder.failing.clear()
    clock.advance(seconds=backoff(1).total_seconds())
    assert await worker.deliver_due() == 1
    assert recorder.seen == [2, 3, 1]
    retried = (await stored(portal))[1]
    assert retried.status == DELIVERED and retried.last_error is None


async def test_an_event_that_keeps_failing_is_given_up_and_logged(portal: Portal, clock: Clock,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder(failing={5})
    worker = EventWorker(portal, recorder.subscribers())
    await publish(portal, 5)
    for _ in range(MAX_ATTEMPTS):
        assert await worker.deliver_due() == 0
        clock.advance(hours=2)
    row = (await stored(portal))[5]
    assert row.status == FAILED and row.attempts == MAX_ATTEMPTS and "down for 5" in (row.last_error or "")
    assert any("giving up on event" in r.message and r.levelno == logging.ERROR for r in caplog.records)
    recorder.failing.clear()
    assert await worker.deliver_due() == 0 and recorder.seen == []


async def test_a_commit_in_this_process_wakes_the_worker_at_once(portal: Portal) -> None:
    recorder = Recorder()
    task = asyncio.create_task(EventWorker(portal, recorder.subscribers()).run(interval=600))
    try:
        await asyncio.sleep(0.1)  # the first pass found nothing; the next is ten minutes away
        await publish(portal, 8)
        assert await asyncio.wait_for(recorder.heard.get(), timeout=5) == 8
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_an_event_from_another_process_is_delivered_by_the_interval(portal: Portal,
                                                                          other_portal: Portal) -> None:
    recorder = Recorder()
    worker = EventWorker(portal, recorder.subscribers())
    task = asyncio.create_task(worker.run(interval=0.2))
    try:
        await asyncio.sleep(0.05)
        await publish(other_portal, 9)
        assert not worker.wakeup.is_set(), "no wake-up crosses processes"
        assert await asyncio.wait_for(recorder.heard.get(), timeout=5) == 9
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_events_survive_a_crash_before_and_during_delivery(portal: Portal, other_portal: Portal,
                                                                 clock: Clock) -> None:
    await publish(portal, 1)
    crashed = EventWorker(portal, Recorder().subscribers())
    assert len(await crashed._claim()) == 1  # claimed, then the process died mid-delivery
    await publish(portal, 2)
    await portal.db.close()  # ...and nothing ever ran for the second one before the crash

    recorder = Recorder()
    restarted = EventWorker(other_portal, recorder.subscribers())
    assert await restarted.deliver_due() == 1 and recorder.seen == [2]
    clock.advance(seconds=LEASE.total_seconds())
    assert await restarted.deliver_due() == 1, "the dead worker's lease ran out"
    assert recorder.seen == [2, 1]


async def test_a_new_capability_adds_an_event_by_declaring_one_class(portal: Portal) -> None:
    @dataclass(frozen=True)
    class SeatAssigned(Event):
        name: ClassVar[str] = "test_seat_assigned"
        license_id: int
        email: str

    try:
        heard: list[SeatAssigned] = []

        async def hear(event: SeatAssigned) -> None:
            heard.append(event)

        subscribers = Subscribers()
        subscribers.subscribe(SeatAssigned, hear)
        async with portal.db.unit_of_work() as session:
            events.publish(session, SeatAssigned(license_id=4, email="dana@example.com"))
            events.publish(session, AccessChanged(customer_id=1))  # nobody here listens to it
        assert await EventWorker(portal, subscribers).deliver_due() == 2
        assert heard == [SeatAssigned(license_id=4, email="dana@example.com")]
    finally:
        del Event.types["test_seat_assigned"]


def test_event_names_are_declared_and_unique() -> None:
    with pytest.raises(TypeError, match="two event types"):
        @dataclass(frozen=True)
        class Again(Event):
            name: ClassVar[str] = AccessChanged.name

    with pytest.raises(TypeError, match="must declare a name"):
        @dataclass(frozen=True)
        class Nameless(Event):
            customer_id: int


async def test_delivered_events_are_pruned_after_a_month_and_failed_ones_kept(
        portal: Portal, clock: Clock) -> None:
    recorder = Recorder(failing={2})
    worker = EventWorker(portal, recorder.subscribers())
    await publish(portal, 1, 2)
    for _ in range(MAX_ATTEMPTS):
        await worker.deliver_due()
        clock.advance(hours=2)
    await publish(portal, 3)
    assert await worker.deliver_due() == 1
    assert sorted(await stored(portal)) == [1, 2, 3], "nothing is pruned before its time"
    clock.advance(days=30, hours=-MAX_ATTEMPTS * 2 + 1)  # event 1 is a month old, event 3 is not
    await worker.deliver_due()
    left = await stored(portal)
    assert sorted(left) == [2, 3] and left[2].status == FAILED
