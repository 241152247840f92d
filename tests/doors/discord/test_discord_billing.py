"""Billing details in Discord: `billing edit` opens a modal (five fields at most, so the form
comes in two steps with a Continue button between them), a wrong field comes back as a message
naming it with Edit again (the modal opens again holding what was sent), and tax IDs by slash
command. All through the fake gateway, which checks modals as Discord does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.kernel.portal import Portal
from core.models import BillingDetails
from tests.doors.discord.test_discord_door import Bot, connected, sign_in, text_of
from tests.doors.discord.test_discord_licenses import labels, slash
from tests.fakes.discord_api import MODAL
from tests.fakes.discord_gateway import (
    DEFAULT_USER_ID,
    component_payload,
    deliver_interaction,
    modal_submit_payload,
)

BOB_USER = DEFAULT_USER_ID + 100


@pytest.fixture
async def bot(demo_portal: Portal) -> AsyncIterator[Bot]:
    async with connected(demo_portal) as bot:
        await sign_in(bot)
        yield bot


def inputs(window: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["components"][0]["custom_id"]: row["components"][0] for row in window["components"]}


async def opened(bot: Bot, interaction_id: int) -> dict[str, Any]:
    [callback] = bot.fake.interaction_responses(interaction_id)
    assert callback.ok and callback.json["type"] == MODAL, callback.json
    window = bot.fake.modal(interaction_id)
    assert window is not None
    return window


async def submit(bot: Bot, window: dict[str, Any], values: dict[str, str],
                 user_id: int = DEFAULT_USER_ID) -> dict[str, Any]:
    delivery = await deliver_interaction(bot.door.client, bot.fake,
                                         modal_submit_payload(window, values, user_id=user_id))
    await delivery.finished()
    return bot.answer(delivery.id)


async def press(bot: Bot, message: dict[str, Any], label: str) -> int:
    delivery = await deliver_interaction(bot.door.client, bot.fake, component_payload(message, label=label))
    await delivery.finished()
    return delivery.id


async def stored(portal: Portal) -> BillingDetails:
    async with portal.db.unit_of_work() as session:
        found = await session.get(BillingDetails, 1)
    assert found is not None
    return found


async def test_the_form_opens_as_a_modal_in_two_steps(bot: Bot) -> None:
    await bot.slash(bot.path("billing"), action="edit")
    first = await opened(bot, bot.last_id)
    assert first["title"] == "Billing details (1 of 2)"
    assert list(inputs(first)) == ["name", "company", "invoice_email"]
    assert inputs(first)["name"]["value"] == "Alice Moreau" and inputs(first)["name"]["required"] is True

    saved = await submit(bot, first, {"invoice_email": "compta@moreau.example"})
    assert "Step 1 of 2 saved. Continue with: Address, Postal code, City, State or region, Country" in text_of(saved)
    assert (await stored(bot.portal)).invoice_email == "compta@moreau.example"

    second = await opened(bot, await press(bot, saved, "Continue"))
    assert second["title"] == "Billing details (2 of 2)"
    assert list(inputs(second)) == ["address", "postal_code", "city", "region", "country"]
    assert inputs(second)["address"]["style"] == 2 and inputs(second)["country"]["value"] == "France"

    done = await submit(bot, second, {"address": "3 Quai de la Tournelle\nBâtiment B", "postal_code": "75005"})
    assert "Billing details saved" in text_of(done) and "Continue" not in labels(done)
    details = await stored(bot.portal)
    assert details.address_lines == ["3 Quai de la Tournelle", "Bâtiment B"] and details.postal_code == "75005"


async def test_a_wrong_field_comes_back_with_edit_again_holding_what_was_sent(bot: Bot) -> None:
    await bot.slash(bot.path("billing"), action="edit")
    first = await opened(bot, bot.last_id)
    second = await opened(bot, await press(bot, await submit(bot, first, {}), "Continue"))

    wrong = await submit(bot, second, {"postal_code": "7501", "city": "Lyon"})
    said = text_of(wrong)
    assert "Postal code: 7501 isn't a postal code of France; they look like" in said
    assert "Edit again" in labels(wrong)
    assert (await stored(bot.portal)).city == "Paris"  # nothing of that step was saved

    again = await opened(bot, await press(bot, wrong, "Edit again"))
    assert again["title"] == "Billing details (2 of 2)"
    assert inputs(again)["postal_code"]["value"] == "7501" and inputs(again)["city"]["value"] == "Lyon"
    done = await submit(bot, again, {"postal_code": "69001"})
    assert "Billing details saved" in text_of(done)
    assert ((await stored(bot.portal)).postal_code, (await stored(bot.portal)).city) == ("69001", "Lyon")


async def test_the_edit_button_of_billing_opens_the_modal(bot: Bot) -> None:
    shown = await slash(bot, "billing")
    assert "FR40303265045" in text_of(shown) and "format checked, not verified" in text_of(shown)
    window = await opened(bot, await press(bot, shown, "Edit billing details"))
    assert window["title"] == "Billing details (1 of 2)"


async def test_a_form_sent_back_by_someone_else_changes_nothing(bot: Bot) -> None:
    await bot.slash(bot.path("billing"), action="edit")
    alices = await opened(bot, bot.last_id)
    await sign_in(bot, "bob@example.com", user_id=BOB_USER)
    refused = await submit(bot, alices, {"name": "Bob"}, user_id=BOB_USER)
    assert "made for another account" in text_of(refused)
    assert (await stored(bot.portal)).name == "Alice Moreau"


async def test_tax_ids_by_slash_command(bot: Bot) -> None:
    added = await bot.slash(bot.path("taxid"), action="add", id="FR 23 334 175 221")
    assert "FR23334175221 is a French VAT number" in text_of(added)
    wrong = await bot.slash(bot.path("taxid"), action="add", id="GB980780684")
    assert "is a tax ID of United Kingdom, but your billing country is France" in text_of(wrong)
    removed = await bot.slash(bot.path("taxid"), action="remove", id="FR23334175221")
    assert "no longer on your billing details" in text_of(removed)


async def test_past_the_budget_the_form_comes_as_a_message_that_opens_it(bot: Bot) -> None:
    budget, bot.door.form_budget = bot.door.form_budget, 0  # as if the database were slow
    answer = await bot.slash(bot.path("billing"), action="edit")
    assert answer["type"] == 5 and "Open the form" in labels(answer)  # deferred, then a message
    bot.door.form_budget = budget
    window = await opened(bot, await press(bot, answer, "Open the form"))
    assert window["title"] == "Billing details (1 of 2)"
