"""A real local SMTP server standing in for the operator's relay: it keeps what it is handed."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class CapturingRelay:
    port: int = field(default_factory=free_port)
    messages: list[EmailMessage] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    connections: int = 0
    # Like relays that hang up after a number of messages or an idle timer: None never does.
    messages_per_connection: int | None = None
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = message_from_bytes(envelope.original_content or b"", policy=default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.arrived.set()
        session.messages = getattr(session, "messages", 0) + 1
        return "250 OK"

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          mail_options: list[str]) -> str:
        if self.messages_per_connection and getattr(session, "messages", 0) >= self.messages_per_connection:
            # Hang up without a word, as a relay whose idle timer ran out does.
            server.transport.close()
        envelope.mail_from = address
        return "250 OK"

    async def start(self) -> None:
        def protocol() -> Any:
            self.connections += 1
            return SMTP(self, decode_data=False, enable_SMTPUTF8=True, hostname="relay.test")

        self._server = await asyncio.get_running_loop().create_server(protocol, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def wait_for(self, count: int, within: float = 10.0) -> list[EmailMessage]:
        async def enough() -> None:
            while len(self.messages) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(enough(), within)
        return self.messages
