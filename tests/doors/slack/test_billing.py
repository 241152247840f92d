"""Billing details in Slack: `billing edit` opens a modal with the command's trigger id
(views.open), a submit is saved before the acknowledgement so a wrong field is answered beside
it (response_action errors), and the saved details follow in the conversation. Signed requests
in, the fake Slack Web API out."""

from __future__ import annotations

import json
from typing import Any

from core.kernel.portal import Portal
from core.models import BillingDetails
from tests.doors.slack.conftest import BOB_ID, Slack, buttons, everything_said
from tests.fakes.slack_signing import DEFAULT_USER_ID, view_submission_body

WRONG_POSTAL_CODE = "7501 isn't a postal code of France; they look like 33380 or 34092."


async def stored(portal: Portal) -> BillingDetails:
    async with portal.db.unit_of_work() as session:
        found = await session.get(BillingDetails, 1)
    assert found is not None
    return found


async def opened(slack: Slack, count: int = 1) -> dict[str, Any]:
    return (await slack.fake.wait_for_calls("views.open", count))[count - 1]


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {block["block_id"]: block for block in view["blocks"] if block["type"] == "input"}


async def submit(slack: Slack, view: dict[str, Any], changes: dict[str, str],
                 user: str = DEFAULT_USER_ID) -> tuple[int, str]:
    """Send the modal back as Slack does: every input, holding what it showed unless changed."""
    values = {name: {"value": changes.get(name, block["element"].get("initial_value", ""))}
              for name, block in inputs(view).items()}
    body = view_submission_body(view["callback_id"], values, user_id=user,
                                private_metadata=view["private_metadata"])
    return await slack.post(body)


async def test_billing_edit_opens_a_modal_with_the_commands_trigger(slack: Slack) -> None:
    await slack.sign_in("alice@example.com")
    sent = await slack.command("billing edit", trigger_id="111.222.trigger")
    assert sent.status == 200
    call = await opened(slack)
    assert call["trigger_id"] == "111.222.trigger"
    view = call["view"]
    assert view["type"] == "modal" and view["title"]["text"] == "Billing details"
    fields = inputs(view)
    assert list(fields) == ["name", "company", "invoice_email", "address", "postal_code", "city", "region",
                            "country"]
    assert fields["name"]["optional"] is False and fields["company"]["optional"] is True
    assert fields["address"]["element"]["multiline"] is True
    assert fields["country"]["element"]["initial_value"] == "France"
    assert json.loads(view["private_metadata"])["response_url"] == slack.fake.response_url(sent.name)


async def test_a_wrong_field_is_answered_beside_it_and_nothing_is_saved(slack: Slack) -> None:
    await slack.sign_in("alice@example.com")
    await slack.command("billing edit")
    view = (await opened(slack))["view"]
    status, answer = await submit(slack, view, {"postal_code": "7501", "country": "Frnace"})
    assert status == 200
    assert json.loads(answer) == {"response_action": "errors", "errors": {
        "country": "We don't know a country called 'Frnace'. Did you mean France?"}}
    status, answer = await submit(slack, view, {"postal_code": "7501"})
    assert json.loads(answer) == {"response_action": "errors", "errors": {"postal_code": WRONG_POSTAL_CODE}}
    assert (await stored(slack.portal)).postal_code == "75011"


async def test_a_right_submit_closes_the_modal_and_the_details_follow(slack: Slack) -> None:
    await slack.sign_in("alice@example.com")
    sent = await slack.command("billing edit")
    view = (await opened(slack))["view"]
    status, answer = await submit(slack, view, {"address": "3 Quai de la Tournelle\nBâtiment B",
                                                "postal_code": "75005", "invoice_email": "compta@moreau.example"})
    assert (status, answer) == (200, "")
    said = everything_said(await slack.answer(sent.name))
    assert "Billing details saved" in said and "compta@moreau.example" in said
    details = await stored(slack.portal)
    assert details.address_lines == ["3 Quai de la Tournelle", "Bâtiment B"] and details.postal_code == "75005"


async def test_when_the_trigger_has_expired_a_button_opens_the_form(slack: Slack) -> None:
    await slack.sign_in("alice@example.com")
    slack.fake.fail("views.open", "expired_trigger_id")
    fallback = await slack.run("billing edit")
    [button] = [b for b in buttons(fallback) if b["text"]["text"] == "Open the form"]
    await slack.click(button["action_id"], button["value"], trigger_id="333.444.trigger")
    call = await opened(slack, 2)  # the failed call, then the one with the click's trigger
    assert call["trigger_id"] == "333.444.trigger" and call["view"]["title"]["text"] == "Billing details"


async def test_a_form_sent_back_from_another_account_changes_nothing(slack: Slack) -> None:
    await slack.sign_in("alice@example.com")
    await slack.sign_in("bob@example.com", user=BOB_ID)
    await slack.command("billing edit")
    alices = (await opened(slack))["view"]
    status, answer = await submit(slack, alices, {"name": "Bob"}, user=BOB_ID)
    assert (status, answer) == (200, "")
    [dm] = await slack.fake.wait_for_calls("chat.postMessage")
    assert "made for another account" in dm["text"] + json.dumps(dm.get("blocks"))
    assert (await stored(slack.portal)).name == "Alice Moreau"


async def test_tax_ids_by_slash_command(slack: Slack) -> None:
    await slack.sign_in("alice@example.com")
    added = everything_said(await slack.run("taxid add FR 23 334 175 221"))
    assert "FR23334175221 is a French VAT number" in added
    shown = everything_said(await slack.run("billing"))
    assert "FR23334175221" in shown and "format checked, not verified" in shown
    removed = everything_said(await slack.run("taxid remove FR23334175221"))
    assert "no longer on your billing details" in removed
