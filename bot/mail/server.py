"""The SMTP receiver (aiosmtpd): accepts mail for the portal address only, stores it, answers 250.

The server runs on the application's own event loop, so storing a message uses the same
database engine as everything else; processing happens afterwards in the worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from bot.mail.policy import is_portal_recipient
from core.kernel.portal import Portal
from core.mail import inbox

log = logging.getLogger("shopkeep.mail")


class PortalHandler:
    """aiosmtpd handler hooks: RCPT filtering and durable DATA."""

    def __init__(self, portal: Portal, on_stored: Callable[[], None] = lambda: None) -> None:
        self.portal = portal
        self.on_stored = on_stored
        self.inbox = inbox.InboxWriter(portal)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        portal_address = self.portal.settings.portal_address
        if not is_portal_recipient(address, portal_address):
            return f"550 5.1.1 <{address}>: this server only accepts mail for <{portal_address}>"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw).encode("utf-8", "surrogateescape")
        try:
            stored = await self.inbox.store(raw=raw, envelope_from=envelope.mail_from or "",
                                            recipients=list(envelope.rcpt_tos))
        except Exception:
            log.exception("could not store a message from %s", envelope.mail_from)
            return "451 4.3.0 Temporary failure, please try again later"
        if stored:
            self.on_stored()
        else:
            log.info("duplicate message from %s ignored", envelope.mail_from)
        return "250 2.0.0 Message accepted"


async def start_smtp_server(portal: Portal, host: str, port: int,
                            on_stored: Callable[[], None] = lambda: None) -> asyncio.Server:
    handler = PortalHandler(portal, on_stored)
    settings = portal.settings

    def protocol() -> Any:
        return SMTP(handler, data_size_limit=settings.mail_max_size, enable_SMTPUTF8=True,
                    decode_data=False, hostname=settings.portal_domain, ident="shopkeep ESMTP")

    return await asyncio.get_running_loop().create_server(protocol, host, port)
