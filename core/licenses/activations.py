"""Devices on a key: activating within the limit, deactivating, and noting when one was last seen.

Limits are exact under any concurrency: the key's row is locked while its devices are counted
and the new one is added (core.kernel.db.lock), so fifty apps activating at once against a limit
of three end with three devices.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from core.accounts import audit
from core.kernel import events
from core.kernel.db import lock
from core.kernel.errors import Conflict
from core.kernel.portal import Portal
from core.licenses import seats
from core.licenses.keys import masked
from core.licenses.status import is_expired
from core.models import Activation, License
from core.models.licenses import DISABLED

# Validation calls write "last seen" at most this often, so checking a key stays a read.
SEEN_EVERY = timedelta(minutes=5)


class KeyRefused(Conflict):
    """The key cannot take a device now; the subclass says why."""


class ActivationLimitReached(KeyRefused):
    pass


class KeyDisabled(KeyRefused):
    pass


class KeyExpired(KeyRefused):
    pass


@dataclass(frozen=True)
class Activated:
    activation: Activation
    created: bool  # False: the same device (fingerprint) was already active on the key


async def usage(session: AsyncSession, license_id: int) -> int:
    """How many devices are active on the key."""
    count = await session.scalar(select(func.count()).where(
        Activation.license_id == license_id, Activation.deactivated_at.is_(None)))
    return count or 0


async def activate(session: AsyncSession, portal: Portal, license: License, *, name: str,
                   actor: str, platform: str | None = None,
                   fingerprint: str | None = None) -> Activated:
    """Add a device to the key, or hand back the active one with the same fingerprint."""
    await lock(session, License, license.id)
    await session.refresh(license)  # as it is now that no one else can change it
    now = portal.now()
    if license.status == DISABLED:
        raise KeyDisabled("This license key is disabled.")
    if is_expired(license, now):
        raise KeyExpired("This license key has expired.")
    if fingerprint:
        same = await session.scalar(select(Activation).where(
            Activation.license_id == license.id, Activation.fingerprint == fingerprint,
            Activation.deactivated_at.is_(None)).order_by(Activation.id).limit(1))
        if same is not None:
            same.last_seen_at = now
            return Activated(same, created=False)
    if await usage(session, license.id) >= license.activation_limit:
        raise ActivationLimitReached(
            f"This license key is on {license.activation_limit} of {license.activation_limit} "
            "devices already. Deactivate one to make room.")
    activation = Activation(license_id=license.id, instance_id=str(uuid.uuid4()), name=name[:200],
                            platform=platform[:60] if platform else None,
                            fingerprint=fingerprint[:200] if fingerprint else None,
                            activated_at=now, last_seen_at=now)
    session.add(activation)
    await session.flush()
    await seats.claim_key(session, portal, license.id)
    await audit.record(session, at=portal.now(),
                       customer_id=license.customer_id, actor=actor, action="device_activated",
                       key=masked(license.key), device=activation.name,
                       instance_id=activation.instance_id)
    events.publish(session, events.LicenseChanged(customer_id=license.customer_id,
                                                  license_id=license.id, change="activated"))
    return Activated(activation, created=True)


async def deactivate(session: AsyncSession, portal: Portal, activation: Activation, *, actor: str,
                     acting_customer_id: int | None = None) -> bool:
    """Free the device's slot. False when it was already free: doing it twice is harmless."""
    now = portal.now()
    done = await session.execute(
        update(Activation).where(Activation.id == activation.id, Activation.deactivated_at.is_(None))
        .values(deactivated_at=now, deactivated_by=actor[:120])
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return False
    activation.deactivated_at, activation.deactivated_by = now, actor[:120]
    license = await session.get(License, activation.license_id)
    assert license is not None
    details = {"key": masked(license.key), "device": activation.name,
               "instance_id": activation.instance_id}
    await audit.record(session, at=portal.now(), customer_id=license.customer_id, actor=actor,
                       action="device_deactivated", **details)
    if acting_customer_id is not None and acting_customer_id != license.customer_id:
        # A team owner freeing a member's device: both logs say so.
        await audit.record(session, at=portal.now(), customer_id=acting_customer_id, actor=actor,
                           action="device_deactivated", **details)
    events.publish(session, events.LicenseChanged(customer_id=license.customer_id,
                                                  license_id=license.id, change="deactivated"))
    return True


def due_to_be_seen(last_seen_at: datetime, now: datetime) -> bool:
    """Whether a device's check is worth writing down (it was not noted a moment ago)."""
    return now - last_seen_at >= SEEN_EVERY


async def seen(session: AsyncSession, portal: Portal, activation: Activation) -> None:
    """Note that the device checked its key, unless that was noted a moment ago."""
    now = portal.now()
    if not due_to_be_seen(activation.last_seen_at, now):
        return
    await session.execute(
        update(Activation).where(Activation.id == activation.id,
                                 Activation.last_seen_at < now - SEEN_EVERY)
        .values(last_seen_at=now).execution_options(synchronize_session=False))
    # Written already: the object learns the value without being flushed a second time.
    set_committed_value(activation, "last_seen_at", now)
