"""Tax IDs against the billing country, with python-stdnum: format and check digits, offline.

Every EU member state's VAT number (kept with its country prefix, EL for Greece), the UK's, the
Swiss, the Norwegian, Australia's ABN, Canada's business number, India's GSTIN, and whatever
other country stdnum has a VAT or business number for. An ID that does not fit the country is
refused with what that country's IDs look like; a country stdnum knows nothing of takes the ID
as typed, unchecked. Whether the ID is registered is for a registry to say (tax_registry.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType

from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError
from stdnum.util import get_cc_module

from core.billing.countries import country_name
from core.billing.tax import EU_MEMBER_STATES, VAT_PREFIXES
from core.kernel.errors import InvalidInput

EU_VAT = "eu_vat"
MEMBER_PREFIX = {country: prefix for prefix, country in VAT_PREFIXES.items()}  # GR -> EL
# Type names as payment providers spell them (Stripe's tax ID types) where they differ from
# `<country>_<stdnum module>`.
TYPE_NAMES = {"no": "no_vat", "is": "is_vat", "in": "in_gst"}
# Names where stdnum's own is not what a customer reads ("an United Kingdom (and Isle of Man)
# VAT registration number").
NAMES = {"GB": "UK VAT number", "IE": "Irish VAT number", "NZ": "New Zealand IRD number"}
UNCHECKED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./-]{2,38}$")  # what an ID of any country may be
EXAMPLE = re.compile(r">>> validate\('([^']+)'\)[^\n]*\n(?!Traceback)")


class TaxIdRefused(InvalidInput):
    """The ID does not fit the billing country; the message says what such IDs look like."""


@dataclass(frozen=True)
class Kind:
    """The tax ID a country's businesses have, as stdnum checks it."""

    type: str  # eu_vat, gb_vat, ch_vat, au_abn, ...
    country: str
    name: str  # "French VAT number", "Australian Business Number"
    module: ModuleType | None  # None: stdnum has nothing for the country

    @property
    def eu(self) -> bool:
        return self.type == EU_VAT


@dataclass(frozen=True)
class Checked:
    kind: Kind
    value: str  # compact: what is stored and compared
    shown: str  # formatted as the country writes it


def _english_name(module: ModuleType) -> str:
    """"n° TVA (taxe sur la valeur ajoutée, French VAT number)." -> "French VAT number"."""
    first = (module.__doc__ or "").strip().splitlines()[0].rstrip(".")
    inner = first[first.find("(") + 1: first.rfind(")")] if "(" in first else first
    return inner.rpartition(", ")[2].removeprefix("the ").strip() or first


@lru_cache(maxsize=256)
def kind_for(country: str) -> Kind:
    code = country.upper()
    module = get_cc_module(code.lower(), "vat")
    if code in EU_MEMBER_STATES:
        assert module is not None, code
        return Kind(EU_VAT, code, NAMES.get(code) or _english_name(module), module)
    if module is None:
        return Kind(f"{code.lower()}_tax_id", code, "tax ID", None)
    short = module.__name__.rpartition(".")[2]
    return Kind(TYPE_NAMES.get(code.lower(), f"{code.lower()}_{short}"), code,
                NAMES.get(code) or _english_name(module), module)


def _prefix(country: str) -> str:
    return MEMBER_PREFIX.get(country, country)


def _format(kind: Kind, compact: str) -> str:
    module = kind.module
    if kind.eu:
        prefix, number = compact[:2], compact[2:]
        formatter = getattr(module, "format", None)
        return f"{prefix} {formatter(number)}" if formatter else compact
    formatter = getattr(module, "format", None) if module is not None else None
    return str(formatter(compact)) if formatter else compact


@lru_cache(maxsize=256)
def example(country: str) -> str | None:
    """A well-formed ID of the country, as it is written, from stdnum's own examples."""
    kind = kind_for(country)
    if kind.module is None:
        return None
    for candidate in EXAMPLE.findall(kind.module.__doc__ or ""):
        try:
            return check(candidate, country).shown
        except TaxIdRefused:
            continue
    return None


def expected(country: str, locale: str | None = None) -> str:
    """What the country's IDs look like, as a sentence part: "a French VAT number, like FR 40
    303 265 045"."""
    kind = kind_for(country)
    shown = example(country)
    article = "an" if kind.name[:1].lower() in "aeio" else "a"  # "a UK", "an Irish"
    return f"{article} {kind.name}" + (f", like {shown}" if shown else "")


def _compact(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


def _as_member_vat(country: str, text: str) -> str | None:
    compact = _compact(text)
    prefix = _prefix(country)
    for candidate in ((compact,) if compact.startswith(prefix) else ()) + (prefix + compact,):
        try:
            number = str(eu_vat.validate(candidate))
        except (ValidationError, ValueError, TypeError):
            continue
        if number.startswith(prefix):
            return number
    return None


def issued_by(text: str) -> str | None:
    """The country an ID evidently belongs to (an EU VAT number, or one that starts with the
    code of a country whose IDs it fits), or None."""
    compact = _compact(text)
    try:
        number = str(eu_vat.validate(compact))
    except (ValidationError, ValueError, TypeError):
        number = ""
    if number:
        return VAT_PREFIXES.get(number[:2], number[:2])
    code = compact[:2]
    if code.isalpha() and code not in EU_MEMBER_STATES and kind_for(code).module is not None:
        try:
            kind_for(code).module.validate(compact)  # type: ignore[union-attr]
        except (ValidationError, ValueError, TypeError):
            return None
        return code
    return None


def check(text: str, country: str, locale: str | None = None) -> Checked:
    """The ID as `country` writes it, or TaxIdRefused naming what such IDs look like."""
    kind = kind_for(country)
    if kind.eu:
        number = _as_member_vat(country, text)
        if number is not None:
            return Checked(kind, number, _format(kind, number))
    elif kind.module is not None:
        try:
            number = str(kind.module.validate(text))
        except (ValidationError, ValueError, TypeError):
            pass
        else:
            return Checked(kind, number, _format(kind, number))
    else:
        typed = " ".join(text.split())
        if UNCHECKED.match(typed):
            return Checked(kind, typed.upper(), typed.upper())
        raise TaxIdRefused(f"{typed!r} doesn't look like a tax ID: letters and digits, 3 to 40 of them.")
    where = country_name(country, locale)
    other = issued_by(text)
    if other is not None and other != country:
        raise TaxIdRefused(
            f"{_compact(text)} is a tax ID of {country_name(other, locale)}, but your billing country "
            f"is {where}. For {where} we need {expected(country, locale)}; or change your billing "
            "country first with `billing edit`.")
    shown = example(country)
    raise TaxIdRefused(f"{' '.join(text.split())} isn't a valid {kind.name}"
                       + (f": they look like {shown}." if shown else "."))


def fits(value: str, country: str | None) -> bool:
    """Whether a stored ID is one of `country`'s (the check that changing the country repeats)."""
    if country is None:
        return False
    try:
        return check(value, country).value == value
    except TaxIdRefused:
        return False
