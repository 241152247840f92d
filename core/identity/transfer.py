"""Moving an account to another email address, and taking it back from the old one.

The account moves in place: the customer's address changes, so everything that belongs to the
customer (orders, subscriptions, licenses and seats, invoices, billing details) comes along, and
issued invoices keep the buyer they were issued to in their snapshots. The new address proves
itself with a code mailed to it (core.identity.codes), confirming a pending action; the old one
is sent a signed link that undoes the move for seven days, unless the old address has become
another customer's since. Each way, the account's chat links are dropped (whoever was signed in
signs in again with the address the account now has), open codes of both addresses end, and
the member address of the account's team seats follows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import audit
from core.identity import chat_links, codes
from core.identity.customers import by_email
from core.kernel import events, formatting
from core.kernel.db import lock
from core.kernel.errors import Conflict, NotFound
from core.kernel.portal import Portal
from core.kernel.security import TokenInvalid, sign, verify
from core.mail import notifications
from core.models import AccountTransfer, Customer, Seat

UNDO_DAYS = 7
UNDO_PURPOSE = "undo-transfer"
UNDO_ACTOR = "old address via undo link"


def refuse_own(customer: Customer, new_email: str) -> None:
    if new_email == customer.email:
        raise Conflict(f"{new_email} is already your address: there is nothing to move.")


async def request(session: AsyncSession, portal: Portal, customer: Customer, new_email: str, *,
                  caller: str, pending_action_id: int) -> datetime:
    """Mail `new_email` the code that confirms the pending move when `caller` enters it; returns
    when the code expires. Nothing here looks at whether the address has an account: the answer
    and the work are the same either way."""
    refuse_own(customer, new_email)
    code, expires_at = await codes.confirmation_code(session, portal, email=new_email, caller=caller,
                                                     pending_action_id=pending_action_id)
    await notifications.queue_transfer_code(session, portal, new_email, code)
    return expires_at


async def carry_out(session: AsyncSession, portal: Portal, customer: Customer, new_email: str, *,
                    actor: str) -> AccountTransfer:
    """Move the account to `new_email`, whose mailbox was proven. Refused (Conflict) when the
    address belongs to another account: accounts are never merged."""
    await lock(session, Customer, customer.id)
    await session.refresh(customer)
    refuse_own(customer, new_email)
    if await by_email(session, new_email) is not None:
        raise Conflict(f"{new_email} already has an account here, and accounts are not merged: "
                       f"this one stays at {customer.email}. Nothing was changed.")
    old_email, now = customer.email, portal.now()
    record = AccountTransfer(customer_id=customer.id, old_email=old_email, new_email=new_email,
                             actor=actor[:120], transferred_at=now,
                             undo_until=now + timedelta(days=UNDO_DAYS))
    session.add(record)
    dropped = await _move(session, portal, customer, old_email, new_email, actor=actor,
                          reason="the account moved to another address")
    await audit.record(session, at=portal.now(),
                       customer_id=customer.id, actor=actor, action="account_transferred",
                       old_email=old_email, new_email=new_email, chat_links_dropped=dropped)
    await notifications.queue_transfer_notice(
        session, portal, old_email=old_email, new_email=new_email, undo_url=undo_link(portal, record),
        until=formatting.moment(record.undo_until, customer.timezone))
    events.publish(session, events.AccountTransferred(customer_id=customer.id, transfer_id=record.id))
    return record


async def _move(session: AsyncSession, portal: Portal, customer: Customer, from_email: str,
                to_email: str, *, actor: str, reason: str) -> int:
    """The address change itself; returns how many chat links were dropped."""
    customer.email = to_email
    await session.flush()  # the unique address: a customer made meanwhile stops it here
    await session.execute(
        update(Seat).where(Seat.member_id == customer.id, Seat.email == from_email)
        .values(email=to_email).execution_options(synchronize_session=False))
    dropped = await chat_links.unlink_all(session, customer.id, actor=actor, reason=reason)
    await codes.invalidate(session, portal, [from_email, to_email])
    return dropped


def undo_link(portal: Portal, record: AccountTransfer) -> str:
    token = sign(portal.secret, UNDO_PURPOSE, [record.id], UNDO_DAYS * 86400,
                 now=record.transferred_at.timestamp())
    return portal.url(f"/account/undo/{token}")


def transfer_in(portal: Portal, token: str) -> int:
    """The move an undo link names. Raises TokenInvalid or TokenExpired (core.kernel.security)."""
    fields = verify(portal.secret, UNDO_PURPOSE, token, now=portal.now().timestamp())
    if len(fields) != 1 or not fields[0].isdigit():
        raise TokenInvalid("malformed")
    return int(fields[0])


async def undoable(session: AsyncSession, portal: Portal, transfer_id: int) -> AccountTransfer:
    """The move, if it can still be undone; otherwise why not, in words."""
    record = await session.get(AccountTransfer, transfer_id, populate_existing=True)
    if record is None:
        raise NotFound("This move is not known here.")
    if record.undone_at is not None:
        raise Conflict(f"This move was already undone: the account went back to {record.old_email}.")
    if record.undo_until <= portal.now():
        raise Conflict("This move can no longer be undone here: the link worked for "
                       f"{UNDO_DAYS} days. Please write to the store.")
    holder = await by_email(session, record.old_email)
    if holder is not None and holder.id != record.customer_id:
        raise Conflict(f"{record.old_email} has become another customer's address since, so the "
                       "move cannot be undone here. Please write to the store.")
    return record


async def undo(session: AsyncSession, portal: Portal, transfer_id: int, *,
               actor: str = UNDO_ACTOR) -> AccountTransfer:
    """Give the account back to the address the move took it from. Later moves of the account
    are undone with it (and their links stop working), so a chain of moves cannot keep it."""
    record = await undoable(session, portal, transfer_id)
    await lock(session, Customer, record.customer_id)
    record = await undoable(session, portal, transfer_id)  # read again under the lock
    customer = await session.get(Customer, record.customer_id, populate_existing=True)
    assert customer is not None
    current, now = customer.email, portal.now()
    await session.execute(
        update(AccountTransfer).where(AccountTransfer.customer_id == customer.id,
                                      AccountTransfer.id >= record.id, AccountTransfer.undone_at.is_(None))
        .values(undone_at=now).execution_options(synchronize_session=False))
    record.undone_at = now
    await _move(session, portal, customer, current, record.old_email, actor=actor,
                reason="the move was undone from the old address")
    await audit.record(session, at=portal.now(),
                       customer_id=customer.id, actor=actor, action="account_transfer_undone",
                       old_email=record.old_email, new_email=current)
    await notifications.queue_transfer_undone(session, portal, email=current, back_to=record.old_email)
    events.publish(session, events.AccountTransferUndone(customer_id=customer.id, transfer_id=record.id))
    return record
