"""What state a key is in, and when keys expire.

The four states are the ones the Lemon Squeezy license API reports, so apps written for it read
them unchanged: inactive (valid, no device yet), active (one or more devices), expired, disabled.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from core.models import Product
from core.models.licenses import DISABLED

ACTIVE, INACTIVE, EXPIRED = "active", "inactive", "expired"


class KeyState(Protocol):
    """What a key's state is read from: a License, or a row of its columns."""

    @property
    def status(self) -> str: ...

    @property
    def expires_at(self) -> datetime | None: ...


def expires_at(product: Product, start: datetime) -> datetime | None:
    """When keys of a purchase made at `start` stop working; None when they never do."""
    return start + timedelta(days=product.license_days) if product.license_days else None


def is_expired(license: KeyState, now: datetime) -> bool:
    return license.expires_at is not None and license.expires_at <= now


def usable(license: KeyState, now: datetime) -> bool:
    """Whether the key may be used at all (activated, validated)."""
    return license.status != DISABLED and not is_expired(license, now)


def status_of(license: KeyState, now: datetime, *, devices: int) -> str:
    """The key's state as the license API reports it."""
    if license.status == DISABLED:
        return DISABLED
    if is_expired(license, now):
        return EXPIRED
    return ACTIVE if devices else INACTIVE


def status_label(license: KeyState, now: datetime) -> str:
    """The state as a customer reads it in a table: a key that works is active, devices or not."""
    if license.status == DISABLED:
        return DISABLED
    return EXPIRED if is_expired(license, now) else ACTIVE
