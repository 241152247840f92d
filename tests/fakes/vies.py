"""A local stand-in for the VIES REST API (`POST /check-vat-number`), as adapters/tax/vies.py
calls it: registered numbers answer valid, others not, and a member state can be "down"."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

from tests.fakes.relay import free_port


@dataclass
class FakeVies:
    registered: set[str] = field(default_factory=set)  # e.g. "FR40303265045"
    down: set[str] = field(default_factory=set)  # member states whose system is unavailable
    asked: list[dict[str, Any]] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakeVies:
        app = web.Application()
        app.router.add_post("/check-vat-number", self._check)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _check(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.asked.append(body)
        country, number = str(body.get("countryCode", "")), str(body.get("vatNumber", ""))
        if country in self.down:
            return web.json_response({"actionSucceed": False, "errorWrappers": [
                {"error": "MS_UNAVAILABLE", "message": "The member state's service is unavailable"}]},
                status=500)
        valid = f"{country}{number}" in self.registered
        return web.json_response({"countryCode": country, "vatNumber": number, "valid": valid,
                                  "requestDate": "2026-03-15T12:00:00.000Z",
                                  "name": "ATELIER MOREAU" if valid else "---", "address": "---"})
