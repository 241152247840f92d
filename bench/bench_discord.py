"""Discord interaction -> callback latency at 50 concurrent interactions, against the local fake.

shopkeep's bot (`/shop orders` for a linked customer) vs a bare discord.py bot whose `/shop orders`
answers a constant, same fake, same run. Run: python -m bench.bench_discord [--rounds 10]
Goal: p99 <= 2x the bare bot.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import discord
from discord import app_commands

from bot.bootstrap import payment_provider
from bot.discord.door import DiscordDoor
from config.settings import load_settings
from core import demo
from core.identity import chat_links
from core.identity.customers import by_email
from core.kernel.portal import Portal
from tests.fakes.discord_api import DEFAULT_GUILD_ID, FakeDiscord
from tests.fakes.discord_gateway import DEFAULT_USER_ID, deliver_interaction, running, slash_payload


async def measure(client: discord.Client, fake: FakeDiscord, rounds: int, concurrency: int
                  ) -> tuple[list[float], list[float]]:
    """(interaction -> callback, interaction -> the answer the user reads) per interaction."""
    callbacks: list[float] = []
    answers: list[float] = []

    async def one(user_id: int) -> None:
        start = time.perf_counter()
        delivery = await deliver_interaction(client, fake, slash_payload("shop", "orders", user_id=user_id))
        await delivery.finished(within=30)
        answers.append(time.perf_counter() - start)
        [callback] = fake.interaction_responses(delivery.id)
        callbacks.append(callback.received_at - start)

    for _ in range(rounds):
        await asyncio.gather(*(one(DEFAULT_USER_ID + n) for n in range(concurrency)))
    return callbacks, answers


def bare_bot() -> discord.Client:
    client = discord.Client(intents=discord.Intents.none())
    tree = app_commands.CommandTree(client)
    group = app_commands.Group(name="shop", description="bare")

    @group.command(name="orders", description="constant")
    async def orders(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("You own 4 products.", ephemeral=True)

    tree.add_command(group, guild=discord.Object(DEFAULT_GUILD_ID))
    client.tree = tree  # type: ignore[attr-defined]
    return client


def summary(name: str, latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    print(f"{name:<28} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   ({len(ordered)} interactions)")
    return p50, p99


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    async with FakeDiscord(deadline=30) as fake:
        bare = bare_bot()
        async with running(bare, fake):
            await bare.tree.sync(guild=discord.Object(DEFAULT_GUILD_ID))  # type: ignore[attr-defined]
            await measure(bare, fake, 1, args.concurrency)
            baseline = await measure(bare, fake, args.rounds, args.concurrency)

        with tempfile.TemporaryDirectory() as data:
            settings = load_settings(data_dir=Path(data), secret_key="bench-secret-0123456789",
                                     discord_token=fake.token, discord_guild_id=DEFAULT_GUILD_ID,
                                     discord_api_url=fake.api_url)
            portal = Portal.open(settings)
            await portal.db.upgrade()
            await demo.seed(portal, payments=payment_provider(portal))
            async with portal.db.unit_of_work() as session:
                alice = await by_email(session, demo.DEMO_CUSTOMER)
                assert alice is not None
                for n in range(args.concurrency):
                    await chat_links.link_chat_account(session, alice, platform="discord",
                                                     account_id=str(DEFAULT_USER_ID + n))
            door = DiscordDoor(portal)
            async with running(door.client, fake):
                await door.tree.sync(guild=discord.Object(DEFAULT_GUILD_ID))
                await measure(door.client, fake, 1, args.concurrency)
                ours = await measure(door.client, fake, args.rounds, args.concurrency)
            await portal.close()

    print("interaction -> callback (what Discord's 3-second deadline measures)")
    _, bare_p99 = summary("  bare discord.py bot", baseline[0])
    _, our_p99 = summary("  shopkeep (/shop orders)", ours[0])
    print(f"  p99 ratio: {our_p99 / bare_p99:.2f}x (goal <= 2x)")
    print("interaction -> full answer on screen")
    _, bare_full = summary("  bare discord.py bot", baseline[1])
    _, our_full = summary("  shopkeep (/shop orders)", ours[1])
    print(f"  p99 ratio: {our_full / bare_full:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
