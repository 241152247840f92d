"""Whether a tax ID is registered, asked of a registry online: the seam an adapter plugs into
(VIES for EU VAT numbers, adapters/vies.py).

The check is optional. Without a registry, or while it cannot answer, an ID that fits its country
stays "not verified", never "not registered": only a registry's own answer says that. It runs
after the change that added the ID has committed (on the domain event), outside any transaction,
and the answer is kept only if the ID is still the one that was asked about.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select

from core.accounts import audit
from core.kernel.portal import Portal
from core.models import TaxId
from core.models.billing_details import DOES_NOT_FIT, NOT_REGISTERED, NOT_VERIFIED, VERIFIED


class RegistryUnavailable(Exception):
    """The registry could not answer now (down, busy, a member state's system offline)."""


@dataclass(frozen=True)
class Answer:
    registered: bool
    name: str | None = None  # the business's name as registered, when the registry says it


class TaxIdRegistry(Protocol):
    name: str  # "VIES", shown beside the answer

    def covers(self, tax_id_type: str) -> bool:
        """Whether the registry knows IDs of this type (VIES: eu_vat)."""

    async def check(self, value: str) -> Answer:
        """Ask about one ID (compact, with its country prefix); RegistryUnavailable when it
        cannot say."""


async def check_online(portal: Portal, registry: TaxIdRegistry, tax_id_id: int) -> str | None:
    """Ask the registry about a stored ID and keep its answer; returns the new state, or None
    when there was nothing to ask. RegistryUnavailable propagates, so the caller retries later."""
    async with portal.db.unit_of_work() as session:
        tax_id = await session.get(TaxId, tax_id_id)
        if tax_id is None or tax_id.state == DOES_NOT_FIT or not registry.covers(tax_id.type):
            return None
        value = tax_id.value
    answer = await registry.check(value)  # no transaction is held open while the registry thinks
    async with portal.db.unit_of_work() as session:
        tax_id = await session.get(TaxId, tax_id_id, with_for_update=True)
        if tax_id is None or tax_id.value != value or tax_id.state == DOES_NOT_FIT:
            return None
        state = VERIFIED if answer.registered else NOT_REGISTERED
        if tax_id.state != state:
            await audit.record(session, at=portal.now(),
                               customer_id=tax_id.customer_id, actor=f"registry:{registry.name}",
                               action="tax_id_checked", tax_id=value, state=state)
        tax_id.state, tax_id.checked_at, tax_id.checked_by = state, portal.now(), registry.name
        return state


async def check_customer(portal: Portal, registry: TaxIdRegistry, customer_id: int) -> None:
    """Ask about each of the customer's IDs that no registry has answered for since it last
    came to fit (after a change of the billing country)."""
    async with portal.db.unit_of_work() as session:
        waiting = list(await session.scalars(select(TaxId.id).where(
            TaxId.customer_id == customer_id, TaxId.state == NOT_VERIFIED)))
    for tax_id_id in waiting:
        await check_online(portal, registry, tax_id_id)
