"""Invoices, receipts and credit notes: numbered without gaps, never changed once issued."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import get_history

from core.models.base import Base, BigId, IdMixin

INVOICE = "invoice"
RECEIPT = "receipt"
CREDIT_NOTE = "credit_note"


class DocumentCounter(Base):
    """The last number used per kind and year; incremented under a row lock."""

    __tablename__ = "document_counters"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


class Document(IdMixin, Base):
    __tablename__ = "documents"

    kind: Mapped[str] = mapped_column(String(20))
    number: Mapped[str] = mapped_column(String(60), unique=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("orders.id"), index=True)
    related_document_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("documents.id"))
    issued_at: Mapped[datetime] = mapped_column(index=True)  # when the document was made
    # When what it bills was supplied (the purchase or renewal); None on credit notes and on
    # documents from before it was kept apart from the issue date.
    supplied_at: Mapped[datetime | None]
    # standard, reverse_charge or exempt (core/billing/tax.py); None where it was not recorded.
    tax_treatment: Mapped[str | None] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int]
    tax_total: Mapped[int]
    total: Mapped[int]
    amount_paid: Mapped[int]
    status: Mapped[str] = mapped_column(String(20))  # paid, open, credited
    # Seller, buyer, lines, taxes and dates exactly as they were at issue time.
    snapshot: Mapped[dict[str, Any]]
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))


class ImmutableDocument(Exception):
    pass


@event.listens_for(Session, "before_flush")
def _issued_documents_never_change(session: Session, _context: Any, _instances: Any) -> None:
    for document in session.dirty:
        if not isinstance(document, Document):
            continue
        for attribute in Document.__mapper__.column_attrs:
            history = get_history(document, attribute.key)
            if not history.has_changes():
                continue
            first_pdf = attribute.key == "pdf_sha256" and history.deleted in ([], [None], ())
            if not first_pdf:
                raise ImmutableDocument(f"{document.number} was issued and cannot change "
                                        f"({attribute.key}); issue a credit note instead")
    for document in session.deleted:
        if isinstance(document, Document):
            raise ImmutableDocument(f"{document.number} was issued and cannot be deleted")
