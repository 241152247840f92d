"""The printed page itself: long invoices, names with punctuation, refund badges.

(What the PDF says for issued orders, locales, yen and merchant templates is in
tests/core/billing/test_documents.py; these render an unsaved document, no database involved.)
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pypdf import PdfReader

from config.settings import Settings
from core.billing.render import html_to_pdf, render_html
from core.models import Document

LEGAL_NAME = 'Smith & Sons "Digital" Ltd'


def pages_of(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def settings_for(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(store_name="Smith & Sons", store={"legal_name": LEGAL_NAME, "tax_id": "GB123"})


def invoice(lines: int, status: str = "paid", locale: str = "en_US") -> Document:
    line = {"description": "Widget Pro licence", "quantity": 2, "unit_amount": 61728, "amount": 123456,
            "tax_rate": "19", "tax": 19711}
    snapshot: dict[str, Any] = {
        "seller": {"name": "Smith & Sons", "legal_name": LEGAL_NAME, "address": ["1 Market St", "London"],
                   "tax_id": "GB123", "email": "billing@smith.test", "footer": None},
        "buyer": {"name": "Kunde Müller", "email": "k@example.de", "address": ["Hauptstr. 1", "10115 Berlin"],
                  "tax_ids": [], "locale": locale, "timezone": "Europe/Berlin"},
        "lines": [{**line, "description": f"Widget Pro licence #{n}"} for n in range(lines)],
        "taxes": [{"name": "VAT", "rate": "19", "amount": 19711 * lines}],
        "order_number": "SK-00042", "paid_at": "2026-03-01T00:30:00+00:00",
    }
    return Document(kind="invoice", number="INV-2026-0042", customer_id=1,
                    issued_at=datetime(2026, 3, 1, 0, 30, tzinfo=UTC), currency="EUR",
                    subtotal=103745 * lines, tax_total=19711 * lines, total=123456 * lines,
                    amount_paid=123456 * lines, status=status, snapshot=snapshot)


def test_every_page_of_a_long_invoice_has_column_headings_and_the_sellers_name(
        settings_factory: Callable[..., Settings]) -> None:
    pages = pages_of(html_to_pdf(render_html(invoice(lines=40), settings_for(settings_factory))))
    assert len(pages) > 2
    for number, text in enumerate(pages, start=1):
        if "Widget Pro licence #" in text:
            assert "DESCRIPTION" in text and "AMOUNT" in text, f"page {number} lost the column headings"
        assert LEGAL_NAME in text and f"Page {number} / {len(pages)}" in text
        assert "&amp;" not in text and "&#34;" not in text
    assert "Widget Pro licence #39" in " ".join(pages) and "Total €49,382.40" in pages[-1]


def test_a_refunded_invoice_says_so(settings_factory: Callable[..., Settings]) -> None:
    settings = settings_for(settings_factory)
    english = " ".join(pages_of(html_to_pdf(render_html(invoice(1, status="refunded"), settings))))
    german = " ".join(pages_of(html_to_pdf(render_html(invoice(1, "refunded", "de_DE"), settings))))
    assert "REFUNDED" in english and "OPEN" not in english
    assert "ERSTATTET" in german and "OFFEN" not in german and "1.234,56\xa0€" in german
