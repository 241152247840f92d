"""overview: everything at a glance (products, subscriptions, license seats, latest invoices).

Chat front doors show it where a customer lands first (Slack's App Home); anywhere else it is a
command like any other. Signed-out callers get the way in instead.
"""

from __future__ import annotations

import logging

from core.kernel import formatting
from core.kernel.errors import PortalError
from core.licenses.keys import masked
from core.licenses.queries import licenses_for
from core.models import Customer
from core.models.orders import ACTIVE
from core.orders import ownership
from handlers.context import Context
from handlers.registry import REGISTRY, Access, NoArguments, command
from handlers.reply import Choice, Reply, Table

log = logging.getLogger("shopkeep.overview")

LATEST_INVOICES = 3
PRODUCT_BUTTONS = 3


@command("overview", summary="Your products, subscriptions, license seats and latest invoices",
         aliases=("home", "dashboard", "summary"), access=Access.ANYONE, examples=("overview",),
         reads_only=True)
async def overview(ctx: Context, args: NoArguments) -> Reply:
    store = ctx.portal.settings.store_name
    if ctx.caller.customer_id is None:
        return Reply(
            title=f"Welcome to {store}",
            paragraphs=[
                "Sign in to see what you bought here: send `login you@example.com` with the "
                "address you bought with, then `verify <code>` with the code we email you.",
                "You do this once; after that this account stays linked until you `logout`.",
            ],
            choices=[Choice("What can I do?", "help")],
        )
    customer = await ctx.customer()
    reply = Reply(title=store, paragraphs=[f"Signed in as {customer.email}."])
    owned = await ownership.owned_products(ctx.session, customer.id)
    if not owned:
        reply.paragraphs.append("You don't own anything yet.")
    else:
        reply.tables.append(Table(["#", "Product", "Status"], [
            [str(p.number), p.product.name, "active" if p.active else "ended"] for p in owned
        ], title="Products"))
    subscriptions = _subscriptions(owned, customer)
    if subscriptions.rows:
        reply.tables.append(subscriptions)
    seats = await _license_seats(ctx, owned)
    if seats.rows:
        reply.tables.append(seats)
    invoices = await _latest_invoices(ctx)
    if invoices is not None:
        reply.tables.append(invoices)
    reply.choices.append(Choice("Orders", "orders"))
    if invoices is not None:
        reply.choices.append(Choice("Invoices", "invoices"))
    reply.choices += [Choice(p.product.name, f"product {p.number}") for p in owned if p.active
                      ][:PRODUCT_BUTTONS]
    reply.choices.append(Choice("Help", "help"))
    return reply


def _subscriptions(owned: list[ownership.OwnedProduct], customer: Customer) -> Table:
    rows = []
    for item in owned:
        subscription = item.subscription
        if subscription is None:
            continue
        end = formatting.date(subscription.current_period_end, customer.locale, customer.timezone)
        if subscription.status != ACTIVE:
            state = subscription.status
        elif subscription.cancel_at_period_end:
            state = f"ends {end}"
        else:
            state = f"renews {end}"
        rows.append([item.product.name, subscription.plan.name, state])
    return Table(["Product", "Plan", "Status"], rows, title="Subscriptions")


async def _license_seats(ctx: Context, owned: list[ownership.OwnedProduct]) -> Table:
    rows = []
    for item in owned:
        if not item.product.license_seats:
            continue
        for lic in await licenses_for(ctx.session, ctx.customer_id, item.product.id):
            rows.append([item.product.name, masked(lic.key), str(lic.seat_limit), lic.status])
    return Table(["Product", "License", "Seats", "Status"], rows, title="License seats")


async def _latest_invoices(ctx: Context) -> Table | None:
    """The newest few rows of `invoices`, when this store has billing documents at all."""
    invoices = REGISTRY.get("invoices")
    if invoices is None or not invoices.offered_on(ctx.caller.platform):
        return None
    try:
        listing = await invoices.run(
            Context(ctx.portal, ctx.session, ctx.caller, invoices, "invoices"),
            invoices.parse_arguments(""),
        )
    except PortalError:
        return None
    except Exception:
        # The overview still shows the rest; the invoices command reports its own failures.
        log.exception("overview: listing invoices failed")
        return None
    if not listing.ok or not listing.tables:
        return None
    table = listing.tables[0]
    return Table(table.columns, table.rows[:LATEST_INVOICES], title="Latest invoices")
