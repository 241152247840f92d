"""Billing details: who invoices name and where they go (one record a customer), and the
customer's tax IDs with what is known of each (checked offline, and by a registry when one is
configured). Invoices copy them when issued; later changes never touch an issued invoice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, BigId, CreatedMixin, IdMixin

# What is known of a tax ID. Offline, an ID that fits its country is NOT_VERIFIED: format and
# check digits are right, and no registry has said more. Only a registry's answer makes it
# VERIFIED or NOT_REGISTERED; an ID that stops fitting the billing country DOES_NOT_FIT.
NOT_VERIFIED = "not_verified"
VERIFIED = "verified"
NOT_REGISTERED = "not_registered"
DOES_NOT_FIT = "does_not_fit"
TAX_ID_STATES = (NOT_VERIFIED, VERIFIED, NOT_REGISTERED, DOES_NOT_FIT)


class BillingDetails(Base):
    __tablename__ = "billing_details"

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"),
                                             primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    # Street, building, floor: what comes before the postal code and city.
    address_lines: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    postal_code: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))  # state, province, county
    country: Mapped[str | None] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    invoice_email: Mapped[str | None] = mapped_column(String(320))  # None: the account's address
    updated_at: Mapped[datetime | None]


class TaxId(IdMixin, CreatedMixin, Base):
    __tablename__ = "tax_ids"
    __table_args__ = (UniqueConstraint("customer_id", "value"),)

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"),
                                             index=True)
    type: Mapped[str] = mapped_column(String(20))  # eu_vat, gb_vat, ch_vat, au_abn, ...
    country: Mapped[str | None] = mapped_column(String(2))  # the country that issued it
    value: Mapped[str] = mapped_column(String(40))  # compact, with its country prefix where it has one
    state: Mapped[str] = mapped_column(String(20), default=NOT_VERIFIED)
    checked_at: Mapped[datetime | None]  # when a registry last answered for it
    checked_by: Mapped[str | None] = mapped_column(String(40))  # which registry ("VIES")
