"""The operator's SMTP relay (aiosmtplib), as a core.mail.transport.Transport."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiosmtplib

from core.models import OutboundMail


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
