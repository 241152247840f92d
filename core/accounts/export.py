"""Everything stored about a customer, as data they can take away (`export`) and the operator
can hand over (`shopkeep customer export`).

Every table with a `customer_id` is read by it, so what a capability adds later is in the
export without a change here; rows that belong to the customer through another row (order
items, devices, seats, mail to and from their addresses, codes sent to them) are read through
it (codes sent to their addresses or for their pending changes). Only what would let someone
act as the customer is left out: code hashes and the codes of pending confirmations.
"""

from __future__ import annotations

from base64 import b64encode
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Table, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.kernel.portal import Portal
from core.models import (
    AccountTransfer,
    Activation,
    Base,
    CodeChallenge,
    Customer,
    InboundMail,
    License,
    Order,
    OrderItem,
    OutboundMail,
    PendingAction,
    Seat,
)

FORMAT = "shopkeep-export/1"
SECRET_COLUMNS = {("code_challenges", "code_hash"), ("pending_actions", "code")}
# Read through another row than a customer_id of their own (see `_through`).
THROUGH = ("order_items", "activations", "seats", "code_challenges", "inbound_mail", "outbound_mail")


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return b64encode(value).decode()
    return value


async def _rows(session: AsyncSession, table: Table, where: ColumnElement[bool], *,
                leave_out: tuple[str, ...] = (), text: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The rows as JSON values; `text` columns (bytes) read as UTF-8 text."""
    order = [table.c.id] if "id" in table.c else []
    result = await session.execute(select(table).where(where).order_by(*order))
    return [{key: value.decode("utf-8", "replace") if key in text and isinstance(value, bytes)
             else _value(value) for key, value in row._mapping.items()
             if (table.name, key) not in SECRET_COLUMNS and key not in leave_out} for row in result]


async def addresses_of(session: AsyncSession, customer: Customer) -> list[str]:
    """The customer's address and every address the account had before or was moved to, but
    those another customer has now (someone bought with an address this account left)."""
    moves = await session.execute(select(AccountTransfer.old_email, AccountTransfer.new_email)
                                  .where(AccountTransfer.customer_id == customer.id))
    addresses = {customer.email}
    for old, new in moves:
        addresses |= {old, new}
    others = set(await session.scalars(select(Customer.email).where(
        Customer.email.in_(addresses), Customer.id != customer.id)))
    return sorted(addresses - others)


async def everything(session: AsyncSession, portal: Portal, customer_id: int) -> dict[str, Any]:
    customer = await session.get(Customer, customer_id)
    assert customer is not None
    customers: Table = Customer.__table__  # type: ignore[assignment]
    [profile] = await _rows(session, customers, customers.c.id == customer_id)
    data: dict[str, Any] = {"format": FORMAT, "exported_at": portal.now().isoformat(),
                            "store": portal.settings.store_name, "customer": profile}
    for table in sorted(Base.metadata.tables.values(), key=lambda t: t.name):
        if "customer_id" in table.c and table.name not in THROUGH:
            data[table.name] = await _rows(session, table, table.c.customer_id == customer_id)
    data.update(await _through(session, customer, await addresses_of(session, customer)))
    return data


async def _through(session: AsyncSession, customer: Customer, addresses: list[str]) -> dict[str, Any]:
    def table(model: Any) -> Table:
        return model.__table__  # type: ignore[no-any-return]

    orders = select(Order.id).where(Order.customer_id == customer.id)
    licenses = select(License.id).where(License.customer_id == customer.id)
    pending = select(PendingAction.id).where(PendingAction.customer_id == customer.id)
    return {
        "order_items": await _rows(session, table(OrderItem), OrderItem.order_id.in_(orders)),
        "activations": await _rows(session, table(Activation), Activation.license_id.in_(licenses)),
        "seats": await _rows(session, table(Seat), or_(Seat.owner_id == customer.id,
                                                        Seat.member_id == customer.id)),
        "code_challenges": await _rows(session, table(CodeChallenge), or_(
            CodeChallenge.email.in_(addresses), CodeChallenge.pending_action_id.in_(pending))),
        # The messages they sent as they were kept (card numbers masked; empty once past the
        # retention period), and what was sent to them: the subject and dates say which, the
        # copy of each message is theirs already.
        "inbound_mail": await _rows(session, table(InboundMail),
                                    func.lower(InboundMail.envelope_from).in_(addresses), text=("raw",)),
        "outbound_mail": await _rows(session, table(OutboundMail), OutboundMail.recipient.in_(addresses),
                                     leave_out=("raw",)),
    }
