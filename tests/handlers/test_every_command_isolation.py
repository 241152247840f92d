"""Every command the registry holds, typed by Bob with Alice's order, document, key, device and
tax ID references, shows nothing of hers. The sweep walks the registry, so a new command is
covered the day it is added."""

from __future__ import annotations

from sqlalchemy import select

from core.kernel.portal import Portal
from core.models import Activation, Document, License, Order, TaxId
from handlers.dispatcher import Dispatcher
from handlers.registry import REGISTRY
from tests.handlers.test_isolation import alice_and_bob, everything_shown

# What only Alice's own answers may show besides the records below: her street.
HER_STREET = "Rue des Lilas"


async def alices_secrets(portal: Portal, alice_id: int) -> set[str]:
    async with portal.db.unit_of_work() as session:
        orders = list(await session.scalars(select(Order).where(Order.customer_id == alice_id)))
        documents = await session.scalars(select(Document.number).where(Document.customer_id == alice_id))
        keys = list(await session.scalars(select(License).where(License.customer_id == alice_id)))
        devices = await session.scalars(select(Activation.name).where(
            Activation.license_id.in_([key.id for key in keys])))
        tax_ids = await session.scalars(select(TaxId.value).where(TaxId.customer_id == alice_id))
        return ({order.number for order in orders} | set(documents) | {key.key for key in keys}
                | set(devices) | set(tax_ids) | {HER_STREET})


async def test_no_command_shows_bob_anything_of_alices(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice, bob = await alice_and_bob(demo_portal)
    assert alice.customer_id is not None
    secrets = await alices_secrets(demo_portal, alice.customer_id)
    assert len(secrets) > 10, "the demo gives Alice orders, documents, keys, devices and a tax ID"
    mine = everything_shown(await dispatcher.handle_line(alice, "billing"))
    assert HER_STREET in mine, "her own billing details show her street"

    commands = [c for c in REGISTRY.commands("console") if c.name not in ("logout", "help")]
    assert {"orders", "invoices", "receipt", "licenses", "devices", "billing", "activity",
            "export"} <= {c.name for c in commands}
    refs = sorted(secrets)
    for command in commands:
        for ref in refs:
            for line in (f"{command.name} {ref}", f"{command.name} pixel-studio {ref}"):
                reply = await dispatcher.handle_line(bob, line)
                shown = everything_shown(reply).replace(ref, "")  # the echo of what he typed
                leaked = [secret for secret in secrets if secret in shown]
                assert not leaked, (line, leaked)
