"""Regenerate docs/sample-invoice.pdf from the demo store: `make sample-invoice`, or
`python -m scripts.sample_invoice [OUT.pdf]` from the top of the checkout.

The demo is seeded into a scratch data dir under a clock fixed at 15 March 2026, so the sample
changes only when the invoice or the demo does. The sample is Alice's Pixel Studio invoice: a
French business billed by the Irish demo store under the reverse charge.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bot.bootstrap import payment_provider
from config.settings import load_settings
from core import demo
from core.billing.render import RENDERER, pdf_for
from core.identity.customers import by_email
from core.kernel.portal import Portal
from core.models import Document
from core.models.billing import INVOICE

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DAY = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


async def sample() -> tuple[str, bytes]:
    """The sample invoice's number and PDF."""
    with tempfile.TemporaryDirectory() as scratch:
        settings = load_settings(data_dir=Path(scratch), store_name="Shopkeep Demo Store",
                                 portal_address="portal@shop.example.com",
                                 public_url="https://shop.example.com")
        portal = Portal.open(settings, clock=lambda: SAMPLE_DAY)
        try:
            await portal.db.upgrade()
            await demo.seed(portal, payments=payment_provider(portal))
            async with portal.db.unit_of_work() as session:
                alice = await by_email(session, demo.DEMO_CUSTOMER)
                assert alice is not None
                invoices = await session.scalars(select(Document).where(
                    Document.customer_id == alice.id, Document.kind == INVOICE).order_by(Document.id))
                invoice = next(d for d in invoices if d.snapshot["lines"][0]["description"]
                               .startswith("Pixel Studio"))
                return invoice.number, await pdf_for(session, portal.settings, invoice)
        finally:
            await RENDERER.close()
            await portal.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=ROOT / "docs" / "sample-invoice.pdf")
    args = parser.parse_args()
    number, pdf = asyncio.run(sample())
    args.out.write_bytes(pdf)
    print(f"{args.out}: invoice {number} of the demo store", file=sys.stderr)


if __name__ == "__main__":
    main()
