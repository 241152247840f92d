"""Small helpers the tests share: acting as a customer, reading the mail the portal sent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.billing.tax_ids import fits
from core.identity.customers import by_email
from core.kernel.events import Event, decode
from core.kernel.portal import Portal
from core.models import BillingDetails, DomainEvent, OutboundMail, TaxId
from core.models.billing_details import DOES_NOT_FIT, NOT_VERIFIED
from core.models.events import DELIVERED
from handlers.context import Caller
from handlers.registry import REGISTRY


async def caller_for(portal: Portal, email: str, platform: str = "console") -> Caller:
    async with portal.db.unit_of_work() as session:
        customer = await by_email(session, email)
    assert customer is not None, email
    return Caller(platform=platform, account_id=f"test:{email}", customer_id=customer.id)


async def sent_mail(portal: Portal, to: str | None = None, kind: str | None = None) -> list[EmailMessage]:
    """Every message queued for `to`, oldest first, as the recipient would read it."""
    query = select(OutboundMail).order_by(OutboundMail.id)
    if to:
        query = query.where(OutboundMail.recipient == to)
    if kind:
        query = query.where(OutboundMail.kind == kind)
    async with portal.db.unit_of_work() as session:
        rows = list(await session.scalars(query))
    messages = []
    for row in rows:
        message = message_from_bytes(row.raw, policy=default)
        assert isinstance(message, EmailMessage)
        messages.append(message)
    return messages


async def published(portal: Portal) -> list[Event]:
    """Every domain event committed so far, oldest first."""
    async with portal.db.unit_of_work() as session:
        return [decode(row) for row in await session.scalars(select(DomainEvent).order_by(DomainEvent.id))]


async def eventually(check: Callable[[], bool], what: str, *, within: float = 10.0) -> None:
    """Wait for something a background worker does, failing with `what` if it never happens."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"not within {within:g} s: {what}")
        await asyncio.sleep(0.02)


async def all_events_delivered(portal: Portal) -> None:
    """Wait until a running event worker has delivered every domain event: none waits, none is
    deferred to be tried again (a subscriber that failed)."""
    async def waiting() -> int:
        async with portal.db.unit_of_work() as session:
            return int(await session.scalar(select(func.count()).select_from(DomainEvent).where(
                DomainEvent.status != DELIVERED)) or 0)

    for _ in range(500):
        if not await waiting():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("some events were not delivered")


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


@contextmanager
def throwaway_commands() -> Iterator[None]:
    """Commands a test registers inside the block are gone after it."""
    commands, aliases = dict(REGISTRY._commands), dict(REGISTRY._aliases)
    try:
        yield
    finally:
        REGISTRY._commands, REGISTRY._aliases = commands, aliases


async def bill_to(session: AsyncSession, customer_id: int, *, address: tuple[str, ...] = (),
                  tax_ids: tuple[str, ...] = (), **fields: str) -> None:
    """Give a customer billing details as stored (name, company, postal_code, city, region,
    country) and tax IDs, each in the state checking them against the country gives."""
    country = fields.get("country")
    session.add(BillingDetails(customer_id=customer_id, address_lines=list(address), **fields))
    for value in tax_ids:
        compact = "".join(ch for ch in value.upper() if ch.isalnum())
        session.add(TaxId(customer_id=customer_id, type="eu_vat", country=country, value=compact,
                          state=NOT_VERIFIED if fits(compact, country) else DOES_NOT_FIT))
