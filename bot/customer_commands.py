"""`shopkeep customer show|export|erase <email>`: the operator's view of one customer, the data
to hand them, and erasing the person while their invoices stay."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import activity
from core.accounts.export import everything
from core.billing.details import country_label
from core.identity import erasure
from core.identity.customers import by_email, normalize_email
from core.kernel import formatting
from core.kernel.errors import NotFound
from core.kernel.portal import Portal
from core.licenses.queries import usage_of
from core.models import AccountTransfer, AuditEvent, Customer, License
from core.orders.ownership import orders_of, owned_products

EXIT_USAGE = 2
OPERATOR = "operator via cli"


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    customer = commands.add_parser("customer", help="one customer: show, export or erase",
                                   description="What is stored about one customer: at a glance, "
                                   "as JSON, or erased (invoices are kept).")
    actions = customer.add_subparsers(dest="customer_command", required=True, metavar="ACTION",
                                      help="show, export or erase")
    show = actions.add_parser("show", help="the customer at a glance")
    show.add_argument("email", help="the customer's email address")
    export = actions.add_parser("export", help="everything stored about the customer, as JSON")
    export.add_argument("email", help="the customer's email address")
    export.add_argument("--out", type=Path, metavar="FILE",
                        help="write it to FILE, readable by you only (default: standard output)")
    erase = actions.add_parser("erase", help="erase the person; invoices are kept",
                               description="Anonymise the customer: address, names, billing details, "
                               "chat links, codes and mail text go, access ends; invoices, receipts "
                               "and credit notes stay as issued. Asks first on a terminal.")
    erase.add_argument("email", help="the customer's email address")
    erase.add_argument("--yes", action="store_true",
                       help="erase without asking (needed when not run from a terminal)")


async def run(portal: Portal, args: argparse.Namespace) -> int:
    email = normalize_email(args.email)
    async with portal.db.unit_of_work() as session:
        customer = await by_email(session, email)
        if customer is None:
            raise NotFound(f"there is no customer {email}")
        if args.customer_command == "show":
            print(await _summary(session, portal, customer))
            return 0
        if args.customer_command == "export":
            _write(json.dumps(await everything(session, portal, customer.id), indent=2,
                              ensure_ascii=False) + "\n", args.out)
            return 0
        plan = await erasure.plan(session, customer)
    return await _erase(portal, email, plan, yes=args.yes)


def _write(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    # Everything about a person: readable by the operator only.
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    print(f"wrote {out}", file=sys.stderr)


async def _erase(portal: Portal, email: str, plan: erasure.Plan, *, yes: bool) -> int:
    print(f"Erasing {email} removes: the address{'es' if len(plan.addresses) > 1 else ''} "
          f"{', '.join(plan.addresses)}, names and billing details, {plan.chat_links} chat link(s), "
          f"sign-in codes, the text of {plan.received_mail} received message(s) and of the mail sent "
          f"to them. Access to {plan.active_products} product(s) ends and {plan.license_keys} "
          f"license key(s) stop working. Kept for the legal retention period: "
          f"{plan.documents_kept} invoice(s), receipt(s) and credit note(s), as issued, with the "
          "orders they bill.")
    if not yes:
        if not sys.stdin.isatty():
            print("shopkeep: not erased: confirm with --yes when not at a terminal", file=sys.stderr)
            return EXIT_USAGE
        typed = (await asyncio.to_thread(input, f"Type {email} to erase it: ")).strip().lower()
        if typed != email:
            print("Not erased.")
            return 1
    async with portal.db.unit_of_work() as session:
        customer = await by_email(session, email)
        if customer is None:
            raise NotFound(f"there is no customer {email}")
        await erasure.erase(session, portal, customer, actor=OPERATOR)
        erased_as = customer.email
    print(f"Erased {email}; the account is {erased_as} now, with its invoices.")
    return 0


async def _summary(session: AsyncSession, portal: Portal, customer: Customer) -> str:
    tz = portal.settings.store.timezone
    data = await everything(session, portal, customer.id)
    owned = await owned_products(session, customer.id)
    orders = await orders_of(session, customer.id)
    licenses = list(await session.scalars(select(License).where(License.customer_id == customer.id,
                                                                License.revoked_at.is_(None))))
    usage = await usage_of(session, [lic.id for lic in licenses])
    documents = Counter(doc["kind"].replace("_", " ") for doc in data["documents"])
    moves = list(await session.scalars(select(AccountTransfer).where(
        AccountTransfer.customer_id == customer.id).order_by(AccountTransfer.id)))
    last = await session.scalar(select(AuditEvent).where(AuditEvent.customer_id == customer.id)
                                .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(1))
    events = await session.scalar(select(func.count()).where(AuditEvent.customer_id == customer.id)) or 0
    seats = data["seats"]
    lines = [
        ("Customer", f"{customer.email} (id {customer.id}), since "
                     f"{formatting.moment(customer.created_at, tz)}"),
        ("Name", customer.name or "-"),
        ("Billing", _billing_line(data)),
        ("Locale, zone", f"{customer.locale}, {customer.timezone}"),
        ("Chat links", ", ".join(f"{link['platform']} {link['account_id']}"
                                 + (f" ({link['display_name']})" if link["display_name"] else "")
                                 for link in data["chat_links"]) or "-"),
        ("Orders", f"{len(orders)}" + (f", newest {orders[0].number} of "
                                       f"{formatting.moment(orders[0].placed_at, tz)}" if orders else "")),
        ("Products", ", ".join(f"{item.product.name} ({'active' if item.active else 'ended'})"
                               for item in owned) or "-"),
        ("License keys", f"{len(licenses)} in use, {sum(usage.values())} device(s) active"),
        ("Seats", f"{sum(1 for s in seats if s['owner_id'] == customer.id and s['member_id'] != customer.id)}"
                  f" given to others, {sum(1 for s in seats if s['member_id'] == customer.id)} held"),
        ("Documents", ", ".join(f"{n} {kind}(s)" for kind, n in sorted(documents.items())) or "-"),
        ("Mail", f"{len(data['inbound_mail'])} received, {len(data['outbound_mail'])} sent"),
        ("Moves", "; ".join(f"{m.old_email} -> {m.new_email} on {formatting.moment(m.transferred_at, tz)}"
                            + (" (undone)" if m.undone_at else "") for m in moves) or "-"),
        ("Activity", f"{events} event(s)" + (
            f", last {formatting.moment(last.at, tz)}: "
            f"{activity.described(last, {})} ({activity.origin_of(last.actor).text})" if last else "")),
    ]
    if erasure.is_erased(customer):
        lines.insert(1, ("Erased", "yes: only the invoices and what they bill are kept"))
    width = max(len(name) for name, _ in lines)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in lines)


def _billing_line(data: dict[str, Any]) -> str:
    """Who invoices name and their tax IDs with what is known of each, from the export."""
    details = data.get("billing_details") or [{}]
    record = details[0]
    address = [*record.get("address_lines", []),
               " ".join(filter(None, [record.get("postal_code"), record.get("city")])),
               country_label(record.get("country")) or ""]
    tax_ids = ", ".join(f"{t['value']} ({t['state'].replace('_', ' ')})" for t in data.get("tax_ids", []))
    return "; ".join(filter(None, [record.get("name"), record.get("company"),
                                   ", ".join(filter(None, address)), tax_ids])) or "-"

