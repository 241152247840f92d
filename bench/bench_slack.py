"""Slash-command ack latency: shopkeep's Slack door against a bare slack-bolt app that only acks.

    python -m bench.bench_slack [--rounds 40] [--concurrency 50] [--database-url URL]

Both apps are served the same way (aiohttp, bolt's request adapter, process_before_response), each
in its own process, on loopback; a local stand-in for Slack's side (Web API, response_url) runs in
a third. Each round sends
`concurrency` signed `/shop orders` requests at once to one app, then the other (alternating which
goes first); shopkeep runs each command for a linked customer after acking, so its acks share the
process with that work. Between rounds shopkeep is let finish its answers. Prints p50/p99 of each
and the ratio (goal: shopkeep's p99 <= 2x bare bolt's).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, TCPConnector, web

from bot.bootstrap import payment_provider
from core.identity import chat_links

SECRET = "bench-signing-secret-0123456789"
TOKEN = "xoxb-bench"
TEAM, USER = "T0BENCH", "U0BENCH"
WARMUP_ROUNDS = 2
GOAL = 2.0


# ---------------------------------------------------------------- the servers (child processes)


async def _serve_slack() -> None:
    """The stand-in for Slack's side (Web API, response_url) in a process of its own, so what it
    keeps of every call weighs on neither app."""
    from tests.fakes.slack_api import FakeSlack

    async with FakeSlack() as fake:
        fake.add_workspace(TEAM, TOKEN, users={USER: {}})
        await _until_stdin_closes(fake.base_url)


async def _serve_shopkeep(slack_url: str, database_url: str | None) -> None:
    from bot.slack import mount
    from bot.web import create_app
    from config.settings import load_settings
    from core import demo
    from core.identity.customers import by_email
    from core.kernel.portal import Portal
    from core.models import Base

    with tempfile.TemporaryDirectory() as data:
        settings = load_settings(
            data_dir=Path(data), secret_key="bench-secret-key-0123456789", database_url=database_url,
            slack_signing_secret=SECRET, slack_bot_token=TOKEN, slack_api_url=f"{slack_url}/api/")
        portal = Portal.open(settings)
        async with portal.db.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)  # leaves existing tables alone
        await demo.seed(portal, payments=payment_provider(portal))
        async with portal.db.unit_of_work() as session:
            alice = await by_email(session, demo.DEMO_CUSTOMER)
            assert alice is not None
            await chat_links.link_chat_account(session, alice, platform="slack",
                                             account_id=f"{TEAM}:{USER}")
        app = create_app(portal)
        door = mount(app, portal)
        assert door is not None

        async def idle(request: web.Request) -> web.Response:
            await door.idle()
            return web.Response(text="idle")

        app.router.add_get("/bench/idle", idle)
        await _serve(app, start=door.start, stop=door.close)
        await portal.close()


async def _serve_bare(slack_url: str) -> None:
    from slack_bolt.adapter.aiohttp import to_aiohttp_response
    from slack_bolt.async_app import AsyncAck, AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack.http import bolt_request

    bolt = AsyncApp(signing_secret=SECRET, process_before_response=True,
                    client=AsyncWebClient(token=TOKEN, base_url=f"{slack_url}/api/"))

    @bolt.command("/shop")
    async def ack_only(ack: AsyncAck) -> None:
        await ack()

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await bolt_request(request)))

    async def idle(request: web.Request) -> web.Response:
        return web.Response(text="idle")

    app = web.Application()
    app.router.add_post("/slack/events", events)
    app.router.add_get("/bench/idle", idle)
    await _serve(app)


async def _serve(app: web.Application, *, start: Any = None, stop: Any = None) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    if start is not None:
        await start()
    host, port = runner.addresses[0][:2]
    await _until_stdin_closes(f"http://{host}:{port}")
    if stop is not None:
        await stop()
    await runner.cleanup()


async def _until_stdin_closes(url: str) -> None:
    print(url, flush=True)
    # The parent closes our stdin to stop us.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


# ---------------------------------------------------------------- the load (parent process)


class Target:
    """A server in a child process, stopped by closing its stdin."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, url: str) -> None:
        self.name, self.process, self.url = name, process, url
        self.latencies: list[float] = []

    @classmethod
    async def start(cls, name: str, *extra: str) -> Target:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.bench_slack", "--serve", name, *extra,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 120)
        if not line:
            raise SystemExit(f"the {name} server did not start")
        return cls(name, process, line.decode().strip())

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        await asyncio.wait_for(self.process.wait(), 60)


async def _one(http: ClientSession, target: Target, slack: Target, serial: int) -> float:
    from tests.fakes.slack_signing import signed_headers, slash_command_body

    body = slash_command_body(text="orders", team_id=TEAM, user_id=USER,
                              response_url=f"{slack.url}/response/{target.name}{serial}")
    headers = signed_headers(body, SECRET)
    began = time.perf_counter()
    async with http.post(f"{target.url}/slack/events", data=body, headers=headers) as resp:
        await resp.read()
        elapsed = time.perf_counter() - began
        if resp.status != 200:
            raise SystemExit(f"{target.name} answered {resp.status}")
    return elapsed


async def _round(http: ClientSession, target: Target, slack: Target, concurrency: int, first: int
                 ) -> list[float]:
    latencies = await asyncio.gather(*(_one(http, target, slack, first + n)
                                       for n in range(concurrency)))
    async with http.get(f"{target.url}/bench/idle") as resp:
        await resp.read()
    return list(latencies)


async def bench(rounds: int, concurrency: int, database_url: str | None) -> dict[str, Any]:
    slack = await Target.start("slack")
    extra = ["--slack-url", slack.url]
    shopkeep = await Target.start("shopkeep", *extra,
                                  *(["--database-url", database_url] if database_url else []))
    bare = await Target.start("bare", *extra)
    serial = 0
    try:
        async with ClientSession(connector=TCPConnector(limit=0)) as http:
            for number in range(WARMUP_ROUNDS + rounds):
                order = (shopkeep, bare) if number % 2 == 0 else (bare, shopkeep)
                for target in order:
                    latencies = await _round(http, target, slack, concurrency, serial)
                    serial += concurrency
                    if number >= WARMUP_ROUNDS:
                        target.latencies += latencies
    finally:
        for target in (shopkeep, bare, slack):
            await target.stop()
    result: dict[str, Any] = {"rounds": rounds, "concurrency": concurrency}
    for target in (shopkeep, bare):
        result[target.name] = {
            "requests": len(target.latencies),
            "p50_ms": 1000 * statistics.median(target.latencies),
            "p99_ms": 1000 * statistics.quantiles(target.latencies, n=100)[98],
            "max_ms": 1000 * max(target.latencies),
        }
    result["p50_ratio"] = result["shopkeep"]["p50_ms"] / result["bare"]["p50_ms"]
    result["p99_ratio"] = result["shopkeep"]["p99_ms"] / result["bare"]["p99_ms"]
    return result


def report(result: dict[str, Any]) -> str:
    lines = [f"Slack slash-command ack latency, {result['concurrency']} concurrent signed requests, "
             f"{result['rounds']} rounds each (loopback)"]
    for name, label in (("shopkeep", "shopkeep /shop orders"), ("bare", "bare slack-bolt ack")):
        r = result[name]
        lines.append(f"  {label:<24} p50 {r['p50_ms']:7.2f} ms   p99 {r['p99_ms']:7.2f} ms   "
                     f"max {r['max_ms']:7.2f} ms   ({r['requests']} requests)")
    verdict = "ok" if result["p99_ratio"] <= GOAL else "over the goal"
    lines.append(f"  ratio shopkeep/bare      p50 {result['p50_ratio']:5.2f}x   "
                 f"p99 {result['p99_ratio']:5.2f}x   (goal p99 <= {GOAL:.0f}x: {verdict})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_slack", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--database-url",
                        help="an empty PostgreSQL or SQLite database (default: a temporary SQLite)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("--serve", choices=("slack", "shopkeep", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--slack-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    if args.serve == "slack":
        asyncio.run(_serve_slack())
        return 0
    if args.serve == "shopkeep":
        asyncio.run(_serve_shopkeep(args.slack_url, args.database_url))
        return 0
    if args.serve == "bare":
        asyncio.run(_serve_bare(args.slack_url))
        return 0
    result = asyncio.run(bench(max(1, args.rounds), max(1, args.concurrency), args.database_url))
    print(report(result))
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
