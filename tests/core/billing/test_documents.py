"""Invoices and receipts: numbers, immutability, isolation, and what the PDF says."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from core.billing import credit_notes
from core.billing.issuing import next_number
from core.billing.render import pdf_for
from core.identity.customers import by_email
from core.kernel.db import Database
from core.kernel.formatting import money
from core.kernel.portal import Portal
from core.models import BillingDetails, Customer, Document
from core.models.billing import ImmutableDocument
from core.orders.purchases import PurchaseItem, PurchaseRequest, record_purchase
from handlers.dispatcher import Dispatcher
from tests.helpers import caller_for


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def invoices_of(portal: Portal, email: str) -> list[Document]:
    async with portal.db.unit_of_work() as session:
        customer = await by_email(session, email)
        assert customer is not None
        return list(await session.scalars(select(Document).where(
            Document.customer_id == customer.id, Document.kind == "invoice").order_by(Document.id)))


async def test_every_paid_order_gets_an_invoice_and_a_receipt(demo_portal: Portal) -> None:
    async with demo_portal.db.unit_of_work() as session:
        documents = list(await session.scalars(select(Document).order_by(Document.id)))
    invoices = [d for d in documents if d.kind == "invoice"]
    receipts = [d for d in documents if d.kind == "receipt"]
    assert len(invoices) == len(receipts) > 10
    for year in {d.issued_at.year for d in invoices}:
        numbers = sorted(int(d.number.rsplit("-", 1)[1]) for d in invoices if d.number[4:8] == str(year))
        assert numbers == list(range(1, len(numbers) + 1)), "gapless per year"
    assert all(r.related_document_id for r in receipts)


async def test_numbers_stay_unique_and_gapless_under_concurrent_issue(
        portal: Portal, backend: str, database_url: tuple[str, dict[str, Any]]) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite serializes writers; the concurrent case is PostgreSQL's")
    engines = [Database(*database_url) for _ in range(4)]
    portals = [Portal(settings=portal.settings, db=db, clock=portal.clock) for db in engines]

    async def issue(p: Portal, fail: bool) -> str | None:
        try:
            async with p.db.unit_of_work() as session:
                number = await next_number(session, p, "invoice", 2026)
                if fail:
                    raise RuntimeError("rolled back after taking a number")
                return number
        except RuntimeError:
            return None

    try:
        results = await asyncio.gather(*(issue(portals[n % 4], fail=n % 7 == 3) for n in range(40)))
    finally:
        for db in engines:
            await db.close()
    numbers = sorted(r for r in results if r)
    assert numbers == [f"INV-2026-{n:04d}" for n in range(1, len(numbers) + 1)]


async def test_issued_documents_never_change(demo_portal: Portal) -> None:
    invoice = (await invoices_of(demo_portal, "alice@example.com"))[0]
    async with demo_portal.db.unit_of_work() as session:
        document = await session.get(Document, invoice.id)
        assert document is not None
        await pdf_for(session, demo_portal.settings, document)  # storing the PDF is the one allowed change
    for change in ({"total": 1}, {"snapshot": {}}, {"number": "INV-1999-0001"}):
        with pytest.raises(ImmutableDocument):
            async with demo_portal.db.unit_of_work() as session:
                document = await session.get(Document, invoice.id)
                for name, value in change.items():
                    setattr(document, name, value)
    with pytest.raises(ImmutableDocument):
        async with demo_portal.db.unit_of_work() as session:
            await session.delete(await session.get(Document, invoice.id))
    async with demo_portal.db.unit_of_work() as session:
        original = await session.get(Document, invoice.id)
        assert original is not None
        note = await credit_notes.issue(session, demo_portal, original, amount=500, tax=0,
                                        reason="Partial refund")
    assert note.number.startswith("CN-") and note.total == -500


async def test_customer_details_are_snapshotted(demo_portal: Portal) -> None:
    async with demo_portal.db.unit_of_work() as session:
        alice = await by_email(session, "alice@example.com")
        assert alice is not None
        details = await session.get(BillingDetails, alice.id)
        assert details is not None
        details.address_lines = ["New Street 1"]
    invoice = (await invoices_of(demo_portal, "alice@example.com"))[0]
    assert "12 Rue des Lilas" in invoice.snapshot["buyer"]["address"]


async def test_nobody_gets_another_customers_invoice_by_number(demo_portal: Portal) -> None:
    alices = (await invoices_of(demo_portal, "alice@example.com"))[0]
    bob = await caller_for(demo_portal, "bob@example.com")
    reply = await Dispatcher(demo_portal).handle_line(bob, f"invoice {alices.number}")
    assert not reply.ok and not reply.attachments and f"no invoice {alices.number}" in reply.plain_text()
    receipt = await Dispatcher(demo_portal).handle_line(bob, "receipt " + alices.number.replace("INV", "RCT"))
    assert not receipt.attachments


async def test_invoices_are_numbered_in_the_list_and_fetched_by_that_number(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com")
    listing = await dispatcher.handle_line(alice, "invoices")
    table, credit_notes = listing.tables  # the demo's partial refund issued her a credit note
    assert credit_notes.title == "Credit notes" and credit_notes.rows[0][0].startswith("CN-")
    assert table.columns[0] == "#" and [row[0] for row in table.rows[:3]] == ["1", "2", "3"]
    second = await dispatcher.handle_line(alice, "invoice 2")
    assert second.ok and [a.filename for a in second.attachments] == [f"{table.rows[1][1]}.pdf"]
    assert "no invoice number 99" in (await dispatcher.handle_line(alice, "invoice 99")).plain_text()
    bob = await caller_for(demo_portal, "bob@example.com")
    [bobs] = (await dispatcher.handle_line(bob, "invoice 1")).attachments
    assert bobs.filename != second.attachments[0].filename, "numbers count the caller's own invoices"
    page_two = await dispatcher.handle_line(alice, "invoices page 2")
    assert page_two.title == "Your invoices, page 2" and page_two.tables[0].rows[0][0] == "11"


async def test_the_pdf_says_who_what_and_how_much(demo_portal: Portal) -> None:
    alice = await caller_for(demo_portal, "alice@example.com")
    number = next(d.number for d in await invoices_of(demo_portal, "alice@example.com")
                  if "Pixel" in d.snapshot["lines"][0]["description"])
    reply = await Dispatcher(demo_portal).handle_line(alice, f"invoice {number}")
    text = pdf_text(reply.attachments[0].data)
    for expected in ("Pixel Studio Pro (Team license)", "Alice Moreau", "12 Rue des Lilas", "FR40303265045",
                     "Shopkeep Demo Store Ltd", "IE3141592S", "$149.00", "PAID", "Subtotal", "Total",
                     "Reverse charge"):
        assert expected in text, expected
    assert number in text and reply.attachments[0].filename == f"{number}.pdf"
    again = await Dispatcher(demo_portal).handle_line(alice, f"invoice {number.lower()}")
    assert [a.data for a in again.attachments] == [a.data for a in reply.attachments], "stored bytes served"


async def buy(portal: Portal, email: str, locale: str, currency: str, amount: int) -> Document:
    async with portal.db.unit_of_work() as session:
        session.add(Customer(email=email, name="Kunde", locale=locale, timezone="Europe/Berlin"))
    async with portal.db.unit_of_work() as session:
        result = await record_purchase(session, portal, PurchaseRequest(
            email=email, external_id=f"x-{email}", items=[PurchaseItem(product="pixel-studio", quantity=8)],
            amount=amount, currency=currency))
        invoice = await session.scalar(select(Document).where(Document.order_id == result.order.id))
        assert invoice is not None
        return invoice


async def printed(portal: Portal, invoice: Document) -> str:
    """The text of the invoice's PDF, as the customer gets it."""
    async with portal.db.unit_of_work() as session:
        document = await session.get(Document, invoice.id)
        assert document is not None
        return pdf_text(await pdf_for(session, portal.settings, document))


async def test_german_customer_reads_german_money_and_words(demo_portal: Portal) -> None:
    invoice = await buy(demo_portal, "kunde@example.de", "de_DE", "EUR", 123456)
    text = await printed(demo_portal, invoice)
    assert money(123456, "EUR", "de_DE") == "1.234,56\xa0€"
    assert "1.234,56" in text and "Rechnung" in text and "BEZAHLT" in text and "Rabatt" not in text


async def test_a_discount_is_named_in_the_buyers_language(demo_portal: Portal) -> None:
    invoice = await buy(demo_portal, "rabatt@example.de", "de_DE", "EUR", 100)
    text = await printed(demo_portal, invoice)
    assert "Rabatt" in text and "Discount" not in text


async def test_yen_has_no_minor_units(demo_portal: Portal) -> None:
    invoice = await buy(demo_portal, "kyaku@example.jp", "en_US", "JPY", 150000)
    text = await printed(demo_portal, invoice)
    assert "150,000" in text and "1,500.00" not in text


async def test_a_merchant_template_replaces_ours(demo_portal: Portal, tmp_path: Path) -> None:
    template = tmp_path / "mine.html"
    template.write_text("<html><body><h1>ACME BILL {{ doc.number }}</h1>"
                        "<p>{{ buyer.name }} owes {{ totals.balance }}</p></body></html>")
    store = demo_portal.settings.store.model_copy(update={"template_file": template})
    settings = demo_portal.settings.model_copy(update={"store": store})
    invoice = (await invoices_of(demo_portal, "bob@example.com"))[0]
    async with demo_portal.db.unit_of_work() as session:
        document = await session.get(Document, invoice.id)
        assert document is not None
        text = pdf_text(await pdf_for(session, settings, document))
    assert f"ACME BILL {invoice.number}" in text and "Bob Okafor owes $0.00" in text
