"""Signing in from Slack with the one-time code, what a linked user then sees, and mentions."""

from __future__ import annotations

from pydantic import Field
from sqlalchemy import select

from core.kernel.portal import Portal
from core.models import ChatLink
from handlers.context import Context
from handlers.registry import Access, Arguments, Registry, command
from handlers.reply import Reply
from tests.doors.slack.conftest import (
    BOB_ID,
    CAROL_ID,
    Slack,
    StartSlack,
    buttons,
    codes_sent,
    everything_said,
    latest_code,
)
from tests.fakes.slack_api import FakeSlack


async def slack_links(portal: Portal) -> dict[str, int]:
    async with portal.db.unit_of_work() as session:
        links = await session.scalars(select(ChatLink).where(ChatLink.platform == "slack"))
        return {link.account_id: link.customer_id for link in links}


async def test_login_and_verify_link_the_slack_account_then_orders_show(slack: Slack) -> None:
    asked = await slack.run("login alice@example.com")
    code = await latest_code(slack.portal, "alice@example.com")
    wrong = await slack.run("verify 000000" if code != "000000" else "verify 111111")
    verified = await slack.run(f"verify {code}")
    orders = await slack.run("orders")

    assert "Check your inbox" in everything_said(asked)
    assert "That code is not right. 4 tries left." in everything_said(wrong)
    assert "Signed in as alice@example.com" in everything_said(verified)
    assert list(await slack_links(slack.portal)) == ["T0SHOP:U0ALICE"]
    said = everything_said(orders)
    assert "Your orders" in said
    for product in ("Maker Pro Membership", "The Indie Maker's Handbook", "Pixel Studio Pro"):
        assert product in said
    assert "$149.00" in said
    # Each owned product is a button that runs `product <n>`.
    assert {"product 1", "product 2"} <= {b.get("value") for b in buttons(orders)}


async def test_the_code_is_bound_to_the_slack_account_that_asked(slack: Slack) -> None:
    await slack.run("login alice@example.com")
    code = await latest_code(slack.portal, "alice@example.com")

    elsewhere = await slack.run(f"verify {code}", user=BOB_ID)

    assert "No sign-in is waiting" in everything_said(elsewhere)
    assert await slack_links(slack.portal) == {}


async def test_login_without_an_address_offers_the_profile_email_but_still_sends_a_code(
    slack: Slack
) -> None:
    offer = await slack.run("login")

    assert await codes_sent(slack.portal) == 0  # nothing is sent until the user picks it
    assert "alice@example.com" in everything_said(offer)
    [button] = [b for b in buttons(offer) if b.get("value") == "login alice@example.com"]

    clicked = await slack.click(button["action_id"], button["value"])
    answer = await slack.answer(clicked.name)

    assert "Check your inbox" in everything_said(answer)
    assert await codes_sent(slack.portal) == 1
    assert await slack_links(slack.portal) == {}  # signing in still takes the code


async def test_login_without_an_address_when_the_workspace_hides_emails_asks_for_one(
    slack: Slack
) -> None:
    answer = await slack.run("login", user=CAROL_ID)

    assert "Missing email" in everything_said(answer)
    assert await codes_sent(slack.portal) == 0


async def test_logout_unlinks_only_this_slack_account(slack: Slack) -> None:
    await slack.sign_in("alice@example.com")
    await slack.sign_in("bob@example.com", user=BOB_ID)

    answer = await slack.run("logout")
    after = await slack.run("orders")

    assert "Signed out of alice@example.com" in everything_said(answer)
    assert "Please sign in" in everything_said(after)
    assert list(await slack_links(slack.portal)) == [f"T0SHOP:{BOB_ID}"]


class TeammateArguments(Arguments):
    who: str = Field(description="a teammate's email, or an @mention")


def seat_registry() -> Registry:
    registry = Registry()

    @command("seat", summary="Give a teammate a seat", access=Access.ANYONE, registry=registry)
    async def seat(ctx: Context, args: TeammateArguments) -> Reply:
        return Reply.text(f"A seat for {args.who}.")

    return registry


async def test_mentions_resolve_to_the_members_email_before_the_command_runs(
    start_slack: StartSlack, demo_portal: Portal, fake: FakeSlack
) -> None:
    async with start_slack(demo_portal, registry=seat_registry()) as slack:
        answer = await slack.run(f"seat <@{BOB_ID}|bob>")

    assert "A seat for bob@example.com." in everything_said(answer)
    assert [call["user"] for call in fake.calls("users.info")] == [BOB_ID]


async def test_a_mention_whose_email_is_hidden_is_not_guessed(
    start_slack: StartSlack, demo_portal: Portal
) -> None:
    async with start_slack(demo_portal, registry=seat_registry()) as slack:
        answer = await slack.run(f"seat <@{CAROL_ID}|carol>")

    said = everything_said(answer)
    assert "can't see the email address" in said
    assert "A seat for" not in said
