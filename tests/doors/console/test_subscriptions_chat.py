"""The subscription commands in `shopkeep chat`: `-c "change <product> <plan>"` prints the
preview's amounts (the demo is seeded as of now, so they are checked to add up), and a change
asks y/N: yes carries it out once, no leaves it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from bot.cli import run
from bot.console import chat
from bot.console.chat import ConsoleSession, console_caller
from config.settings import load_settings
from core.kernel.portal import Portal
from tests.handlers.subscribing import ALICE, state

AMOUNT = r"(-?)\$([\d,]+\.\d\d)"


def amount(text: str, label: str) -> Decimal:
    found = re.search(rf"^{re.escape(label)}\s+{AMOUNT}\s*$", text, re.M)
    assert found, f"{label!r} not in:\n{text}"
    return Decimal(found[2].replace(",", "")) * (-1 if found[1] else 1)


@pytest.fixture
async def portal(data_dir: Path) -> AsyncIterator[Portal]:
    portal = Portal.open(load_settings())
    try:
        yield portal
    finally:
        await portal.close()


def test_change_prints_the_amounts_of_the_preview(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run(["chat", "--as", ALICE, "-c", "change maker-pro yearly"]) == 0
    out = capsys.readouterr().out

    assert "Move Maker Pro Membership to Pro yearly?" in out
    assert "Charged now to your Visa ending in 4242." in out
    credit, year = amount(out, "Unused time on Pro monthly"), amount(out, "Pro yearly, a new period from today")
    due = amount(out, "Due now")
    assert year == Decimal("120.00") and Decimal("-12.00") <= credit < 0 and due == year + credit
    assert re.search(r"^Then\s+\$120\.00 a year, renewing on ", out, re.M)
    assert re.search(r"To go ahead, send `confirm [0-9A-Z]{6}`", out)

    assert run(["chat", "--as", ALICE, "-c", "change maker-pro basic"]) == 0
    later = capsys.readouterr().out
    assert "Move Maker Pro Membership from Pro monthly to Basic monthly on " in later
    assert re.search(r"^Then\s+\$5\.00 a month, renewing on ", later, re.M) and "Due now" not in later


@pytest.mark.parametrize(("answer", "cancelled"), [("y", True), ("n", False)])
async def test_a_change_asks_yes_or_no_and_runs_once(portal: Portal, data_dir: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str], answer: str,
                                                     cancelled: bool) -> None:
    asked: list[str] = []

    async def ask(prompt: str) -> str:
        asked.append(prompt)
        return answer

    monkeypatch.setattr(chat, "_ask", ask)
    session = ConsoleSession(portal, await console_caller(portal, ALICE), data_dir / "downloads")
    capsys.readouterr()

    reply = await session.run_line("cancel maker-pro", interactive=True)

    assert asked == ["Cancel Maker Pro Membership. Go ahead? [y/N] "]
    out = capsys.readouterr().out
    assert "when the current period ends, and you keep access until then" in out
    assert "cancel maker-pro too expensive" in out, "the reasons, as lines to send"
    assert ("is cancelled: it ends on" in out) == cancelled
    assert (await state(portal, ALICE)).cancel_at_period_end == cancelled
    assert reply.ok
