"""Rendering documents: Jinja2 HTML (translatable, the customer's locale) to PDF with WeasyPrint.

Template variables: doc (number, kind, status), title, status, snapshot (as issued), seller,
buyer, seller_tax_label, buyer_tax_ids (label, value), tax_name, lines (description, quantity,
unit: the net unit price, tax_rate, amount: the net line amount; formatted), taxes (label, base:
the net amount taxed at that rate, amount), totals (subtotal: net, total, paid, balance), issued,
supplied (the date of supply when it is not the issue date), paid, mention (the reverse charge
or the exemption), reverse_charge, settles and settles_issued (the invoice a receipt pays),
credit_note (True for one), corrects_issued and refunded (a credit note's invoice date and the
day of its refund; the invoice's number is snapshot.corrects, the total refunded
totals.refunded), logo (data URI or None), lang, and `_` for translations.

A PDF is rendered once and kept under <data dir>/documents/<sha256>.pdf; later requests read
those bytes. WeasyPrint runs in a separate, long-lived process (RenderWorker), so a render never
stalls the event loop, and it is imported only there.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import mimetypes
import multiprocessing
import os
import resource
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from decimal import Decimal
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import jinja2
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations
from sqlalchemy.ext.asyncio import AsyncSession

from config.settings import Settings
from core.kernel import formatting
from core.models import Document
from core.models.billing import CREDIT_NOTE, RECEIPT

HERE = Path(__file__).parent
TEMPLATE = HERE / "templates" / "invoice.html"
TITLES = {RECEIPT: "Receipt", CREDIT_NOTE: "Credit note"}
LINE_NAMES = {"discount": "Discount"}  # lines the shop writes itself, translated when shown
STATUS_BADGES = {"paid": "PAID", "credited": "CREDITED", "refunded": "REFUNDED"}


@lru_cache(maxsize=16)
def translations(locale: str) -> NullTranslations:
    catalog_file = HERE / "locale" / f"{locale.split('_')[0]}.po"
    if not catalog_file.is_file():
        return NullTranslations()
    with catalog_file.open("rb") as handle:
        catalog = read_po(handle)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


def _environment(template_file: Path | None, locale: str) -> tuple[jinja2.Environment, str]:
    template = template_file or TEMPLATE
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(template.parent)),
                             autoescape=True, extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    return env, template.name


def _logo(path: Path | None) -> str | None:
    if path is None or not path.is_file():
        return None
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def _net_lines(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    """The lines net of tax. Documents issued before lines were kept net carry the gross amount
    and its tax; the net is read from those without changing what was issued."""
    lines = []
    for line in snapshot["lines"]:
        net = line["net"] if "net" in line else line["amount"] - line.get("tax", 0)
        quantity = line.get("quantity") or 1
        unit = Decimal(line["unit_net"]) if "unit_net" in line else Decimal(net) / quantity
        lines.append({**line, "net": net, "unit_net": unit, "quantity": quantity})
    return lines


def render_html(document: Document, settings: Settings, *, settles: str | None = None) -> str:
    """The document as HTML. `settles` names the invoice a receipt pays, for receipts issued
    before their snapshot named it."""
    snapshot = document.snapshot
    buyer = snapshot["buyer"]
    seller = snapshot["seller"]
    locale = formatting.locale_or_default(buyer.get("locale") or settings.store.locale)
    tz = buyer.get("timezone") or settings.store.timezone
    env, name = _environment(settings.store.template_file, locale)
    gettext = translations(locale).gettext
    named_tax = seller.get("tax_name") or settings.store.tax_name
    tax_name = gettext(named_tax)  # "VAT" is "USt." in German

    def money(amount: int) -> str:
        return formatting.money(amount, document.currency, locale)

    def percent(rate: str) -> str:
        return format_decimal(Decimal(rate), locale=locale) + " %"

    def day(iso: str | None) -> str | None:
        return formatting.date(datetime.fromisoformat(iso), locale, tz) if iso else None

    def described(line: dict[str, Any]) -> str:
        return gettext(LINE_NAMES[line["kind"]]) if line.get("kind") in LINE_NAMES else line["description"]

    def period(line: dict[str, Any]) -> str | None:
        dates = line.get("period")
        return f"{day(dates['start'])} – {day(dates['end'])}" if dates else None

    def tax_id_label(kind: str | None) -> str:
        if kind == "eu_vat":
            return gettext("VAT number")
        return kind.replace("_", " ").upper() if kind else gettext("Tax ID")

    issued = formatting.date(document.issued_at, locale, tz)
    supplied = day(snapshot.get("supplied_at"))
    treatment = snapshot.get("treatment") or {}
    mention = treatment.get("mention")
    taxes = snapshot.get("taxes", [])
    return env.get_template(name).render(
        doc=document, snapshot=snapshot, seller=seller, buyer=buyer, lang=locale[:2],
        title=gettext(TITLES.get(document.kind, "Invoice")),
        status=gettext(STATUS_BADGES.get(document.status, "OPEN")),
        tax_name=tax_name,
        seller_tax_label=gettext("VAT number") if named_tax == "VAT" else gettext("Tax ID"),
        buyer_tax_ids=[{"label": tax_id_label(t.get("type")), "value": t["value"]}
                       for t in buyer.get("tax_ids", [])],
        lines=[{**line, "description": described(line), "period": period(line),
                "unit": formatting.money_exact(line["unit_net"], document.currency, locale),
                "amount": money(line["net"]), "tax_rate": percent(line.get("tax_rate", "0"))}
               for line in _net_lines(snapshot)],
        taxes=[{"label": f"{gettext(tax['name'])} {percent(tax['rate'])}",
                "base": money(tax["base"]) if "base" in tax else
                (money(document.subtotal) if len(taxes) == 1 else None),
                "amount": money(tax["amount"])} for tax in taxes],
        totals={"subtotal": money(document.subtotal), "total": money(document.total),
                "paid": money(document.amount_paid), "refunded": money(abs(document.total)),
                "balance": money(max(document.total - document.amount_paid, 0))},
        issued=issued,
        supplied=supplied if supplied is not None and supplied != issued else None,
        paid=day(snapshot.get("paid_at")),
        mention=gettext(mention) if mention else None,
        reverse_charge=treatment.get("kind") == "reverse_charge",
        settles=snapshot.get("settles") or settles,
        settles_issued=day(snapshot.get("settles_issued_at")),
        credit_note=document.kind == CREDIT_NOTE,
        corrects_issued=day(snapshot.get("corrects_issued_at")),
        refunded=day(snapshot.get("refunded_at")),
        logo=_logo(settings.store.logo_file),
    )


def html_to_pdf(html: str) -> bytes:
    """Runs in the render process."""
    import weasyprint

    return weasyprint.HTML(string=html).write_pdf()  # type: ignore[no-any-return]


def _rendered(html: str) -> tuple[bytes, int, int]:
    """In the render process: the PDF, and the process's id and resident memory in bytes."""
    return html_to_pdf(html), os.getpid(), _resident_bytes()


def _resident_bytes() -> int:
    try:  # Linux: pages in memory now (getrusage only knows the peak)
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _warm() -> int:
    import weasyprint  # noqa: F401 - the slow part of a first render is this import

    return os.getpid()


def _new_pool() -> ProcessPoolExecutor:
    """A render process, started and warmed up. Blocks for a second or more: never call it on
    the event loop."""
    # forkserver: a clean child, not a copy of a process with an event loop and DB threads.
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("forkserver"))
    pool.submit(_warm).result()
    return pool


class RenderWorker:
    """One warm WeasyPrint process for the whole portal.

    It is started in a thread, so the event loop (every front door) never waits for a process
    to start, and it is replaced after `recycle_after` renders or once it holds more than
    `memory_limit` bytes: WeasyPrint's caches grow with every document.
    """

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = asyncio.Lock()
        self.renders = 0  # by the current process
        self.pid: int | None = None  # of the process that made the last PDF

    async def start(self) -> None:
        async with self._lock:
            if self._pool is None:
                self._pool = await asyncio.to_thread(_new_pool)
                self.renders = 0

    async def render(self, html: str, *, recycle_after: int, memory_limit: int) -> bytes:
        await self.start()
        assert self._pool is not None
        pool = self._pool
        pdf, self.pid, resident = await asyncio.get_running_loop().run_in_executor(pool, _rendered, html)
        self.renders += 1
        if (self.renders >= recycle_after or resident > memory_limit) and self._pool is pool:
            self._pool = None
            # The next render (or this task) starts a fresh process; the old one finishes what
            # it has, then exits, without holding up anyone.
            asyncio.get_running_loop().run_in_executor(None, partial(pool.shutdown, wait=True))
        return pdf

    async def close(self) -> None:
        async with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True)


RENDERER = RenderWorker()


def stored_path(settings: Settings, sha256: str) -> Path:
    return settings.data_dir / "documents" / f"{sha256}.pdf"


async def pdf_for(session: AsyncSession, settings: Settings, document: Document) -> bytes:
    """The document's PDF: the stored bytes, or rendered now and stored for next time."""
    if document.pdf_sha256:
        path = stored_path(settings, document.pdf_sha256)
        if path.is_file():
            return await asyncio.to_thread(path.read_bytes)
    settles = None
    if document.kind == RECEIPT and "settles" not in document.snapshot and document.related_document_id:
        invoice = await session.get(Document, document.related_document_id)
        settles = invoice.number if invoice is not None else None
    pdf = await RENDERER.render(render_html(document, settings, settles=settles),
                                recycle_after=settings.render_recycle_after,
                                memory_limit=settings.render_memory_limit_mb * 1024 * 1024)
    digest = hashlib.sha256(pdf).hexdigest()
    path = stored_path(settings, digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    await asyncio.to_thread(temporary.write_bytes, pdf)
    temporary.replace(path)
    if document.pdf_sha256 is None:
        document.pdf_sha256 = digest
    return pdf


def filename(document: Document) -> str:
    return f"{document.number}.pdf"



