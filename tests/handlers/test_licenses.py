"""licenses, devices and deactivate on the demo store, as the console runs them."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select, update

from core.identity.customers import by_email
from core.kernel.portal import Portal
from core.licenses import activations
from core.licenses.queries import licenses_for
from core.models import Activation, AuditEvent, Customer, License, PendingAction, Product
from handlers.dispatcher import ChangePolicy, Dispatcher
from handlers.reply import Reply
from tests.helpers import caller_for, published


async def run(portal: Portal, who: str, line: str, **kwargs: object) -> Reply:
    return await Dispatcher(portal).handle_line(await caller_for(portal, who), line, **kwargs)  # type: ignore[arg-type]


async def confirm(portal: Portal, who: str, reply: Reply) -> Reply:
    assert reply.ok and reply.confirmation is not None, reply.plain_text()
    return await run(portal, who, f"confirm {reply.confirmation.code}")


async def active_devices(portal: Portal, product: str = "pixel-studio") -> list[str]:
    """The names of the devices still using keys of the product, oldest first."""
    async with portal.db.unit_of_work() as session:
        return list(await session.scalars(
            select(Activation.name).join(License, Activation.license_id == License.id)
            .join(Product, License.product_id == Product.id)
            .where(Product.slug == product, Activation.deactivated_at.is_(None))
            .order_by(Activation.activated_at)))


async def add_devices(portal: Portal, email: str, product: str, names: list[str]) -> None:
    """More devices on the customer's key of the product, with room made for them."""
    async with portal.db.unit_of_work() as session:
        customer = await by_email(session, email)
        found = await session.scalar(select(Product).where(Product.slug == product))
        assert customer is not None and found is not None
        [key] = await licenses_for(session, customer.id, found.id)
        key.activation_limit = max(key.activation_limit, 30)
        for name in names:
            portal.clock.advance(minutes=1)  # type: ignore[attr-defined]
            await activations.activate(session, portal, key, name=name, actor="test", platform="Linux")


async def test_licenses_lists_keys_held_and_teams_managed(demo_portal: Portal) -> None:
    reply = await run(demo_portal, "alice@example.com", "licenses")

    [table] = reply.tables
    rows = {row[0]: row for row in table.rows}
    assert table.columns == ["Product", "License key", "Devices", "Seats", "Status", "Expires"]
    pixel, team = rows["Pixel Studio Pro"], rows["Tileset Forge Teams"]
    assert "•" in pixel[1] and pixel[2:] == ["2/3", "-", "active", "never"]
    assert team[1:5] == ["one per member", "1/4", "2/5", "active"]  # bob's 1 device of 2 + dana's 2
    assert team[5] != "never"  # the team's keys expire a year after the purchase

    bob = await run(demo_portal, "bob@example.com", "licenses")
    [row] = bob.tables[0].rows
    assert row[0] == "Tileset Forge Teams" and row[2:4] == ["1/2", "a seat from alice@example.com"]


async def test_devices_numbers_them_oldest_first_and_marks_the_stale_one(demo_portal: Portal) -> None:
    reply = await run(demo_portal, "alice@example.com", "devices pixel-studio")

    [table] = reply.tables
    assert table.columns == ["#", "Device", "Platform", "Activated", "Last seen"]
    assert [row[:3] for row in table.rows] == [["1", "Studio iMac", "macOS"], ["2", "Old ThinkPad", "Windows"]]
    assert not table.rows[0][4].endswith("(stale)") and table.rows[1][4].endswith("(stale)")
    assert "not seen for 30 days" in reply.plain_text()
    assert [a.label for a in table.actions if a] == ["Deactivate 1", "Deactivate 2"]
    assert all(a and a.command.startswith("deactivate pixel-studio ") and len(a.command.split()[2]) == 36
               for a in table.actions)  # the instance id: a number can mean another device later


async def test_stale_follows_the_setting(demo_portal: Portal) -> None:
    patient = dataclasses.replace(demo_portal, settings=demo_portal.settings.model_copy(
        update={"device_stale_days": 60}))
    reply = await run(patient, "alice@example.com", "devices pixel-studio")
    assert not any(row[4].endswith("(stale)") for row in reply.tables[0].rows)
    assert "stale" not in reply.plain_text()


async def test_dates_are_in_the_customers_time_zone(demo_portal: Portal) -> None:
    before = (await run(demo_portal, "alice@example.com", "devices pixel-studio")).tables[0].rows[0][3]
    async with demo_portal.db.unit_of_work() as session:
        await session.execute(update(Customer).where(Customer.email == "alice@example.com")
                              .values(timezone="Pacific/Kiritimati"))  # UTC+14: the next day
    after = (await run(demo_portal, "alice@example.com", "devices pixel-studio")).tables[0].rows[0][3]
    assert before != after


async def test_the_owner_sees_the_devices_of_members_keys(demo_portal: Portal) -> None:
    reply = await run(demo_portal, "alice@example.com", "devices tileset-forge")
    [table] = reply.tables
    assert table.columns == ["#", "Device", "Platform", "Member", "Activated", "Last seen"]
    assert [row[:4] for row in table.rows] == [["1", "MacBook Pro (Bob)", "macOS", "bob@example.com"]]


async def test_ten_devices_a_page_with_the_next_page_to_pick(demo_portal: Portal) -> None:
    await add_devices(demo_portal, "alice@example.com", "pixel-studio", [f"Lab {n}" for n in range(1, 11)])

    first = await run(demo_portal, "alice@example.com", "devices pixel-studio")
    second = await run(demo_portal, "alice@example.com", "devices pixel-studio page 2")
    beyond = await run(demo_portal, "alice@example.com", "devices pixel-studio page 3")

    assert len(first.tables[0].rows) == 10 and len(first.tables[0].actions) == 10
    assert [c.command for c in first.choices] == ["devices pixel-studio page 2"]
    assert [row[:2] for row in second.tables[0].rows] == [["11", "Lab 9"], ["12", "Lab 10"]]
    assert second.choices == [] and second.title == "Pixel Studio Pro: devices, page 2"
    assert not beyond.ok and "fit on 2 pages" in beyond.plain_text()


async def test_deactivate_previews_then_frees_the_slot_once(demo_portal: Portal) -> None:
    preview = await run(demo_portal, "alice@example.com", "deactivate pixel-studio 2")

    assert preview.title == "Deactivate 'Old ThinkPad'?"
    assert ("This frees 1 of 3 slots; the app on 'Old ThinkPad' will stop working at its next "
            "check.") in preview.paragraphs
    assert await active_devices(demo_portal) == ["Studio iMac", "Old ThinkPad"]  # nothing yet

    done = await confirm(demo_portal, "alice@example.com", preview)
    again = await confirm(demo_portal, "alice@example.com", preview)

    assert done.ok and "Deactivated 'Old ThinkPad'" in done.plain_text() and "2 slots are free" in done.plain_text()
    assert not again.ok and "already done" in again.plain_text()
    assert await active_devices(demo_portal) == ["Studio iMac"]
    async with demo_portal.db.unit_of_work() as session:
        logged = list(await session.scalars(select(AuditEvent).where(AuditEvent.action == "device_deactivated")))
    assert len(logged) == 1 and logged[0].details["device"] == "Old ThinkPad"
    assert [e.change for e in await published(demo_portal) if type(e).__name__ == "LicenseChanged"
            ].count("deactivated") == 1  # type: ignore[attr-defined]


async def test_the_confirmation_frees_the_device_shown_even_when_numbers_moved(demo_portal: Portal) -> None:
    asked = await run(demo_portal, "alice@example.com", "deactivate pixel-studio 2")  # Old ThinkPad
    await confirm(demo_portal, "alice@example.com", await run(demo_portal, "alice@example.com",
                                                              "deactivate pixel-studio 1"))
    await add_devices(demo_portal, "alice@example.com", "pixel-studio", ["New laptop"])  # now number 2

    await confirm(demo_portal, "alice@example.com", asked)

    assert await active_devices(demo_portal) == ["New laptop"]
    async with demo_portal.db.unit_of_work() as session:
        pending = await session.scalar(select(PendingAction).where(PendingAction.code == asked.confirmation.code))  # type: ignore[union-attr]
    assert pending is not None and "2" not in pending.arguments["device"].split()


async def test_deactivate_by_name_by_instance_id_and_all(demo_portal: Portal) -> None:
    by_name = await run(demo_portal, "alice@example.com", "deactivate pixel-studio old thinkpad")
    assert by_name.title == "Deactivate 'Old ThinkPad'?"
    listed = await run(demo_portal, "alice@example.com", "devices pixel-studio")
    first = listed.tables[0].actions[0]
    assert first is not None
    by_id = await run(demo_portal, "alice@example.com", first.command)
    assert by_id.title == "Deactivate 'Studio iMac'?"

    every = await run(demo_portal, "alice@example.com", "deactivate pixel-studio all")
    assert every.title == "Deactivate every device?"
    assert "frees 2 of 3 slots" in every.plain_text()
    await confirm(demo_portal, "alice@example.com", every)
    assert await active_devices(demo_portal) == []
    # The id of a device freed already: nothing to do, said plainly.
    late = await run(demo_portal, "alice@example.com", first.command)
    assert late.ok and "deactivated already; nothing changed" in late.plain_text()


@pytest.mark.parametrize(("line", "said"), [
    ("deactivate pixel-studio 7", "no device number 7 on Pixel Studio Pro; they are numbered 1 to 2"),
    ("deactivate pixel-studio Toaster", "No device called 'Toaster'"),
    ("deactivate pixel-studio 00000000-0000-4000-8000-000000000000", "has a device with that id"),
    ("deactivate pixel-studio", "Missing device"),
    ("deactivate ebook 1", "The Indie Maker's Handbook has no license keys"),
])
async def test_deactivate_says_what_is_wrong(demo_portal: Portal, line: str, said: str) -> None:
    reply = await run(demo_portal, "alice@example.com", line)
    assert not reply.ok and said in reply.plain_text() and "Traceback" not in reply.plain_text()


async def test_a_name_several_devices_share_asks_which(demo_portal: Portal) -> None:
    await add_devices(demo_portal, "alice@example.com", "pixel-studio", ["Studio iMac"])
    reply = await run(demo_portal, "alice@example.com", "deactivate pixel-studio studio imac")
    assert not reply.ok and "matches several devices: 1. Studio iMac, 3. Studio iMac" in reply.plain_text()


async def test_deactivate_is_refused_where_the_store_keeps_that_to_itself(demo_portal: Portal) -> None:
    async with demo_portal.db.unit_of_work() as session:
        await session.execute(update(Product).where(Product.slug == "pixel-studio")
                              .values(customer_can_deactivate=False))

    refused = await run(demo_portal, "alice@example.com", "deactivate pixel-studio 2")
    listed = await run(demo_portal, "alice@example.com", "devices pixel-studio")

    assert not refused.ok and "can't be deactivated from here" in refused.plain_text()
    assert refused.confirmation is None
    assert listed.tables[0].actions == () and "can't be deactivated from here" in listed.plain_text()
    assert await active_devices(demo_portal) == ["Studio iMac", "Old ThinkPad"]


async def test_a_team_owner_frees_a_members_device(demo_portal: Portal) -> None:
    preview = await run(demo_portal, "alice@example.com", "deactivate tileset-forge 1")
    assert "On your team members' keys: bob@example.com." in preview.paragraphs
    await confirm(demo_portal, "alice@example.com", preview)
    assert await active_devices(demo_portal, "tileset-forge") == []
    async with demo_portal.db.unit_of_work() as session:
        logged = {row.customer_id for row in await session.scalars(
            select(AuditEvent).where(AuditEvent.action == "device_deactivated"))}
    alice, bob = (await caller_for(demo_portal, "alice@example.com"), await caller_for(demo_portal, "bob@example.com"))
    assert logged == {alice.customer_id, bob.customer_id}  # both logs say so


async def test_a_member_frees_a_device_of_their_own(demo_portal: Portal) -> None:
    preview = await run(demo_portal, "bob@example.com", "deactivate tileset-forge MacBook")
    await confirm(demo_portal, "bob@example.com", preview)
    assert await active_devices(demo_portal, "tileset-forge") == []


async def test_unverified_email_gets_the_commands_own_preview(demo_portal: Portal) -> None:
    """The email round trip confirms what the preview showed, not a number typed earlier."""
    alice = await caller_for(demo_portal, "alice@example.com", platform="email")
    reply = await Dispatcher(demo_portal).handle_line(alice, "deactivate pixel-studio 2",
                                                     ChangePolicy.ROUND_TRIP)
    assert reply.title == "Deactivate 'Old ThinkPad'?" and reply.confirmation is not None
    assert await active_devices(demo_portal) == ["Studio iMac", "Old ThinkPad"]


async def test_a_trusted_email_deactivates_at_once(demo_portal: Portal) -> None:
    alice = await caller_for(demo_portal, "alice@example.com", platform="email")
    reply = await Dispatcher(demo_portal).handle_line(alice, "deactivate pixel-studio 2",
                                                     ChangePolicy.PRECONFIRMED)
    assert reply.title == "Deactivated" and await active_devices(demo_portal) == ["Studio iMac"]


async def test_reveal_still_shows_full_keys_and_the_seat_a_member_holds(demo_portal: Portal) -> None:
    mine = await run(demo_portal, "alice@example.com", "reveal pixel-studio")
    assert mine.ok and "•" not in mine.tables[0].rows[0][0]
    bob = await run(demo_portal, "bob@example.com", "reveal tileset-forge")
    assert bob.ok and "•" not in bob.tables[0].rows[0][0]
    assert "seat on alice@example.com's team" in bob.plain_text()
    owner = await run(demo_portal, "alice@example.com", "reveal tileset-forge")
    assert not owner.ok and "team purchase" in owner.plain_text()


async def test_help_explains_the_new_commands(demo_portal: Portal) -> None:
    listing = (await run(demo_portal, "alice@example.com", "help")).plain_text()
    for usage in ("licenses", "devices <product>", "deactivate <product> <device>", "seats <product>",
                  "assign <product> <member>", "unassign <product> <member>"):
        assert usage in listing, usage
    one = (await run(demo_portal, "alice@example.com", "help deactivate")).plain_text()
    assert "`deactivate pixel-studio all`" in one and "stops working at its next check" in one

