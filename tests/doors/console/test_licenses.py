"""Licenses, devices and team seats in `shopkeep chat`, on the store `shopkeep demo` seeds."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cli import run
from bot.console.chat import ConsoleSession, console_caller
from config.settings import load_settings
from core.kernel.portal import Portal


def test_the_demo_shows_alices_seats_and_devices(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run(["chat", "--as", "alice@example.com", "-c", "seats tileset-forge"]) == 0
    seats = capsys.readouterr().out
    assert re.search(r"1\s+bob@example.com\s+claimed\s+\S+ \d+, \d{4}\s+1/2", seats)
    assert re.search(r"2\s+dana@example.com\s+pending\s+\S+ \d+, \d{4}\s+0/2", seats)
    assert "2 of 5 seats assigned, 3 free." in seats
    assert "unassign tileset-forge dana@example.com   (Unassign 2)" in seats

    assert run(["chat", "--as", "alice@example.com", "-c", "devices tileset-forge"]) == 0
    devices = capsys.readouterr().out
    assert re.search(r"1\s+MacBook Pro \(Bob\)\s+macOS\s+bob@example.com", devices)
    assert re.search(r"deactivate tileset-forge [0-9a-f-]{36}\s+\(Deactivate 1\)", devices)


def test_licenses_and_a_stale_device(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run(["chat", "--as", "alice@example.com", "-c", "licenses", "-c", "devices pixel-studio"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"Tileset Forge Teams\s+one per member\s+1/4\s+2/5\s+active", out)
    assert re.search(r"2\s+Old ThinkPad\s+Windows\s+.*\(stale\)", out)


@pytest.fixture
async def alice(data_dir: Path) -> AsyncIterator[ConsoleSession]:
    portal = Portal.open(load_settings())
    try:
        yield ConsoleSession(portal, await console_caller(portal, "alice@example.com"), data_dir / "downloads")
    finally:
        await portal.close()


async def test_deactivate_asks_y_or_n_and_runs_once(alice: ConsoleSession, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    declined = await alice.run_line("deactivate pixel-studio 2", interactive=True)
    assert "Nothing was changed" in declined.plain_text()

    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    done = await alice.run_line("deactivate pixel-studio 2", interactive=True)
    out = capsys.readouterr().out
    assert "Deactivate 'Old ThinkPad' on Pixel Studio Pro. Go ahead? [y/N]" in out
    assert "To go ahead, send" not in out  # the prompt asks itself
    assert done.title == "Deactivated"
    listed = await alice.run_line("devices pixel-studio")
    assert [row[1] for row in listed.tables[0].rows] == ["Studio iMac"]


async def test_assign_and_unassign_with_typed_codes(alice: ConsoleSession) -> None:
    asked = await alice.run_line("assign tileset-forge erin@example.com")
    assert asked.confirmation is not None
    assert (await alice.run_line(f"confirm {asked.confirmation.code}")).title == "Seat assigned"
    seats = await alice.run_line("seats tileset-forge")
    assert [row[1] for row in seats.tables[0].rows] == ["bob@example.com", "dana@example.com",
                                                         "erin@example.com"]
    taken = await alice.run_line("unassign tileset-forge dana@example.com")
    assert taken.confirmation is not None
    assert (await alice.run_line(f"confirm {taken.confirmation.code}")).title == "Seat freed"
    again = await alice.run_line(f"confirm {taken.confirmation.code}")
    assert not again.ok and "already done" in again.plain_text()
    seats = await alice.run_line("seats tileset-forge")
    assert [row[1] for row in seats.tables[0].rows] == ["bob@example.com", "erin@example.com"]


def test_another_customer_reaches_nothing_of_alices(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    for line in ("devices pixel-studio", "deactivate pixel-studio 1", "deactivate pixel-studio all",
                 "seats tileset-forge", "assign tileset-forge erin@example.com",
                 "unassign tileset-forge dana@example.com"):
        assert run(["chat", "--as", "bob@example.com", "-c", line]) == 1, line
    out = capsys.readouterr().out
    assert "Studio iMac" not in out and "Old ThinkPad" not in out and "dana@example.com" not in out.replace(
        "unassign tileset-forge dana@example.com", "")
