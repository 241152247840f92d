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
