"""invite <product>: a private, single-use invite to a product's community channel."""

from __future__ import annotations

from core.accounts import audit
from core.kernel.errors import NotFound
from core.orders import ownership
from handlers.commands.orders import ProductArguments
from handlers.context import Context
from handlers.registry import command
from handlers.reply import Link, Reply


@command("invite", summary="Get a private, single-use invite to a product's community",
         examples=("invite 4",), platforms=("discord",))
async def invite(ctx: Context, args: ProductArguments) -> Reply:
    owned = await ownership.find_owned_product(ctx.session, ctx.customer_id, args.product)
    channels = [d for d in owned.product.deliverables if d.kind == "discord_invite" and d.active]
    make = ctx.caller.abilities.create_invite
    if not owned.active or not channels:
        raise NotFound(f"{owned.product.name} has no private community invite.")
    if make is None:
        raise NotFound("Invites are created in Discord: use this command there.")
    reply = Reply(title=f"{owned.product.name}: your invite")
    for channel in channels:
        max_age = int(channel.options.get("max_age", 86400))
        url = await make(int(channel.target), max_age)
        reply.links.append(Link(channel.label, url))
    reply.paragraphs.append("Each link works once and expires; ask again if it runs out.")
    await audit.record(ctx.session, at=ctx.portal.now(), customer_id=ctx.customer_id, actor=ctx.caller.actor,
                       action="invite_created", product=owned.product.slug)
    return reply
