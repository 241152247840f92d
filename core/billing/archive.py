"""A customer's billing documents in one zip file: every invoice, receipt and credit note of a
period as the PDF it was issued as (rendered once and kept, core.billing.render)."""

from __future__ import annotations

import io
import zipfile

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from config.settings import Settings
from core.billing.periods import Period
from core.billing.render import filename, pdf_for
from core.models import Document


class ArchiveTooLarge(Exception):
    """The documents come to more than the archive may hold."""

    def __init__(self, documents: int, limit: int) -> None:
        super().__init__(f"more than {limit} bytes in {documents} documents")
        self.documents = documents
        self.limit = limit


async def documents_in(session: AsyncSession, customer_id: int, period: Period) -> list[Document]:
    """The customer's documents of every kind issued in the period, oldest first ("last": the
    newest invoice and what goes with it)."""
    query = select(Document).where(Document.customer_id == customer_id)
    if period.kind == "last":
        newest = await session.scalar(query.order_by(Document.issued_at.desc(), Document.id.desc()).limit(1))
        if newest is None:
            return []
        query = query.where(Document.order_id == newest.order_id) if newest.order_id else query.where(
            Document.id == newest.id)
    elif period.start is not None and period.end is not None:
        query = query.where(Document.issued_at >= period.start, Document.issued_at < period.end)
    return list(await session.scalars(query.order_by(Document.issued_at, Document.id)))


async def zipped(session: AsyncSession, settings: Settings, documents: list[Document], *,
                 limit: int) -> bytes:
    """The documents' PDFs in a zip of at most `limit` bytes; ArchiveTooLarge past it (found as
    soon as the PDFs read so far exceed it)."""
    buffer = io.BytesIO()
    total = 0
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for document in documents:
            pdf = await pdf_for(session, settings, document)
            total += len(pdf)
            if total > limit:
                raise ArchiveTooLarge(len(documents), limit)
            archive.writestr(filename(document), pdf)
    data = buffer.getvalue()
    if len(data) > limit:
        raise ArchiveTooLarge(len(documents), limit)
    return data
