"""A subscription change as the customer is asked to confirm it, and as it is carried out.

Every change command (change, pause, resume, cancel, uncancel, resubscribe) gets a preview from
core (core/subscriptions: amounts, the proration lines, the new price, notes) and stores its
quote id in the confirmation; confirming applies exactly that quote, once. A caller whose
changes run at once (a DKIM-verified email) has the quote applied in the same step.
"""

from __future__ import annotations

from typing import Any

from core.kernel.errors import NotFound
from core.payments.provider import PaymentProvider
from core.subscriptions import quotes
from handlers.context import Context
from handlers.reply import Field, Reply, Table

NO_PROVIDER = "Subscriptions can't be changed here: no payment provider is set up."


def provider(ctx: Context) -> PaymentProvider:
    """Who moves the money for a change; refused before anything is previewed without one."""
    if ctx.payments is None:
        raise NotFound(NO_PROVIDER)
    return ctx.payments


def preview_reply(preview: quotes.Preview, *, title: str) -> Reply:
    """What the change does and costs: the summary and notes, what is due now with its lines,
    and the price from then on."""
    reply = Reply(title=title, paragraphs=[preview.summary, *preview.notes])
    if preview.lines or preview.amount_due:
        reply.fields.append(Field("Due now", preview.money(preview.amount_due)))
    if preview.recurring:
        reply.fields.append(Field("Then", preview.recurring))
    if preview.lines:
        reply.tables.append(Table(
            ["Proration", "Amount"],
            [[line.description, preview.money(line.amount)] for line in preview.lines], numeric=(1,)))
    return reply


async def ask_or_apply(ctx: Context, preview: quotes.Preview, *, title: str, summary: str,
                       done: str, arguments: dict[str, Any], confirm_label: str,
                       cancel_label: str = "Cancel") -> Reply:
    """The preview with a confirmation that keeps its quote (`summary`: what is confirmed, in a
    few words); or, for a caller whose changes run at once, the quote applied now."""
    if ctx.confirmed:
        return await apply(ctx, preview.quote_id, title=done)
    return await ctx.confirm(preview_reply(preview, title=title), summary=summary,
                             arguments={**arguments, "quote": preview.quote_id},
                             confirm_label=confirm_label, cancel_label=cancel_label)


async def apply(ctx: Context, quote_id: int, *, title: str) -> Reply:
    """Carry out the caller's own quote, exactly as previewed (core refuses anyone else's, a
    used or expired one, and one the subscription has moved on from)."""
    applied = await quotes.apply(ctx.session, ctx.portal, provider(ctx), ctx.customer_id, quote_id,
                                 actor=ctx.caller.actor)
    return Reply.text(applied.message, title=title)
