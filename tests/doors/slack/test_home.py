"""The App Home tab: a linked customer's overview, or the way in for everyone else."""

from __future__ import annotations

import re
from typing import Any

from tests.doors.slack.conftest import CAROL_ID, Slack, everything_said
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import DEFAULT_USER_ID, app_home_opened_event


async def open_home(slack: Slack, fake: FakeSlack, user: str = DEFAULT_USER_ID) -> dict[str, Any]:
    before = len(fake.calls("views.publish"))
    assert await slack.event(app_home_opened_event(user)) == 200
    published = (await fake.wait_for_calls("views.publish", before + 1))[before]
    assert published["user_id"] == user
    view: dict[str, Any] = published["view"]
    assert view["type"] == "home"
    return view


def home_buttons(view: dict[str, Any]) -> dict[str, str]:
    return {element["text"]["text"]: element.get("value", "")
            for block in view["blocks"] if block["type"] == "actions"
            for element in block["elements"]}


async def test_linked_customer_sees_products_subscriptions_and_licenses(slack: Slack, fake: FakeSlack) -> None:
    await slack.sign_in("alice@example.com")

    view = await open_home(slack, fake)

    said = everything_said(view)
    assert "Signed in as alice@example.com" in said
    for heading in ("Products", "Subscriptions", "Licenses"):
        assert heading in said
    assert re.search(r"Maker Pro Membership +Pro monthly +renews Apr 13, 2026", said)
    # A license shows its devices (used/limit) with the key masked.
    assert re.search(r"Pixel Studio Pro +\w{5}-•••••-•••••-•••••-\w{5} +2/3 +active", said)
    actions = home_buttons(view)
    assert actions["Orders"] == "orders" and actions["Help"] == "help"
    assert "product 1" in actions.values()
    assert len(view["blocks"]) <= 100


async def test_unlinked_user_sees_how_to_sign_in(slack: Slack, fake: FakeSlack) -> None:
    view = await open_home(slack, fake)

    said = everything_said(view)
    assert "Welcome to Test Store" in said
    assert "`/shop login you@example.com`" in said
    assert "alice@example.com" not in said.replace("Email a code to alice@example.com", "")
    assert home_buttons(view)["Email a code to alice@example.com"] == "login alice@example.com"


async def test_unlinked_user_whose_email_is_hidden_gets_no_offer(slack: Slack, fake: FakeSlack) -> None:
    view = await open_home(slack, fake, user=CAROL_ID)

    assert "Welcome to Test Store" in everything_said(view)
    assert not any(label.startswith("Email a code") for label in home_buttons(view))


async def test_the_messages_tab_publishes_nothing(slack: Slack, fake: FakeSlack) -> None:
    event = {**app_home_opened_event(DEFAULT_USER_ID), "tab": "messages"}

    assert await slack.event(event) == 200
    await slack.door.idle()

    assert fake.calls("views.publish") == []


async def test_the_home_follows_signing_in_and_out(slack: Slack, fake: FakeSlack) -> None:
    before = await open_home(slack, fake)
    await slack.sign_in("alice@example.com")
    linked = await open_home(slack, fake)
    await slack.run("logout")
    after = await open_home(slack, fake)

    assert "Welcome to Test Store" in everything_said(before)
    assert "Signed in as alice@example.com" in everything_said(linked)
    assert "Welcome to Test Store" in everything_said(after)
