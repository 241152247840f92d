"""Catalog sync: idempotent, deactivates instead of deleting, and explains bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.catalog.spec import read_catalog
from core.catalog.sync import sync_catalog
from core.demo import DEMO_CATALOG
from core.kernel.errors import InvalidInput, NotFound
from core.kernel.portal import Portal
from core.models import Deliverable, Plan, Product
from core.orders import downloads
from handlers.dispatcher import Dispatcher
from tests.helpers import caller_for


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
    assert await counts(portal) == before == (6, 8, 10)


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


def without_block(text: str, block_start: str, block_end: str) -> str:
    start = text.index(block_start)
    return text[:start] + text[text.index(block_end, start):]


async def test_removed_plans_and_deliverables_are_kept_but_inactive(demo_portal: Portal,
                                                                   tmp_path: Path) -> None:
    alice = await caller_for(demo_portal, "alice@example.com")
    assert alice.customer_id is not None
    before = await counts(demo_portal)
    async with demo_portal.db.unit_of_work() as session:
        pdf = await session.scalar(select(Deliverable).where(Deliverable.key == "pdf"))
        assert pdf is not None
        old_link = downloads.link_for(demo_portal, alice.customer_id, pdf).url.rpartition("/d/")[2]

    text = DEMO_CATALOG.read_text()
    text = without_block(text, '  [[products.plans]]\n  slug = "basic"', '  [[products.plans]]\n  slug = "monthly"')
    text = without_block(text, '  [[products.deliverables]]\n  key = "pdf"', '  [[products.deliverables]]\n  key = "checklist"')
    changed = tmp_path / "catalog.toml"
    changed.write_text(text)
    assert await sync(demo_portal, changed) == "updated: ebook, maker-pro"
    assert await sync(demo_portal, changed) == "catalog is up to date"
    assert await counts(demo_portal) == before, "nothing is deleted: past orders point at it"
    async with demo_portal.db.unit_of_work() as session:
        basic = await session.scalar(select(Plan).where(Plan.slug == "basic"))
        pdf = await session.scalar(select(Deliverable).where(Deliverable.key == "pdf"))
        assert basic is not None and not basic.active
        assert pdf is not None and not pdf.active
        with pytest.raises(NotFound):
            await downloads.resolve(session, demo_portal, old_link)

    ebook = await Dispatcher(demo_portal).handle_line(alice, "product ebook")
    assert ebook.ok and [link.label for link in ebook.links] == ["Bonus: launch checklist (Notion template)"]

    assert await sync(demo_portal, DEMO_CATALOG) == "updated: ebook, maker-pro"
    async with demo_portal.db.unit_of_work() as session:
        assert all(await session.scalars(select(Plan.active)))
        assert all(await session.scalars(select(Deliverable.active)))


async def test_a_product_put_back_is_active_again(portal: Portal, tmp_path: Path) -> None:
    await sync(portal, DEMO_CATALOG)
    text = DEMO_CATALOG.read_text()
    shorter = tmp_path / "catalog.toml"
    shorter.write_text(text[:text.index('[[products]]\nslug = "founders-circle"')])
    assert await sync(portal, shorter) == "deactivated: founders-circle"
    assert await sync(portal, DEMO_CATALOG) == "updated: founders-circle"
    async with portal.db.unit_of_work() as session:
        assert all(await session.scalars(select(Product.active)))


@pytest.mark.parametrize(("snippet", "message"), [
    ('[[products]]\nslug="e"\nname="E"\nkind="one_time"\n', r"products\[e\].plans: is missing$"),
    ('[[products]]\nslug="Bad Slug"\nname="E"\nkind="one_time"\n[[products.plans]]\nslug="s"\nname="S"\n'
     'price=1\ncurrency="USD"\n', r"products\[Bad Slug\].slug"),
    ('[[products]]\nslug="e"\nname="E"\nkind="one_time"\n[[products.plans]]\nslug="s"\nname="S"\n'
     'price=-1\ncurrency="USD"\n', r"products\[e\].plans\[s\].price"),
    ('[[products]]\nslug="e"\nname="E"\nkind="one_time"\n[[products.plans]]\nslug="s"\nname="S"\nprice=1\n'
     'currency="USD"\n[[products.deliverables]]\nkind="link"\nlabel="x"\n', r"products\[e\].deliverables\[0\]: .*needs `url`"),
    ('products = [\n', r"bad\.toml: "),
    ('[[products]]\nslug="pro"\nname="Pro"\nkind="subscription"\n[[products.plans]]\nslug="m"\nname="M"\n'
     'price=1\ncurrency="USD"\n', r"products\[pro\]: .*subscription plans need an interval"),
    ('[[products]]\nslug="e"\nname="E"\nkind="one_time"\n[[products.plans]]\nslug="s"\nname="S"\nprice=1\n'
     'currency="USD"\n[[products.deliverables]]\nkind="file"\nlabel="x"\nfile="../etc/passwd"\n',
     r"products\[e\].deliverables\[0\]: .*inside the data dir"),
    ('[[products]]\nslug="e"\nname="E"\nkind="one_time"\n[[products.plans]]\nslug="s"\nname="S"\nprice=1\n'
     'currency="usd"\n', r"products\[e\].plans\[s\].currency"),
    # Before team seats, `seats` counted devices: such a catalog is stopped, not made a team product.
    ('[[products]]\nslug="e"\nname="E"\nkind="one_time"\n[products.license]\nseats=3\n[[products.plans]]\n'
     'slug="s"\nname="S"\nprice=1\ncurrency="USD"\n',
     r"products\[e\].license: `seats` now means team members .*rename `seats = 3` to `activation_limit = 3`"),
    ('[[products]]\nslug="e"\nname="E"\nkind="one_time"\n[products.license]\nexpires_after="a year"\n'
     '[[products.plans]]\nslug="s"\nname="S"\nprice=1\ncurrency="USD"\n',
     r"products\[e\].license.expires_after: .*not a duration like \"365d\""),
    *[('[[products]]\nslug="e"\nname="E"\nkind="one_time"\n[products.license]\n'
       f'lemonsqueezy_{which}_id={value}\n[[products.plans]]\nslug="s"\nname="S"\nprice=1\ncurrency="USD"\n',
       rf"products\[e\].license.lemonsqueezy_{which}_id: `lemonsqueezy_{which}_id` must be the number "
       rf"Lemon Squeezy shows for it, a whole number such as 12345, not {shown}$")
      for which, value, shown in (("store", '"abc"', "'abc'"), ("product", "0", "0"),
                                  ("variant", "true", "True"), ("store", "1.5", "1.5"),
                                  ("product", str(2**63), str(2**63)))],
])
def test_bad_files_name_the_place(tmp_path: Path, snippet: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(snippet)
    with pytest.raises(InvalidInput, match=message):
        read_catalog(path)


def test_a_license_policy_reads_its_limits_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "catalog.toml"
    path.write_text('[[products]]\nslug="e"\nname="E"\nkind="one_time"\n[products.license]\n'
                    '[[products.plans]]\nslug="s"\nname="S"\nprice=1\ncurrency="USD"\n'
                    '[[products]]\nslug="t"\nname="T"\nkind="one_time"\n[products.license]\n'
                    'activation_limit=2\nseats=5\nexpires_after="52w"\ncustomer_can_deactivate=false\n'
                    '[[products.plans]]\nslug="s"\nname="S"\nprice=1\ncurrency="USD"\n')
    single, team = [p.license for p in read_catalog(path).products]
    assert single is not None and (single.activation_limit, single.seats, single.days) == (1, None, None)
    assert single.customer_can_deactivate
    assert team is not None and (team.activation_limit, team.seats, team.days) == (2, 5, 364)
    assert not team.customer_can_deactivate


async def test_lemon_squeezy_ids_reach_the_products_table(portal: Portal, tmp_path: Path) -> None:
    path = tmp_path / "catalog.toml"
    path.write_text('[[products]]\nslug="app"\nname="App"\nkind="one_time"\n[products.license]\n'
                    'lemonsqueezy_store_id=76833\nlemonsqueezy_product_id="1030025"\n'
                    'lemonsqueezy_variant_id=1615641\n'
                    '[[products.plans]]\nslug="s"\nname="S"\nprice=1\ncurrency="USD"\n')
    async with portal.db.unit_of_work() as session:
        await sync_catalog(session, read_catalog(path))
        product = await session.scalar(select(Product).where(Product.slug == "app"))
    assert product is not None
    assert (product.lemonsqueezy_store_id, product.lemonsqueezy_product_id,
            product.lemonsqueezy_variant_id) == (76833, 1030025, 1615641)
