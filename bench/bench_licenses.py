"""License validations per second through the HTTP license API, against a bare aiohttp handler.

    python -m bench.bench_licenses [--rounds 6] [--requests 2000] [--concurrency 32] [--database-url URL]

shopkeep's server (the demo store, a key with a device on it) and a bare aiohttp app whose one
handler answers POST /v1/licenses/validate with a constant JSON body of the same shape each run in
a process of their own on loopback. The same client (one aiohttp session, form-encoded bodies as
the documentation shows them, `concurrency` requests in flight) sends `requests` validations of
the key and its instance to one, then the other, alternating which goes first, for several rounds.
Prints each side's validations per second (the median round) and the ratio (goal: at least 0.3),
and the CPU time each server process spent per validation (on Linux), which is steadier on a busy
machine than the rates (PostgreSQL's own CPU is not in shopkeep's figure).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, TCPConnector, web

GOAL = 0.3
WARMUP_ROUNDS = 1

# What the bare handler answers: a validation as shopkeep answers it, fixed once.
CONSTANT = json.dumps({
    "valid": True, "error": None,
    "license_key": {"id": 1, "status": "active", "key": "ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2",
                    "activation_limit": 3, "activation_usage": 3,
                    "created_at": "2026-01-24T14:15:07.000000Z", "expires_at": None, "test_mode": False},
    "instance": {"id": "47596ad9-a811-4ebf-ac8a-03fc7b6d2a17", "name": "Studio iMac",
                 "created_at": "2026-04-06T14:15:07.000000Z"},
    "meta": {"store_id": 1, "order_id": 3, "order_item_id": 3, "product_id": 2,
             "product_name": "Pixel Studio Pro", "variant_id": 2, "variant_name": "Team license",
             "customer_id": 1, "customer_name": "Alice Moreau", "customer_email": "alice@example.com"},
})


# ---------------------------------------------------------------- the servers (child processes)


@asynccontextmanager
async def _database(url: str | None) -> AsyncIterator[tuple[str | None, dict[str, Any]]]:
    """SQLite in the data dir by default; on PostgreSQL a schema of its own, dropped afterwards."""
    if url is None or url.startswith("sqlite"):
        yield url, {}
        return
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    url = "postgresql+asyncpg://" + url.partition("://")[2]
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(url)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url, {"server_settings": {"search_path": schema}}
    finally:
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


async def _serve_shopkeep(database_url: str | None) -> None:
    from sqlalchemy import select

    from bot.web import create_app
    from config.settings import load_settings
    from core import demo
    from core.identity.customers import by_email
    from core.kernel.db import Database
    from core.kernel.portal import Portal
    from core.models import Activation, License, Product

    with tempfile.TemporaryDirectory() as data:
        async with _database(database_url) as (url, connect_args):
            # Limits as high as the load: the limiter still runs on every request.
            settings = load_settings(data_dir=Path(data), secret_key="bench-secret-key-0123456789",
                                     database_url=url, license_api_requests_per_minute=10**9)
            portal = Portal(settings=settings, db=Database(settings.resolved_database_url, connect_args))
            await portal.db.upgrade()
            await demo.seed(portal)
            async with portal.db.unit_of_work() as session:
                alice = await by_email(session, demo.DEMO_CUSTOMER)
                assert alice is not None
                key, instance_id = (await session.execute(
                    select(License.key, Activation.instance_id)
                    .join(Activation, Activation.license_id == License.id)
                    .join(Product, Product.id == License.product_id)
                    .where(License.customer_id == alice.id, Product.slug == "pixel-studio")
                    .order_by(Activation.id).limit(1))).one()
            await _serve(create_app(portal), f"{key} {instance_id}")
            await portal.close()


async def _serve_bare() -> None:
    async def validate(request: web.Request) -> web.Response:
        return web.Response(text=CONSTANT, content_type="application/json")

    app = web.Application()
    app.router.add_post("/v1/licenses/validate", validate)
    await _serve(app, "ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2 47596ad9-a811-4ebf-ac8a-03fc7b6d2a17")


async def _serve(app: web.Application, credentials: str) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    print(f"http://{host}:{port} {credentials}", flush=True)
    # The parent closes our stdin to stop us.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()


# ---------------------------------------------------------------- the load (parent process)


class Target:
    """A server in a child process, stopped by closing its stdin."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, line: str) -> None:
        self.name, self.process = name, process
        self.url, self.key, self.instance_id = line.split()
        self.rates: list[float] = []
        self.cpu_per_request: list[float] = []

    def cpu_seconds(self) -> float | None:
        """The server process's CPU time so far (Linux), which other load on the machine does not
        inflate the way it does wall-clock rates."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    @classmethod
    async def start(cls, name: str, *extra: str) -> Target:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.bench_licenses", "--serve", name, *extra,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 180)
        if not line:
            raise SystemExit(f"the {name} server did not start")
        return cls(name, process, line.decode().strip())

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        await asyncio.wait_for(self.process.wait(), 60)


async def _round(http: ClientSession, target: Target, requests: int, concurrency: int) -> float:
    """Validations per second over `requests` calls, `concurrency` at a time."""
    left = requests
    body = {"license_key": target.key, "instance_id": target.instance_id}
    url = f"{target.url}/v1/licenses/validate"

    async def client() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            async with http.post(url, data=body, headers={"Accept": "application/json"}) as resp:
                answer = await resp.read()
                if resp.status != 200 or b'"valid": true' not in answer:
                    raise SystemExit(f"{target.name} answered {resp.status}: {answer[:200]!r}")

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return requests / (time.perf_counter() - began)


async def bench(rounds: int, requests: int, concurrency: int, database_url: str | None
                ) -> dict[str, Any]:
    shopkeep = await Target.start("shopkeep", *(["--database-url", database_url] if database_url else []))
    bare = await Target.start("bare")
    try:
        async with ClientSession(connector=TCPConnector(limit=concurrency)) as http:
            for number in range(WARMUP_ROUNDS + rounds):
                order = (shopkeep, bare) if number % 2 == 0 else (bare, shopkeep)
                for target in order:
                    cpu_before = target.cpu_seconds()
                    rate = await _round(http, target, requests, concurrency)
                    cpu_after = target.cpu_seconds()
                    if number >= WARMUP_ROUNDS:
                        target.rates.append(rate)
                        if cpu_before is not None and cpu_after is not None:
                            target.cpu_per_request.append((cpu_after - cpu_before) / requests)
    finally:
        for target in (shopkeep, bare):
            await target.stop()
    result: dict[str, Any] = {"rounds": rounds, "requests": requests, "concurrency": concurrency,
                              "database": "PostgreSQL" if database_url and not
                              database_url.startswith("sqlite") else "SQLite"}
    for target in (shopkeep, bare):
        result[target.name] = {
            "median_per_s": statistics.median(target.rates),
            "rounds_per_s": [round(rate) for rate in target.rates],
            "cpu_us_per_request": 1e6 * statistics.median(target.cpu_per_request)
            if target.cpu_per_request else None}
    result["ratio"] = result["shopkeep"]["median_per_s"] / result["bare"]["median_per_s"]
    return result


def report(result: dict[str, Any]) -> str:
    lines = [f"License validations per second over HTTP ({result['database']}), {result['requests']} "
             f"requests x {result['rounds']} rounds, {result['concurrency']} in flight (loopback)"]
    for name, label in (("shopkeep", "shopkeep /v1/licenses/validate"),
                        ("bare", "bare aiohttp, constant JSON")):
        r = result[name]
        cpu = f"   server CPU {r['cpu_us_per_request']:5.0f} us/request" if r["cpu_us_per_request"] else ""
        lines.append(f"  {label:<32} {r['median_per_s']:8.0f}/s{cpu}   rounds {r['rounds_per_s']}")
    verdict = "ok" if result["ratio"] >= GOAL else "under the goal"
    lines.append(f"  ratio shopkeep/bare              {result['ratio']:8.2f}     "
                 f"(goal >= {GOAL}: {verdict})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_licenses",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--database-url",
                        help="PostgreSQL (a schema of its own is made and dropped) or SQLite; "
                             "default: a temporary SQLite")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("--serve", choices=("shopkeep", "bare"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    if args.serve == "shopkeep":
        asyncio.run(_serve_shopkeep(args.database_url))
        return 0
    if args.serve == "bare":
        asyncio.run(_serve_bare())
        return 0
    result = asyncio.run(bench(max(1, args.rounds), max(1, args.requests), max(1, args.concurrency),
                               args.database_url))
    print(report(result))
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
