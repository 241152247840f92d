"""Refunds as the customer follows them: refunds [order]."""

from __future__ import annotations

from pydantic import Field

from core.billing import queries, refunds
from core.kernel import formatting
from core.models import Customer, Order
from handlers.context import Context
from handlers.registry import Arguments, command
from handlers.reply import Field as ReplyField
from handlers.reply import Reply
from handlers.tables import refunds_table


class RefundsArguments(Arguments):
    order: str | None = Field(default=None, max_length=40, json_schema_extra={"suggest": "refunds"},
                              description="one order's refunds: its number, like SK-00012")


@command("refunds", summary="Your refunds: amounts, states, dates and credit notes", reads_only=True,
         examples=("refunds", "refunds SK-00012"))
async def refunds_list(ctx: Context, args: RefundsArguments) -> Reply:
    """Every refund of your orders, newest first, or one order's with what is left of it."""
    customer = await ctx.customer()
    order = await refunds.find_order(ctx.session, args.order, customer_id=customer.id) if args.order else None
    found = await refunds.refunds_of(ctx.session, customer.id, order.id if order else None)
    title = f"Refunds of order {order.number}" if order else "Your refunds"
    if not found:
        return Reply.text(f"Order {order.number} has no refunds." if order else "You have no refunds.",
                          title=title)
    orders = {refund.order_id: await ctx.session.get(Order, refund.order_id) for refund in found}
    notes = await queries.numbers_of(ctx.session, customer.id, [r.credit_note_id for r in found])
    reply = Reply(title=title, tables=[refunds_table(found, customer, orders={
        number: placed for number, placed in orders.items() if placed is not None}, credit_notes=notes)])
    if order is not None:
        reply.fields += await _balance_fields(ctx, customer, order)
    newest = next((notes[r.credit_note_id] for r in found if r.credit_note_id in notes), None)
    if newest is not None:
        reply.paragraphs.append("Each refund that went through has a credit note correcting the invoice: "
                                f"send `invoice {newest}` for its PDF.")
    return reply


async def _balance_fields(ctx: Context, customer: Customer, order: Order) -> list[ReplyField]:
    """What was paid for the order, what of it went back, and its state."""
    held = await refunds.balance(ctx.session, order)
    amounts = [("Paid", held.paid), ("Refunded", held.refunded)]
    amounts += [("On its way back", held.pending)] if held.pending else []
    return [*(ReplyField(name, formatting.money(amount, order.currency, customer.locale))
              for name, amount in amounts), ReplyField("Order status", order.status.replace("_", " "))]
