"""Every accepted message gets an answer or a recorded reason the operator can read."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from bot.cli import run
from bot.mail.worker import MailWorker
from config.settings import load_settings
from core.kernel.portal import Portal
from core.mail.inbox import InboxWriter

RAW = b"From: alice@example.com\r\nTo: portal@shop.test\r\nSubject: orders\r\nMessage-ID: <u1@x>\r\n\r\norders\r\n"


async def store_and_work() -> list[int]:
    portal = Portal.open(load_settings())
    try:
        assert await InboxWriter(portal).store(raw=RAW, envelope_from="alice@example.com",
                                               recipients=["portal@shop.test"])
        return [await MailWorker(portal).process_pending() for _ in range(2)]
    finally:
        await portal.close()


def test_a_message_that_cannot_be_read_is_recorded_at_once_and_listed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for key in list(os.environ):
        if key.startswith("SHOPKEEP_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SHOPKEEP_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SHOPKEEP_PORTAL_ADDRESS", "portal@shop.test")
    assert run(["demo"]) == 0

    def unreadable(self: Any, mail: Any) -> Any:
        raise ValueError("a header no parser knows")

    monkeypatch.setattr(MailWorker, "read", unreadable)
    assert asyncio.run(store_and_work()) == [1, 0], "recorded once, not left to be tried again"

    capsys.readouterr()
    assert run(["inbox"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "1 ignored"
    assert "unreadable: ValueError: a header no parser knows" in out
