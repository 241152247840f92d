"""Domain events: what happened, written to the events table in the unit of work that made it
happen, so an event commits or rolls back with its change and is never lost once committed.

An event type is one frozen dataclass with a stable `name` and JSON-able fields:

    @dataclass(frozen=True)
    class Refunded(Event):
        name: ClassVar[str] = "refunded"
        customer_id: int
        order_id: int

The delivery worker (core/kernel/event_delivery.py) hands stored events to their subscribers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from sqlalchemy.ext.asyncio import AsyncSession

from core.models import DomainEvent

# Set in a session's info when it published an event, so a commit can wake the worker.
PUBLISHED = "events_published"


class UnknownEvent(LookupError):
    """A stored event whose name no event type declares (written by a newer version)."""


@dataclass(frozen=True)
class Event:
    name: ClassVar[str]
    types: ClassVar[dict[str, type[Event]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if not isinstance(name, str) or not name:
            raise TypeError(f"{cls.__name__} must declare a name: ClassVar[str]")
        if name in Event.types:
            raise TypeError(f"two event types are named {name!r}")
        Event.types[name] = cls

    def payload(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Self:
        return cls(**payload)


def decode(record: DomainEvent) -> Event:
    event_type = Event.types.get(record.name)
    if event_type is None:
        raise UnknownEvent(f"no event type is named {record.name!r}")
    return event_type.from_payload(record.payload)


def publish(session: AsyncSession, event: Event) -> None:
    """Record `event` in the session's unit of work; subscribers hear of it once it commits."""
    session.add(DomainEvent(name=event.name, payload=event.payload()))
    session.info[PUBLISHED] = True


@dataclass(frozen=True)
class PurchaseRecorded(Event):
    name: ClassVar[str] = "purchase_recorded"
    customer_id: int
    order_id: int


@dataclass(frozen=True)
class AccessChanged(Event):
    """The customer's products or their status changed: what they may reach is to be re-read."""

    name: ClassVar[str] = "access_changed"
    customer_id: int


@dataclass(frozen=True)
class ChatAccountLinked(Event):
    name: ClassVar[str] = "chat_account_linked"
    customer_id: int
    platform: str
    account_id: str


@dataclass(frozen=True)
class ChatAccountUnlinked(Event):
    name: ClassVar[str] = "chat_account_unlinked"
    customer_id: int
    platform: str
    account_id: str


@dataclass(frozen=True)
class SeatAssigned(Event):
    """A team owner gave a member a seat: the member has the product now (and an invite)."""

    name: ClassVar[str] = "seat_assigned"
    owner_id: int
    member_id: int
    product_id: int
    seat_id: int


@dataclass(frozen=True)
class SeatUnassigned(Event):
    name: ClassVar[str] = "seat_unassigned"
    owner_id: int
    member_id: int
    product_id: int
    seat_id: int


@dataclass(frozen=True)
class LicenseChanged(Event):
    """A device was activated on a key or deactivated from it (`change` says which)."""

    name: ClassVar[str] = "license_changed"
    customer_id: int
    license_id: int
    change: str


@dataclass(frozen=True)
class PaymentMethodChanged(Event):
    """A payment method was added, made the default or removed (`change` says which)."""

    name: ClassVar[str] = "payment_method_changed"
    customer_id: int
    payment_method_id: int
    change: str  # added, default, removed


@dataclass(frozen=True)
class SubscriptionChanged(Event):
    """A subscription changed: renewed, a plan change, a pause, a cancellation, its end
    (`change` says which). Access follows through AccessChanged, published beside it."""

    name: ClassVar[str] = "subscription_changed"
    customer_id: int
    subscription_id: int
    change: str


@dataclass(frozen=True)
class RenewalPaymentFailed(Event):
    """A renewal charge failed. Doors tell the customer in a direct message, with `fix` (the one
    command that fixes it) and the link to add a card, when there is one."""

    name: ClassVar[str] = "renewal_payment_failed"
    customer_id: int
    subscription_id: int
    product: str  # the product's name
    reason: str  # "the card was declined"
    attempt: int
    next_retry_at: str | None  # ISO 8601 UTC; None: this was the last try, the subscription ended
    fix: str  # "payment" while it is tried again; "resubscribe <product>" once it ended


@dataclass(frozen=True)
class RenewalsDue(Event):
    """Something makes a renewal due now (a new payment method while past due): the renewals
    worker wakes up."""

    name: ClassVar[str] = "renewals_due"
    customer_id: int


@dataclass(frozen=True)
class RefundChanged(Event):
    """A refund of an order reached a state the customer is told of (`state`: pending,
    succeeded, failed, canceled). `ends_access`: it succeeded and the order's access ends (a
    full refund, or a partial one the operator said so of); its subscriber ends it, and
    AccessChanged follows for everyone who lost something."""

    name: ClassVar[str] = "refund_changed"
    customer_id: int
    order_id: int
    refund_id: int
    state: str
    ends_access: bool = False


@dataclass(frozen=True)
class AccountTransferred(Event):
    """The customer's account moved to another email address (`transfer_id` says which move)."""

    name: ClassVar[str] = "account_transferred"
    customer_id: int
    transfer_id: int


@dataclass(frozen=True)
class AccountTransferUndone(Event):
    """The old address took the account back with the undo link of move `transfer_id`."""

    name: ClassVar[str] = "account_transfer_undone"
    customer_id: int
    transfer_id: int


@dataclass(frozen=True)
class CustomerErased(Event):
    """The operator erased the person behind the account: access ended, invoices kept."""

    name: ClassVar[str] = "customer_erased"
    customer_id: int


@dataclass(frozen=True)
class BillingDetailsChanged(Event):
    """The customer changed who invoices name or where they go (`fields` says what); invoices
    issued from now on carry it. A changed country re-checked the tax IDs."""

    name: ClassVar[str] = "billing_details_changed"
    customer_id: int
    fields: list[str]


@dataclass(frozen=True)
class TaxIdAdded(Event):
    """A tax ID that fits the billing country was added (`state` as checked offline)."""

    name: ClassVar[str] = "tax_id_added"
    customer_id: int
    tax_id_id: int
    value: str
    state: str


@dataclass(frozen=True)
class TaxIdRemoved(Event):
    name: ClassVar[str] = "tax_id_removed"
    customer_id: int
    value: str
