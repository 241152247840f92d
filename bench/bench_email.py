"""End-to-end email commands per second: message sent -> reply handed to the relay.

Baseline: a bare aiosmtpd server that only accepts, fed by the same client in the same run.
Run: python -m bench.bench_email [--messages 300] [--concurrency 10] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session

from bot.bootstrap import outbox_sender, payment_provider
from bot.mail.server import start_smtp_server
from bot.mail.worker import MailWorker
from config.settings import load_settings
from core import demo
from core.kernel.portal import Portal
from tests.fakes.relay import free_port

PORTAL = "portal@bench.test"
COMMANDS_PER_MESSAGE = 2  # "orders" in the subject, "product 2" in the body


def message(n: int) -> bytes:
    mail = EmailMessage()
    mail["From"] = "alice@example.com"
    mail["To"] = PORTAL
    mail["Subject"] = "orders"
    mail["Message-ID"] = make_msgid(f"bench{n}", domain="example.com")
    mail.set_content("product 2\nthanks\n")
    return mail.as_bytes()


async def send_all(port: int, count: int, concurrency: int) -> None:
    queue = list(range(count))

    async def client() -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as session:
            while queue:
                n = queue.pop()
                await session.sendmail("alice@example.com", [PORTAL], message(n))

    await asyncio.gather(*(client() for _ in range(concurrency)))


class AcceptOnly:
    """The baseline server, and the relay in shopkeep's run: it accepts and counts, nothing more,
    so both runs pay the same for every SMTP server they talk to."""

    def __init__(self) -> None:
        self.accepted = 0
        self.reached = asyncio.Event()
        self.wanted = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.accepted += 1
        if self.accepted == self.wanted:
            self.reached.set()
        return "250 OK"

    async def serve(self, port: int) -> asyncio.Server:
        def protocol() -> Any:
            return SMTP(self, decode_data=False, enable_SMTPUTF8=True)

        return await asyncio.get_running_loop().create_server(protocol, "127.0.0.1", port)


async def bare(count: int, concurrency: int) -> float:
    port = free_port()
    server = await AcceptOnly().serve(port)
    start = time.perf_counter()
    await send_all(port, count, concurrency)
    elapsed = time.perf_counter() - start
    server.close()
    await server.wait_closed()
    return count / elapsed


async def shopkeep(count: int, concurrency: int, database_url: str | None) -> float:
    relay, relay_port = AcceptOnly(), free_port()
    relay.wanted = count
    relay_server = await relay.serve(relay_port)
    with tempfile.TemporaryDirectory() as data:
        settings = load_settings(data_dir=Path(data), portal_address=PORTAL, mail_relay=f"smtp://127.0.0.1:{relay_port}",
                                 mail_replies_per_hour=count * 2, secret_key="bench-secret-0123456789",
                                 **({"database_url": database_url} if database_url else {}))
        portal = Portal.open(settings)
        await portal.db.upgrade()
        await demo.seed(portal, payments=payment_provider(portal))
        await outbox_sender(portal.__class__(settings.model_copy(update={"mail_relay": None}),
                                            portal.db)).send_due()  # demo invites to files
        outbox = outbox_sender(portal)
        worker = MailWorker(portal, on_queued=outbox.wakeup.set)
        port = free_port()
        server = await start_smtp_server(portal, "127.0.0.1", port, on_stored=worker.wakeup.set)
        tasks = [asyncio.create_task(worker.run()), asyncio.create_task(outbox.run())]
        start = time.perf_counter()
        await send_all(port, count, concurrency)
        await asyncio.wait_for(relay.reached.wait(), timeout=300)
        elapsed = time.perf_counter() - start
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # let them roll back first
        server.close()
        await server.wait_closed()
        await portal.close()
    relay_server.close()
    await relay_server.wait_closed()
    return count / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temp dir)")
    args = parser.parse_args()
    baseline = await bare(args.messages, args.concurrency)
    ours = await shopkeep(args.messages, args.concurrency, args.database_url)
    print(f"bare aiosmtpd (accept only):       {baseline:8.1f} messages/s")
    print(f"shopkeep (sent -> reply at relay): {ours:8.1f} messages/s "
          f"({ours * COMMANDS_PER_MESSAGE:.1f} commands/s)")
    print(f"ratio (messages/s): {ours / baseline:.3f} (goal >= 0.5)")


if __name__ == "__main__":
    asyncio.run(main())
