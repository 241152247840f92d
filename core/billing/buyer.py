"""The buyer as an invoice names them: taken from the customer's billing details at issue time
and kept in the invoice's snapshot, so later changes never touch an issued invoice.

`BuyerDetails` is what issuing needs; `of_customer` reads it from the billing details record
(core/billing/details.py). A business is named by its company, with the person beside the
address; the address is written as its country writes it, the country last. Only tax IDs that
fit the billing country are printed and weigh in the tax treatment (the reverse charge follows
from an EU VAT number of another member state), and a registry's "not registered" rules one out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.billing import details as billing_details
from core.billing.countries import Address, letter_lines
from core.models import BillingDetails, Customer, TaxId
from core.models.billing_details import NOT_VERIFIED, VERIFIED

USED_STATES = (NOT_VERIFIED, VERIFIED)


@dataclass(frozen=True)
class TaxIdOnInvoice:
    type: str  # e.g. "eu_vat"
    value: str


@dataclass(frozen=True)
class BuyerDetails:
    name: str
    email: str
    address: list[str] = field(default_factory=list)
    country: str | None = None  # ISO 3166 code
    tax_ids: list[TaxIdOnInvoice] = field(default_factory=list)
    locale: str = "en_US"
    timezone: str = "UTC"

    def snapshot(self) -> dict[str, Any]:
        return {"name": self.name, "email": self.email, "address": list(self.address),
                "country": self.country,
                "tax_ids": [{"type": tax_id.type, "value": tax_id.value} for tax_id in self.tax_ids],
                "locale": self.locale, "timezone": self.timezone}


def from_details(customer: Customer, details: BillingDetails | None,
                 tax_ids: list[TaxId]) -> BuyerDetails:
    person = (details.name if details else None) or customer.name or customer.email
    company = details.company if details else None
    address = Address(lines=tuple(details.address_lines or ()), postal_code=details.postal_code,
                      city=details.city, region=details.region,
                      country=details.country) if details else Address()
    has_address = bool(address.lines or address.city or address.postal_code or address.country)
    lines = letter_lines(address, name=person if company else None, locale=customer.locale) \
        if has_address else ([person] if company else [])
    return BuyerDetails(
        name=company or person, email=(details.invoice_email if details else None) or customer.email,
        address=lines, country=details.country if details else None,
        tax_ids=[TaxIdOnInvoice(t.type, t.value) for t in tax_ids if t.state in USED_STATES],
        locale=customer.locale, timezone=customer.timezone)


async def of_customer(session: AsyncSession, customer: Customer) -> BuyerDetails:
    return from_details(customer, await session.get(BillingDetails, customer.id),
                        await billing_details.tax_ids_of(session, customer.id))
