"""What a merchant's app asks of a key over the license API: activate a device, check the key
(and its device) on every start, free the device on uninstall.

The key's text is the credential, as with Lemon Squeezy's license API the apps were written for:
a key is found by its text alone (any text up to 64 characters, so imported keys work as they
were sold), and an instance id only ever together with its key, so the device of another key is
never found, whatever key comes with it. Checking a key is one read on the hot path; the device's
"last seen" is written at most every few minutes (activations.seen).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.kernel.portal import Portal
from core.licenses import activations
from core.licenses.status import is_expired, status_of
from core.models import Activation, Customer, License, OrderItem, Plan, Product
from core.models.licenses import DISABLED

MAX_KEY_LENGTH = 64  # License.key; a longer text is no key of ours
MAX_INSTANCE_ID_LENGTH = 36  # Activation.instance_id, a UUID
DEFAULT_VARIANT = "Default"  # what Lemon Squeezy calls the variant of a product that has one


class Problem(StrEnum):
    UNKNOWN_KEY = "unknown_key"
    UNKNOWN_INSTANCE = "unknown_instance"  # not a device of this key (or no longer one)
    DISABLED = "disabled"
    EXPIRED = "expired"
    LIMIT_REACHED = "limit_reached"
    NOT_DEACTIVATABLE = "not_deactivatable"  # the product's policy keeps devices on


@dataclass(frozen=True)
class KeyFacts:
    """The key as an app sees it, and the purchase behind it (Lemon Squeezy's `meta`)."""

    id: int
    key: str
    status: str  # inactive, active, expired, disabled
    activation_limit: int
    activation_usage: int
    created_at: datetime
    expires_at: datetime | None
    store_id: int
    order_id: int | None
    order_item_id: int | None
    product_id: int
    product_name: str
    variant_id: int
    variant_name: str
    customer_id: int
    customer_name: str
    customer_email: str


@dataclass(frozen=True)
class Device:
    instance_id: str
    name: str
    activated_at: datetime


@dataclass(frozen=True)
class Answer:
    key: KeyFacts | None  # None only when the key is unknown
    device: Device | None = None
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


UNKNOWN = Answer(None, problem=Problem.UNKNOWN_KEY)


def _facts_query() -> Select[Any]:
    """The key, its device count and everything `meta` says, in one statement of plain columns."""
    usage = (select(func.count()).where(Activation.license_id == License.id,
                                        Activation.deactivated_at.is_(None))
             .correlate(License).scalar_subquery())
    return (select(License.id, License.key, License.status, License.activation_limit,
                   License.created_at, License.expires_at, License.order_item_id,
                   License.customer_id, License.product_id, usage.label("usage"),
                   Product.name.label("product_name"), Product.lemonsqueezy_store_id,
                   Product.lemonsqueezy_product_id, Product.lemonsqueezy_variant_id,
                   Product.customer_can_deactivate, OrderItem.order_id, OrderItem.plan_id,
                   Plan.name.label("plan_name"), Customer.name.label("customer_name"),
                   Customer.email.label("customer_email"))
            .join(Product, Product.id == License.product_id)
            .join(Customer, Customer.id == License.customer_id)
            .outerjoin(OrderItem, OrderItem.id == License.order_item_id)
            .outerjoin(Plan, Plan.id == OrderItem.plan_id)
            .where(License.key == bindparam("key")))


# Built once: composing a statement costs more than running it from the compiled cache.
BY_KEY = _facts_query()
BY_KEY_WITH_DEVICE = BY_KEY.add_columns(
    Activation.id.label("device_id"), Activation.instance_id, Activation.name.label("device_name"),
    Activation.activated_at, Activation.last_seen_at,
).outerjoin(Activation, and_(
    Activation.license_id == License.id, Activation.instance_id == bindparam("instance_id"),
    Activation.deactivated_at.is_(None)))


def _facts(portal: Portal, row: Any) -> KeyFacts:
    return KeyFacts(
        id=row.id, key=row.key, status=status_of(row, portal.now(), devices=row.usage),
        activation_limit=row.activation_limit, activation_usage=row.usage,
        created_at=row.created_at, expires_at=row.expires_at,
        store_id=row.lemonsqueezy_store_id or portal.settings.license_api_store_id,
        order_id=row.order_id, order_item_id=row.order_item_id,
        product_id=row.lemonsqueezy_product_id or row.product_id, product_name=row.product_name,
        variant_id=row.lemonsqueezy_variant_id or row.plan_id or row.product_id,
        variant_name=row.plan_name or DEFAULT_VARIANT,
        customer_id=row.customer_id, customer_name=row.customer_name or "",
        customer_email=row.customer_email)


def _refusal(portal: Portal, row: Any) -> Problem | None:
    if row.status == DISABLED:
        return Problem.DISABLED
    if is_expired(row, portal.now()):
        return Problem.EXPIRED
    return None


def _is_key(key: str) -> bool:
    # Control characters are in no key (and PostgreSQL refuses a NUL in a query at all).
    return bool(key) and len(key) <= MAX_KEY_LENGTH and key.isprintable()


def _is_instance_id(instance_id: str) -> bool:
    return len(instance_id) <= MAX_INSTANCE_ID_LENGTH and instance_id.isprintable()


def device_name(name: str) -> str:
    """The name an app gave, as it can be shown in a table: one line, no control characters."""
    return " ".join("".join(c if c.isprintable() else " " for c in name).split()) or "Unnamed device"


async def validate(portal: Portal, key: str, instance_id: str | None = None) -> Answer:
    """Whether the key works (and, given an instance id, is still on that device). One read
    outside any transaction; a write only when the device was last noted minutes ago."""
    if not _is_key(key):
        return UNKNOWN
    if instance_id and _is_instance_id(instance_id):
        row = await portal.db.read_first(BY_KEY_WITH_DEVICE, {"key": key, "instance_id": instance_id})
    else:
        row = await portal.db.read_first(BY_KEY, {"key": key})
    if row is None:
        return UNKNOWN
    facts = _facts(portal, row)
    refused = _refusal(portal, row)
    if refused is not None:
        return Answer(facts, problem=refused)
    if not instance_id:
        return Answer(facts)
    if not _is_instance_id(instance_id) or row.device_id is None:
        return Answer(facts, problem=Problem.UNKNOWN_INSTANCE)
    if activations.due_to_be_seen(row.last_seen_at, portal.now()):
        async with portal.db.unit_of_work() as session:
            device = await session.get(Activation, row.device_id)
            if device is not None:
                await activations.seen(session, portal, device)
    return Answer(facts, Device(row.instance_id, row.device_name, row.activated_at))


async def _row(session: AsyncSession, key: str) -> Any:
    return (await session.execute(BY_KEY, {"key": key})).first() if _is_key(key) else None


async def activate(session: AsyncSession, portal: Portal, key: str, name: str, *,
                   actor: str) -> Answer:
    """A new device on the key, within its limit."""
    row = await _row(session, key)
    if row is None:
        return UNKNOWN
    license = await session.get(License, row.id)
    assert license is not None
    try:
        added = await activations.activate(session, portal, license, name=device_name(name),
                                           actor=actor)
    except activations.KeyRefused as refused:
        problem = {activations.KeyDisabled: Problem.DISABLED, activations.KeyExpired: Problem.EXPIRED,
                   activations.ActivationLimitReached: Problem.LIMIT_REACHED}[type(refused)]
        return Answer(_facts(portal, await _row(session, key)), problem=problem)
    return Answer(_facts(portal, await _row(session, key)), _device(added.activation))


async def deactivate(session: AsyncSession, portal: Portal, key: str, instance_id: str, *,
                     actor: str) -> Answer:
    """Free one device of the key. A device freed already is answered as freed: an uninstaller
    that retries does no harm and sees no error."""
    row = await _row(session, key)
    if row is None:
        return UNKNOWN
    facts = _facts(portal, row)
    refused = _refusal(portal, row)
    if refused is not None:
        return Answer(facts, problem=refused)
    activation = await session.scalar(select(Activation).where(
        Activation.license_id == row.id, Activation.instance_id == instance_id)
    ) if _is_instance_id(instance_id) else None
    if activation is None:
        return Answer(facts, problem=Problem.UNKNOWN_INSTANCE)
    if activation.active and not row.customer_can_deactivate:
        return Answer(facts, problem=Problem.NOT_DEACTIVATABLE)
    if not await activations.deactivate(session, portal, activation, actor=actor):
        return Answer(facts, _device(activation))
    return Answer(_facts(portal, await _row(session, key)), _device(activation))


def _device(activation: Activation) -> Device:
    return Device(activation.instance_id, activation.name, activation.activated_at)
