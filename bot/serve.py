"""`shopkeep serve`: every front door and background worker in one process."""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from aiohttp import web

from bot.bootstrap import event_worker, merchant_notifier, outbox_sender, payment_provider, renewal_worker
from bot.discord import start as start_discord
from bot.mail.server import start_smtp_server
from bot.mail.worker import MailWorker
from bot.slack import mount as mount_slack
from bot.web import create_app
from config.settings import Settings, SettingsError, split_listen
from core import demo
from core.billing import seller
from core.billing.render import RENDERER
from core.catalog.spec import read_catalog
from core.catalog.sync import sync_catalog
from core.kernel.portal import Portal

log = logging.getLogger("shopkeep")


async def serve(settings: Settings, *, with_demo: bool = False,
                started: asyncio.Event | None = None, stop: asyncio.Event | None = None) -> None:
    # aiosmtpd logs every SMTP command and every closed connection at INFO: not the service log.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    if with_demo:
        settings = demo.with_demo_store(settings)
    elif demo.seeded(settings):
        settings = demo.with_demo_store(settings)
        log.warning("this data dir holds the demo store: invoices name the demo seller wherever "
                    "a [store] setting is unset")
    for warning in seller.warnings(settings):
        log.warning(warning)
    portal = Portal.open(settings)
    stop = stop or asyncio.Event()
    async with AsyncExitStack() as stack:
        stack.push_async_callback(portal.close)
        applied = await portal.db.upgrade()
        if applied:
            log.info("database migrated: %s", ", ".join(applied))
        if settings.catalog_file:
            async with portal.db.unit_of_work() as session:
                report = await sync_catalog(session, read_catalog(settings.catalog_file))
            log.info("catalog %s: %s", settings.catalog_file, report.summary())
        if with_demo:
            for line in await demo.seed(portal, payments=payment_provider(portal)):
                log.info("demo: %s", line)

        app = create_app(portal)
        slack = mount_slack(app, portal)
        if slack is not None:
            # Registered before the HTTP server's cleanup, so it runs after it: no new requests
            # arrive while acknowledged Slack answers finish.
            stack.push_async_callback(slack.close)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        host, port = split_listen(settings.http_listen)
        async with _listening("SHOPKEEP_HTTP_LISTEN", settings.http_listen):
            await web.TCPSite(runner, host, port).start()
        log.info("HTTP on %s (public URL %s)", settings.http_listen, settings.public_url)
        if "http_listen" in settings.model_fields_set and "public_url" not in settings.model_fields_set:
            log.warning("SHOPKEEP_HTTP_LISTEN is %s but SHOPKEEP_PUBLIC_URL is still %s: links in mail "
                        "and chat point there. Set SHOPKEEP_PUBLIC_URL to how customers reach this server.",
                        settings.http_listen, settings.public_url)
        if slack is not None:
            await slack.start()
            log.info("Slack: %s", "Socket Mode" if slack.socket_mode
                     else f"events at {settings.public_url}/slack/events")

        outbox = outbox_sender(portal)
        mail = MailWorker(portal, on_queued=outbox.wakeup.set)
        smtp_host, smtp_port = split_listen(settings.smtp_listen)
        async with _listening("SHOPKEEP_SMTP_LISTEN", settings.smtp_listen):
            smtp = await start_smtp_server(portal, smtp_host, smtp_port, on_stored=mail.wakeup.set)
        stack.push_async_callback(_close_server, smtp)
        log.info("SMTP on %s for %s", settings.smtp_listen, settings.portal_address)
        renewals, notifier = renewal_worker(portal), merchant_notifier(portal)
        stack.push_async_callback(notifier.close)
        workers = [asyncio.create_task(outbox.run(), name="outbox"),
                   asyncio.create_task(mail.run(), name="mail"),
                   asyncio.create_task(renewals.run(interval=settings.renewals_interval), name="renewals"),
                   asyncio.create_task(notifier.run(), name="merchant-notices"),
                   # The PDF process starts in a thread now, not at the first invoice.
                   asyncio.create_task(RENDERER.start(), name="pdf-warm-up")]
        stack.push_async_callback(RENDERER.close)
        stack.push_async_callback(_cancel, workers)
        target = settings.mail_relay or f"{settings.outbox_dir}/ (no relay set)"
        log.info("outgoing mail to %s", target)

        discord_door = await start_discord(portal)
        if discord_door is not None:
            stack.push_async_callback(discord_door.close)
            log.info("Discord: /%s synced%s", settings.discord_command,
                     f" to server {settings.discord_guild_id}" if settings.discord_guild_id else " globally")
        # Started once every subscriber exists, so no event is delivered without one; stopped
        # before the Discord client and the Slack door close under it.
        events = event_worker(portal, outbox=outbox, discord=discord_door, slack=slack,
                              renewals=renewals, merchant=notifier)
        events_task = asyncio.create_task(events.run(), name="events")
        stack.push_async_callback(_cancel, [events_task])

        # Start-up garbage is long-lived; freezing it keeps full collections (tens of ms)
        # from landing in the middle of a burst of chat acknowledgements.
        gc.collect()
        gc.freeze()
        _install_signal_handlers(stop)
        if with_demo:
            print(demo_banner(settings), flush=True)
        if started is not None:
            started.set()
        await stop.wait()
        log.info("shutting down")


@asynccontextmanager
async def _listening(setting: str, address: str) -> AsyncIterator[None]:
    """A port that cannot be opened is a wrong setting: say which, in one line."""
    try:
        yield
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise SettingsError(f"{setting}: {address} is already in use (is another shopkeep "
                                "running?); choose another HOST:PORT") from None
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EACCES):
            raise SettingsError(f"{setting}: cannot listen on {address} ({exc.strerror})") from None
        raise


async def _close_server(server: asyncio.Server) -> None:
    server.close()
    await server.wait_closed()


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
            pass


def demo_banner(settings: Settings) -> str:
    return f"""
shopkeep is running with the demo store.

  Try it as the demo customer (in another terminal):
    shopkeep chat --as {demo.DEMO_CUSTOMER} -c "orders"
    shopkeep chat --as {demo.DEMO_CUSTOMER} -c "product pixel-studio"
  Sign in as a customer would:
    shopkeep chat            then: login {demo.SECOND_CUSTOMER}, verify <code>, orders
    (the code is in the newest file in {settings.outbox_dir}/)
  Subscriptions (alice's is billed in test mode, bob's is past due):
    shopkeep chat --as {demo.DEMO_CUSTOMER} -c "change maker-pro yearly"
    shopkeep renewals --dry-run
  Record a purchase:
    shopkeep purchase --email carol@example.com --product ebook
  Health: {settings.public_url}/healthz
"""
