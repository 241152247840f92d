"""Rendering documents: Jinja2 HTML (translatable, the customer's locale) to PDF with WeasyPrint.

Template variables: doc (number, kind, status), title, status, snapshot (as issued), seller,
buyer, lines (description, quantity, unit, tax_rate, amount: formatted), taxes (label, amount),
totals (subtotal, total, paid, balance), issued, paid, logo (data URI or None), lang, and `_`
for translations.

A PDF is rendered once and kept under <data dir>/documents/<sha256>.pdf; later requests read
those bytes. WeasyPrint runs in a separate process, so a render never stalls the event loop,
and it is imported only there.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import mimetypes
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

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


def render_html(document: Document, settings: Settings) -> str:
    snapshot = document.snapshot
    buyer = snapshot["buyer"]
    locale = formatting.locale_or_default(buyer.get("locale") or settings.store.locale)
    tz = buyer.get("timezone") or settings.store.timezone
    env, name = _environment(settings.store.template_file, locale)
    gettext = translations(locale).gettext

    def money(amount: int) -> str:
        return formatting.money(amount, document.currency, locale)

    def percent(rate: str) -> str:
        return format_decimal(Decimal(rate), locale=locale) + " %"

    paid_at = snapshot.get("paid_at")
    return env.get_template(name).render(
        doc=document, snapshot=snapshot, seller=snapshot["seller"], buyer=buyer, lang=locale[:2],
        title=gettext(TITLES.get(document.kind, "Invoice")),
        status=gettext(STATUS_BADGES.get(document.status, "OPEN")),
        lines=[{**line, "description": gettext(LINE_NAMES[line["kind"]]) if line.get("kind") in LINE_NAMES
                 else line["description"],
                "unit": money(line["unit_amount"]), "amount": money(line["amount"]),
                "tax_rate": percent(line.get("tax_rate", "0"))} for line in snapshot["lines"]],
        taxes=[{"label": f"{tax['name']} {percent(tax['rate'])}", "amount": money(tax["amount"])}
               for tax in snapshot.get("taxes", [])],
        totals={"subtotal": money(document.subtotal), "total": money(document.total),
                "paid": money(document.amount_paid),
                "balance": money(max(document.total - document.amount_paid, 0))},
        issued=formatting.date(document.issued_at, locale, tz),
        paid=formatting.date(datetime.fromisoformat(paid_at), locale, tz) if paid_at else None,
        logo=_logo(settings.store.logo_file),
    )


def html_to_pdf(html: str) -> bytes:
    """Runs in the render process."""
    import weasyprint

    return weasyprint.HTML(string=html).write_pdf()  # type: ignore[no-any-return]


_pool: ProcessPoolExecutor | None = None


def render_pool() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        # forkserver: a clean child, not a copy of a process with an event loop and DB threads.
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("forkserver"))
    return _pool


async def render_pdf(html: str) -> bytes:
    return await asyncio.get_running_loop().run_in_executor(render_pool(), html_to_pdf, html)


def stored_path(settings: Settings, sha256: str) -> Path:
    return settings.data_dir / "documents" / f"{sha256}.pdf"


async def pdf_for(session: AsyncSession, settings: Settings, document: Document) -> bytes:
    """The document's PDF: the stored bytes, or rendered now and stored for next time."""
    if document.pdf_sha256:
        path = stored_path(settings, document.pdf_sha256)
        if path.is_file():
            return await asyncio.to_thread(path.read_bytes)
    pdf = await render_pdf(render_html(document, settings))
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



