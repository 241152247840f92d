"""The seller an invoice names (the `[store]` settings), and what is missing from it."""

from __future__ import annotations

from typing import Any

from config.settings import Settings
from core.billing.tax import eu_vat_country, seller_country


def snapshot(settings: Settings) -> dict[str, Any]:
    store = settings.store
    return {"name": settings.store_name, "legal_name": store.legal_name or settings.store_name,
            "address": list(store.address), "country": seller_country(store), "tax_id": store.tax_id,
            "tax_name": store.tax_name, "email": store.contact_email or settings.portal_address,
            "footer": store.footer}


def missing(settings: Settings) -> list[str]:
    """The settings an invoice needs that are not set, by name ("[store] legal_name")."""
    store = settings.store
    names = [name for name, value in (("legal_name", store.legal_name), ("address", store.address),
                                      ("tax_id", store.tax_id)) if not value]
    if seller_country(store) is None:
        names.append("country")  # without it, no invoice can tell a foreign business buyer
    if store.tax_rate == 0 and not store.tax_exemption:
        names.append("tax_exemption")  # invoices that charge no tax must say why
    return [f"[store] {name}" for name in names]


def warnings(settings: Settings) -> list[str]:
    """What to tell the operator at start-up about the seller invoices will name."""
    found = []
    absent = missing(settings)
    if absent:
        env = ", ".join("SHOPKEEP_STORE__" + name.removeprefix("[store] ").upper() for name in absent)
        found.append(f"invoices are missing the seller's details: set {', '.join(absent)} in "
                     f"shopkeep.toml (or {env}); an EU invoice must name the seller's legal name, "
                     "address and VAT number")
    store = settings.store
    country = seller_country(store)
    if store.tax_id and country is not None and eu_vat_country(store.tax_id) not in (None, country):
        found.append(f"[store] tax_id {store.tax_id} is a VAT number of {eu_vat_country(store.tax_id)}, "
                     f"but [store] country is {country}")
    return found
