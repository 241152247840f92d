"""`shopkeep outbox` and `shopkeep outbox retry` as an operator uses them, with a real relay."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.conftest import TEST_SECRET
from tests.fakes.relay import CapturingRelay


async def shopkeep(env: dict[str, str], *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from bot.cli import main; main()", *args, env=env,
        cwd=Path(__file__).parents[3], stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    return output.decode()


async def test_queued_mail_is_listed_with_its_error_and_retried_on_demand(tmp_path: Path) -> None:
    relay = CapturingRelay()  # not started yet: the relay is down
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPKEEP_")}
    env.update(SHOPKEEP_DATA_DIR=str(tmp_path), SHOPKEEP_SECRET_KEY=TEST_SECRET,
               SHOPKEEP_MAIL_RELAY=relay.url, SHOPKEEP_PORTAL_ADDRESS="portal@shop.test")
    await shopkeep(env, "demo")  # seeds the demo store; its invites cannot go out
    listing = await shopkeep(env, "outbox")
    # The demo's invites: seven purchases and the seats alice assigned on her team; the notices
    # of the cards alice and bob saved; bob's notice that his Sprite Club renewal was declined;
    # and alice's notice of the part of her Pixel Studio purchase refunded.
    assert listing.splitlines()[0] == "13 queued"
    assert "alice@example.com" in listing and "Connect call failed" in listing

    await relay.start()
    try:
        assert "13 message(s) retried, 13 sent" in await shopkeep(env, "outbox", "retry")
        assert (await shopkeep(env, "outbox")).splitlines()[0] == "13 sent"
        assert "0 message(s) retried, 0 sent" in await shopkeep(env, "outbox", "retry")
    finally:
        await relay.stop()
    assert sorted(str(m["To"]) for m in relay.messages).count("alice@example.com") == 7
    assert len(relay.messages) == 13
