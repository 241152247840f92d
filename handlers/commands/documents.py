"""Invoices, receipts and credit notes in plain words: invoices [period], invoice <number|period>,
receipt ... (a credit note is fetched like an invoice, by its number)."""

from __future__ import annotations

import re

from pydantic import Field

from core.billing import queries
from core.billing.periods import FIRST_YEAR, Period, PeriodError, parse_period
from core.billing.render import filename, pdf_for
from core.kernel import formatting
from core.kernel.errors import InvalidInput, NotFound
from core.models import Customer, Document
from core.models.billing import CREDIT_NOTE, INVOICE, RECEIPT
from handlers.context import Context
from handlers.registry import Arguments, command
from handlers.reply import Attachment, Choice, Reply
from handlers.tables import documents_table

PAGE_SIZE = 10
MAX_ATTACHMENTS = 5
ALL = Period("all", "all time")
NUMBER = re.compile(r"^[A-Za-z]{2,5}-\d{4}-\d+$")
NOUNS = {INVOICE: ("invoice", "invoices"), RECEIPT: ("receipt", "receipts"),
         CREDIT_NOTE: ("credit note", "credit notes")}


class ListArguments(Arguments):
    period: str | None = Field(default=None, description='e.g. "2026", "March", "last quarter"; '
                               'add "page 2" for older ones', json_schema_extra={"suggest": "months"})


class DocumentArguments(Arguments):
    which: str = Field(description='a number like INV-2026-0007 or 2 (as `invoices` lists them), a period '
                       'like "March", or "last"',
                       min_length=1, max_length=60, json_schema_extra={"suggest": "invoices"})


def _period(customer: Customer, ctx: Context, text: str) -> Period:
    try:
        return parse_period(text, now=ctx.portal.now(), tz=customer.timezone, locale=customer.locale)
    except PeriodError as exc:
        raise InvalidInput(exc.message) from None


async def _nothing_in(ctx: Context, customer: Customer, kind: str, period: Period) -> Reply:
    plural = NOUNS[kind][1]
    months = await queries.months_with_documents(ctx.session, customer.id, kind, customer.timezone)
    if not months:
        return Reply.error(f"You have no {plural} yet.")
    names = ", ".join(formatting.month_year(m, customer.locale) for m in months[:12])
    return Reply.error(f"You have no {plural} for {period.label}. Months with {plural}: {names}.")


@command("invoices", summary="List your invoices, newest first", aliases=("history",),
         examples=("invoices", "invoices 2026", "invoices last quarter", "invoices page 2"),
         reads_only=True)
async def invoices(ctx: Context, args: ListArguments) -> Reply:
    customer = await ctx.customer()
    text = args.period or ""
    page = 1
    if match := re.search(r"(?:^|\s)page\s+(\d+)$", text, re.I):
        page, text = max(1, int(match[1])), text[: match.start()].strip()
    period = _period(customer, ctx, text)
    found = await queries.in_period(ctx.session, customer.id, INVOICE, period,
                                    limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    if not found:
        return await _nothing_in(ctx, customer, INVOICE, period)
    more = len(found) > PAGE_SIZE
    title = "Your invoices" + ("" if period.kind == "all" else f": {period.label}")
    title += f", page {page}" if page > 1 else ""
    numbered = (page - 1) * PAGE_SIZE + 1 if period.kind == "all" else None
    reply = Reply(title=title, tables=[documents_table(found[:PAGE_SIZE], customer, first_number=numbered)])
    reply.paragraphs.append("Send `invoice <number>` for the PDF (`invoice 1` is the newest), or "
                            "`receipt <number>` for its receipt.")
    if page == 1:
        await _credit_notes_beside(ctx, customer, period, reply)
    if more:
        reply.choices.append(Choice("Older invoices", f"invoices {text} page {page + 1}".replace("  ", " ")))
    return reply


async def _credit_notes_beside(ctx: Context, customer: Customer, period: Period, reply: Reply) -> None:
    """The period's credit notes as a table of their own under the invoices (the invoices keep
    their list numbers)."""
    notes = await queries.in_period(ctx.session, customer.id, CREDIT_NOTE, period, limit=PAGE_SIZE + 1)
    if not notes:
        return
    corrects = await queries.numbers_of(ctx.session, customer.id, [n.related_document_id for n in notes])
    reply.tables.append(documents_table(notes[:PAGE_SIZE], customer, heading="Credit note",
                                        title="Credit notes", settles=corrects, related="Corrects"))
    newer = " (the newest are shown)" if len(notes) > PAGE_SIZE else ""
    reply.paragraphs.append(f"Credit notes correct invoices when money went back{newer}: "
                            "`invoice <credit note number>` for the PDF, `refunds` for the refunds.")


async def _documents(ctx: Context, kind: str, which: str) -> Reply:
    customer = await ctx.customer()
    singular, plural = NOUNS[kind]
    if NUMBER.match(which.strip()):
        document = await queries.by_number(ctx.session, customer.id, kind, which)
        if document is None and kind == INVOICE:  # credit notes are fetched like invoices
            document = await queries.by_number(ctx.session, customer.id, CREDIT_NOTE, which)
        if document is not None and document.kind != kind:
            return await _attached(ctx, customer, [document], CREDIT_NOTE, document.number)
        # A receipt is also asked for by the number of the invoice it pays.
        found = [document] if document is not None else (
            await queries.receipts_for(ctx.session, customer.id, which) if kind == RECEIPT else [])
        if not found:
            raise NotFound(f"You have no {singular} {which.strip().upper()}. Send `invoices` to see yours.")
        label = found[0].number
    elif which.strip().lstrip("#").isdecimal() and int(which.strip().lstrip("#")) < FIRST_YEAR:
        # A list number, as `invoices` shows them (1 is the newest); four digits are a year.
        position = int(which.strip().lstrip("#"))
        found = await queries.in_period(ctx.session, customer.id, kind, ALL, limit=1,
                                        offset=max(position - 1, 0)) if position > 0 else []
        if not found:
            raise NotFound(f"You have no {singular} number {position}. Send `{plural}` to see yours.")
        label = found[0].number
    else:
        period = _period(customer, ctx, which)
        found = await queries.in_period(ctx.session, customer.id, kind, period)
        if not found:
            return await _nothing_in(ctx, customer, kind, period)
        label = period.label
    return await _attached(ctx, customer, found, kind, label)


async def _attached(ctx: Context, customer: Customer, found: list[Document], kind: str, label: str) -> Reply:
    """The documents' PDFs (the newest MAX_ATTACHMENTS) with a table of them."""
    singular, plural = NOUNS[kind]
    reply = Reply(title=f"Your {plural if len(found) > 1 else singular}: {label}")
    for document in found[:MAX_ATTACHMENTS]:
        pdf = await pdf_for(ctx.session, ctx.portal.settings, document)
        reply.attachments.append(Attachment(filename(document), "application/pdf", pdf))
    settles = await queries.numbers_of(ctx.session, customer.id, [d.related_document_id for d in found]
                                       ) if kind in (RECEIPT, CREDIT_NOTE) else None
    reply.tables.append(documents_table(found, customer, heading=singular.capitalize(), settles=settles,
                                        related="Corrects" if kind == CREDIT_NOTE else "For invoice"))
    if len(found) > MAX_ATTACHMENTS:
        reply.paragraphs.append(f"{len(found)} {plural} match; the newest {MAX_ATTACHMENTS} are attached. "
                                f"Ask for the others by number, e.g. `{singular} {found[-1].number}`.")
    return reply


@command("invoice", summary="Get invoice (or credit note) PDFs by number or period", slow=True,
         examples=("invoice March", "invoice INV-2026-0007", "invoice 2", "invoice last",
                   "invoice CN-2026-0001"))
async def invoice(ctx: Context, args: DocumentArguments) -> Reply:
    return await _documents(ctx, INVOICE, args.which)


@command("receipt", summary="Get receipt PDFs by number or period", aliases=("receipts",), slow=True,
         examples=("receipt last", "receipt March", "receipt RCT-2026-0003", "receipt INV-2026-0007"))
async def receipt(ctx: Context, args: DocumentArguments) -> Reply:
    return await _documents(ctx, RECEIPT, args.which)
