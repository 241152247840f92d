"""What the customer owns: orders, product <number|name>, reveal <product>."""

from __future__ import annotations

from pydantic import Field, field_validator

from core.kernel import formatting
from core.licenses import seats
from core.licenses.queries import licenses_for, usage_of
from core.models import Customer, Order
from core.orders import downloads, ownership
from handlers.context import Context
from handlers.registry import Arguments, command
from handlers.reply import Choice, Link, Reply, Table
from handlers.reply import Field as ReplyField
from handlers.tables import licenses_table, product_status, products_table

ProductRef = Field(description="the product's number from `orders`, or its name",
                   json_schema_extra={"suggest": "products"}, min_length=1, max_length=200)


ORDERS_PER_PAGE = 10


class OrdersArguments(Arguments):
    page: int = Field(default=1, ge=1, le=10_000, description='older orders: "page 2", "page 3"...')

    @field_validator("page", mode="before")
    @classmethod
    def _page_words(cls, value: object) -> object:
        # "orders page 2" and "orders 2" both work.
        if not isinstance(value, str):
            return value
        number = value.strip().lower().removeprefix("page").strip()
        if not number.isdecimal():
            raise ValueError('give a page number, like "orders page 2"')
        return int(number)


@command("orders", summary="Everything you own and your orders, newest first",
         aliases=("my", "owned"), examples=("orders", "orders page 2"), reads_only=True)
async def orders(ctx: Context, args: OrdersArguments) -> Reply:
    customer = await ctx.customer()
    owned = await ownership.owned_products(ctx.session, customer.id)
    placed = await ownership.orders_of(ctx.session, customer.id, limit=ORDERS_PER_PAGE + 1,
                                       offset=(args.page - 1) * ORDERS_PER_PAGE)
    more, placed = len(placed) > ORDERS_PER_PAGE, placed[:ORDERS_PER_PAGE]
    if not owned and not placed and args.page == 1:
        return Reply.text("You don't own anything yet.", title="Your orders")
    if not placed and args.page > 1:
        return Reply.error(f"There is no page {args.page} of your orders. Send `orders` for the newest.")
    first_page = args.page == 1
    reply = Reply(title="Your orders" if first_page else f"Your orders, page {args.page}")
    if first_page:
        reply.tables.append(products_table(owned, customer))
        reply.choices.extend(Choice(f"{p.number}. {p.product.name}", f"product {p.number}")
                             for p in owned[:5])
    _order_table(reply, customer, placed)
    if more:
        reply.choices.append(Choice("Older orders", f"orders page {args.page + 1}"))
    return reply


def _order_table(reply: Reply, customer: Customer, placed: list[Order]) -> None:
    rows = []
    for order in placed:
        for index, item in enumerate(order.items):
            first = index == 0
            rows.append([
                order.number if first else "",
                formatting.date(order.placed_at, customer.locale, customer.timezone) if first else "",
                item.product.name + (f" x{item.quantity}" if item.quantity > 1 else ""),
                item.plan.name if item.plan else "",
                order.status.replace("_", " ") if first else "",
                formatting.money(order.total, order.currency, customer.locale) if first else "",
            ])
    reply.tables.append(Table(["Order", "Date", "Product", "Plan", "Status", "Total"], rows,
                              title="Orders", numeric=(5,)))


class ProductArguments(Arguments):
    product: str = ProductRef


@command("product", summary="A product's downloads, private links and license keys",
         aliases=("show", "downloads"), examples=("product 1", "product ebook"), reads_only=True)
async def product(ctx: Context, args: ProductArguments) -> Reply:
    customer = await ctx.customer()
    owned = await ownership.find_owned_product(ctx.session, customer.id, args.product)
    reply = Reply(title=owned.product.name)
    if owned.product.description:
        reply.paragraphs.append(owned.product.description)
    reply.fields.append(ReplyField("Status", product_status(owned, customer)))
    if not owned.active:
        reply.paragraphs.append("Your access to this product has ended.")
        return reply
    for deliverable in owned.product.deliverables:
        if not deliverable.active:
            continue
        if deliverable.kind == "file":
            link = downloads.link_for(ctx.portal, ctx.customer_id, deliverable)
            reply.links.append(Link(f"Download {deliverable.label}", link.url, link.expires_at))
        elif deliverable.kind == "link":
            reply.links.append(Link(deliverable.label, deliverable.target))
        elif deliverable.kind == "discord_role":
            reply.fields.append(ReplyField(deliverable.label,
                                           "a role in the store's Discord server, given when you "
                                           "link Discord (`login` there)", inline=False))
        elif deliverable.kind == "discord_invite":
            reply.fields.append(ReplyField(deliverable.label,
                                           f"a private invite: send `invite {owned.number}` "
                                           "in Discord", inline=False))
    licenses = await licenses_for(ctx.session, ctx.customer_id, owned.product.id)
    if licenses:
        usage = await usage_of(ctx.session, [lic.id for lic in licenses])
        reply.tables.append(licenses_table(licenses, usage=usage, now=ctx.portal.now()))
        reply.choices.append(Choice("Reveal license keys", f"reveal {owned.number}"))
        if any(usage.values()):
            reply.choices.append(Choice("Devices", f"devices {owned.product.slug}"))
    teams = await seats.teams_of(ctx.session, ctx.customer_id, owned.product.id)
    if teams:
        taken, total = sum(len(team.seats) for team in teams), sum(team.total for team in teams)
        reply.fields.append(ReplyField("Team seats", f"{taken} of {total} assigned; each member gets "
                                       f"their own key (`seats {owned.product.slug}`)", inline=False))
        reply.choices.append(Choice("Seats", f"seats {owned.product.slug}"))
    if any(link.expires_at is not None for link in reply.links):  # signed downloads, not plain links
        minutes = ctx.portal.settings.download_link_ttl // 60
        reply.paragraphs.append(f"Download links work for {minutes} minutes and only for you.")
    return reply


@command("reveal", summary="Show a product's full license keys", aliases=("keys",), reads_only=True,
         examples=("reveal 2",))
async def reveal(ctx: Context, args: ProductArguments) -> Reply:
    owned = await ownership.find_owned_product(ctx.session, ctx.customer_id, args.product)
    licenses = await licenses_for(ctx.session, ctx.customer_id, owned.product.id)
    if not licenses:
        if await seats.teams_of(ctx.session, ctx.customer_id, owned.product.id):
            return Reply.error(f"{owned.product.name} is a team purchase: each member you assign gets "
                               f"a key of their own (`seats {owned.product.slug}`), so there is none "
                               "for you unless you assign yourself a seat.")
        return Reply.error(f"{owned.product.name} has no license keys.")
    usage = await usage_of(ctx.session, [lic.id for lic in licenses])
    reply = Reply(title=f"{owned.product.name}: license keys",
                  tables=[licenses_table(licenses, usage=usage, now=ctx.portal.now(), reveal=True)],
                  paragraphs=["Keep your keys private; anyone with a key can use its devices."])
    owners = await seats.seats_owners(ctx.session, ctx.customer_id)
    for owner in dict.fromkeys(owners[lic.id] for lic in licenses if lic.id in owners):
        reply.paragraphs.append(f"Your key comes with a seat on {owner}'s team; it stops working "
                                "if they give the seat to someone else.")
    return reply
