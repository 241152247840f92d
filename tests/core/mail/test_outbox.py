"""Outgoing mail survives a relay outage and is delivered exactly once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import select

from adapters.mail.smtp_relay import SmtpRelay
from bot.bootstrap import event_worker, outbox_sender
from config.settings import Settings
from core.kernel import processes
from core.kernel.db import Database
from core.kernel.portal import Portal
from core.mail import composing, outbox, sending
from core.models import OutboundMail
from core.orders.purchases import PurchaseItem, PurchaseRequest, record_purchase
from tests.conftest import Clock
from tests.fakes.relay import CapturingRelay
from tests.helpers import eventually


async def queue_messages(portal: Portal, count: int) -> None:
    async with portal.db.unit_of_work() as session:
        for n in range(count):
            message = composing.new_message(portal, to=f"c{n}@example.com", subject=f"Hello {n}", text="hi")
            await outbox.queue(session, portal, message, kind="notice")


def relayed(portal: Portal, relay: CapturingRelay) -> Portal:
    settings: Settings = portal.settings.model_copy(update={"mail_relay": relay.url})
    return Portal(settings=settings, db=portal.db, clock=portal.clock)


async def test_without_a_relay_mail_becomes_eml_files(portal: Portal) -> None:
    await queue_messages(portal, 2)
    assert await outbox_sender(portal).send_due() == 2
    files = sorted(portal.settings.outbox_dir.glob("*.eml"))
    assert len(files) == 2 and b"Subject: Hello 0" in files[0].read_bytes()


async def test_relay_down_then_up_delivers_each_message_once(portal: Portal, clock: Clock) -> None:
    relay = CapturingRelay()
    portal = relayed(portal, relay)
    await queue_messages(portal, 3)
    sender = outbox_sender(portal)
    assert await sender.send_due() == 0  # nobody listening on the relay port
    async with portal.db.unit_of_work() as session:
        mails = list(await session.scalars(select(OutboundMail)))
    assert {m.status for m in mails} == {"queued"} and all(m.last_error for m in mails)
    assert await sender.send_due() == 0  # not due again before the backoff

    await relay.start()
    try:
        clock.advance(seconds=31)
        assert await sender.send_due() == 3
        assert await sender.send_due() == 0
        assert sorted(str(m["Subject"]) for m in relay.messages) == ["Hello 0", "Hello 1", "Hello 2"]
    finally:
        await relay.stop()


async def test_a_burst_of_mail_shares_one_relay_connection(portal: Portal) -> None:
    relay = CapturingRelay()
    await relay.start()
    try:
        portal = relayed(portal, relay)
        await queue_messages(portal, 25)
        assert await outbox_sender(portal, batch=10).send_due() == 25
        assert relay.connections == 1 and len(relay.messages) == 25
    finally:
        await relay.stop()


async def test_a_relay_that_hangs_up_mid_burst_still_gets_everything_once(portal: Portal) -> None:
    relay = CapturingRelay(messages_per_connection=3)
    await relay.start()
    try:
        portal = relayed(portal, relay)
        await queue_messages(portal, 10)
        assert await outbox_sender(portal).send_due() == 10, "none left waiting for a retry"
        assert sorted(str(m["To"]) for m in relay.messages) == sorted(f"c{n}@example.com" for n in range(10))
        assert relay.connections == 4
    finally:
        await relay.stop()


async def test_two_senders_never_send_the_same_message(portal: Portal, database_url: Any) -> None:
    relay = CapturingRelay()
    await relay.start()
    portal = relayed(portal, relay)
    other = Portal(settings=portal.settings, db=Database(*database_url), clock=portal.clock)
    try:
        await queue_messages(portal, 30)
        sent = await asyncio.gather(outbox_sender(portal, batch=5).send_due(),
                                    outbox_sender(other, batch=5).send_due())
        assert sum(sent) == 30
        assert sorted(str(m["To"]) for m in relay.messages) == sorted(f"c{n}@example.com" for n in range(30))
    finally:
        await other.close()
        await relay.stop()


async def test_retry_now_brings_failed_mail_back(portal: Portal) -> None:
    await queue_messages(portal, 1)
    async with portal.db.unit_of_work() as session:
        mail = await session.scalar(select(OutboundMail))
        assert mail is not None
        mail.status, mail.attempts = "failed", sending.MAX_ATTEMPTS
    async with portal.db.unit_of_work() as session:
        assert await outbox.retry_now(session, portal.now()) == 1
    assert await outbox_sender(portal).send_due() == 1


async def test_a_purchase_wakes_the_outbox_through_its_event(demo_portal: Portal) -> None:
    sender = outbox_sender(demo_portal)
    await sender.send_due()  # the demo's own mail is out of the way
    tasks = [asyncio.create_task(sender.run(interval=600)),
             asyncio.create_task(event_worker(demo_portal, outbox=sender).run(interval=600))]
    try:
        await asyncio.sleep(0.1)  # both loops have done their first pass and wait ten minutes
        async with demo_portal.db.unit_of_work() as session:
            await record_purchase(session, demo_portal, PurchaseRequest(
                email="erin@example.com", external_id="ord_wake", items=[PurchaseItem(product="ebook")]))
        await eventually(lambda: any("invite" in f.name for f in demo_portal.settings.outbox_dir.glob("*.eml")
                                     if b"erin@example.com" in f.read_bytes()),
                         "the invite goes out at once, not at the next interval")
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def a_gone_process() -> str:
    """The identity of a sender on this host that has since exited."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    return f"{processes.HOST}:{child.stdout.strip()}:dead0001"


class CrashAfterTheRelay:
    """A transport that hands the message to the relay, then dies before shopkeep hears back."""

    def __init__(self, relay: CapturingRelay, portal: Portal) -> None:
        self.inner = SmtpRelay(relay.url, sender=portal.settings.portal_address)

    async def send(self, mail: OutboundMail) -> None:
        await self.inner.send(mail)
        raise asyncio.CancelledError  # the process is killed right after the relay's 250

    async def close(self) -> None:
        await self.inner.close()


async def test_a_crash_after_the_relay_accepted_sends_at_most_once_more_with_the_same_id(
        portal: Portal) -> None:
    relay = CapturingRelay()
    portal = relayed(portal, relay)
    await queue_messages(portal, 3)
    await relay.start()
    try:
        crashed = sending.OutboxSender(portal, CrashAfterTheRelay(relay, portal), identity=a_gone_process())
        with pytest.raises(asyncio.CancelledError):
            await crashed.send_due()
        assert len(relay.messages) == 1
        # Restarted at once, not two minutes later: the dead sender's leases are taken back.
        assert await outbox_sender(portal).send_due() == 3
    finally:
        await relay.stop()
    ids = [str(m["Message-ID"]) for m in relay.messages]
    assert len(ids) == 4 and len(set(ids)) == 3, "one message twice, with the same Message-ID"
    assert sorted(str(m["Subject"]) for m in relay.messages).count("Hello 0") == 2


async def test_leases_of_a_dead_process_are_taken_back_at_start_up(portal: Portal) -> None:
    await queue_messages(portal, 5)
    dead = sending.OutboxSender(portal, outbox_sender(portal).transport, identity=a_gone_process())
    assert len(await dead._claim()) == 5  # claimed, then the process died
    assert await outbox_sender(portal).send_due() == 5, "sent at once, not after the lease"


async def test_leases_of_a_live_sender_are_left_alone(portal: Portal) -> None:
    await queue_messages(portal, 3)
    alive = sending.OutboxSender(portal, outbox_sender(portal).transport,
                                 identity=f"{processes.HOST}:{os.getppid()}:alive001")
    assert len(await alive._claim()) == 3
    another_host = sending.OutboxSender(portal, outbox_sender(portal).transport, identity="elsewhere:1:x")
    await queue_messages(portal, 2)
    assert len(await another_host._claim()) == 2
    assert await outbox_sender(portal).send_due() == 0, "their leases are still running"


class RelayThatHangs:
    """A transport whose relay accepts the connection and then never answers."""

    def __init__(self) -> None:
        self.called = asyncio.Event()

    async def send(self, mail: OutboundMail) -> None:
        self.called.set()
        await asyncio.Event().wait()

    async def close(self) -> None:
        pass


async def test_a_sender_stopped_mid_send_hands_its_message_back_at_once(portal: Portal) -> None:
    await queue_messages(portal, 1)
    hanging = RelayThatHangs()
    stopping = sending.OutboxSender(portal, hanging, identity=f"{processes.HOST}:{os.getppid()}:stopping")
    task = asyncio.create_task(stopping.send_due())
    await asyncio.wait_for(hanging.called.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The process is alive, so nothing would take the lease back for two minutes; it was released.
    assert await outbox_sender(portal).send_due() == 1


async def test_a_late_failure_leaves_alone_a_message_another_sender_took_over(
        portal: Portal, clock: Clock) -> None:
    await queue_messages(portal, 1)
    slow = sending.OutboxSender(portal, outbox_sender(portal).transport, identity="a:1:slow")
    [mail] = await slow._claim()
    clock.advance(seconds=sending.LEASE.total_seconds() + 1)  # its relay kept it waiting too long
    taker = sending.OutboxSender(portal, outbox_sender(portal).transport, identity="b:2:taker")
    assert len(await taker._claim()) == 1
    await slow._deferred(mail, ConnectionResetError("relay went away"))
    async with portal.db.unit_of_work() as session:
        row = await session.get(OutboundMail, mail.id)
    assert row is not None and row.status == "sending" and row.leased_by == "b:2:taker", \
        "the slow sender's failure did not put the message back in the queue"
