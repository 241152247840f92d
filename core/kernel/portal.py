"""The portal: settings, database and clock that every core service works with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from config.settings import Settings
from core.kernel.db import Database
from core.models.base import utcnow


@dataclass
class Portal:
    settings: Settings
    db: Database
    clock: Callable[[], datetime] = field(default=utcnow)

    @classmethod
    def open(cls, settings: Settings, clock: Callable[[], datetime] = utcnow) -> Portal:
        return cls(settings=settings, db=Database(settings.resolved_database_url), clock=clock)

    def now(self) -> datetime:
        return self.clock()

    def at(self, moment: datetime) -> Portal:
        """This portal (same settings and database) with its clock stopped at `moment`: history
        recorded as it happened, dated then (the demo's past purchases)."""
        return replace(self, clock=lambda: moment)

    @property
    def secret(self) -> bytes:
        return self.settings.secret()

    def url(self, path: str) -> str:
        return self.settings.public_url.rstrip("/") + path

    async def close(self) -> None:
        await self.db.close()
