"""Which VAT a sale is charged: the reverse charge only for a business in another member state
whose VAT number fits its country; the seller's rate for consumers and domestic businesses; the
exemption where the store charges none. And where a buyer's address says they are."""

from __future__ import annotations

from decimal import Decimal

import pytest

from config.settings import StoreSettings
from core.billing.countries import country_in
from core.billing.tax import (
    EXEMPT,
    REVERSE_CHARGE,
    STANDARD,
    eu_vat_country,
    net_of,
    seller_country,
    tax_in,
    treatment_for,
)

IRISH_STORE = StoreSettings(legal_name="Seller Ltd", address=["1 Quay", "Dublin", "Ireland"], country="IE",
                            tax_id="IE3141592S", tax_rate=Decimal(23))
FRENCH_VAT = "FR40303265045"
IRISH_VAT = "IE1234567T"
GERMAN_VAT = "DE123456788"


@pytest.mark.parametrize(("country", "tax_ids", "kind", "rate", "vat_id"), [
    # A consumer anywhere, or with no address: the store's rate.
    (None, [], STANDARD, Decimal(23), None),
    ("FR", [], STANDARD, Decimal(23), None),
    # A French business: the reverse charge, resting on its VAT number.
    ("FR", [FRENCH_VAT], REVERSE_CHARGE, Decimal(0), FRENCH_VAT),
    ("FR", ["fr 40 303 265 045"], REVERSE_CHARGE, Decimal(0), FRENCH_VAT),
    # A business with no address but a well-formed VAT number is where that number says.
    (None, [GERMAN_VAT], REVERSE_CHARGE, Decimal(0), GERMAN_VAT),
    # A Greek number starts with EL.
    ("GR", ["EL094259216"], REVERSE_CHARGE, Decimal(0), "EL094259216"),
    # An Irish business buying from an Irish seller pays Irish VAT; its number is kept.
    ("IE", [IRISH_VAT], STANDARD, Decimal(23), IRISH_VAT),
    # A number that does not fit the country, a wrong check digit, or no EU number at all.
    ("DE", [FRENCH_VAT], STANDARD, Decimal(23), None),
    ("FR", ["FR40303265046"], STANDARD, Decimal(23), None),
    ("FR", ["not a number"], STANDARD, Decimal(23), None),
    # Outside the EU (a Swiss business), and Northern Ireland's goods-only XI numbers.
    ("CH", ["CHE-116.281.710 MWST"], STANDARD, Decimal(23), None),
    ("GB", ["XI123456782"], STANDARD, Decimal(23), None),
])
def test_the_treatment_of_each_kind_of_buyer(country: str | None, tax_ids: list[str], kind: str,
                                             rate: Decimal, vat_id: str | None) -> None:
    treatment = treatment_for(IRISH_STORE, country, tax_ids)
    assert (treatment.kind, treatment.rate, treatment.buyer_vat_id) == (kind, rate, vat_id)
    assert ("article 196" in (treatment.mention or "")) == (kind == REVERSE_CHARGE)


def test_a_store_that_charges_no_tax_prints_why() -> None:
    exempt = IRISH_STORE.model_copy(update={"tax_rate": Decimal(0),
                                            "tax_exemption": "VAT exempt: small enterprise scheme"})
    treatment = treatment_for(exempt, None, [])
    assert (treatment.kind, treatment.rate, treatment.mention) == (
        EXEMPT, Decimal(0), "VAT exempt: small enterprise scheme")
    assert treatment_for(exempt.model_copy(update={"tax_exemption": None}), None, []).mention
    # A foreign business is still billed under the reverse charge.
    assert treatment_for(exempt, "FR", [FRENCH_VAT]).kind == REVERSE_CHARGE


def test_the_seller_country_comes_from_settings_or_its_vat_number() -> None:
    assert seller_country(IRISH_STORE) == "IE"
    assert seller_country(StoreSettings(tax_id=GERMAN_VAT)) == "DE"
    assert seller_country(StoreSettings(tax_id="123-45-6789")) is None
    # Without a seller country nobody can be told apart as foreign: no reverse charge.
    assert treatment_for(StoreSettings(tax_rate=Decimal(20)), "FR", [FRENCH_VAT]).kind == STANDARD
    assert eu_vat_country("EL094259216") == "GR" and eu_vat_country("XI123456782") is None


def test_the_buyers_country_is_the_last_line_of_the_address() -> None:
    assert country_in(["Atelier Moreau", "12 Rue des Lilas", "75011 Paris", "France"]) == "FR"
    assert country_in(["Hauptstr. 1", "10115 Berlin", "Deutschland"], "de_DE") == "DE"
    assert country_in(["1 Main St", "Springfield, USA"]) == "US"
    assert country_in(["Via Roma 1, 00100 Roma, IT"]) == "IT"
    assert country_in(["12 Rue des Lilas", "75011 Paris"]) is None
    assert country_in([]) is None


def test_tax_inside_a_price_is_rounded_half_up() -> None:
    assert (net_of(1900, Decimal(23)), tax_in(1900, Decimal(23))) == (1545, 355)
    assert (net_of(14900, Decimal(20)), tax_in(14900, Decimal(20))) == (12417, 2483)
    assert net_of(-500, Decimal(25)) == -400 and net_of(0, Decimal(19)) == 0
