"""The mail desk: shopkeep's real SMTP server and mail worker, replies captured at a real relay."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest

from bot.bootstrap import outbox_sender
from bot.mail.server import start_smtp_server
from bot.mail.worker import MailWorker
from core.kernel.portal import Portal
from tests.fakes.relay import CapturingRelay, free_port

PORTAL = "portal@shop.test"


@dataclass
class MailDesk:
    portal: Portal
    port: int
    worker: MailWorker
    relay: CapturingRelay
    server: asyncio.Server

    async def send(self, raw: bytes | EmailMessage, *, sender: str = "alice@example.com",
                   recipients: tuple[str, ...] = (PORTAL,)) -> None:
        # On the wire lines end in CRLF; smtplib sends bytes as they are, and a message with bare
        # LFs is one line to the server, refused past 1000 bytes.
        data = raw.as_bytes(policy=raw.policy.clone(linesep="\r\n")) if isinstance(
            raw, EmailMessage) else raw

        def send() -> None:  # smtplib, because it can send the null sender of a bounce
            with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as session:
                session.sendmail(sender, list(recipients), data)

        await asyncio.to_thread(send)

    async def deliver(self) -> None:
        await self.worker.process_pending()
        await outbox_sender(self.portal).send_due()

    async def exchange(self, raw: bytes | EmailMessage, **kwargs: Any) -> EmailMessage:
        before = len(self.relay.messages)
        await self.send(raw, **kwargs)
        await self.deliver()
        assert len(self.relay.messages) == before + 1, "exactly one reply"
        return self.relay.messages[-1]


@pytest.fixture
async def desk(demo_portal: Portal) -> AsyncIterator[MailDesk]:
    await outbox_sender(demo_portal).send_due()  # the demo's invites go to files, not to the relay
    relay = CapturingRelay()
    await relay.start()
    settings = demo_portal.settings.model_copy(update={
        "mail_relay": relay.url, "trusted_authserv_id": "mx.shop.test", "mail_replies_per_hour": 5})
    portal = Portal(settings=settings, db=demo_portal.db, clock=demo_portal.clock)
    port = free_port()
    server = await start_smtp_server(portal, "127.0.0.1", port)
    try:
        yield MailDesk(portal, port, MailWorker(portal), relay, server)
    finally:
        server.close()
        await server.wait_closed()
        await relay.stop()


def mail(body: str = "", subject: str = "", sender: str = "Alice <alice@example.com>",
         **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = PORTAL
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.com")
    for name, value in headers.items():
        del message[name.replace("_", "-")]
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())
