"""`shopkeep renewals` as an operator runs it on the demo store: what is due, refusing to run
in the future, and one pass that charges nothing before its time."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import TEST_SECRET


async def shopkeep(env: dict[str, str], *args: str, code: int = 0) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from bot.cli import main; main()", *args, env=env,
        cwd=Path(__file__).parents[3], stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate()
    assert process.returncode == code, output.decode()
    return output.decode()


async def test_renewals_say_what_is_due_and_never_run_ahead_of_time(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPKEEP_")}
    env.update(SHOPKEEP_DATA_DIR=str(tmp_path), SHOPKEEP_SECRET_KEY=TEST_SECRET)
    await shopkeep(env, "demo")
    later = (datetime.now(UTC) + timedelta(days=40)).strftime("%Y-%m-%dT%H:%MZ")

    ahead = await shopkeep(env, "renewals", "--dry-run", "--at", later)
    lines = ahead.splitlines()
    assert lines[0].startswith("2 subscription(s) due as of")
    assert any("maker-pro" in line and "charge $12.00 for the period from" in line for line in lines)
    assert any("sprite-club" in line and "retry the failed payment (attempt 2)" in line for line in lines)

    refused = await shopkeep(env, "renewals", "--at", later, code=1)
    assert "--at: may not be later than now (add --dry-run" in refused
    bad = await shopkeep(env, "renewals", "--at", "next tuesday", code=1)
    assert "--at: 'next tuesday' is not a time like 2026-04-01T00:00Z" in bad

    now = await shopkeep(env, "renewals")
    assert now.splitlines()[-1] == "0 charged, 0 failed, 0 changed"
    assert (await shopkeep(env, "renewals", "--dry-run")).startswith("0 subscription(s) due")


async def test_store_notices_are_listed_for_the_operator(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPKEEP_")}
    env.update(SHOPKEEP_DATA_DIR=str(tmp_path), SHOPKEEP_SECRET_KEY=TEST_SECRET)
    listing = await shopkeep(env, "merchant-notices")
    assert listing.splitlines() == [
        "SHOPKEEP_MERCHANT_WEBHOOK_URL is not set: store-billed subscriptions offer cancel only, mailed "
        "to the store's contact address", "no notices yet"]
