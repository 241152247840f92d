"""Invoices an EU accountant accepts (Directive 2006/112/EC, article 226), read from the PDFs
customers get: a consumer's sale, a reverse-charge sale to a business in another member state,
and a domestic business sale, all billed by the demo store (an Irish company). And the dates
and numbers: issued now, numbered in the order of issue, the supply date printed apart."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.bootstrap import payment_provider
from core import demo
from core.billing.render import pdf_for
from core.identity.customers import by_email
from core.kernel.errors import InvalidInput
from core.kernel.portal import Portal
from core.models import Customer, Document, Order
from core.orders.purchases import PurchaseItem, PurchaseRequest, record_purchase
from handlers.dispatcher import Dispatcher
from tests.conftest import FIXED_NOW
from tests.core.billing.test_documents import pdf_text
from tests.helpers import bill_to, caller_for

SELLER = ("Shopkeep Demo Store Ltd", "12 Canal Walk", "Dublin 2, D02 XY45", "Ireland", "IE3141592S")


async def sale(portal: Portal, email: str, name: str, address: dict[str, str], tax_ids: list[str], *,
               product: str = "pixel-studio", quantity: int = 1, time: datetime | None = None
               ) -> tuple[Document, str]:
    """A customer with these billing details (street, postal_code, city, country) buys; their
    invoice and the text of its PDF."""
    async with portal.db.unit_of_work() as session:
        customer = Customer(email=email, name=name)
        session.add(customer)
        await session.flush()
        fields = dict(address)
        street = fields.pop("street")
        await bill_to(session, customer.id, name=name, address=(street,), tax_ids=tuple(tax_ids), **fields)
    async with portal.db.unit_of_work() as session:
        result = await record_purchase(session, portal, PurchaseRequest(
            email=email, external_id=f"sale-{email}", time=time,
            items=[PurchaseItem(product=product, quantity=quantity)]))
        invoice = await session.scalar(select(Document).where(
            Document.order_id == result.order.id, Document.kind == "invoice"))
        assert invoice is not None
        return invoice, words(pdf_text(await pdf_for(session, portal.settings, invoice)))


def words(text: str) -> str:
    """The text with every run of white space (line breaks too) as one space."""
    return " ".join(text.split())


def fields_of_article_226(invoice: Document, text: str) -> None:
    """What every invoice says: issue date, number, the seller in full with its VAT number, the
    buyer's name, what was sold and how many, net unit price, rate, tax per rate, total."""
    for expected in ("Date of issue", invoice.issued_at.strftime("%b %-d, %Y"), invoice.number, *SELLER,
                     "Pixel Studio Pro (Team license)", "QTY", "UNIT PRICE EXCL. VAT", "VAT RATE",
                     "AMOUNT EXCL. VAT", "Subtotal excl. VAT", "Total"):
        assert expected in text, expected


async def test_a_consumer_pays_the_sellers_vat_inside_the_price(demo_portal: Portal) -> None:
    invoice, text = await sale(demo_portal, "nora@example.ie", "Nora Byrne", {"street": "4 Main Street", "city": "Galway", "country": "IE"}, [])
    fields_of_article_226(invoice, text)
    assert (invoice.total, invoice.subtotal, invoice.tax_total) == (14900, 12114, 2786)
    assert invoice.tax_treatment == "standard" and invoice.amount_paid == 14900
    for expected in ("Nora Byrne", "4 Main Street", "Galway", "$121.14", "23 %", "VAT 23 % on $121.14",
                     "$27.86", "$149.00"):
        assert expected in text, expected
    assert "Reverse charge" not in text and "Date of supply" not in text
    # The unit price and the line are net; the line matches the subtotal.
    assert re.search(r"Pixel Studio Pro \(Team license\)\s*1\s*\$121\.14\s*23 %\s*\$121\.14", text), text


async def test_a_business_in_another_member_state_is_billed_under_the_reverse_charge(
        demo_portal: Portal) -> None:
    invoice, text = await sale(demo_portal, "einkauf@kraft.example.de", "Kraft Werkstatt GmbH",
                               {"street": "Torstraße 5", "postal_code": "10119", "city": "Berlin", "country": "DE"}, ["DE123456788"], quantity=2)
    fields_of_article_226(invoice, text)
    # The whole amount paid is net; no VAT; the buyer's VAT number and the mention are printed.
    assert (invoice.total, invoice.subtotal, invoice.tax_total) == (29800, 29800, 0)
    assert invoice.tax_treatment == "reverse_charge"
    for expected in ("Kraft Werkstatt GmbH", "Torstraße 5", "10119 Berlin", "VAT number: DE123456788",
                     "$149.00", "$298.00", "0 %", "VAT 0 % on $298.00", "$0.00",
                     "Reverse charge", "article 196 of Directive 2006/112/EC"):
        assert expected in text, expected
    assert invoice.snapshot["treatment"]["buyer_vat_id"] == "DE123456788"


async def test_a_domestic_business_pays_vat_and_both_vat_numbers_are_printed(demo_portal: Portal) -> None:
    invoice, text = await sale(demo_portal, "accounts@liffey.example.ie", "Liffey Studio Ltd",
                               {"street": "3 Quay Street", "city": "Dublin 8", "country": "IE"}, ["IE1234567T"])
    fields_of_article_226(invoice, text)
    assert (invoice.total, invoice.tax_total, invoice.tax_treatment) == (14900, 2786, "standard")
    for expected in ("Liffey Studio Ltd", "3 Quay Street", "VAT number: IE1234567T", "VAT number: IE3141592S",
                     "VAT 23 % on $121.14", "$27.86"):
        assert expected in text, expected
    assert "Reverse charge" not in text


async def test_a_vat_number_of_another_country_does_not_make_a_reverse_charge(demo_portal: Portal) -> None:
    invoice, text = await sale(demo_portal, "mixup@example.de", "Mixup GmbH", {"street": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin", "country": "DE"},
                               ["FR40303265045"])
    assert invoice.tax_treatment == "standard" and invoice.tax_total == 2786
    assert "Reverse charge" not in text


async def test_a_store_that_charges_no_vat_prints_its_exemption(demo_portal: Portal) -> None:
    store = demo_portal.settings.store.model_copy(update={
        "tax_rate": 0, "tax_exemption": "Exempt from VAT: small enterprise scheme"})
    demo_portal.settings = demo_portal.settings.model_copy(update={"store": store})
    invoice, text = await sale(demo_portal, "nora@example.ie", "Nora Byrne", {"street": "4 Main Street", "city": "Galway", "country": "IE"}, [])
    assert (invoice.total, invoice.subtotal, invoice.tax_total, invoice.tax_treatment) == (
        14900, 14900, 0, "exempt")
    assert "Exempt from VAT: small enterprise scheme" in text and "VAT 0 % on $149.00" in text


async def test_an_invoice_is_dated_when_it_is_made_and_says_when_the_supply_was(demo_portal: Portal) -> None:
    bought = FIXED_NOW - timedelta(days=20)
    invoice, text = await sale(demo_portal, "late@example.ie", "Late Webhook", {"street": "1 Grand Parade", "city": "Cork", "country": "IE"}, [],
                               time=bought)
    assert invoice.issued_at == FIXED_NOW and invoice.supplied_at == bought
    assert "Date of issue Mar 15, 2026" in text and "Date of supply Feb 23, 2026" in text


async def test_numbers_follow_issue_dates_whatever_the_purchase_times(demo_portal: Portal, clock) -> None:  # type: ignore[no-untyped-def]
    clock.advance(days=1)
    first, _ = await sale(demo_portal, "a@example.ie", "A", {"street": "1 Grand Parade", "city": "Cork", "country": "IE"}, [])
    clock.advance(minutes=5)
    # Recorded later, but bought earlier: a later number and a later (today's) date.
    second, _ = await sale(demo_portal, "b@example.ie", "B", {"street": "1 Grand Parade", "city": "Cork", "country": "IE"}, [],
                           time=FIXED_NOW - timedelta(days=40))
    assert second.number > first.number and second.issued_at > first.issued_at
    # A clock that steps back (another host's) does not date a number before the last one.
    clock.advance(hours=-3)
    third, _ = await sale(demo_portal, "c@example.ie", "C", {"street": "1 Grand Parade", "city": "Cork", "country": "IE"}, [])
    assert third.number > second.number and third.issued_at == second.issued_at
    async with demo_portal.db.unit_of_work() as session:
        invoices = list(await session.scalars(select(Document).where(Document.kind == "invoice")))
    by_number = sorted(invoices, key=lambda d: (d.number[4:8], int(d.number.rsplit("-", 1)[1])))
    assert [d.issued_at for d in by_number] == sorted(d.issued_at for d in invoices)


async def test_a_purchase_dated_in_the_future_is_refused_and_issues_nothing(demo_portal: Portal) -> None:
    async with demo_portal.db.unit_of_work() as session:
        before = await session.scalar(select(func.count()).select_from(Document))
    with pytest.raises(InvalidInput) as refused:
        async with demo_portal.db.unit_of_work() as session:
            await record_purchase(session, demo_portal, PurchaseRequest(
                email="future@example.com", external_id="from-2030", time=datetime(2030, 1, 1, tzinfo=UTC),
                items=[PurchaseItem(product="ebook")]))
    assert "cannot be in the future" in refused.value.message
    async with demo_portal.db.unit_of_work() as session:
        assert await session.scalar(select(func.count()).select_from(Document)) == before


async def test_receipts_name_the_invoice_they_settle_and_come_by_its_number(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    bob = await caller_for(demo_portal, "bob@example.com")
    async with demo_portal.db.unit_of_work() as session:
        customer = await by_email(session, "bob@example.com")
        assert customer is not None
        # Bob's newest: his Sprite Club purchase (his ebook came before it).
        invoice = await session.scalar(select(Document).where(
            Document.customer_id == customer.id, Document.kind == "invoice")
            .order_by(Document.issued_at.desc(), Document.id.desc()).limit(1))
        receipt = await session.scalar(select(Document).where(
            Document.customer_id == customer.id, Document.kind == "receipt",
            Document.related_document_id == invoice.id))
    assert invoice is not None and receipt is not None
    assert receipt.snapshot["settles"] == invoice.number and receipt.related_document_id == invoice.id

    by_invoice = await dispatcher.handle_line(bob, f"receipt {invoice.number}")
    assert by_invoice.ok and [a.filename for a in by_invoice.attachments] == [f"{receipt.number}.pdf"]
    text = words(pdf_text(by_invoice.attachments[0].data))
    assert "Receipt" in text and f"For invoice {invoice.number}" in text
    assert by_invoice.tables[0].columns[:2] == ["Receipt", "For invoice"]
    assert by_invoice.tables[0].rows[0][:2] == [receipt.number, invoice.number]
    # The other ways of asking still work.
    for asked in (receipt.number, "last", "1"):
        again = await dispatcher.handle_line(bob, f"receipt {asked}")
        assert [a.filename for a in again.attachments] == [f"{receipt.number}.pdf"], asked
    # Alice's invoice number gives Bob nothing.
    alice_invoice = await dispatcher.handle_line(await caller_for(demo_portal, "alice@example.com"),
                                                 "invoice last")
    theirs = alice_invoice.attachments[0].filename.removesuffix(".pdf")
    refused = await dispatcher.handle_line(bob, f"receipt {theirs}")
    assert not refused.ok and not refused.attachments and f"no receipt {theirs}" in refused.plain_text()


async def test_the_demo_history_keeps_its_months_and_its_numbers_follow_its_dates(demo_portal: Portal) -> None:
    async with demo_portal.db.unit_of_work() as session:
        rows = (await session.execute(select(Document, Order.placed_at).join(
            Order, Document.order_id == Order.id).where(Document.kind == "invoice"))).all()
    assert len(rows) > 10
    assert all(document.issued_at == placed_at == document.supplied_at for document, placed_at in rows)
    numbered = sorted((document for document, _ in rows),
                      key=lambda d: (d.number[4:8], int(d.number.rsplit("-", 1)[1])))
    assert [d.issued_at for d in numbered] == sorted(d.issued_at for d in numbered)
    assert all(d.number[4:8] == str(d.issued_at.year) for d in numbered)

    alice = await caller_for(demo_portal, demo.DEMO_CUSTOMER)
    march = await Dispatcher(demo_portal).handle_line(alice, "invoice March")
    assert march.ok and march.attachments and march.title == "Your invoice: March 2026"
    text = words(pdf_text(march.attachments[0].data))
    assert "Maker Pro Membership" in text and "Mar 13, 2026 – Apr 13, 2026" in text
    assert "Reverse charge" in text and "FR40303265045" in text and "Date of issue Mar 13, 2026" in text


async def test_seeding_the_demo_again_adds_no_document_even_on_another_day(demo_portal: Portal, clock) -> None:  # type: ignore[no-untyped-def]
    async def counted() -> tuple[int | None, int | None]:
        async with demo_portal.db.unit_of_work() as session:
            return (await session.scalar(select(func.count()).select_from(Document)),
                    await session.scalar(select(func.count()).select_from(Order)))

    before = await counted()
    await demo.seed(demo_portal, payments=payment_provider(demo_portal))
    assert await counted() == before
    clock.advance(days=2)  # every purchase of the history now falls two days later
    again = await demo.seed(demo_portal, payments=payment_provider(demo_portal))
    assert not [line for line in again if "bought" in line]
    # Only the renewals (or retries) that fell due in those two days were added.
    renewed = len([line for line in again if line.startswith("renewal:")])
    documents, orders = await counted()
    assert orders == before[1] and documents is not None and before[0] is not None
    assert documents - before[0] <= 2 * renewed


async def test_a_german_buyer_reads_the_reverse_charge_in_german(demo_portal: Portal) -> None:
    async with demo_portal.db.unit_of_work() as session:
        werk = Customer(email="buch@werk.example.de", name="Werk GmbH", locale="de_DE",
                        timezone="Europe/Berlin")
        session.add(werk)
        await session.flush()
        await bill_to(session, werk.id, name="Werk GmbH", address=("Hauptstr. 1",), postal_code="10115",
                      city="Berlin", country="DE", tax_ids=("DE123456788",))
    async with demo_portal.db.unit_of_work() as session:
        result = await record_purchase(session, demo_portal, PurchaseRequest(
            email="buch@werk.example.de", external_id="werk-1", items=[PurchaseItem(product="ebook")]))
        invoice = await session.scalar(select(Document).where(
            Document.order_id == result.order.id, Document.kind == "invoice"))
        assert invoice is not None and invoice.tax_treatment == "reverse_charge"
        text = words(pdf_text(await pdf_for(session, demo_portal.settings, invoice)))
    for expected in ("Rechnung", "USt-IdNr.: DE123456788", "USt-IdNr.: IE3141592S", "Leistungsempfängers",
                     "Reverse charge", "Artikel 196 der Richtlinie 2006/112/EG", "USt. 0 % auf 19,00 $"):
        assert expected in text, expected
