"""Outbound mail: queued in the database, handed to the relay (or written as .eml) by one worker.

Nothing is lost while the relay is down, and nothing is sent twice: a message is marked sent in
the same transaction that claimed it, after the relay accepted it.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.background import poll
from core.models import OutboundMail
from core.models.activity import FAILED, QUEUED, SENDING, SENT
from core.portal import Portal

log = logging.getLogger("shopkeep.outbox")

LOOP_HEADER = "X-Shopkeep-Loop"
BACKOFF_BASE = 30  # seconds before the first retry; doubles each time
BACKOFF_CAP = 3600
MAX_ATTEMPTS = 12  # about eight hours of retries before a message is marked failed
LEASE = timedelta(minutes=2)  # how long a claimed message is left to its sender


def new_message(portal: Portal, *, to: str, subject: str, text: str, html: str | None = None
                ) -> EmailMessage:
    """A message from the portal, with the headers every outgoing mail carries."""
    message = EmailMessage()
    message["From"] = f"{portal.settings.store_name} <{portal.settings.portal_address}>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=portal.settings.portal_domain)
    message["Auto-Submitted"] = "auto-generated"
    message[LOOP_HEADER] = portal.settings.portal_address
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


async def queue(session: AsyncSession, portal: Portal, message: EmailMessage, *, kind: str
                ) -> OutboundMail:
    now = portal.now()
    if "Date" not in message:
        message["Date"] = formatdate(now.timestamp(), usegmt=True)
    recipient = parseaddr(str(message["To"]))[1]
    # An internationalized address cannot be written as encoded words: raw UTF-8 (RFC 6532).
    policy = None if recipient.isascii() else message.policy.clone(utf8=True)
    mail = OutboundMail(
        created_at=now,
        next_attempt_at=now,
        kind=kind,
        recipient=recipient,
        subject=str(message["Subject"]),
        message_id=str(message["Message-ID"]),
        raw=message.as_bytes(policy=policy),
    )
    session.add(mail)
    await session.flush()
    return mail


class Transport(Protocol):
    async def send(self, mail: OutboundMail) -> None: ...

    async def close(self) -> None:
        """Called after each burst of sending: release whatever `send` kept open."""


@dataclass
class FileTransport:
    """No relay configured: each message becomes an .eml file an operator can open."""

    directory: Path

    async def send(self, mail: OutboundMail) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = (mail.created_at or datetime.now()).strftime("%Y%m%dT%H%M%S")
        path = self.directory / f"{stamp}-{mail.id:06d}-{mail.kind}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(mail.raw)
        tmp.replace(path)
        log.info("mail to %s written to %s: %s", mail.recipient, path, mail.subject)

    async def close(self) -> None:
        pass


@dataclass
class SmtpRelay:
    """The operator's relay. One connection carries a whole burst of mail (a new connection,
    TLS handshake and login per message would cost more than the message); any error drops
    it, and the next message opens a fresh one."""

    url: str
    sender: str  # the envelope sender: the portal address, so bounces come back to us
    _client: aiosmtplib.SMTP | None = None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        parts = urlsplit(self.url)
        implicit_tls = parts.scheme == "smtps"
        starttls = parts.scheme == "smtp+starttls"
        client = aiosmtplib.SMTP(
            hostname=parts.hostname,
            port=parts.port or (465 if implicit_tls else 587 if starttls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=implicit_tls,
            start_tls=True if starttls else False if not implicit_tls else None,
            tls_context=ssl.create_default_context() if (implicit_tls or starttls) else None,
            timeout=30,
        )
        await client.connect()
        self._client = client
        return client

    async def send(self, mail: OutboundMail) -> None:
        reused = self._client is not None and self._client.is_connected
        try:
            try:
                await self._send_on(await self._connected(), mail)
            except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
                if not reused:
                    raise
                # Relays close long-lived connections (idle timers, message limits): one fresh try.
                await self.close()
                await self._send_on(await self._connected(), mail)
        except Exception:
            await self.close()  # a refused message or a broken line: start clean next time
            raise

    async def _send_on(self, client: aiosmtplib.SMTP, mail: OutboundMail) -> None:
        await client.sendmail(
            self.sender, [mail.recipient], mail.raw,
            mail_options=[] if (self.sender + mail.recipient).isascii() else ["SMTPUTF8"])

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is None or not client.is_connected:
            return
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()


def transport_for(portal: Portal) -> Transport:
    if portal.settings.mail_relay:
        return SmtpRelay(portal.settings.mail_relay, sender=portal.settings.portal_address)
    return FileTransport(portal.settings.outbox_dir)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1)))


class OutboxSender:
    """Sends due mail. Any number of processes may run one: each claims rows with a short lease
    in one atomic UPDATE, so a message goes to one sender, and a sender that dies mid-way only
    delays its messages until the lease runs out."""

    def __init__(self, portal: Portal, transport: Transport | None = None, batch: int = 20) -> None:
        self.portal = portal
        self.transport = transport or transport_for(portal)
        self.batch = batch
        self.wakeup = asyncio.Event()

    async def send_due(self) -> int:
        """Send every message that is due now; returns how many went out."""
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
                                          attempts=OutboundMail.attempts + 1)

    async def _attempt(self, mail: OutboundMail) -> int:
        try:
            await self.transport.send(mail)
        except Exception as exc:  # anything the relay or TLS throws: retried later, never lost
            await self._deferred(mail, exc)
            return 0
        async with self.portal.db.unit_of_work() as session:
            await session.execute(
                update(OutboundMail).where(OutboundMail.id == mail.id)
                .values(status=SENT, sent_at=self.portal.now(), last_error=None)
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
            values["next_attempt_at"] = self.portal.now() + backoff(mail.attempts)
            log.warning("mail %s to %s deferred (attempt %d): %s",
                        mail.id, mail.recipient, mail.attempts, error)
        async with self.portal.db.unit_of_work() as session:
            await session.execute(update(OutboundMail).where(OutboundMail.id == mail.id).values(**values))

    async def run(self, interval: float = 2.0) -> None:
        await poll(self.send_due, self.wakeup, interval=interval, log=log)


async def listing(session: AsyncSession, limit: int = 50) -> list[OutboundMail]:
    rows = await session.scalars(select(OutboundMail).order_by(OutboundMail.id.desc()).limit(limit))
    return list(rows)


async def retry_now(session: AsyncSession, now: datetime) -> int:
    """Make every queued or failed message due now."""
    mails = list(await session.scalars(
        select(OutboundMail).where(OutboundMail.status.in_((QUEUED, FAILED)))))
    for mail in mails:
        mail.status = QUEUED
        mail.next_attempt_at = now
        if mail.attempts >= MAX_ATTEMPTS:
            mail.attempts = 0
    return len(mails)


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(OutboundMail.status, func.count()).group_by(OutboundMail.status)
    )
    return {status: count for status, count in rows.all()}
