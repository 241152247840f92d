"""Team seats: seats <product>, assign <product> <email>, unassign <product> <email>."""

from __future__ import annotations

from pydantic import Field

from core.identity.customers import normalize_email
from core.kernel import formatting
from core.kernel.errors import InvalidInput
from core.licenses import queries
from core.licenses import seats as team_seats
from core.licenses.keys import masked
from core.models import Product
from core.models.licenses import PENDING
from core.orders import ownership
from handlers.commands.licenses import ProductListArguments
from handlers.context import Context
from handlers.paging import PAGE_ROWS, page_of, split_page
from handlers.parser import mentioned_users
from handlers.registry import Arguments, command
from handlers.reply import Choice, Reply, Table


class MemberArguments(Arguments):
    product: str = Field(description="the team product's number from `orders`, or its slug",
                         json_schema_extra={"suggest": "products"}, min_length=1, max_length=200)
    member: str = Field(description="the teammate's email address (in Slack an @mention works too)",
                        min_length=1, max_length=320)


def _member_email(ctx: Context, raw: str, product: Product) -> str:
    if mentioned_users(raw):
        # Slack turns mentions into addresses before the command runs; elsewhere they stay.
        raise InvalidInput(f"I can't tell the email address behind a mention here. Type it instead, "
                           f"e.g. `{ctx.command.name} {product.slug} dana@example.com`.")
    return normalize_email(raw)


async def _product(ctx: Context, ref: str) -> Product:
    return (await ownership.find_owned_product(ctx.session, ctx.customer_id, ref)).product


@command("seats", summary="Who has a seat of your team product, and how many are free",
         examples=("seats tileset-forge",), reads_only=True)
async def seats(ctx: Context, args: ProductListArguments) -> Reply:
    """A seat is pending until its member signs in or uses their key, then claimed. Each member
    has their own key; Devices shows how many of its slots are in use."""
    customer = await ctx.customer()
    ref, page_number = split_page(args.product)
    product = await _product(ctx, ref)
    teams = await team_seats.owners_teams(ctx.session, customer, product)
    held = [seat for team in teams for seat in team.seats]
    total, free = sum(team.total for team in teams), sum(team.free for team in teams)
    title = f"{product.name}: seats"
    summary = f"{len(held)} of {total} seats assigned, {free} free."
    assign = f"Send `assign {product.slug} <email>` to give one to a teammate."
    if not held:
        return Reply.text(f"No seat is assigned yet: all {total} are free. {assign}", title=title)
    page = page_of(held, page_number, what="seats")
    usage = await queries.usage_of(ctx.session, [seat.license_id for seat in page.items])
    first = (page.number - 1) * PAGE_ROWS + 1
    rows = [[str(first + index), seat.email, seat.state,
             formatting.date(seat.assigned_at, customer.locale, customer.timezone),
             f"{usage.get(seat.license_id, 0)}/{seat.license.activation_limit}"]
            for index, seat in enumerate(page.items)]
    actions = tuple(Choice(f"Unassign {row[0]}", f"unassign {product.slug} {seat.email}")
                    for row, seat in zip(rows, page.items, strict=True))
    reply = Reply(title=title if page.number == 1 else f"{title}, page {page.number}",
                  paragraphs=[summary + (f" {assign}" if free else "")],
                  tables=[Table(["#", "Member", "State", "Assigned", "Devices"], rows,
                                title="Seats", numeric=(0, 4), actions=actions)])
    if any(seat.state == PENDING for seat in held):
        reply.paragraphs.append("Pending: invited, but not signed in or using their key yet.")
    reply.paragraphs.append(f"`unassign {product.slug} <email>` frees a seat: that member's access "
                            "ends and their key stops working.")
    if page.more:
        reply.choices.append(Choice("Next page", f"seats {product.slug} page {page.number + 1}"))
    return reply


@command("assign", summary="Give a teammate a seat of your team product", mutates=True,
         previews=True, examples=("assign tileset-forge dana@example.com",))
async def assign(ctx: Context, args: MemberArguments) -> Reply:
    """Asks first. The teammate gets their own access to the product, their own license key
    and an email inviting them; they sign in with that address. Only the buyer assigns seats."""
    owner = await ctx.customer()
    product = await _product(ctx, args.product)
    email = _member_email(ctx, args.member, product)
    teams = await team_seats.owners_teams(ctx.session, owner, product)
    team_seats.assignable(teams, product, email)
    total, free = sum(team.total for team in teams), sum(team.free for team in teams)
    yourself = email == owner.email
    if not ctx.confirmed:
        devices = product.activation_limit or 1
        who = "You get" if yourself else f"{email} gets"
        preview = Reply(title=f"Give {'yourself' if yourself else email} a seat?", paragraphs=[
            f"{who} their own access to {product.name} and a license key for {devices} "
            f"device{'s' if devices != 1 else ''}" + ("." if yourself else ", and an email "
                                                      "inviting them to sign in.")
            + f" {free - 1} of {total} seats will be free after this."])
        return await ctx.confirm(preview, summary=f"Give {email} a seat of {product.name}",
                                 arguments={"product": product.slug, "member": email},
                                 confirm_label="Assign")
    await team_seats.assign(ctx.session, ctx.portal, owner, product, email, actor=ctx.caller.actor)
    done = (f"You hold a seat of {product.name} yourself now: `reveal {product.slug}` shows your key."
            if yourself else f"{email} has a seat of {product.name} now; we emailed them an invite.")
    return Reply.text(done, f"{free - 1} of {total} seats are free.", title="Seat assigned")


@command("unassign", summary="Take a teammate's seat back, ending their access", mutates=True,
         previews=True, examples=("unassign tileset-forge dana@example.com",))
async def unassign(ctx: Context, args: MemberArguments) -> Reply:
    """Asks first. The member's access to the product ends and their license key stops working
    on every device; the seat is free for someone else."""
    owner = await ctx.customer()
    product = await _product(ctx, args.product)
    email = _member_email(ctx, args.member, product)
    teams = await team_seats.owners_teams(ctx.session, owner, product)
    seat = team_seats.held_seat(teams, product, email)
    total, free = sum(team.total for team in teams), sum(team.free for team in teams)
    if not ctx.confirmed:
        devices = (await queries.usage_of(ctx.session, [seat.license_id])).get(seat.license_id, 0)
        on = f" on its {devices} device{'s' if devices != 1 else ''}" if devices else ""
        preview = Reply(title=f"Take {email}'s seat back?", paragraphs=[
            f"{email} loses access to {product.name} and their key {masked(seat.license.key)} "
            f"stops working{on}. {free + 1} of {total} seats will be free after this."])
        return await ctx.confirm(preview, summary=f"Take {email}'s seat of {product.name} back",
                                 arguments={"product": product.slug, "member": email},
                                 confirm_label="Unassign")
    await team_seats.unassign(ctx.session, ctx.portal, owner, product, email, actor=ctx.caller.actor)
    return Reply.text(f"{email} no longer has a seat of {product.name}; their key stopped working.",
                      f"{free + 1} of {total} seats are free.", title="Seat freed")
