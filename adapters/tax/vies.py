"""VIES, the European Commission's VAT number check, as a core.billing.tax_registry.TaxIdRegistry.

Its REST API: `POST <base>/check-vat-number` with the member state's code and the number without
it; the answer's `valid` says whether the number is registered. A member state whose own system
is down (or a busy VIES) answers with an error instead: that is no answer about the number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from core.billing.tax_ids import EU_VAT
from core.billing.tax_registry import Answer, RegistryUnavailable

TIMEOUT = aiohttp.ClientTimeout(total=15)


@dataclass
class Vies:
    base_url: str
    name: str = "VIES"

    def covers(self, tax_id_type: str) -> bool:
        return tax_id_type == EU_VAT

    async def check(self, value: str) -> Answer:
        body = {"countryCode": value[:2], "vatNumber": value[2:]}
        url = self.base_url.rstrip("/") + "/check-vat-number"
        try:
            async with aiohttp.ClientSession(timeout=TIMEOUT) as http, http.post(url, json=body) as response:
                found: Any = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise RegistryUnavailable(f"VIES could not be reached: {exc}") from None
        if status != 200 or not isinstance(found, dict) or not isinstance(found.get("valid"), bool):
            errors = found.get("errorWrappers") if isinstance(found, dict) else None
            said = ", ".join(str(e.get("error")) for e in errors or [] if isinstance(e, dict)) or status
            raise RegistryUnavailable(f"VIES gave no answer ({said})")
        name = found.get("name")  # "---" where the member state does not say
        return Answer(registered=found["valid"],
                      name=name if isinstance(name, str) and name.strip("- ") else None)
