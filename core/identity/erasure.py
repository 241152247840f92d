"""Erasing a person: what identifies them goes, their access ends, and the invoices stay.

The customer row stays, under an address that reaches nobody, so the invoices, receipts and
credit notes issued to them (and the orders those bill) are kept unchanged, snapshots and all,
for the period the law asks a seller to keep them. Everything else that names the person is
emptied: their address, names and billing details; chat links (Discord roles follow); codes;
the text of the mail they sent and were sent; their address in seats, moves, pending
confirmations, purchase records, audit details (theirs and their teammates') and the mail their
teammates were sent about them. Their products, subscriptions, keys, devices
and the seats they were given end. The audit log keeps that it happened, and who did it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import audit
from core.accounts.export import addresses_of
from core.identity import chat_links
from core.kernel import events
from core.kernel.db import lock
from core.kernel.portal import Portal
from core.models import (
    AccountTransfer,
    Activation,
    AuditEvent,
    BillingDetails,
    CodeChallenge,
    Customer,
    Document,
    Entitlement,
    InboundMail,
    License,
    Order,
    OutboundMail,
    PendingAction,
    Seat,
    Subscription,
    TaxId,
)
from core.models.licenses import DISABLED, UNASSIGNED
from core.models.mail import FAILED, QUEUED, SENDING
from core.models.orders import ACTIVE, ENDED

ERASED = "(erased)"
ERASED_DOMAIN = "erased.invalid"  # RFC 2606: never a real mailbox
# The audit actions whose details hold what the customer wrote into their billing details.
BILLING_ACTIONS = ("billing_details_changed", "tax_id_added", "tax_id_removed", "tax_id_checked")
CANCELED = "canceled"  # a subscription's stopped status, as core.subscriptions.state reads it
HELD = ("pending", "claimed")


def erased_address(customer_id: int) -> str:
    return f"erased-{customer_id}@{ERASED_DOMAIN}"


def is_erased(customer: Customer) -> bool:
    return customer.email.endswith(f"@{ERASED_DOMAIN}")


@dataclass(frozen=True)
class Plan:
    """What erasing the customer would do, for the operator to confirm."""

    addresses: list[str]
    chat_links: int
    active_products: int
    license_keys: int
    received_mail: int
    documents_kept: int


async def plan(session: AsyncSession, customer: Customer) -> Plan:
    addresses = await addresses_of(session, customer)

    async def count(*where: Any) -> int:
        return await session.scalar(select(func.count()).where(*where)) or 0

    return Plan(
        addresses=addresses,
        chat_links=len(await chat_links.links_of(session, customer.id)),
        active_products=await count(Entitlement.customer_id == customer.id, Entitlement.status == ACTIVE),
        license_keys=await count(License.customer_id == customer.id, License.revoked_at.is_(None)),
        received_mail=await count(func.lower(InboundMail.envelope_from).in_(addresses)),
        documents_kept=await count(Document.customer_id == customer.id),
    )


async def erase(session: AsyncSession, portal: Portal, customer: Customer, *, actor: str) -> Plan:
    """Erase the person behind `customer` (see the module's description); returns what it did."""
    await lock(session, Customer, customer.id)
    await session.refresh(customer)
    done = await plan(session, customer)
    now, gone = portal.now(), erased_address(customer.id)
    scrub = _scrubber(done.addresses, gone)

    await chat_links.unlink_all(session, customer.id, actor=actor, reason="the customer was erased")
    # Access ends: products, subscriptions, keys and their devices, seats they were given.
    await _set(session, Entitlement, Entitlement.customer_id == customer.id, Entitlement.status == ACTIVE,
               status=ENDED, ends_at=now)
    await _set(session, Subscription, Subscription.customer_id == customer.id,
               Subscription.status == ACTIVE, status=CANCELED, cancel_at_period_end=False)
    keys = select(License.id).where(License.customer_id == customer.id)
    await _set(session, Activation, Activation.license_id.in_(keys), Activation.deactivated_at.is_(None),
               deactivated_at=now, deactivated_by=actor[:120])
    await _set(session, License, License.customer_id == customer.id, License.revoked_at.is_(None),
               status=DISABLED, revoked_at=now)
    given = list(await session.scalars(select(Seat).where(Seat.member_id == customer.id,
                                                          Seat.state.in_(HELD))))
    await _set(session, Seat, Seat.member_id == customer.id, Seat.state.in_(HELD),
               state=UNASSIGNED, unassigned_at=now)
    await _set(session, Seat, Seat.member_id == customer.id, email=gone)

    # What names them, wherever it is kept beside the invoices.
    await _set(session, PendingAction, PendingAction.customer_id == customer.id,
               PendingAction.state == "pending", state="cancelled", finished_at=now)
    await _set(session, PendingAction, PendingAction.customer_id == customer.id,
               arguments={}, summary=ERASED, result=None)
    await session.execute(delete(CodeChallenge).where(or_(
        CodeChallenge.email.in_(done.addresses),  # and the codes of their moves, to other addresses
        CodeChallenge.pending_action_id.in_(select(PendingAction.id).where(
            PendingAction.customer_id == customer.id)))))
    await _set(session, InboundMail, func.lower(InboundMail.envelope_from).in_(done.addresses),
               raw=b"", envelope_from=gone, recipients={})
    await _set(session, OutboundMail, OutboundMail.recipient.in_(done.addresses),
               OutboundMail.status.in_((QUEUED, SENDING)), status=FAILED,
               last_error="not sent: the recipient was erased")
    await _set(session, OutboundMail, OutboundMail.recipient.in_(done.addresses),
               raw=b"", recipient=gone, subject=ERASED)
    await _set(session, AccountTransfer, AccountTransfer.customer_id == customer.id,
               old_email=gone, new_email=gone, undo_until=now)  # no undo link works any more
    for order in await session.scalars(select(Order).where(Order.customer_id == customer.id,
                                                           Order.request.is_not(None))):
        order.request = {**(order.request or {}), "email": gone, "name": None}
    # Their team: the owners of seats they held and the members of seats they gave name them
    # in their own logs and in the mail they were sent about it.
    team = {other for seat in await session.scalars(select(Seat).where(
        or_(Seat.member_id == customer.id, Seat.owner_id == customer.id)))
        for other in (seat.owner_id, seat.member_id)} | {customer.id}
    for event in await session.scalars(select(AuditEvent).where(AuditEvent.customer_id.in_(team))):
        details, actor_text = scrub(event.details), scrub(event.actor)
        if details != event.details or actor_text != event.actor:
            event.details, event.actor = details, actor_text
    teammates = select(Customer.email).where(Customer.id.in_(team - {customer.id}))
    for mail in await session.scalars(select(OutboundMail).where(OutboundMail.recipient.in_(teammates))):
        if scrub(mail.subject) != mail.subject or _names(mail.raw, done.addresses):
            mail.subject = scrub(mail.subject)
            if mail.status not in (QUEUED, SENDING):
                mail.raw = b""  # sent: the copy is theirs already

    # What they wrote into their billing details, as its log kept it: which fields changed and
    # the states of their tax IDs stay, the values go.
    for event in await session.scalars(select(AuditEvent).where(
            AuditEvent.customer_id == customer.id, AuditEvent.action.in_(BILLING_ACTIONS))):
        event.details = _billing_kept(event.details)
    # Who invoices named and their tax IDs: issued invoices keep them in their snapshots.
    await session.execute(delete(TaxId).where(TaxId.customer_id == customer.id))
    await session.execute(delete(BillingDetails).where(BillingDetails.customer_id == customer.id))
    customer.email, customer.name = gone, None
    await session.flush()
    await audit.record(session, customer_id=customer.id, actor=actor, action="customer_erased",
                       documents_kept=done.documents_kept)
    for seat in given:
        events.publish(session, events.SeatUnassigned(owner_id=seat.owner_id, member_id=customer.id,
                                                      product_id=seat.product_id, seat_id=seat.id))
    events.publish(session, events.AccessChanged(customer_id=customer.id))
    events.publish(session, events.CustomerErased(customer_id=customer.id))
    return done


def _billing_kept(details: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {key: details[key] for key in ("type", "country", "state") if key in details}
    if "changed" in details:
        kept["changed"] = sorted(details["changed"])
    if "tax_id" in details:
        kept["tax_id"] = ERASED
    if details.get("tax_ids"):
        kept["tax_ids"] = sorted(details["tax_ids"].values())
    return kept


def _names(raw: bytes, addresses: list[str]) -> bool:
    text = raw.decode("utf-8", "replace").lower()
    return any(address.lower() in text for address in addresses)


async def _set(session: AsyncSession, model: Any, *where: Any, **values: Any) -> None:
    await session.execute(update(model).where(*where).values(**values)
                          .execution_options(synchronize_session=False))


def _scrubber(addresses: list[str], replacement: str) -> Any:
    """A function that replaces every one of the addresses in text or JSON data."""
    pattern = re.compile("|".join(re.escape(a) for a in addresses), re.I) if addresses else None

    def scrub(value: Any) -> Any:
        if pattern is None:
            return value
        if isinstance(value, str):
            return pattern.sub(replacement, value)
        if isinstance(value, dict):
            return {key: scrub(item) for key, item in value.items()}
        if isinstance(value, list):
            return [scrub(item) for item in value]
        return value

    return scrub
