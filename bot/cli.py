"""The `shopkeep` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot import customer_commands, refund_command
from bot.bootstrap import outbox_sender, payment_provider
from bot.version import shopkeep_version
from config.settings import Settings, SettingsError, load_settings
from core.identity.customers import by_email
from core.kernel import formatting
from core.kernel.errors import PortalError
from core.kernel.portal import Portal
from core.kernel.validation import reason

EXIT_FAILED = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shopkeep", description="A customer portal in chat and email.")
    parser.add_argument("--version", action="version", version=f"shopkeep {shopkeep_version()}")
    parser.add_argument("--config", type=Path, metavar="PATH",
                        help="settings file (default: ./shopkeep.toml if present)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the portal: HTTP, mail and chat front doors",
                                description="Run every front door and background worker in one process.")
    serve.add_argument("--demo", action="store_true", help="load the demo store first")

    chat = commands.add_parser("chat", help="use the portal from this terminal",
                               description="The customer portal in a terminal: sign in as a customer "
                               "would, or act for one with --as.")
    chat.add_argument("--as", dest="as_email", metavar="EMAIL",
                      help="support mode: act as this customer without a code (audited)")
    chat.add_argument("-c", dest="commands", action="append", default=[], metavar="COMMAND",
                      help="run COMMAND and exit (repeatable)")
    chat.add_argument("--out", type=Path, metavar="DIR",
                      help="where files are saved (default: <data dir>/downloads)")

    purchase = commands.add_parser("purchase", help="record a purchase (as the webhook would)",
                                   description="Record a purchase: the customer gets access at once "
                                   "and an invite email.")
    purchase.add_argument("--email", required=True, help="the buyer's email address")
    purchase.add_argument("--name", help="the buyer's name, for mail and invoices")
    purchase.add_argument("--product", required=True, help="product slug from the catalog")
    purchase.add_argument("--plan", help="plan slug (default: the product's first plan)")
    purchase.add_argument("--quantity", type=int, default=1, help="how many (default 1)")
    purchase.add_argument("--amount", type=int, help="total paid in minor units (default: list price)")
    purchase.add_argument("--currency", help="ISO 4217 code of the amount, e.g. EUR")
    purchase.add_argument("--external-id", help="idempotency key (default: a new one)")
    purchase.add_argument("--again", action="store_true",
                          help="record it even if the buyer already owns the product")
    purchase.add_argument("--billed-by", choices=["merchant", "shopkeep"], default="merchant",
                          help="who bills a subscription's renewals: your store (default) or shopkeep "
                          "through its payment provider")
    purchase.add_argument("--json", action="store_true", help="print the order as JSON")

    catalog = commands.add_parser("catalog", help="manage the catalog")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True, metavar="ACTION")
    load = catalog_commands.add_parser("load", help="sync a catalog TOML file (idempotent)")
    load.add_argument("file", type=Path, help="the catalog file")

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply pending migrations")

    commands.add_parser("demo", help="load the demo store without serving")

    outbox = commands.add_parser("outbox", help="outgoing mail: list, or retry now")
    outbox.add_argument("action", nargs="?", choices=["list", "retry"], default="list",
                        help="list (default) or retry every queued and failed message now")

    commands.add_parser("inbox", help="received mail: what each message became, and why")

    renewals = commands.add_parser("renewals", help="run one renewals pass now (as serve does)",
                                   description="Renew what is due: charge, apply scheduled changes, "
                                   "retry failed payments, end what ran out.")
    renewals.add_argument("--at", metavar="TIME", help="as of TIME (ISO 8601, e.g. 2026-04-01T00:00Z; "
                          "not later than now, except with --dry-run)")
    renewals.add_argument("--dry-run", action="store_true", help="only say what is due, change nothing")

    notices = commands.add_parser("merchant-notices",
                                  help="notices to your store's webhook: list, or retry now")
    notices.add_argument("action", nargs="?", choices=["list", "retry"], default="list",
                         help="list (default) or retry every queued and failed notice now")
    customer_commands.add_parser(commands)
    refund_command.add_parser(commands)
    return parser


async def _with_portal(settings: Settings, work: Callable[..., Awaitable[int]]) -> int:
    portal = Portal.open(settings)
    try:
        await portal.db.upgrade()
        return await work(portal)
    finally:
        await portal.close()


async def _chat(portal: Portal, args: argparse.Namespace) -> int:
    from bot.console.chat import chat
    out = args.out or portal.settings.data_dir / "downloads"
    return await chat(portal, as_email=args.as_email, commands=args.commands, downloads_dir=out)


# Purchase fields as the operator names them on the command line.
PURCHASE_OPTIONS = {"email": "--email", "name": "--name", "items": "--product", "amount": "--amount",
                    "currency": "--currency", "external_id": "--external-id", "time": "--time",
                    "quantity": "--quantity", "plan": "--plan", "product": "--product"}


def _option_error(exc: ValidationError) -> PortalError:
    error = exc.errors()[0]
    field = next((str(p) for p in reversed(error["loc"]) if str(p) in PURCHASE_OPTIONS), "")
    return PortalError(f"{PURCHASE_OPTIONS.get(field, field or 'purchase')}: {reason(error)}")


async def _purchase(portal: Portal, args: argparse.Namespace) -> int:
    from core.models import Product
    from core.orders.ownership import owns_product
    from core.orders.purchases import PurchaseItem, PurchaseRequest, record_purchase

    try:
        request = PurchaseRequest(
            email=args.email, name=args.name, amount=args.amount, currency=args.currency,
            external_id=args.external_id or f"cli-{uuid.uuid4()}", source="cli",
            items=[PurchaseItem(product=args.product, plan=args.plan, quantity=args.quantity)],
            billed_by=args.billed_by,
        )
    except ValidationError as exc:
        raise _option_error(exc) from None
    async with portal.db.unit_of_work() as session:
        customer = await by_email(session, request.email)
        product = await session.scalar(select(Product).where(Product.slug == args.product))
        if (customer is not None and product is not None and not args.again and not args.external_id
                and await owns_product(session, customer.id, product.id)):
            raise PortalError(f"{request.email} already owns {product.name}. Add --again to record "
                              "another purchase of it.")
        try:
            result = await record_purchase(session, portal, request, actor="operator via cli")
        except PortalError as exc:
            field, _, problem = exc.message.partition(": ")
            raise PortalError(f"{PURCHASE_OPTIONS.get(field, field)}: {problem}" if problem else exc.message
                              ) from None
        order = result.order
        summary = {"order": order.number, "created": result.created,
                   "new_customer": result.new_customer, "email": request.email,
                   "total": order.total, "currency": order.currency}
        paid = formatting.money(order.total, order.currency)
    # The invite goes out now; chat roles follow from the purchase's events, which the running
    # portal's event worker picks up.
    await outbox_sender(portal).send_due()
    if args.json:
        print(json.dumps(summary))
    elif result.created:
        who = f"{request.email} (a new customer)" if result.new_customer else request.email
        print(f"Order {order.number} recorded for {who}: {args.product} x{args.quantity}, {paid}. "
              "Access is granted and the invite email is on its way.")
    else:
        print(f"Order {order.number} was already recorded with this --external-id; nothing changed.")
    return 0


async def _catalog_load(portal: Portal, args: argparse.Namespace) -> int:
    from core.catalog.spec import read_catalog
    from core.catalog.sync import sync_catalog
    spec = read_catalog(args.file)
    async with portal.db.unit_of_work() as session:
        report = await sync_catalog(session, spec)
    print(report.summary())
    return 0


async def _demo(portal: Portal, args: argparse.Namespace) -> int:
    from core import demo
    for line in await demo.seed(portal, payments=payment_provider(portal)):
        print(line)
    await outbox_sender(portal).send_due()
    return 0


async def _outbox(portal: Portal, args: argparse.Namespace) -> int:
    from core.mail import outbox
    if args.action == "retry":
        async with portal.db.unit_of_work() as session:
            count = await outbox.retry_now(session, portal.now())
        sent = await outbox_sender(portal).send_due()
        print(f"{count} message(s) retried, {sent} sent")
        return 0
    async with portal.db.unit_of_work() as session:
        _show_queue(await outbox.counts(session), [
            f"{mail.id:>5}  {mail.status:<8} {_when(mail.sent_at or mail.created_at)}  {mail.kind:<7} "
            f"{mail.recipient:<30} {mail.subject[:60]}"
            + (f"  ({mail.last_error})" if mail.last_error and mail.status != "sent" else "")
            for mail in await outbox.listing(session)])
    return 0


def _show_queue(counts: dict[str, int], rows: list[str], *, empty: str = "no mail yet") -> None:
    """A queue at a glance ("3 queued, 12 sent"), then a line per message."""
    print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or empty)
    for row in rows:
        print(row)


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


async def _inbox(portal: Portal, args: argparse.Namespace) -> int:
    from core.mail import inbox
    async with portal.db.unit_of_work() as session:
        _show_queue(await inbox.counts(session), [
            f"{mail.id:>5}  {mail.status:<10} {_when(mail.processed_at or mail.received_at)}  "
            f"{mail.envelope_from[:30]:<30} {mail.outcome or ''}" for mail in await inbox.listing(session)])
    return 0


MANY = 20  # from this many due subscriptions on, a pass shows a progress bar


def _moment(text: str | None, now: datetime, *, dry_run: bool) -> datetime:
    if text is None:
        return now
    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise PortalError(f"--at: {text!r} is not a time like 2026-04-01T00:00Z") from None
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    if at > now and not dry_run:
        raise PortalError("--at: may not be later than now (add --dry-run to see what would be due "
                          "then)")
    return at


async def _renewals(portal: Portal, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from bot.bootstrap import renewal_worker
    from core.subscriptions.renewals import describe_step

    worker = renewal_worker(portal)
    at = _moment(args.at, portal.now(), dry_run=args.dry_run)
    due = await worker.due(at)
    if args.dry_run:
        print(f"{len(due)} subscription(s) due as of {at:%Y-%m-%d %H:%M} UTC" + (":" if due else ""))
        for subscription in due:
            print(f"  {describe_step(subscription, at)}")
        return 0
    with tqdm(total=len(due), unit="subscription", disable=len(due) < MANY, file=sys.stderr,
              leave=False) as bar:
        report = await worker.run_pass(at, progress=bar.update)
    for label, lines in (("charged", report.charged), ("failed", report.failed),
                         ("changed", report.changed), ("skipped", report.skipped)):
        for line in lines:
            print(f"{label}: {line}")
    print(f"{len(report.charged)} charged, {len(report.failed)} failed, {len(report.changed)} changed"
          + (f", {len(report.skipped)} left for the next pass" if report.skipped else ""))
    await outbox_sender(portal).send_due()
    return 0


async def _merchant_notices(portal: Portal, args: argparse.Namespace) -> int:
    from bot.bootstrap import merchant_notifier
    from core.subscriptions import merchant

    notifier = merchant_notifier(portal)
    try:
        if args.action == "retry":
            async with portal.db.unit_of_work() as session:
                count = await merchant.retry_now(session, portal.now())
            sent = await notifier.send_due()
            print(f"{count} notice(s) retried, {sent} sent")
            return 0
    finally:
        await notifier.close()
    if not portal.settings.merchant_webhook_url:
        print("SHOPKEEP_MERCHANT_WEBHOOK_URL is not set: store-billed subscriptions offer cancel only, "
              "mailed to the store's contact address")
    async with portal.db.unit_of_work() as session:
        _show_queue(await merchant.counts(session), [
            f"{notice.id:>5}  {notice.status:<8} {_when(notice.sent_at or notice.created_at)}  "
            f"{notice.event:<34} {notice.payload.get('subscription', {}).get('customer', '')}"
            + (f"  ({notice.last_error})" if notice.last_error and notice.status != "sent" else "")
            for notice in await merchant.listing(session)], empty="no notices yet")
    return 0


async def _db_upgrade(settings: Settings) -> int:
    from core.kernel.db import Database

    db = Database(settings.resolved_database_url)
    try:
        applied = await db.upgrade()
    finally:
        await db.close()
    print(f"applied {', '.join(applied)}" if applied else "database is up to date")
    return 0


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.command == "serve" else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        print(f"shopkeep: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command != "serve":
        from core import demo
        if args.command == "demo" or demo.seeded(settings):
            settings = demo.with_demo_store(settings)  # the demo's invoices name the demo seller
    try:
        return asyncio.run(_dispatch(settings, args))
    except SettingsError as exc:  # settings that only a front door checks when it starts
        print(f"shopkeep: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PortalError as exc:
        print(f"shopkeep: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    except SQLAlchemyError as exc:
        print(f"shopkeep: database error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Piped into `head` and the reader left: stop quietly, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        print(f"shopkeep: {exc}", file=sys.stderr)
        return EXIT_FAILED


async def _dispatch(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "serve":
        from bot.serve import serve

        await serve(settings, with_demo=args.demo)
        return 0
    if args.command == "db":
        return await _db_upgrade(settings)
    work = {"chat": _chat, "purchase": _purchase, "catalog": _catalog_load, "demo": _demo,
            "outbox": _outbox, "inbox": _inbox, "renewals": _renewals,
            "merchant-notices": _merchant_notices, "customer": customer_commands.run,
            "refund": refund_command.run}[args.command]
    return await _with_portal(settings, lambda portal: work(portal, args))


def main() -> None:
    sys.exit(run())
