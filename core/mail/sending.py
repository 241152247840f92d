"""The outbox sender: hands due mail to the transport, one worker per process.

Nothing is lost while the relay is down. A message is marked sent in one short commit right
after the relay's 250; SMTP has no two-phase commit, so a crash inside that window sends it once
more after the restart, with the same Message-ID (receivers and threads treat it as the same
message). Leases carry the sending process's identity: a restarted sender takes back at once
what a dead process on this host held, instead of waiting for the lease to run out.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import Update, select, update

from core.kernel.background import poll
from core.kernel.portal import Portal
from core.kernel.processes import THIS_PROCESS, is_gone
from core.mail.transport import Transport
from core.models import OutboundMail
from core.models.mail import FAILED, QUEUED, SENDING, SENT

log = logging.getLogger("shopkeep.outbox")

BACKOFF_BASE = 30  # seconds before the first retry; doubles each time
BACKOFF_CAP = 3600
MAX_ATTEMPTS = 12  # about eight hours of retries before a message is marked failed
LEASE = timedelta(minutes=2)  # how long a claimed message is left to its sender


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1)))


class OutboxSender:
    """Sends due mail. Any number of processes may run one: each claims rows with a short lease
    in one atomic UPDATE, so a message goes to one sender, and a sender that dies mid-way only
    delays its messages until the lease runs out."""

    def __init__(self, portal: Portal, transport: Transport, batch: int = 20,
                 identity: str = THIS_PROCESS) -> None:
        self.portal = portal
        self.transport = transport
        self.batch = batch
        self.identity = identity
        self.wakeup = asyncio.Event()
        self._reclaimed = False

    async def reclaim_from_the_dead(self) -> int:
        """Make due again what processes that are gone left leased; returns how many."""
        async with self.portal.db.unit_of_work() as session:
            holders = set(await session.scalars(select(OutboundMail.leased_by).distinct().where(
                OutboundMail.status == SENDING, OutboundMail.leased_by.is_not(None))))
            dead = [holder for holder in holders if holder and holder != self.identity and is_gone(holder)]
            if not dead:
                return 0
            result = await session.execute(
                update(OutboundMail).where(OutboundMail.status == SENDING, OutboundMail.leased_by.in_(dead))
                .values(next_attempt_at=self.portal.now(), leased_by=None))
        count = result.rowcount or 0  # type: ignore[attr-defined]
        log.warning("took back %d message(s) left by a sender that stopped: %s", count, ", ".join(dead))
        return count

    async def send_due(self) -> int:
        """Send every message that is due now; returns how many went out."""
        if not self._reclaimed:
            self._reclaimed = True
            await self.reclaim_from_the_dead()
        sent = 0
        try:
            while claimed := await self._claim():
                for mail in claimed:
                    sent += await self._attempt(mail)
                if len(claimed) < self.batch:
                    break
        finally:
            await self.transport.close()
        return sent

    async def _claim(self) -> list[OutboundMail]:
        now = self.portal.now()
        due = (
            select(OutboundMail.id)
            .where(OutboundMail.status.in_((QUEUED, SENDING)), OutboundMail.next_attempt_at <= now)
            .order_by(OutboundMail.id)
            .limit(self.batch)
        )
        return await self.portal.db.claim(OutboundMail, due, status=SENDING, next_attempt_at=now + LEASE,
                                          attempts=OutboundMail.attempts + 1, leased_by=self.identity)

    async def _attempt(self, mail: OutboundMail) -> int:
        try:
            await self.transport.send(mail)
        except asyncio.CancelledError:
            # Shutting down mid-send: hand the message back now, not when the lease runs out.
            await asyncio.shield(self._release(mail))
            raise
        except Exception as exc:  # anything the relay or TLS throws: retried later, never lost
            await self._deferred(mail, exc)
            return 0
        async with self.portal.db.unit_of_work() as session:
            await session.execute(
                update(OutboundMail).where(OutboundMail.id == mail.id)
                .values(status=SENT, sent_at=self.portal.now(), last_error=None, leased_by=None)
            )
        return 1

    async def _deferred(self, mail: OutboundMail, exc: BaseException) -> None:
        error = f"{type(exc).__name__}: {exc}"[:1000]
        values: dict[str, object] = {"last_error": error}
        if mail.attempts >= MAX_ATTEMPTS:
            values["status"] = FAILED
            log.error("giving up on mail %s to %s: %s", mail.id, mail.recipient, error)
        else:
            values["status"] = QUEUED
            values["leased_by"] = None
            values["next_attempt_at"] = self.portal.now() + backoff(mail.attempts)
            log.warning("mail %s to %s deferred (attempt %d): %s",
                        mail.id, mail.recipient, mail.attempts, error)
        async with self.portal.db.unit_of_work() as session:
            await session.execute(self._still_ours(mail).values(**values))

    async def _release(self, mail: OutboundMail) -> None:
        async with self.portal.db.unit_of_work() as session:
            await session.execute(self._still_ours(mail).values(
                status=QUEUED, leased_by=None, next_attempt_at=self.portal.now()))

    def _still_ours(self, mail: OutboundMail) -> Update:
        """An UPDATE of the message that does nothing once another sender has taken it over
        (our lease ran out while the relay kept us waiting)."""
        return update(OutboundMail).where(OutboundMail.id == mail.id, OutboundMail.status == SENDING,
                                          OutboundMail.leased_by == self.identity)

    async def run(self, interval: float = 2.0) -> None:
        await poll(self.send_due, self.wakeup, interval=interval, log=log)
