"""No relay configured: each message becomes an .eml file an operator can open."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from core.models import OutboundMail

log = logging.getLogger("shopkeep.outbox")


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
