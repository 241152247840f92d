"""The buyer as an invoice names them: taken from the customer's billing details at issue time
and kept in the invoice's snapshot, so later changes never touch an issued invoice.

`BuyerDetails` is what issuing needs; `from_customer` reads it from what the customer record
holds (billing name, address lines, tax IDs). The country is the address's last line (or the
part after its last comma) read as a country name or code, in English or the customer's
language; billing details that keep the country apart can pass it in directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError

from core.models import Customer

NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})  # regions, not countries
ALSO_CALLED = {"uk": "GB", "usa": "US"}


@dataclass(frozen=True)
class TaxId:
    type: str  # e.g. "eu_vat"
    value: str


@dataclass(frozen=True)
class BuyerDetails:
    name: str
    email: str
    address: list[str] = field(default_factory=list)
    country: str | None = None  # ISO 3166 code
    tax_ids: list[TaxId] = field(default_factory=list)
    locale: str = "en_US"
    timezone: str = "UTC"

    def snapshot(self) -> dict[str, Any]:
        return {"name": self.name, "email": self.email, "address": list(self.address),
                "country": self.country,
                "tax_ids": [{"type": tax_id.type, "value": tax_id.value} for tax_id in self.tax_ids],
                "locale": self.locale, "timezone": self.timezone}


def from_customer(customer: Customer) -> BuyerDetails:
    address = [line for line in customer.billing_address or [] if line.strip()]
    return BuyerDetails(
        name=customer.billing_name or customer.name or customer.email, email=customer.email,
        address=address, country=country_in(address, customer.locale),
        tax_ids=[TaxId(str(t.get("type", "")), str(t["value"])) for t in customer.tax_ids or []
                 if t.get("value")],
        locale=customer.locale, timezone=customer.timezone)


def country_in(address: list[str], locale: str | None = None) -> str | None:
    """The country an address ends with ("France", "Frankreich", "FR"), or None."""
    if not address:
        return None
    last = address[-1].strip()
    names = _country_names(locale or "en")
    for candidate in (last, last.rpartition(",")[2]):
        code = names.get(candidate.strip().rstrip(".").casefold())
        if code is not None:
            return code
    return None


@lru_cache(maxsize=32)
def _country_names(locale: str) -> dict[str, str]:
    names = dict(ALSO_CALLED)
    languages = ["en"]
    try:
        languages.append(str(Locale.parse(locale, sep="_" if "_" in locale else "-").language))
    except (UnknownLocaleError, ValueError, TypeError):
        pass
    for language in languages:
        for code, name in Locale.parse(language).territories.items():
            if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES:
                names.setdefault(name.casefold(), code)
                names.setdefault(code.casefold(), code)
    return names
