"""seats, assign and unassign on the demo store's team (alice owns it; bob claimed, dana pending)."""

from __future__ import annotations

from sqlalchemy import select

from core.kernel.portal import Portal
from core.models import AuditEvent, Seat
from core.models.licenses import CLAIMED, PENDING
from handlers.dispatcher import Dispatcher
from handlers.reply import Reply
from tests.helpers import caller_for, sent_mail, text_of


async def run(portal: Portal, who: str, line: str) -> Reply:
    return await Dispatcher(portal).handle_line(await caller_for(portal, who), line)


async def confirm(portal: Portal, who: str, reply: Reply) -> Reply:
    assert reply.ok and reply.confirmation is not None, reply.plain_text()
    return await run(portal, who, f"confirm {reply.confirmation.code}")


async def seat_holders(portal: Portal) -> dict[str, str]:
    async with portal.db.unit_of_work() as session:
        return {seat.email: seat.state for seat in await session.scalars(
            select(Seat).where(Seat.state.in_((PENDING, CLAIMED))))}


async def test_seats_lists_members_states_and_free_seats(demo_portal: Portal) -> None:
    reply = await run(demo_portal, "alice@example.com", "seats tileset-forge")

    [table] = reply.tables
    assert table.columns == ["#", "Member", "State", "Assigned", "Devices"]
    assert [[row[0], row[1], row[2], row[4]] for row in table.rows] == [
        ["1", "bob@example.com", "claimed", "1/2"], ["2", "dana@example.com", "pending", "0/2"]]
    assert "2 of 5 seats assigned, 3 free." in reply.plain_text()
    assert [(a.label, a.command) for a in table.actions if a] == [
        ("Unassign 1", "unassign tileset-forge bob@example.com"),
        ("Unassign 2", "unassign tileset-forge dana@example.com")]
    by_name = await run(demo_portal, "alice@example.com", "seats Tileset Forge Teams")
    assert by_name.tables == reply.tables


async def test_assign_previews_then_gives_a_seat_and_an_invite_once(demo_portal: Portal) -> None:
    preview = await run(demo_portal, "alice@example.com", "assign tileset-forge Erin@Example.com")

    assert preview.title == "Give erin@example.com a seat?"
    assert "a license key for 2 devices" in preview.plain_text() and "2 of 5 seats" in preview.plain_text()
    assert "erin@example.com" not in await seat_holders(demo_portal)

    done = await confirm(demo_portal, "alice@example.com", preview)
    again = await confirm(demo_portal, "alice@example.com", preview)

    assert done.title == "Seat assigned" and "emailed them an invite" in done.plain_text()
    assert "already done" in again.plain_text()
    assert (await seat_holders(demo_portal))["erin@example.com"] == PENDING
    [invite] = await sent_mail(demo_portal, to="erin@example.com", kind="invite")
    assert "Tileset Forge" in text_of(invite)
    erin = await run(demo_portal, "erin@example.com", "orders")
    assert "Tileset Forge Teams" in erin.plain_text()


async def test_someone_holding_a_seat_is_told_so(demo_portal: Portal) -> None:
    reply = await run(demo_portal, "alice@example.com", "assign tileset-forge bob@example.com")
    assert not reply.ok and "bob@example.com already holds a seat of Tileset Forge Teams" in reply.plain_text()
    assert reply.confirmation is None


async def test_no_seat_past_the_total(demo_portal: Portal) -> None:
    for name in ("erin", "fay", "gus"):
        await confirm(demo_portal, "alice@example.com",
                      await run(demo_portal, "alice@example.com", f"assign tileset-forge {name}@example.com"))
    full = await run(demo_portal, "alice@example.com", "assign tileset-forge hal@example.com")
    assert not full.ok and "All 5 seats of Tileset Forge Teams are taken" in full.plain_text()
    listed = await run(demo_portal, "alice@example.com", "seats tileset-forge")
    assert "5 of 5 seats assigned, 0 free." in listed.plain_text()


async def test_the_owner_may_take_a_seat_themselves(demo_portal: Portal) -> None:
    preview = await run(demo_portal, "alice@example.com", "assign tileset-forge alice@example.com")
    done = await confirm(demo_portal, "alice@example.com", preview)
    assert "You hold a seat of Tileset Forge Teams yourself now" in done.plain_text()
    assert (await seat_holders(demo_portal))["alice@example.com"] == CLAIMED
    assert (await run(demo_portal, "alice@example.com", "reveal tileset-forge")).ok


async def test_unassign_previews_then_ends_the_members_access_once(demo_portal: Portal) -> None:
    preview = await run(demo_portal, "alice@example.com", "unassign tileset-forge bob@example.com")

    assert preview.title == "Take bob@example.com's seat back?"
    assert "stops working on its 1 device" in preview.plain_text()
    assert (await run(demo_portal, "bob@example.com", "reveal tileset-forge")).ok

    done = await confirm(demo_portal, "alice@example.com", preview)
    again = await confirm(demo_portal, "alice@example.com", preview)

    assert done.title == "Seat freed" and "4 of 5 seats are free" in done.plain_text()
    assert "already done" in again.plain_text()
    assert "bob@example.com" not in await seat_holders(demo_portal)
    assert not (await run(demo_portal, "bob@example.com", "reveal tileset-forge")).ok
    async with demo_portal.db.unit_of_work() as session:
        actions = list(await session.scalars(select(AuditEvent.action).where(
            AuditEvent.action.in_(("seat_unassigned", "seat_removed")))))
    assert sorted(actions) == ["seat_removed", "seat_unassigned"]


async def test_unassign_someone_without_a_seat(demo_portal: Portal) -> None:
    reply = await run(demo_portal, "alice@example.com", "unassign tileset-forge nobody@example.com")
    assert not reply.ok and "nobody@example.com holds no seat of Tileset Forge Teams" in reply.plain_text()


async def test_bad_addresses_and_mentions_get_a_sentence(demo_portal: Portal) -> None:
    bad = await run(demo_portal, "alice@example.com", "assign tileset-forge dana-at-example")
    assert not bad.ok and "'dana-at-example' doesn't look like an email address." in bad.plain_text()
    mention = await run(demo_portal, "alice@example.com", "assign tileset-forge <@U0BOB|bob>")
    assert not mention.ok and "can't tell the email address behind a mention" in mention.plain_text()
    missing = await run(demo_portal, "alice@example.com", "assign tileset-forge")
    assert not missing.ok and "Missing member" in missing.plain_text()


async def test_a_product_without_seats_has_none_to_manage(demo_portal: Portal) -> None:
    reply = await run(demo_portal, "alice@example.com", "seats pixel-studio")
    assert not reply.ok and "no team purchase of Pixel Studio Pro" in reply.plain_text()
