"""The customer's own audit log as they read it: what changed in words, from which front door,
and whether the store's operator did it for them in support mode."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.kernel import formatting
from core.models import AuditEvent, Product

# How an actor string (core.accounts.audit) starts, and the front door it names.
SUPPORT_MODE = "operator as customer via "
DOORS = {"console": "Console", "email": "Email", "discord": "Discord", "slack": "Slack"}
OTHER_ACTORS = {
    "operator via cli": "The store's command line",
    "webhook": "Checkout",
    "billing": "Billing",
    "demo": "Demo data",
    "renewals": "Automatic renewal",
    "old address via undo link": "Undo link",
}
PLATFORMS = {"discord": "Discord", "slack": "Slack"}


@dataclass(frozen=True)
class Origin:
    door: str  # "Discord", "Email", "Console", "License API", "Billing", ...
    support_mode: bool  # the operator acting for the customer (`shopkeep chat --as`)

    @property
    def text(self) -> str:
        return f"{self.door}, operator support mode" if self.support_mode else self.door


def origin_of(actor: str) -> Origin:
    if actor.startswith(SUPPORT_MODE):
        door = actor.removeprefix(SUPPORT_MODE)
        return Origin(DOORS.get(door, door.capitalize()), True)
    if actor in OTHER_ACTORS:
        return Origin(OTHER_ACTORS[actor], False)
    if actor.startswith("app via license API"):
        return Origin("License API", False)
    if actor.startswith("registry:"):  # a tax ID registry's answer (registry:vies)
        return Origin(f"Tax ID registry ({actor.removeprefix('registry:').upper()})", False)
    platform, _, _ = actor.partition(":")
    return Origin(DOORS.get(platform, "Unknown"), False)


async def count(session: AsyncSession, customer_id: int) -> int:
    return await session.scalar(select(func.count()).where(AuditEvent.customer_id == customer_id)) or 0


async def newest_first(session: AsyncSession, customer_id: int, *, offset: int, limit: int
                       ) -> list[AuditEvent]:
    return list(await session.scalars(
        select(AuditEvent).where(AuditEvent.customer_id == customer_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).offset(offset).limit(limit)))


async def product_names(session: AsyncSession, events: list[AuditEvent]) -> dict[str, str]:
    """Slug -> name of the products the events name (the catalog is public)."""
    slugs = {str(e.details["product"]) for e in events if isinstance(e.details.get("product"), str)}
    if not slugs:
        return {}
    rows = await session.execute(select(Product.slug, Product.name).where(Product.slug.in_(slugs)))
    return {slug: name for slug, name in rows}


Describe = Callable[[Mapping[str, Any], Callable[[str], str]], str]


def _platform(details: Mapping[str, Any]) -> str:
    return PLATFORMS.get(str(details.get("platform")), str(details.get("platform") or "chat"))


def _device(details: Mapping[str, Any]) -> str:
    return f"'{details.get('device')}' ({details.get('key')})"


def _refund(details: Mapping[str, Any]) -> str:
    amount = details.get("amount")
    money = formatting.money(amount, str(details.get("currency"))) if isinstance(amount, int) else "money"
    return f"{money} of order {details.get('order')}"


WORDS: dict[str, Describe] = {
    "signed_in": lambda d, p: "Signed in with a code",
    "chat_linked": lambda d, p: f"Linked a {_platform(d)} account",
    "chat_unlinked": lambda d, p: f"Signed out a {_platform(d)} account"
    + (f" ({d['reason']})" if d.get("reason") else ""),
    "purchase": lambda d, p: f"Bought order {d.get('order')}",
    "renewal": lambda d, p: f"Subscription renewed (order {d.get('order')})",
    "device_activated": lambda d, p: f"Activated a device, {_device(d)}",
    "device_deactivated": lambda d, p: f"Deactivated a device, {_device(d)}",
    "seat_assigned": lambda d, p: f"Gave {d.get('member')} a seat of {p(str(d.get('product')))}",
    "seat_received": lambda d, p: f"Got a seat of {p(str(d.get('product')))} from {d.get('owner')}",
    "seat_unassigned": lambda d, p: f"Took {d.get('member')}'s seat of {p(str(d.get('product')))} back",
    "seat_removed": lambda d, p: f"Lost the seat of {p(str(d.get('product')))} {d.get('owner')} gave you",
    "invite_created": lambda d, p: f"Got a community invite for {p(str(d.get('product')))}",
    "account_transferred": lambda d, p: f"Moved the account from {d.get('old_email')} to "
    f"{d.get('new_email')}",
    "account_transfer_undone": lambda d, p: f"Moved the account back from {d.get('new_email')} to "
    f"{d.get('old_email')} with the undo link",
    "payment_method_added": lambda d, p: f"Added the payment method {d.get('method')}",
    "payment_method_default": lambda d, p: f"Made {d.get('method')} the default payment method",
    "payment_method_removed": lambda d, p: f"Removed the payment method {d.get('method')}",
    "billing_details_changed": lambda d, p: "Changed the billing details ("
    + ", ".join(str(name).replace("_", " ") for name in d.get("changed", ())) + ")",
    "tax_id_added": lambda d, p: f"Added the tax ID {d.get('tax_id')}",
    "tax_id_removed": lambda d, p: f"Removed the tax ID {d.get('tax_id')}",
    "tax_id_checked": lambda d, p: f"The tax ID {d.get('tax_id')} was found "
    + ("registered" if d.get("state") == "verified" else "not registered"),
    "refund_requested": lambda d, p: f"A refund of {_refund(d)} was asked for",
    "refund_pending": lambda d, p: f"A refund of {_refund(d)} is on its way",
    "refund_succeeded": lambda d, p: f"Refunded {_refund(d)}"
    + (f" (credit note {d['credit_note']})" if d.get("credit_note") else "")
    + ("; access ends" if d.get("ends_access") else ""),
    "refund_failed": lambda d, p: f"A refund of {_refund(d)} failed",
    "refund_canceled": lambda d, p: f"A refund of {_refund(d)} was called off",
}


def _subscription(action: str, details: Mapping[str, Any], product: Callable[[str], str]) -> str:
    """subscription_paused -> "Maker Pro Membership: paused"."""
    change = action.removeprefix("subscription_").replace("_", " ")
    return f"{product(str(details.get('product')))}: {change}"


def described(event: AuditEvent, names: Mapping[str, str]) -> str:
    """What the event changed, as a sentence part; actions this module does not know yet (a
    newer capability's) read as their name in words."""
    words = WORDS.get(event.action)
    if words is None and event.action.startswith("subscription_"):
        return _subscription(event.action, event.details, lambda slug: names.get(slug, slug))
    if words is None:
        return event.action.replace("_", " ").replace("-", " ").capitalize()
    return words(event.details, lambda slug: names.get(slug, slug))
