"""`payment` in `shopkeep chat`: the link printed for the operator acting as a customer, and the
y/N prompt of a change (yes changes it once, no leaves it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cli import run
from bot.console import chat
from bot.console.chat import ConsoleSession, console_caller
from config.settings import load_settings
from core.kernel.portal import Portal
from tests.handlers.cards import add_card, billed_by_shopkeep, cards, forget_cards

ALICE = "alice@example.com"


@pytest.fixture
async def portal(data_dir: Path) -> AsyncIterator[Portal]:
    portal = Portal.open(load_settings())
    await forget_cards(portal, ALICE)  # instead of the demo's card, these two
    await billed_by_shopkeep(portal, ALICE)
    await add_card(portal, ALICE, "pm_card_chargeDeclined")
    await add_card(portal, ALICE)
    try:
        yield portal
    finally:
        await portal.close()


def test_the_listing_prints_the_cards_and_the_link(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run(["chat", "--as", ALICE, "-c", "payment"]) == 0
    out = capsys.readouterr().out
    assert "Visa ending in 4242  12/29    yes      Maker Pro Membership" in out, "the demo's card"
    assert "Test mode" in out
    assert "Add or update a card (valid until " in out and "/pay/" in out


@pytest.mark.parametrize(("answer", "after"), [
    ("y", [("0002", True), ("4242", False)]),
    ("n", [("4242", True), ("0002", False)]),
])
async def test_a_change_asks_yes_or_no(portal: Portal, data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str], answer: str,
                                       after: list[tuple[str, bool]]) -> None:
    asked: list[str] = []

    async def ask(prompt: str) -> str:
        asked.append(prompt)
        return answer

    monkeypatch.setattr(chat, "_ask", ask)
    session = ConsoleSession(portal, await console_caller(portal, ALICE), data_dir / "downloads")
    capsys.readouterr()

    await session.run_line("payment default 2", interactive=True)

    assert asked == ["Make your Visa ending in 0002 your default payment method. Go ahead? [y/N] "]
    out = capsys.readouterr().out
    assert "Maker Pro Membership will renew with it instead of your Visa ending in 4242" in out
    assert ("is now your default payment method" in out) == (answer == "y")
    assert await cards(portal, ALICE) == after
