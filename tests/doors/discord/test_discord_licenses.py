"""Devices and seats in Discord: tables with a button a row, leading to the same confirmation as
the typed command; ten rows a page; nobody's buttons reach anyone else's devices or seats."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from core.kernel.portal import Portal
from core.models import Activation, Seat
from core.models.licenses import CLAIMED, PENDING
from tests.doors.discord.test_discord_door import Bot, connected, sign_in, text_of
from tests.fakes.discord_gateway import DEFAULT_USER_ID, component_payload, deliver_interaction
from tests.handlers.test_licenses import add_devices

BOB_USER = DEFAULT_USER_ID + 100


@pytest.fixture
async def bot(demo_portal: Portal) -> AsyncIterator[Bot]:
    async with connected(demo_portal) as bot:
        await sign_in(bot)
        yield bot


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for row in message.get("components", []) for c in row["components"]]


def labels(message: dict[str, Any]) -> list[str]:
    return [b.get("label", "") for b in buttons(message)]


async def slash(bot: Bot, sub: str, user_id: int = DEFAULT_USER_ID, **options: Any) -> dict[str, Any]:
    """The command's answer as stored, buttons and all (the message a click is made on)."""
    await bot.slash(bot.path(sub), user_id=user_id, **options)
    message = bot.fake.original_message(bot.last_id)
    assert message is not None
    return message


async def click(bot: Bot, message: dict[str, Any], label: str | None = None, *,
                custom_id: str | None = None, user_id: int = DEFAULT_USER_ID) -> dict[str, Any]:
    delivery = await deliver_interaction(bot.door.client, bot.fake, component_payload(
        message, label=label, custom_id=custom_id, user_id=user_id))
    await delivery.finished()
    answered = bot.fake.original_message(delivery.id)
    assert answered is not None
    return answered


async def active(portal: Portal) -> set[str]:
    async with portal.db.unit_of_work() as session:
        return set(await session.scalars(select(Activation.name).where(Activation.deactivated_at.is_(None))))


async def seat_holders(portal: Portal) -> set[str]:
    async with portal.db.unit_of_work() as session:
        return set(await session.scalars(select(Seat.email).where(Seat.state.in_((PENDING, CLAIMED)))))


async def test_every_license_command_is_a_subcommand(bot: Bot) -> None:
    for name in ("licenses", "devices", "deactivate", "seats", "assign", "unassign"):
        assert bot.path(name).endswith(name)
    listed = await slash(bot, "licenses")
    assert "Tileset Forge Teams" in text_of(listed) and "2/5" in text_of(listed)


async def test_a_device_row_button_leads_to_the_confirmation_and_runs_once(bot: Bot) -> None:
    listed = await slash(bot, "devices", product="pixel-studio")
    assert "Old ThinkPad" in text_of(listed) and "(stale)" in text_of(listed)
    assert labels(listed)[:2] == ["Deactivate 1", "Deactivate 2"]

    asked = await click(bot, listed, "Deactivate 2")
    assert "This frees 1 of 3 slots; the app on 'Old ThinkPad' will stop working" in text_of(asked)
    assert await active(bot.portal) == {"Studio iMac", "Old ThinkPad", "MacBook Pro (Bob)"}

    done = await click(bot, asked, "Deactivate")  # the confirmation's own button
    again = await click(bot, asked, "Deactivate")
    assert "Deactivated 'Old ThinkPad'" in text_of(done) and "already done" in text_of(again)
    assert await active(bot.portal) == {"Studio iMac", "MacBook Pro (Bob)"}


async def test_the_typed_command_asks_the_same(bot: Bot) -> None:
    asked = await slash(bot, "deactivate", product="pixel-studio", device="2")
    assert "'Old ThinkPad'" in text_of(asked) and {"Deactivate", "Cancel"} <= set(labels(asked))
    cancelled = await click(bot, asked, "Cancel")
    assert "Nothing was changed" in text_of(cancelled)
    assert "Old ThinkPad" in await active(bot.portal)


async def test_ten_rows_a_page_and_a_button_for_the_next(bot: Bot) -> None:
    await add_devices(bot.portal, "alice@example.com", "pixel-studio", [f"Lab {n}" for n in range(1, 11)])
    first = await slash(bot, "devices", product="pixel-studio")
    assert labels(first) == [f"Deactivate {n}" for n in range(1, 11)] + ["Next page"]
    second = await click(bot, first, "Next page")
    assert labels(second) == ["Deactivate 11", "Deactivate 12"]
    assert "Lab 10" in text_of(second) and "Studio iMac" not in text_of(second)


async def test_a_seat_row_button_unassigns_after_confirming(bot: Bot) -> None:
    listed = await slash(bot, "seats", product="tileset-forge")
    assert "dana@example.com" in text_of(listed) and labels(listed) == ["Unassign 1", "Unassign 2"]
    asked = await click(bot, listed, "Unassign 2")
    assert "Take dana@example.com's seat back?" in text_of(asked)
    done = await click(bot, asked, "Unassign")
    assert "no longer has a seat" in text_of(done)
    assert await seat_holders(bot.portal) == {"bob@example.com"}


async def test_assign_with_options_then_confirm(bot: Bot) -> None:
    asked = await slash(bot, "assign", product="tileset-forge", member="erin@example.com")
    assert "Give erin@example.com a seat?" in text_of(asked)
    done = await click(bot, asked, "Assign")
    assert "erin@example.com has a seat" in text_of(done)
    held = await slash(bot, "assign", product="tileset-forge", member="bob@example.com")
    assert "already holds a seat" in text_of(held) and "Assign" not in labels(held)
    mention = await slash(bot, "assign", product="tileset-forge", member=f"<@{BOB_USER}>")
    assert "behind a mention" in text_of(mention)


async def test_someone_elses_buttons_do_nothing_for_another_customer(bot: Bot) -> None:
    listed = await slash(bot, "devices", product="pixel-studio")
    seats = await slash(bot, "seats", product="tileset-forge")
    await sign_in(bot, "bob@example.com", user_id=BOB_USER)
    # Bob clicks Alice's row buttons (they carry her device's instance id and dana's email).
    for message, label in ((listed, "Deactivate 1"), (listed, "Deactivate 2"), (seats, "Unassign 2")):
        answer = await click(bot, message, label, user_id=BOB_USER)
        said = text_of(answer)
        assert "Studio iMac" not in said and "Old ThinkPad" not in said and "Take " not in said, label
        assert not {"Deactivate", "Unassign"} & set(labels(answer))
    for options in ({"device": "1"}, {"device": "Studio iMac"}, {"device": "all"}):
        answer = await slash(bot, "deactivate", user_id=BOB_USER, product="pixel-studio", **options)
        assert "Studio iMac" not in text_of(answer) and labels(answer) == []
    answer = await slash(bot, "unassign", user_id=BOB_USER, product="tileset-forge", member="dana@example.com")
    assert "only the team's owner" in text_of(answer)
    answer = await slash(bot, "seats", user_id=BOB_USER, product="tileset-forge")
    assert "dana@example.com" not in text_of(answer) and labels(answer) == []
    assert await active(bot.portal) == {"Studio iMac", "Old ThinkPad", "MacBook Pro (Bob)"}
    assert await seat_holders(bot.portal) == {"bob@example.com", "dana@example.com"}
