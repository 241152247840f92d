"""`refunds [order]`, credit notes beside the invoices, and a credit note's PDF by its number:
each customer sees their own, and another customer's order or credit note reads exactly like one
that does not exist."""

from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import select

from core.billing import refunds
from core.kernel.portal import Portal
from core.models import BillingDetails, Document, Order
from core.models.billing import CREDIT_NOTE
from core.models.refunds import OPERATOR
from handlers.dispatcher import Dispatcher
from handlers.suggest import suggest
from tests.handlers.test_isolation import alice_and_bob, everything_shown


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def refund_bobs_ebook(portal: Portal, amount: int | None) -> Order:
    """Part (or the rest) of Bob's e-book back, as the operator would give it."""
    async with portal.db.unit_of_work() as session:
        order = await session.scalar(select(Order).where(Order.external_id == "demo-bob-ebook"))
        assert order is not None
        await refunds.refund_order(session, portal, None, order, amount=amount, reason="Wrong edition sent",
                                   key=f"bob-{amount}", requested_by=OPERATOR, actor="operator via cli")
    return order


async def test_refunds_lists_the_demos_partial_refund(demo_portal: Portal) -> None:
    alice, _ = await alice_and_bob(demo_portal)
    reply = await Dispatcher(demo_portal).handle_line(alice, "refunds")
    assert reply.ok and reply.title == "Your refunds"
    [table] = reply.tables
    assert table.columns == ["Order", "Amount", "Reason", "State", "Asked", "Settled", "Credit note"]
    [row] = table.rows
    assert row[0] == "SK-00008" and row[1] == "$49.00 (partial)" and row[3] == "succeeded"
    assert row[2].startswith("Launch-week price") and row[4] == row[5] != "-"
    assert row[6].startswith("CN-") and f"`invoice {row[6]}`" in reply.plain_text()


async def test_one_orders_refunds_say_what_is_left(demo_portal: Portal) -> None:
    alice, _ = await alice_and_bob(demo_portal)
    reply = await Dispatcher(demo_portal).handle_line(alice, "refunds SK-00008")
    assert reply.title == "Refunds of order SK-00008"
    assert {f.name: f.value for f in reply.fields} == {
        "Paid": "$149.00", "Refunded": "$49.00", "Order status": "partially refunded"}
    none = await Dispatcher(demo_portal).handle_line(alice, "refunds SK-00004")
    assert none.ok and none.plain_text().startswith("Refunds of order SK-00004") \
        and "Order SK-00004 has no refunds." in none.plain_text()


async def test_a_full_refund_in_parts_reads_as_such(demo_portal: Portal) -> None:
    _, bob = await alice_and_bob(demo_portal)
    assert (await Dispatcher(demo_portal).handle_line(bob, "refunds")).plain_text().endswith(
        "You have no refunds.")
    order = await refund_bobs_ebook(demo_portal, 900)
    await refund_bobs_ebook(demo_portal, None)
    reply = await Dispatcher(demo_portal).handle_line(bob, f"refunds {order.number.lower()}")
    amounts = [row[1] for row in reply.tables[0].rows]
    assert amounts == ["$10.00 (partial)", "$9.00 (partial)"], "newest first"
    assert {f.name: f.value for f in reply.fields}["Order status"] == "refunded"
    orders = await Dispatcher(demo_portal).handle_line(bob, "orders")
    assert any(row[0] == order.number and row[4] == "refunded" for row in orders.tables[1].rows)


async def test_invoices_list_credit_notes_beside_them(demo_portal: Portal) -> None:
    alice, _ = await alice_and_bob(demo_portal)
    reply = await Dispatcher(demo_portal).handle_line(alice, "invoices")
    invoices, notes = reply.tables
    assert invoices.title is None and notes.title == "Credit notes"
    assert notes.columns == ["Credit note", "Corrects", "Date", "Total", "Status"]
    [row] = notes.rows
    assert row[0].startswith("CN-") and row[1].startswith("INV-") and row[3] == "-$49.00"
    assert row[4] == "refunded" and "`invoice <credit note number>`" in reply.plain_text()
    assert not any(r[1].startswith("CN-") for r in invoices.rows), "the invoices keep their numbers"
    later = await Dispatcher(demo_portal).handle_line(alice, "invoices page 2")
    assert len(later.tables) == 1, "shown once, on the first page"


async def test_a_credit_note_is_fetched_like_an_invoice(demo_portal: Portal) -> None:
    alice, _ = await alice_and_bob(demo_portal)
    async with demo_portal.db.unit_of_work() as session:
        note = await session.scalar(select(Document).where(Document.kind == CREDIT_NOTE))
        assert note is not None
        details = await session.get(BillingDetails, note.customer_id)
        assert details is not None
        details.address_lines = ["Somewhere Else 9"]  # after the refund: the note keeps the invoice's
    reply = await Dispatcher(demo_portal).handle_line(alice, f"invoice {note.number.lower()}")
    assert reply.ok and reply.title == f"Your credit note: {note.number}"
    [pdf] = reply.attachments
    assert pdf.filename == f"{note.number}.pdf"
    assert reply.tables[0].columns[:2] == ["Credit note", "Corrects"]
    text = pdf_text(pdf.data)
    for expected in ("Credit note", note.number, f"Corrects invoice {note.snapshot['corrects']}",
                     "Pixel Studio Pro (Team license)", "-$49.00", "Total refunded", "$49.00", "REFUNDED",
                     "Shopkeep Demo Store Ltd", "IE3141592S", "Alice Moreau", "12 Rue des Lilas",
                     "FR40303265045", "Reverse charge", "Launch-week price"):
        assert expected in text, expected
    assert "Somewhere Else 9" not in text and "Balance due" not in text


async def test_a_consumers_credit_note_shows_the_tax_given_back(demo_portal: Portal) -> None:
    _, bob = await alice_and_bob(demo_portal)
    await refund_bobs_ebook(demo_portal, 500)
    reply = await Dispatcher(demo_portal).handle_line(bob, "refunds")
    number = reply.tables[0].rows[0][6]
    text = pdf_text((await Dispatcher(demo_portal).handle_line(bob, f"invoice {number}")).attachments[0].data)
    for expected in ("The Indie Maker's Handbook (E-book)", "-$4.07", "VAT 23 % on -$4.07", "-$0.93",
                     "-$5.00", "Total refunded $5.00", "Bob Okafor", "Reason: Wrong edition sent"):
        assert expected in text, expected


async def test_another_customers_order_and_credit_note_are_not_found(demo_portal: Portal) -> None:
    alice, bob = await alice_and_bob(demo_portal)
    dispatcher = Dispatcher(demo_portal)
    theirs = await dispatcher.handle_line(bob, "refunds SK-00008")
    missing = await dispatcher.handle_line(bob, "refunds SK-09999")
    assert not theirs.ok and theirs.plain_text().replace("SK-00008", "X") == \
        missing.plain_text().replace("SK-09999", "X")
    assert "$49.00" not in everything_shown(theirs) and "Launch-week" not in everything_shown(theirs)
    note = (await dispatcher.handle_line(alice, "refunds")).tables[0].rows[0][6]
    got = await dispatcher.handle_line(bob, f"invoice {note}")
    nothing = await dispatcher.handle_line(bob, "invoice CN-2025-0999")
    assert not got.ok and not got.attachments
    assert got.plain_text().replace(note, "X") == nothing.plain_text().replace("CN-2025-0999", "X")
    assert "Credit notes" not in everything_shown(await dispatcher.handle_line(bob, "invoices"))


async def test_a_word_that_is_no_order_number_is_said_so(demo_portal: Portal) -> None:
    alice, _ = await alice_and_bob(demo_portal)
    reply = await Dispatcher(demo_portal).handle_line(alice, "refunds yesterday")
    assert not reply.ok and reply.plain_text() == "You have no order yesterday. Send `orders` to see yours."


async def test_activity_says_what_was_refunded(demo_portal: Portal) -> None:
    alice, _ = await alice_and_bob(demo_portal)
    dispatcher = Dispatcher(demo_portal)
    # Logged when it happened (October 2025), so a few pages back.
    shown = "\n".join([everything_shown(await dispatcher.handle_line(alice, f"activity page {page}"))
                       for page in range(1, 6)])
    assert "Oct" in shown or "2025-10" in shown
    assert "Refunded $49.00 of order SK-00008 (credit note CN-" in shown
    assert "A refund of $49.00 of order SK-00008 was asked for" in shown


async def test_suggestions_offer_only_ones_own_refunded_orders_and_credit_notes(demo_portal: Portal) -> None:
    alice, bob = await alice_and_bob(demo_portal)
    assert await suggest(demo_portal, alice, "refunds", "") == [("SK-00008", "SK-00008")]
    assert await suggest(demo_portal, bob, "refunds", "") == []
    assert any(value.startswith("CN-") for _, value in await suggest(demo_portal, alice, "invoices", "cn"))
    assert not any(value.startswith("CN-") for _, value in await suggest(demo_portal, bob, "invoices", ""))
