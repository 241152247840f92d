"""Invoice PDFs: a fresh render through shopkeep, serving the stored PDF, and bare WeasyPrint
on the same HTML, in one run, with the ratios.

Run: python -m bench.bench_invoices [--rounds 10]
Goals: stored <= 0.05x fresh; fresh <= 1.2x bare.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from bot.bootstrap import payment_provider
from config.settings import load_settings
from core import demo
from core.billing.render import RENDERER, pdf_for, render_html
from core.kernel.portal import Portal
from core.models import Document


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    import weasyprint  # the baseline renders in this process, as a bare script would

    with tempfile.TemporaryDirectory() as data:
        portal = Portal.open(load_settings(data_dir=Path(data), secret_key="bench-secret-0123456789"))
        await portal.db.upgrade()
        await demo.seed(portal, payments=payment_provider(portal))
        async with portal.db.unit_of_work() as session:
            documents = list(await session.scalars(select(Document).where(Document.kind == "invoice")))
        html = render_html(documents[0], portal.settings)
        weasyprint.HTML(string=html).write_pdf()  # warm both sides: fonts, imports, the worker
        await RENDERER.start()

        bare, fresh, stored = [], [], []
        for document in documents[: args.rounds]:
            start = time.perf_counter()
            weasyprint.HTML(string=render_html(document, portal.settings)).write_pdf()
            bare.append(time.perf_counter() - start)
            async with portal.db.unit_of_work() as session:
                current = await session.get(Document, document.id)
                assert current is not None
                start = time.perf_counter()
                await pdf_for(session, portal.settings, current)
                fresh.append(time.perf_counter() - start)
            async with portal.db.unit_of_work() as session:
                current = await session.get(Document, document.id)
                assert current is not None
                start = time.perf_counter()
                await pdf_for(session, portal.settings, current)
                stored.append(time.perf_counter() - start)
        await portal.close()

    b, f, s = (statistics.median(x) * 1000 for x in (bare, fresh, stored))
    print(f"bare WeasyPrint (same HTML): {b:8.2f} ms")
    print(f"fresh render (shopkeep):     {f:8.2f} ms   {f / b:.2f}x bare (goal <= 1.2)")
    print(f"stored PDF (shopkeep):       {s:8.2f} ms   {s / f:.3f}x fresh (goal <= 0.05)")


if __name__ == "__main__":
    asyncio.run(main())
