"""Refunds by email: `refunds` answers with the table in the text and HTML parts, a credit note
comes back as a PDF attachment by its number, and another customer's order is not found."""

from __future__ import annotations

import re

from tests.doors.email.conftest import MailDesk, mail, text


async def test_refunds_come_back_as_a_table(desk: MailDesk) -> None:
    reply = await desk.exchange(mail("refunds"))
    said = text(reply)
    assert "Your refunds" in said and "SK-00008" in said and "$49.00 (partial)" in said
    assert re.search(r"^\s*Order\s+Amount\s+Reason\s+State\s+Asked\s+Settled\s+Credit note", said, re.M)
    html = reply.get_body(preferencelist=("html",))
    assert html is not None and "<table" in str(html.get_content()) and "CN-" in str(html.get_content())


async def test_a_credit_note_comes_back_as_a_pdf(desk: MailDesk) -> None:
    number = re.search(r"CN-\d{4}-\d{4}", text(await desk.exchange(mail("refunds"))))
    assert number is not None
    reply = await desk.exchange(mail("", subject=f"invoice {number.group()}"))
    [attachment] = list(reply.iter_attachments())
    assert attachment.get_filename() == f"{number.group()}.pdf"
    data = attachment.get_content()
    assert isinstance(data, bytes) and data.startswith(b"%PDF")


async def test_another_customers_order_is_not_found(desk: MailDesk) -> None:
    reply = await desk.exchange(mail("refunds SK-00008", sender="Bob <bob@example.com>"),
                                sender="bob@example.com")
    said = text(reply)
    assert "You have no order SK-00008." in said and "$49.00" not in said and "Launch-week" not in said
