"""Finding a customer's documents: by number, by period, the latest. Always scoped by customer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.billing.periods import Period
from core.kernel.formatting import zone
from core.models import Document
from core.models.billing import INVOICE, RECEIPT


async def by_number(session: AsyncSession, customer_id: int, kind: str, number: str) -> Document | None:
    return await session.scalar(select(Document).where(
        Document.customer_id == customer_id, Document.kind == kind,
        Document.number == number.strip().upper()))


async def receipts_for(session: AsyncSession, customer_id: int, invoice_number: str) -> list[Document]:
    """The receipts of the customer's invoice with that number (none if it is not theirs)."""
    invoice = await by_number(session, customer_id, INVOICE, invoice_number)
    if invoice is None:
        return []
    return list(await session.scalars(select(Document).where(
        Document.customer_id == customer_id, Document.kind == RECEIPT,
        Document.related_document_id == invoice.id).order_by(Document.id)))


async def numbers_of(session: AsyncSession, customer_id: int, ids: list[int | None]) -> dict[int, str]:
    """Document id -> number, for the customer's documents among `ids`."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(Document.id, Document.number).where(
        Document.customer_id == customer_id, Document.id.in_(wanted)))
    return {row.id: row.number for row in rows}


async def in_period(session: AsyncSession, customer_id: int, kind: str, period: Period,
                    limit: int | None = None, offset: int = 0) -> list[Document]:
    query = _newest_first(customer_id, kind)
    if period.kind == "last":
        query = query.limit(1)
    else:
        if period.start is not None and period.end is not None:
            query = query.where(Document.issued_at >= period.start, Document.issued_at < period.end)
        if limit is not None:
            query = query.limit(limit).offset(offset)
    return list(await session.scalars(query))


async def latest(session: AsyncSession, customer_id: int, kind: str, limit: int) -> list[Document]:
    """The customer's newest `limit` documents of a kind, newest first."""
    return list(await session.scalars(_newest_first(customer_id, kind).limit(limit)))


def _newest_first(customer_id: int, kind: str) -> Select[tuple[Document]]:
    return (select(Document).where(Document.customer_id == customer_id, Document.kind == kind)
            .order_by(Document.issued_at.desc(), Document.id.desc()))


async def months_with_documents(session: AsyncSession, customer_id: int, kind: str,
                                tz: str | None) -> list[datetime]:
    """The (local) months that have documents, newest first."""
    issued = await session.scalars(select(Document.issued_at).where(
        Document.customer_id == customer_id, Document.kind == kind).order_by(Document.issued_at.desc()))
    months: dict[tuple[int, int], datetime] = {}
    for moment in issued:
        local = moment.astimezone(zone(tz))
        months.setdefault((local.year, local.month), local)
    return list(months.values())
