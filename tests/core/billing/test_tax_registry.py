"""The optional online check: with SHOPKEEP_TAX_ID_CHECK=vies, an added EU VAT number is asked
of VIES once its change has committed (on the domain event). Registered: verified; not: "not
registered" and no longer used on invoices; VIES unable to answer: still "not verified", and
asked again later. Offline nothing is ever called "not registered"."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.bootstrap import event_worker
from core.kernel.portal import Portal
from core.models import TaxId
from core.models.billing_details import NOT_REGISTERED, NOT_VERIFIED, VERIFIED
from handlers.dispatcher import Dispatcher
from tests.fakes.vies import FakeVies
from tests.helpers import caller_for


@pytest.fixture
async def vies() -> AsyncIterator[FakeVies]:
    async with FakeVies(registered={"FR40303265045"}) as fake:
        yield fake


def checking(portal: Portal, vies: FakeVies) -> Portal:
    portal.settings = portal.settings.model_copy(update={"tax_id_check": "vies", "vies_url": vies.url})
    return portal


async def states(portal: Portal) -> dict[str, tuple[str, str | None]]:
    async with portal.db.unit_of_work() as session:
        return {t.value: (t.state, t.checked_by) for t in await session.scalars(select(TaxId))}


async def test_added_numbers_are_asked_of_vies_and_the_answer_kept(demo_portal: Portal, vies: FakeVies) -> None:
    portal = checking(demo_portal, vies)
    dispatcher = Dispatcher(portal)
    alice = await caller_for(portal, "alice@example.com")
    added = await dispatcher.handle_line(alice, "taxid add FR23334175221")
    assert "We're asking VIES whether it is registered" in added.plain_text()
    assert (await states(portal))["FR23334175221"] == (NOT_VERIFIED, None)

    await event_worker(portal).deliver_due()
    assert await states(portal) == {"FR40303265045": (VERIFIED, "VIES"), "FR23334175221": (NOT_REGISTERED, "VIES")}
    assert {"countryCode": "FR", "vatNumber": "23334175221"} in vies.asked
    shown = (await dispatcher.handle_line(alice, "billing")).plain_text()
    assert "verified with VIES on Mar 15, 2026" in shown
    assert "not registered, VIES said on Mar 15, 2026; not used on invoices" in shown


async def test_vies_unable_to_answer_leaves_not_verified_and_asks_again(demo_portal: Portal, vies: FakeVies) -> None:
    portal = checking(demo_portal, vies)
    vies.down.add("FR")
    worker = event_worker(portal)
    await worker.deliver_due()
    assert (await states(portal))["FR40303265045"] == (NOT_VERIFIED, None)
    vies.down.clear()
    portal.clock.advance(minutes=1)  # type: ignore[attr-defined]
    await worker.deliver_due()
    assert (await states(portal))["FR40303265045"] == (VERIFIED, "VIES")


async def test_offline_nothing_is_asked_and_nothing_is_called_not_registered(demo_portal: Portal,
                                                                             vies: FakeVies) -> None:
    await event_worker(demo_portal).deliver_due()  # tax_id_check is off by default
    assert vies.asked == [] and await states(demo_portal) == {"FR40303265045": (NOT_VERIFIED, None)}
    alice = await caller_for(demo_portal, "alice@example.com")
    added = await Dispatcher(demo_portal).handle_line(alice, "taxid add FR23334175221")
    assert "It is not verified: we check its form, not whether it is registered." in added.plain_text()
