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

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.kernel.portal import Portal
from core.licenses import activations
from core.licenses.status import is_expired, status_of
from core.models import Activation, Customer, License, OrderItem, Plan, Product
from core.models.licenses import DISABLED

MAX_KEY_LENGTH = 64  # License.key; a longer text is no key of ours
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


def _usage() -> Any:
    return (select(func.count()).where(Activation.license_id == License.id,
                                       Activation.deactivated_at.is_(None))
            .correlate(License).scalar_subquery())


def _facts_query(key: str) -> Select[Any]:
    """The key, its device count and everything `meta` says, in one statement."""
    return (select(License, _usage(), Product.name, Product.lemonsqueezy_store_id,
                   Product.lemonsqueezy_product_id, Product.lemonsqueezy_variant_id,
                   Product.customer_can_deactivate, OrderItem.order_id, OrderItem.plan_id, Plan.name,
                   Customer.name, Customer.email)
            .join(Product, Product.id == License.product_id)
            .join(Customer, Customer.id == License.customer_id)
            .outerjoin(OrderItem, OrderItem.id == License.order_item_id)
            .outerjoin(Plan, Plan.id == OrderItem.plan_id)
            .where(License.key == key))


@dataclass(frozen=True)
class _Found:
    license: License
    facts: KeyFacts
    customer_can_deactivate: bool
    device: Activation | None = None


def _found(portal: Portal, row: Any) -> _Found:
    (license, usage, product_name, ls_store, ls_product, ls_variant, can_deactivate, order_id,
     plan_id, plan_name, customer_name, customer_email) = row[:12]
    facts = KeyFacts(
        id=license.id, key=license.key,
        status=status_of(license, portal.now(), devices=usage),
        activation_limit=license.activation_limit, activation_usage=usage,
        created_at=license.created_at, expires_at=license.expires_at,
        store_id=ls_store or portal.settings.license_api_store_id,
        order_id=order_id, order_item_id=license.order_item_id,
        product_id=ls_product or license.product_id, product_name=product_name,
        variant_id=ls_variant or plan_id or license.product_id,
        variant_name=plan_name or DEFAULT_VARIANT,
        customer_id=license.customer_id, customer_name=customer_name or "",
        customer_email=customer_email)
    return _Found(license, facts, can_deactivate, row[12] if len(row) > 12 else None)


async def _find(session: AsyncSession, portal: Portal, key: str, *,
                instance_id: str | None = None) -> _Found | None:
    if not key or len(key) > MAX_KEY_LENGTH:
        return None
    query = _facts_query(key)
    if instance_id:
        query = query.add_columns(Activation).outerjoin(Activation, and_(
            Activation.license_id == License.id, Activation.instance_id == instance_id,
            Activation.deactivated_at.is_(None)))
    row = (await session.execute(query)).first()
    return None if row is None else _found(portal, row)


def _refusal(portal: Portal, license: License) -> Problem | None:
    if license.status == DISABLED:
        return Problem.DISABLED
    if is_expired(license, portal.now()):
        return Problem.EXPIRED
    return None


def _device(activation: Activation) -> Device:
    return Device(activation.instance_id, activation.name, activation.activated_at)


async def validate(session: AsyncSession, portal: Portal, key: str,
                   instance_id: str | None = None) -> Answer:
    """Whether the key works (and, given an instance id, is still on that device)."""
    found = await _find(session, portal, key, instance_id=instance_id)
    if found is None:
        return UNKNOWN
    refused = _refusal(portal, found.license)
    if refused is not None:
        return Answer(found.facts, problem=refused)
    if not instance_id:
        return Answer(found.facts)
    if found.device is None:
        return Answer(found.facts, problem=Problem.UNKNOWN_INSTANCE)
    await activations.seen(session, portal, found.device)
    return Answer(found.facts, _device(found.device))


async def activate(session: AsyncSession, portal: Portal, key: str, name: str, *,
                   actor: str) -> Answer:
    """A new device on the key, within its limit."""
    found = await _find(session, portal, key)
    if found is None:
        return UNKNOWN
    try:
        added = await activations.activate(session, portal, found.license, name=name, actor=actor)
    except activations.KeyRefused as refused:
        problem = {activations.KeyDisabled: Problem.DISABLED, activations.KeyExpired: Problem.EXPIRED,
                   activations.ActivationLimitReached: Problem.LIMIT_REACHED}[type(refused)]
        return Answer(await _facts(session, portal, key), problem=problem)
    return Answer(await _facts(session, portal, key), _device(added.activation))


async def deactivate(session: AsyncSession, portal: Portal, key: str, instance_id: str, *,
                     actor: str) -> Answer:
    """Free one device of the key. A device freed already is answered as freed: an uninstaller
    that retries does no harm and sees no error."""
    found = await _find(session, portal, key)
    if found is None:
        return UNKNOWN
    refused = _refusal(portal, found.license)
    if refused is not None:
        return Answer(found.facts, problem=refused)
    activation = await session.scalar(select(Activation).where(
        Activation.license_id == found.license.id, Activation.instance_id == instance_id[:36]))
    if activation is None:
        return Answer(found.facts, problem=Problem.UNKNOWN_INSTANCE)
    if activation.active and not found.customer_can_deactivate:
        return Answer(found.facts, problem=Problem.NOT_DEACTIVATABLE)
    if not await activations.deactivate(session, portal, activation, actor=actor):
        return Answer(found.facts, _device(activation))
    return Answer(await _facts(session, portal, key), _device(activation))


async def _facts(session: AsyncSession, portal: Portal, key: str) -> KeyFacts:
    """The key's facts as they are now, after a change."""
    row = (await session.execute(_facts_query(key).execution_options(populate_existing=True))).one()
    return _found(portal, row).facts
