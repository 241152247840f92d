"""Buttons: choices run their command; a confirmation has Slack's confirm dialog and takes
effect once, however often it is clicked."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import Field

from handlers.context import Context
from handlers.registry import REGISTRY, Arguments, Command
from handlers.reply import Reply
from tests.doors.slack.conftest import BOB_ID, Slack, buttons, everything_said
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import DEFAULT_USER_ID


class PlanArguments(Arguments):
    plan: str = Field(description="the plan to stop")


@pytest.fixture
def stop_plan() -> Iterator[list[str]]:
    """A change that needs confirming (like cancelling a subscription); lists what it did."""
    done: list[str] = []

    async def run(ctx: Context, args: PlanArguments) -> Reply:
        if not ctx.confirmed:
            preview = Reply(title="Stop your plan?", paragraphs=[f"{args.plan} ends today."])
            return await ctx.confirm(preview, summary=f"Stop {args.plan}", arguments=args.model_dump(),
                                     confirm_label="Stop it")
        done.append(args.plan)
        return Reply.text(f"{args.plan} is stopped.", title="Stopped")

    # `confirm` finds the action's command in the shared registry, so it is added there briefly.
    stop = Command(name="stop-plan", summary="Stop a plan", run=run, arguments=PlanArguments,
                   mutates=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(REGISTRY._commands, stop.name, stop)
        yield done


def button(message: dict[str, Any], kind: str) -> dict[str, Any]:
    [found] = [b for b in buttons(message) if b["action_id"].startswith(f"shopkeep.{kind}")]
    return found


async def test_confirmation_buttons_carry_the_signed_token_and_a_confirm_dialog(
    slack: Slack, stop_plan: list[str]
) -> None:
    await slack.sign_in("alice@example.com")

    preview = await slack.run("stop-plan pro")

    assert stop_plan == []
    confirm, cancel = button(preview, "confirm"), button(preview, "cancel")
    assert confirm["style"] == "primary"
    assert confirm["confirm"]["text"]["text"] == "Stop pro"
    assert confirm["confirm"]["confirm"]["text"] == "Stop it"
    assert "." in confirm["value"] and confirm["value"] == cancel["value"]
    assert "/shop confirm" in everything_said(preview)  # typing the code works too


async def test_confirming_twice_takes_effect_once(slack: Slack, stop_plan: list[str]) -> None:
    await slack.sign_in("alice@example.com")
    token = button(await slack.run("stop-plan pro"), "confirm")["value"]

    first = await slack.click("shopkeep.confirm", token)
    first_answer = await slack.answer(first.name)
    second = await slack.click("shopkeep.confirm", token)
    second_answer = await slack.answer(second.name)

    assert stop_plan == ["pro"]
    assert first_answer["replace_original"] is True  # the buttons go away
    assert "pro is stopped" in everything_said(first_answer)
    assert "already done" in everything_said(second_answer)


async def test_simultaneous_clicks_take_effect_once(slack: Slack, stop_plan: list[str]) -> None:
    await slack.sign_in("alice@example.com")
    token = button(await slack.run("stop-plan pro"), "confirm")["value"]

    clicks = await asyncio.gather(*(slack.click("shopkeep.confirm", token) for _ in range(4)))
    answers = [everything_said(await slack.answer(c.name)) for c in clicks]

    assert stop_plan == ["pro"]
    assert sum("pro is stopped" in a for a in answers) == 1
    assert sum("already done" in a for a in answers) == 3


async def test_cancel_button_drops_the_change_for_good(slack: Slack, stop_plan: list[str]) -> None:
    await slack.sign_in("alice@example.com")
    token = button(await slack.run("stop-plan pro"), "cancel")["value"]

    cancelled = await slack.answer((await slack.click("shopkeep.cancel", token)).name)
    late = await slack.answer((await slack.click("shopkeep.confirm", token)).name)

    assert "Nothing was changed" in everything_said(cancelled)
    assert "cancelled" in everything_said(late)
    assert stop_plan == []


async def test_someone_elses_confirmation_does_nothing(slack: Slack, stop_plan: list[str]) -> None:
    await slack.sign_in("alice@example.com")
    await slack.sign_in("bob@example.com", user=BOB_ID)
    token = button(await slack.run("stop-plan pro"), "confirm")["value"]

    answer = await slack.answer((await slack.click("shopkeep.confirm", token, user=BOB_ID)).name)

    assert "Only the person who asked" in everything_said(answer)
    assert stop_plan == []


async def test_choice_button_runs_its_command_as_a_new_message(slack: Slack) -> None:
    await slack.sign_in("alice@example.com")
    orders = await slack.run("orders")
    pick = next(b for b in buttons(orders) if b.get("value") == "product 3")

    answer = await slack.answer((await slack.click(pick["action_id"], pick["value"])).name)

    assert answer["replace_original"] is False
    said = everything_said(answer)
    assert "Pixel Studio Pro" in said and "License keys" in said
    links = {b["text"]["text"]: b["url"] for b in buttons(answer) if "url" in b}
    assert "/d/" in links["Download Pixel Studio 2.4.0 (zip)"]


async def test_link_buttons_only_acknowledge(slack: Slack, fake: FakeSlack) -> None:
    sent = await slack.click("shopkeep.link.0", "")
    await slack.door.idle()

    assert sent.status == 200
    assert fake.responses_to(sent.name) == []
    assert set(fake.methods_called()) <= {"auth.test"}


async def test_button_on_the_home_tab_answers_in_a_direct_message(slack: Slack, fake: FakeSlack) -> None:
    await slack.sign_in("alice@example.com")

    await slack.click("shopkeep.run.0", "orders", view_id="V0HOME", response_url=None)
    [posted] = await fake.wait_for_calls("chat.postMessage")

    assert posted["channel"] == DEFAULT_USER_ID
    assert "Maker Pro Membership" in everything_said(posted)
