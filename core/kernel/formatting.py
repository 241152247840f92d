"""Money and dates as the customer reads them (their locale and time zone), via Babel."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_date
from babel.dates import format_skeleton
from babel.numbers import format_currency, get_currency_precision

DEFAULT_LOCALE = "en_US"


def locale_or_default(name: str | None) -> str:
    return str(_locale(name))


@lru_cache(maxsize=256)
def _locale(name: str | None) -> Locale:
    # Parsed once per name: Babel would otherwise parse and load it on every date and amount.
    try:
        return Locale.parse(name or DEFAULT_LOCALE, sep="_" if "_" in (name or "") else "-")
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(DEFAULT_LOCALE)


@lru_cache(maxsize=256)
def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def money(amount: int, currency: str, locale: str | None = None) -> str:
    """`money(123456, "EUR", "de_DE")` -> '1.234,56 €'; minor units follow the currency."""
    digits = get_currency_precision(currency)
    value = Decimal(amount).scaleb(-digits)
    return format_currency(value, currency, locale=_locale(locale))


def money_exact(amount: Decimal | int, currency: str, locale: str | None = None) -> str:
    """Like `money`, for an amount in minor units that may hold a fraction of one (a unit
    price, net of tax): shown to the minor unit when it is whole, with the fraction otherwise."""
    if Decimal(amount) == Decimal(amount).to_integral_value():
        return money(int(amount), currency, locale)
    value = Decimal(amount).scaleb(-get_currency_precision(currency))
    return format_currency(value, currency, locale=_locale(locale), decimal_quantization=False)


def date(moment: datetime, locale: str | None = None, tz: str | None = None) -> str:
    return babel_date(moment.astimezone(zone(tz)), format="medium", locale=_locale(locale))


def moment(at: datetime, tz: str | None = None) -> str:
    """A point in time as a deadline reads: "2026-03-15 13:00 CET", in the customer's zone."""
    return at.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M %Z")


def month_year(moment: datetime, locale: str | None = None) -> str:
    # A skeleton, not a pattern: languages that inflect month names get the stand-alone form.
    return format_skeleton("yMMMM", moment, locale=_locale(locale))
