"""Which VAT an invoice charges: the store's rate, the reverse charge, or an exemption.

Prices include the store's tax (`[store] tax_rate`). A business buyer in another EU member state
whose VAT number fits its country (checked with python-stdnum; an online check is not made here)
accounts for the VAT itself (article 196 of Directive 2006/112/EC): its invoice charges no VAT
and says so. A domestic business is charged the seller's VAT like a consumer, and both VAT
numbers are printed. A store that charges no tax at all prints the reason it is exempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError

from config.settings import StoreSettings

STANDARD = "standard"
REVERSE_CHARGE = "reverse_charge"
EXEMPT = "exempt"

# ISO 3166 codes of the member states; Greece writes EL in front of its VAT numbers.
EU_MEMBER_STATES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})
VAT_PREFIXES = {"EL": "GR"}

REVERSE_CHARGE_MENTION = ("Reverse charge: VAT to be accounted for by the recipient "
                          "(article 196 of Directive 2006/112/EC)")
DEFAULT_EXEMPTION = "No VAT charged"


@dataclass(frozen=True)
class Treatment:
    kind: str  # STANDARD, REVERSE_CHARGE or EXEMPT
    rate: Decimal  # percent charged
    mention: str | None = None  # printed on the invoice: the reverse charge or the exemption
    buyer_vat_id: str | None = None  # the buyer's VAT number the treatment rests on


def eu_vat_country(number: str) -> str | None:
    """The member state (ISO code) of a well-formed EU VAT number, or None. Northern Ireland's
    XI numbers cover goods only, so they make no member state here."""
    try:
        compact = eu_vat.validate(number)
    except (ValidationError, TypeError, ValueError):
        return None
    prefix = compact[:2].upper()
    country = VAT_PREFIXES.get(prefix, prefix)
    return country if country in EU_MEMBER_STATES else None


def compact_vat(number: str) -> str:
    return str(eu_vat.compact(number))


def seller_country(store: StoreSettings) -> str | None:
    """`[store] country`, or the member state of the seller's EU VAT number."""
    return store.country or (eu_vat_country(store.tax_id) if store.tax_id else None)


def business_vat_id(country: str | None, tax_ids: list[str]) -> str | None:
    """The buyer's EU VAT number that fits its country (or, when the country is not known, any
    well-formed one: a business in the member state that issued it)."""
    for number in tax_ids:
        issued_by = eu_vat_country(number)
        if issued_by is not None and (country is None or country == issued_by):
            return compact_vat(number)
    return None


def treatment_for(store: StoreSettings, buyer_country: str | None, tax_ids: list[str]) -> Treatment:
    seller = seller_country(store)
    vat_id = business_vat_id(buyer_country, tax_ids)
    country = buyer_country or (eu_vat_country(vat_id) if vat_id else None)
    if vat_id is not None and seller is not None and country in EU_MEMBER_STATES and country != seller:
        return Treatment(REVERSE_CHARGE, Decimal(0), REVERSE_CHARGE_MENTION, vat_id)
    if store.tax_rate == 0:
        return Treatment(EXEMPT, Decimal(0), store.tax_exemption or DEFAULT_EXEMPTION, vat_id)
    return Treatment(STANDARD, store.tax_rate, None, vat_id)


def net_of(gross: int, rate: Decimal) -> int:
    """A tax-inclusive amount without its tax, to the minor unit (half up)."""
    return int((Decimal(gross) * 100 / (100 + rate)).quantize(Decimal(1), ROUND_HALF_UP))


def tax_in(gross: int, rate: Decimal) -> int:
    """The tax contained in a tax-inclusive amount."""
    return gross - net_of(gross, rate)
