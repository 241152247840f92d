"""How a queued message leaves: the interface the relay adapters implement."""

from __future__ import annotations

from typing import Protocol

from core.models import OutboundMail


class Transport(Protocol):
    async def send(self, mail: OutboundMail) -> None: ...

    async def close(self) -> None:
        """Called after each burst of sending: release whatever `send` kept open."""
