"""A customer's billing details: reading a change field by field (what is wrong with each, in
words for the customer), saving it, and the tax IDs that go with them.

Every change is audited and published as a domain event. A new billing country re-checks every
tax ID against it: one that no longer fits is kept but no longer used on invoices.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import audit
from core.billing import tax_ids as checks
from core.billing.countries import Address, CountryUnknown, check_address, country_code, country_name
from core.identity.customers import normalize_email
from core.kernel.errors import Conflict, InvalidInput, NotFound
from core.kernel.events import BillingDetailsChanged, TaxIdAdded, TaxIdRemoved, publish
from core.kernel.portal import Portal
from core.kernel.validation import CONTROL
from core.models import BillingDetails, Customer, TaxId
from core.models.billing_details import DOES_NOT_FIT, NOT_VERIFIED

NAME, COMPANY, ADDRESS, POSTAL_CODE, CITY, REGION, COUNTRY, INVOICE_EMAIL = (
    "name", "company", "address", "postal_code", "city", "region", "country", "invoice_email")
FIELDS = (NAME, COMPANY, ADDRESS, POSTAL_CODE, CITY, REGION, COUNTRY, INVOICE_EMAIL)
ADDRESS_FIELDS = (ADDRESS, POSTAL_CODE, CITY, REGION, COUNTRY)
LIMITS = {NAME: 200, COMPANY: 200, POSTAL_CODE: 20, CITY: 100, REGION: 100, COUNTRY: 100,
          INVOICE_EMAIL: 320}
ADDRESS_LINES, ADDRESS_LINE_LIMIT = 4, 100
MAX_TAX_IDS = 5
LINE_BREAK = re.compile(r"\s*(?:\r?\n|;)\s*")  # address lines: one a line, or separated by ";"
WHAT = {NAME: "name", COMPANY: "company", ADDRESS: "address", POSTAL_CODE: "postal code",
        CITY: "city", REGION: "region", COUNTRY: "country", INVOICE_EMAIL: "invoice email"}


@dataclass(frozen=True)
class Proposed:
    """A change read field by field: the tidy value of each field given, and what is wrong."""

    values: dict[str, Any] = field(default_factory=dict)  # address: a tuple of lines; "" -> None
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Saved:
    changed: dict[str, tuple[Any, Any]]  # field -> (before, after)
    # Tax IDs a new country affected: (the ID, its state before, after).
    rechecked: list[tuple[TaxId, str, str]] = field(default_factory=list)


async def of(session: AsyncSession, customer_id: int) -> BillingDetails:
    """The customer's billing details; an empty, unsaved record when they have none yet."""
    found = await session.get(BillingDetails, customer_id)
    return found if found is not None else BillingDetails(customer_id=customer_id, address_lines=[])


async def tax_ids_of(session: AsyncSession, customer_id: int) -> list[TaxId]:
    return list(await session.scalars(select(TaxId).where(TaxId.customer_id == customer_id)
                                      .order_by(TaxId.id)))


def current_value(details: BillingDetails, name: str) -> Any:
    if name == ADDRESS:
        return tuple(details.address_lines or ())
    return getattr(details, name)


def _text(name: str, raw: str, problems: dict[str, str]) -> str | None:
    text = " ".join(raw.split())
    if CONTROL.search(raw):
        problems[name] = f"The {WHAT[name]} has characters nobody types; please write it again."
    elif len(text) > LIMITS[name]:
        problems[name] = f"The {WHAT[name]} can be at most {LIMITS[name]} characters long."
    return text or None


def read(values: Mapping[str, str | None], details: BillingDetails, *,
         locale: str | None = None) -> Proposed:
    """What `values` (field -> text; a field left out or None stays as it is) would make the
    billing details. The address is checked as a whole when any part of it is given."""
    problems: dict[str, str] = {}
    tidy: dict[str, Any] = {}
    given = {name: values[name] for name in FIELDS if values.get(name) is not None}
    for name, raw in given.items():
        assert raw is not None
        if name == ADDRESS:
            lines = [line for line in LINE_BREAK.split(raw.strip()) if line]
            if CONTROL.search(raw):
                problems[name] = "The address has characters nobody types; please write it again."
            elif len(lines) > ADDRESS_LINES:
                problems[name] = (f"The address can have at most {ADDRESS_LINES} lines before the "
                                  "postal code and city.")
            elif any(len(line) > ADDRESS_LINE_LIMIT for line in lines):
                problems[name] = f"Each address line can be at most {ADDRESS_LINE_LIMIT} characters long."
            tidy[name] = tuple(" ".join(line.split()) for line in lines)
            continue
        text = _text(name, raw, problems)
        if name in problems:
            continue
        if name == NAME and text is None:
            problems[name] = "Add the name invoices are made out to: yours, or the person's who pays."
        elif name == COUNTRY:
            if text is None:
                problems[name] = "Add the country: its name or its two-letter code, like FR or US."
            else:
                try:
                    text = country_code(text, locale)
                except CountryUnknown as exc:
                    problems[name] = str(exc)
        elif name == INVOICE_EMAIL and text is not None:
            try:
                text = normalize_email(text)
            except InvalidInput as exc:
                problems[name] = f"{exc.message} Leave it empty to get invoices at your own address."
        tidy[name] = text
    if any(name in given for name in ADDRESS_FIELDS) and not any(p in problems for p in ADDRESS_FIELDS):
        merged = {name: tidy.get(name, current_value(details, name)) for name in ADDRESS_FIELDS}
        checked = check_address(Address(lines=merged[ADDRESS] or (), postal_code=merged[POSTAL_CODE],
                                        city=merged[CITY], region=merged[REGION],
                                        country=merged[COUNTRY]), locale)
        for part, problem in checked.problems.items():
            problems[ADDRESS if part == "lines" else part] = problem
        if merged[COUNTRY] is None:
            problems[COUNTRY] = "Add the country: its name or its two-letter code, like FR or US."
        for name, value in ((POSTAL_CODE, checked.address.postal_code), (REGION, checked.address.region)):
            if name in tidy:
                tidy[name] = value
    return Proposed(tidy, problems)


async def save(session: AsyncSession, portal: Portal, customer: Customer, proposed: Proposed, *,
               actor: str) -> Saved:
    """Apply a change read without problems; audited and published when anything changed."""
    if not proposed.ok:
        raise ValueError("a change with problems is not saved")
    details = await session.get(BillingDetails, customer.id)
    if details is None:
        details = BillingDetails(customer_id=customer.id, address_lines=[])
        session.add(details)
    changed: dict[str, tuple[Any, Any]] = {}
    for name, value in proposed.values.items():
        before = current_value(details, name)
        if before == value or (before in (None, ()) and value in (None, ())):
            continue
        changed[name] = (before, value)
        setattr(details, "address_lines" if name == ADDRESS else name, list(value) if name == ADDRESS
                else value)
    if not changed:
        return Saved({})
    details.updated_at = portal.now()
    rechecked = await _recheck(session, customer.id, details.country) if COUNTRY in changed else []
    await audit.record(session, at=portal.now(),
                       customer_id=customer.id, actor=actor, action="billing_details_changed",
                       changed={name: {"from": _jsonable(before), "to": _jsonable(after)}
                                for name, (before, after) in changed.items()},
                       tax_ids={tax_id.value: after for tax_id, _, after in rechecked})
    publish(session, BillingDetailsChanged(customer_id=customer.id, fields=sorted(changed)))
    await session.flush()
    return Saved(changed, rechecked)


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


async def _recheck(session: AsyncSession, customer_id: int, country: str | None
                   ) -> list[tuple[TaxId, str, str]]:
    """Each tax ID against the new country: kept, but used on invoices only while it fits."""
    rechecked = []
    for tax_id in await tax_ids_of(session, customer_id):
        fits = checks.fits(tax_id.value, country)
        before = tax_id.state
        if not fits and before != DOES_NOT_FIT:
            tax_id.state = DOES_NOT_FIT
        elif fits and before == DOES_NOT_FIT:
            tax_id.state, tax_id.checked_at, tax_id.checked_by = NOT_VERIFIED, None, None
        if tax_id.state != before:
            rechecked.append((tax_id, before, tax_id.state))
    return rechecked


async def add_tax_id(session: AsyncSession, portal: Portal, customer: Customer, text: str, *,
                     actor: str) -> tuple[TaxId, checks.Checked]:
    """Add an ID that fits the billing country (TaxIdRefused says what such IDs look like)."""
    details = await of(session, customer.id)
    if details.country is None:
        raise InvalidInput("Tell us your billing country first, so we know which tax IDs fit: "
                           "send `billing edit`.")
    checked = checks.check(text, details.country, customer.locale)
    held = await tax_ids_of(session, customer.id)
    if any(tax_id.value == checked.value for tax_id in held):
        raise Conflict(f"{checked.shown} is already on your billing details.")
    if len(held) >= MAX_TAX_IDS:
        raise Conflict(f"You have {len(held)} tax IDs already; remove one first with `taxid remove <id>`.")
    tax_id = TaxId(customer_id=customer.id, type=checked.kind.type, country=details.country,
                   value=checked.value, state=NOT_VERIFIED)
    session.add(tax_id)
    await session.flush()
    await audit.record(session, at=portal.now(), customer_id=customer.id, actor=actor, action="tax_id_added",
                       tax_id=checked.value, type=checked.kind.type, country=details.country)
    publish(session, TaxIdAdded(customer_id=customer.id, tax_id_id=tax_id.id, value=tax_id.value,
                                state=tax_id.state))
    return tax_id, checked


def _same(typed: str, stored: str) -> bool:
    compact = "".join(ch for ch in typed.upper() if ch.isalnum())
    # A VAT number may be typed without its country prefix.
    return bool(compact) and (compact == stored or (stored[2:] == compact and stored[:2].isalpha()))


async def remove_tax_id(session: AsyncSession, portal: Portal, customer: Customer, text: str, *,
                        actor: str) -> TaxId:
    held = await tax_ids_of(session, customer.id)
    country = (await of(session, customer.id)).country
    try:  # as the billing country writes it ("GB 980 7806 84" is stored as 980780684)
        written = checks.check(text, country, customer.locale).value if country else None
    except checks.TaxIdRefused:
        written = None
    found = next((tax_id for tax_id in held if _same(text, tax_id.value) or tax_id.value == written), None)
    if found is None:
        listed = ", ".join(tax_id.value for tax_id in held)
        raise NotFound(f"{' '.join(text.split())} isn't one of your tax IDs"
                       + (f" ({listed})." if listed else "; you have none."))
    await session.delete(found)
    await audit.record(session, at=portal.now(),
                       customer_id=customer.id, actor=actor, action="tax_id_removed",
                       tax_id=found.value)
    publish(session, TaxIdRemoved(customer_id=customer.id, value=found.value))
    await session.flush()
    return found


def country_label(code: str | None, locale: str | None = None) -> str | None:
    return f"{country_name(code, locale)} ({code})" if code else None
