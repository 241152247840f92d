"""`shopkeep refund <order> [--amount X] [--reason R] [--end-access] [--key K]`: give money back
for an order through the payment provider that charged it (or record the store's own refund of
an order its checkout was paid for), follow the refund until it is final, and say how it ended.

The refund is recorded as pending first, in a transaction of its own, so a refund that crashed
or timed out is never lost nor made twice: running the command again with the same --key follows
the same refund, and the provider is asked with the same idempotency key.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from bot.bootstrap import outbox_sender, payment_provider
from core.billing import refunds
from core.kernel import formatting
from core.kernel.errors import Conflict, PortalError
from core.kernel.portal import Portal
from core.models import Customer, Document, Order, Refund
from core.models.refunds import OPERATOR, PENDING, STORE, SUCCEEDED
from core.payments.provider import PaymentProvider
from core.subscriptions.refunding import end_refunded_access

ACTOR = "operator via cli"
EXIT_FAILED = 1
POLL_EVERY = 2.0  # seconds between questions to the provider about a pending refund
FOLLOW_FOR = timedelta(minutes=10)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    refund = commands.add_parser(
        "refund", help="refund an order, in full or in part",
        description="Give money back for an order: through the payment provider that charged it, "
        "or, for an order your store's checkout was paid for, recorded as your store's refund. Each "
        "refund issues a credit note; refunding an order in full ends the access it gave.")
    refund.add_argument("order", help="the order's number, e.g. SK-00012")
    refund.add_argument("--amount", type=int, help="how much, in minor units (default: all that is left)")
    refund.add_argument("--reason", help="why, for the customer's mail and the credit note")
    refund.add_argument("--end-access", action="store_true",
                        help="end the access the order gave even though the refund is partial")
    refund.add_argument("--key", metavar="KEY",
                        help="idempotency key: the same key refunds once (default: a new one); "
                        "run again with a refund's key to follow it")


async def run(portal: Portal, args: argparse.Namespace) -> int:
    payments = payment_provider(portal)
    key = args.key or f"cli-{uuid.uuid4()}"
    async with portal.db.unit_of_work() as session:
        order = await refunds.find_order(session, args.order)
        requested = await refunds.request(session, portal, payments, order, amount=args.amount,
                                          reason=args.reason, key=key, requested_by=OPERATOR,
                                          actor=ACTOR, end_access=args.end_access)
        refund_id = requested.refund.id
    if requested.replayed:
        print(f"A refund with --key {key} was asked for before; following it.")
    refund = await _follow(portal, payments, refund_id, key)
    if refund.state == SUCCEEDED and await _takes_access(portal, refund):
        # At once, not when the event worker gets to it; the worker then finds nothing left.
        await end_refunded_access(portal, payments, refund.id)
    await outbox_sender(portal).send_due()  # the customer's notice goes out now
    line, ok = await _outcome(portal, refund)
    print(line)
    return 0 if ok else EXIT_FAILED


async def _follow(portal: Portal, payments: PaymentProvider, refund_id: int, key: str) -> Refund:
    """Send the refund, then ask about it until it is final (or FOLLOW_FOR has passed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FOLLOW_FOR.total_seconds()
    while True:
        try:
            async with portal.db.unit_of_work() as session:
                refund = await session.get(Refund, refund_id)
                assert refund is not None
                refund = await refunds.follow(session, portal, payments, refund)
        except (PortalError, SQLAlchemyError):
            raise
        except Exception:  # the provider's own failure: its outcome is unknown
            raise Conflict(f"The payment provider did not answer, so the refund is still pending. Run "
                           f"the same command with --key {key} to ask again; it refunds once.") from None
        if refund.state != PENDING or loop.time() >= deadline:
            return refund
        await asyncio.sleep(POLL_EVERY)


async def _takes_access(portal: Portal, refund: Refund) -> bool:
    async with portal.db.unit_of_work() as session:
        order = await session.get(Order, refund.order_id)
        return order is not None and refunds.takes_access(order, refund)


async def _outcome(portal: Portal, refund: Refund) -> tuple[str, bool]:
    """The line that says how the refund ended, and whether it went through."""
    async with portal.db.unit_of_work() as session:
        refund = await session.get(Refund, refund.id) or refund  # as its access left it
        order = await session.get(Order, refund.order_id)
        customer = await session.get(Customer, refund.customer_id)
        note = await session.get(Document, refund.credit_note_id) if refund.credit_note_id else None
        assert order is not None and customer is not None
        held = await refunds.balance(session, order)

    def money(amount: int) -> str:
        return formatting.money(amount, order.currency)

    what = f"{money(refund.amount)} of order {order.number} ({customer.email})"
    if refund.state == PENDING:
        return (f"The refund of {what} is still pending at {refund.provider}. Run the same command with "
                f"--key {refund.idempotency_key} to follow it.", True)
    if refund.state != SUCCEEDED:
        why = f": {refund.failure_message}" if refund.failure_message else ""
        return f"The refund of {what} {refund.state}{why}. Nothing was refunded.", False
    left = f"{money(held.left)} left to refund" if held.left else "nothing left to refund"
    done = ("Recorded " + what + " as refunded by your store: its checkout was paid, not shopkeep's "
            "payment provider, so no money moved here; refund it in your store if you have not."
            if refund.provider == STORE else f"Refunded {what} through {refund.provider}.")
    note_line = f" Credit note {note.number} corrects {note.snapshot.get('corrects')}." if note else ""
    if refund.access_ended_at is not None:
        access = "Access to what the order gave has ended."
    elif refunds.takes_access(order, refund):
        access = "No access ended: what the order gave has ended already, or a later order pays for it."
    else:
        access = "The customer keeps access."
    return f"{done} Order {order.status.replace('_', ' ')}, {left}.{note_line} {access}", True
