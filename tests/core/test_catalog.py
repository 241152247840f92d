"""Catalog sync: idempotent, deactivates instead of deleting, and explains bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.catalog import read_catalog, sync_catalog
from core.demo import DEMO_CATALOG
from core.errors import InvalidInput
from core.models import Deliverable, Plan, Product
from core.portal import Portal


async def counts(portal: Portal) -> tuple[int, int, int]:
    async with portal.db.unit_of_work() as session:
        return tuple([await session.scalar(select(func.count()).select_from(t))  # type: ignore[return-value]
                      for t in (Product, Plan, Deliverable)])


async def sync(portal: Portal, path: Path) -> str:
    async with portal.db.unit_of_work() as session:
        return (await sync_catalog(session, read_catalog(path))).summary()


async def test_sync_is_idempotent(portal: Portal) -> None:
    first = await sync(portal, DEMO_CATALOG)
    before = await counts(portal)
    assert first.startswith("created: ebook, pixel-studio")
    assert await sync(portal, DEMO_CATALOG) == "catalog is up to date"
    assert await counts(portal) == before == (4, 6, 8)


async def test_changes_update_and_removals_deactivate(portal: Portal, tmp_path: Path) -> None:
    await sync(portal, DEMO_CATALOG)
    text = DEMO_CATALOG.read_text().replace("price = 1900", "price = 2500")
    start = text.index("[[products]]\nslug = \"founders-circle\"")
    changed = tmp_path / "catalog.toml"
    changed.write_text(text[:start])
    assert await sync(portal, changed) == "updated: ebook; deactivated: founders-circle"
    async with portal.db.unit_of_work() as session:
        founders = await session.scalar(select(Product).where(Product.slug == "founders-circle"))
        ebook_plan = await session.scalar(select(Plan).where(Plan.slug == "standard"))
    assert founders is not None and not founders.active
    assert ebook_plan is not None and ebook_plan.price == 2500


@pytest.mark.parametrize(("snippet", "message"), [
    ('[[products]]\nslug="pro"\nname="Pro"\nkind="subscription"\n[[products.plans]]\nslug="m"\nname="M"\n'
     'price=1\ncurrency="USD"\n', r"products\[pro\]: .*subscription plans need an interval"),
    ('[[products]]\nslug="e"\nname="E"\nkind="one_time"\n[[products.plans]]\nslug="s"\nname="S"\nprice=1\n'
     'currency="USD"\n[[products.deliverables]]\nkind="file"\nlabel="x"\nfile="../etc/passwd"\n',
     r"products\[e\].deliverables\[0\]: .*inside the data dir"),
    ('[[products]]\nslug="e"\nname="E"\nkind="one_time"\n[[products.plans]]\nslug="s"\nname="S"\nprice=1\n'
     'currency="usd"\n', r"products\[e\].plans\[s\].currency"),
])
def test_bad_files_name_the_place(tmp_path: Path, snippet: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(snippet)
    with pytest.raises(InvalidInput, match=message):
        read_catalog(path)
