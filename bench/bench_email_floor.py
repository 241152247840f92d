"""What the mail stack itself allows, with no database: the ceiling for bench_email's ratio.

Each stage is shopkeep's email pipeline with everything after one step left out, in one
process, as in `shopkeep serve`: receive (aiosmtpd, 250 first), then hand to a worker that
  relay:  sends the received bytes on to the relay (a connection kept across the burst)
  read:   + parses the message (email.policy.default) and reads its commands
  reply:  + composes shopkeep's real reply (multipart/alternative, threading headers)
Baseline: bench_email's bare aiosmtpd that only accepts, same client, same run.
Run: python -m bench.bench_email_floor [--messages 300] [--concurrency 10]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session

from bench.bench_email import PORTAL, AcceptOnly, bare, send_all
from bot.mail.answer import Answer, compose
from bot.mail.reading import read_commands
from config.settings import load_settings
from core.kernel.portal import Portal
from handlers.reply import Reply, Table
from tests.fakes.relay import free_port

STAGES = ("relay", "read", "reply")


class Pipeline:
    """Accepts like the real server (stored first, answered 250), then one worker does `stage`."""

    def __init__(self, stage: str, portal: Portal, relay_port: int) -> None:
        self.stage, self.portal, self.relay_port = stage, portal, relay_port
        self.received: asyncio.Queue[bytes] = asyncio.Queue()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.received.put_nowait(envelope.content)
        return "250 OK"

    def outgoing(self, raw: bytes) -> bytes:
        if self.stage == "relay":
            return raw
        message = message_from_bytes(raw, policy=default_policy)
        assert isinstance(message, EmailMessage)
        commands = read_commands(message)
        if self.stage == "read":
            return raw
        # The answer a database would have given, made up front: only the mail work is timed.
        answer = Answer(sections=[(line, Reply(title="Your orders", tables=[Table(
            ["Order", "Product", "Date"], [["1001", "The Ebook", "2026-11-01"]])]))
            for line in commands.commands])
        return compose(self.portal, message, "alice@example.com", answer).as_bytes()

    async def work(self, count: int) -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=self.relay_port) as relay:
            for _ in range(count):
                raw = await self.received.get()
                await relay.sendmail(PORTAL, ["alice@example.com"], self.outgoing(raw))


async def floor(stage: str, count: int, concurrency: int) -> float:
    relay, relay_port = AcceptOnly(), free_port()
    relay_server = await relay.serve(relay_port)
    with tempfile.TemporaryDirectory() as data:
        settings = load_settings(data_dir=Path(data), portal_address=PORTAL,
                                 secret_key="bench-secret-0123456789")
        pipeline = Pipeline(stage, Portal.open(settings), relay_port)

        def protocol() -> Any:
            return SMTP(pipeline, decode_data=False, enable_SMTPUTF8=True)

        port = free_port()
        server = await asyncio.get_running_loop().create_server(protocol, "127.0.0.1", port)
        start = time.perf_counter()
        worker = asyncio.create_task(pipeline.work(count))
        await send_all(port, count, concurrency)
        await worker
        elapsed = time.perf_counter() - start
        server.close()
        await server.wait_closed()
    relay_server.close()
    await relay_server.wait_closed()
    return count / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    baseline = await bare(args.messages, args.concurrency)
    print(f"bare aiosmtpd (accept only): {baseline:8.1f} messages/s")
    for stage in STAGES:
        rate = await floor(stage, args.messages, args.concurrency)
        print(f"{stage:>6}: {rate:8.1f} messages/s   ratio {rate / baseline:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
