"""An app's life with its license, over real HTTP the way a desktop app written for Lemon Squeezy
calls it: activate at install, validate on each start, deactivate on uninstall, then activate on
a new machine (the reinstall that is every licensing product's first support ticket)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp

from core import demo
from tests.conftest import Clock
from tests.doors.license_api.conftest import LicenseServer


@dataclass
class App:
    """One installation: what it stores is the key and the instance id activation gave it."""

    base_url: str
    machine: str
    stored: dict[str, str] = field(default_factory=dict)

    async def _post(self, endpoint: str, **fields: str) -> tuple[int, dict[str, Any]]:
        async with aiohttp.ClientSession(headers={"Accept": "application/json"}) as http, http.post(
                f"{self.base_url}/v1/licenses/{endpoint}", data=fields) as response:
            return response.status, await response.json()

    async def install(self, key: str) -> str | None:
        """The error to show, or None when activated."""
        status, body = await self._post("activate", license_key=key, instance_name=self.machine)
        if not body["activated"]:
            return str(body["error"])
        assert status == 200
        self.stored = {"license_key": key, "instance_id": body["instance"]["id"]}
        return None

    async def start(self) -> bool:
        """Whether the app runs licensed this time."""
        status, body = await self._post("validate", **self.stored)
        return status == 200 and body["valid"] is True and body["instance"] is not None

    async def uninstall(self) -> None:
        status, body = await self._post("deactivate", **self.stored)
        assert (status, body["deactivated"]) == (200, True)
        self.stored = {}


async def test_install_start_uninstall_and_move_to_a_new_machine(server: LicenseServer,
                                                                clock: Clock) -> None:
    key = await server.key(demo.SECOND_CUSTOMER, demo.TEAM_PRODUCT)  # 2 devices, his MacBook is one
    workstation = App(server.url, "Linux workstation (Bob)")
    assert await workstation.install(key) is None
    instance_id = workstation.stored["instance_id"]
    for _day in range(3):
        clock.advance(days=1)
        assert await workstation.start()
        assert (await server.device(instance_id)).last_seen_at == clock.now

    laptop = App(server.url, "New laptop (Bob)")
    assert await laptop.install(key) == "This license key has reached the activation limit."
    assert not await laptop.start(), "nothing stored: not licensed"

    remembered = dict(workstation.stored)
    await workstation.uninstall()
    assert await laptop.install(key) is None
    assert await laptop.start()
    assert laptop.stored["instance_id"] != instance_id

    restored = App(server.url, "Linux workstation (Bob)", remembered)  # a backup brought back
    assert not await restored.start(), "its slot was given up: the old id no longer works"
