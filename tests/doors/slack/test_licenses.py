"""Devices and seats in Slack: a section a row with its button, the same confirmation as the
typed command, @mentions turned into the member's email through users.info."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.kernel.portal import Portal
from core.models import Activation, Seat
from core.models.licenses import CLAIMED, PENDING
from tests.doors.slack.conftest import BOB_ID, CAROL_ID, Slack, buttons, everything_said
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import DEFAULT_TEAM_ID
from tests.handlers.test_licenses import add_devices

ERIN_ID = "U0ERIN"


def row_buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The buttons beside a table's rows, in row order."""
    return [block["accessory"] for block in message.get("blocks", [])
            if block["type"] == "section" and block.get("accessory", {}).get("type") == "button"]


def confirm_button(message: dict[str, Any]) -> dict[str, Any]:
    [found] = [b for b in buttons(message) if b["action_id"] == "shopkeep.confirm"]
    return found


async def press(slack: Slack, button: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return await slack.answer((await slack.click(button["action_id"], button["value"], **kwargs)).name)


async def active(portal: Portal) -> set[str]:
    async with portal.db.unit_of_work() as session:
        return set(await session.scalars(select(Activation.name).where(Activation.deactivated_at.is_(None))))


async def seat_holders(portal: Portal) -> set[str]:
    async with portal.db.unit_of_work() as session:
        return set(await session.scalars(select(Seat.email).where(Seat.state.in_((PENDING, CLAIMED)))))


async def test_devices_are_rows_with_a_deactivate_button_each(slack: Slack) -> None:
    await slack.sign_in("alice@example.com")
    listed = await slack.run("devices pixel-studio")

    said = everything_said(listed)
    assert "# · Device · Platform · Activated · Last seen" in said
    assert "Old ThinkPad · Windows" in said and "(stale)" in said
    rows = row_buttons(listed)
    assert [b["text"]["text"] for b in rows] == ["Deactivate 1", "Deactivate 2"]
    assert len({b["action_id"] for b in rows}) == 2 and all(b["action_id"].startswith("shopkeep.run.") for b in rows)

    asked = await press(slack, rows[1])
    assert "the app on 'Old ThinkPad' will stop working at its next check" in everything_said(asked)
    confirm = confirm_button(asked)
    assert confirm["confirm"]["text"]["text"] == "Deactivate 'Old ThinkPad' on Pixel Studio Pro"
    done = await press(slack, confirm)
    again = await press(slack, confirm)

    assert "Deactivated 'Old ThinkPad'" in everything_said(done) and done["replace_original"] is True
    assert "already done" in everything_said(again)
    assert await active(slack.portal) == {"Studio iMac", "MacBook Pro (Bob)"}


async def test_tables_without_actions_stay_as_they_were(slack: Slack) -> None:
    await slack.sign_in("alice@example.com")
    listed = await slack.run("licenses")
    assert row_buttons(listed) == []
    assert any("```" in block.get("text", {}).get("text", "") for block in listed["blocks"])


async def test_ten_rows_a_page_then_next(slack: Slack) -> None:
    await add_devices(slack.portal, "alice@example.com", "pixel-studio", [f"Lab {n}" for n in range(1, 11)])
    await slack.sign_in("alice@example.com")
    first = await slack.run("devices pixel-studio")
    assert len(row_buttons(first)) == 10
    [more] = [b for b in buttons(first) if b["text"]["text"] == "Next page"]
    second = await press(slack, more)
    assert [b["text"]["text"] for b in row_buttons(second)] == ["Deactivate 11", "Deactivate 12"]


async def test_seats_rows_unassign_after_confirming(slack: Slack) -> None:
    await slack.sign_in("alice@example.com")
    listed = await slack.run("seats tileset-forge")
    rows = row_buttons(listed)
    assert [b["value"] for b in rows] == ["unassign tileset-forge bob@example.com",
                                          "unassign tileset-forge dana@example.com"]
    asked = await press(slack, rows[1])
    assert "Take dana@example.com's seat back?" in everything_said(asked)
    await press(slack, confirm_button(asked))
    assert await seat_holders(slack.portal) == {"bob@example.com"}


async def test_assign_someone_by_mention(slack: Slack, fake: FakeSlack) -> None:
    fake.add_user(DEFAULT_TEAM_ID, ERIN_ID, email="erin@example.com", name="erin")
    await slack.sign_in("alice@example.com")

    asked = await slack.run(f"assign tileset-forge <@{ERIN_ID}|erin>")

    assert "Give erin@example.com a seat?" in everything_said(asked)
    assert ERIN_ID in [call["user"] for call in fake.calls("users.info")]
    await press(slack, confirm_button(asked))
    assert "erin@example.com" in await seat_holders(slack.portal)
    plain = await slack.run(f"assign tileset-forge <@{ERIN_ID}>")  # a mention without the name
    assert "already holds a seat" in everything_said(plain)


async def test_unassign_by_mention(slack: Slack) -> None:
    await slack.sign_in("alice@example.com")
    asked = await slack.run(f"unassign tileset-forge <@{BOB_ID}|bob>")
    assert "Take bob@example.com's seat back?" in everything_said(asked)
    await press(slack, confirm_button(asked))
    assert await seat_holders(slack.portal) == {"dana@example.com"}


async def test_a_mention_without_a_visible_email_is_refused(slack: Slack) -> None:
    await slack.sign_in("alice@example.com")
    for line in (f"assign tileset-forge <@{CAROL_ID}|carol>", f"unassign tileset-forge <@{CAROL_ID}>"):
        answer = everything_said(await slack.run(line))
        assert "can't see the email address" in answer and "Type their email address" in answer
    assert await seat_holders(slack.portal) == {"bob@example.com", "dana@example.com"}


async def test_another_customer_reaches_nothing_of_alices(slack: Slack) -> None:
    await slack.sign_in("alice@example.com")
    devices = row_buttons(await slack.run("devices pixel-studio"))
    seats = row_buttons(await slack.run("seats tileset-forge"))
    await slack.sign_in("bob@example.com", user=BOB_ID)
    for button in (*devices, *seats):
        answer = await press(slack, button, user=BOB_ID)
        said = everything_said(answer)
        assert "Studio iMac" not in said and "Old ThinkPad" not in said and "Take " not in said
        assert not [b for b in buttons(answer) if b["action_id"] == "shopkeep.confirm"]
    for line in ("devices pixel-studio", "deactivate pixel-studio all", "seats tileset-forge",
                 "assign tileset-forge erin@example.com", f"unassign tileset-forge <@{BOB_ID}>",
                 "unassign tileset-forge dana@example.com"):
        answer = await slack.run(line, user=BOB_ID)
        said = everything_said(answer).replace(line, "")
        assert not row_buttons(answer) and "Studio iMac" not in said, line
        assert not [b for b in buttons(answer) if b["action_id"] == "shopkeep.confirm"], line
    assert await active(slack.portal) == {"Studio iMac", "Old ThinkPad", "MacBook Pro (Bob)"}
    assert await seat_holders(slack.portal) == {"bob@example.com", "dana@example.com"}
