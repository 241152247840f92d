"""overview: everything at a glance (products, subscriptions, licenses, latest invoices).

Chat front doors show it where a customer lands first (Slack's App Home builds it with `build`);
anywhere else it is a command like any other. Signed-out callers get the way in instead.
"""

from __future__ import annotations

from core.billing import queries
from core.licenses.queries import licenses_for, usage_of
from core.models import License
from core.models.billing import INVOICE
from core.orders import ownership
from handlers.context import Context
from handlers.registry import Access, NoArguments, command
from handlers.reply import Choice, Reply
from handlers.tables import documents_table, licenses_table, products_table, subscriptions_table

LATEST_INVOICES = 3
PRODUCT_BUTTONS = 3


@command("overview", summary="Your products, subscriptions, licenses and latest invoices",
         aliases=("home", "dashboard", "summary"), access=Access.ANYONE, examples=("overview",),
         reads_only=True)
async def overview(ctx: Context, args: NoArguments) -> Reply:
    return await build(ctx)


async def build(ctx: Context) -> Reply:
    """The overview for whoever calls, signed in or not."""
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
        reply.tables.append(products_table(owned, customer))
    subscriptions = subscriptions_table(owned, customer)
    if subscriptions.rows:
        reply.tables.append(subscriptions)
    licenses: list[License] = []
    for item in owned:
        if item.product.activation_limit:
            licenses += await licenses_for(ctx.session, customer.id, item.product.id)
    if licenses:
        usage = await usage_of(ctx.session, [lic.id for lic in licenses])
        reply.tables.append(licenses_table(
            licenses, usage=usage, now=ctx.portal.now(),
            product_names={item.product.id: item.product.name for item in owned}, title="Licenses"))
    invoices = await queries.latest(ctx.session, customer.id, INVOICE, LATEST_INVOICES)
    if invoices:
        reply.tables.append(documents_table(invoices, customer, title="Latest invoices", first_number=1))
    reply.choices.append(Choice("Orders", "orders"))
    if subscriptions.rows:
        reply.choices.append(Choice("Subscriptions", "subscriptions"))
    if invoices:
        reply.choices.append(Choice("Invoices", "invoices"))
    reply.choices += [Choice(p.product.name, f"product {p.number}") for p in owned if p.active
                      ][:PRODUCT_BUTTONS]
    reply.choices.append(Choice("Help", "help"))
    return reply
