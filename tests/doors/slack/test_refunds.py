"""Refunds in Slack: `refunds` and `refunds <order>` through the signed slash command, a credit
note's PDF uploaded to the user's direct messages like an invoice's, another customer's order not
found."""

from __future__ import annotations

import re

from tests.doors.slack.conftest import BOB_ID, Slack, everything_said
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import DEFAULT_TEAM_ID, DEFAULT_USER_ID


async def test_refunds_show_amount_state_and_credit_note(slack: Slack) -> None:
    await slack.sign_in("alice@example.com")
    said = everything_said(await slack.run("refunds"))
    assert "Your refunds" in said and "SK-00008" in said and "$49.00 (partial)" in said
    assert "succeeded" in said and re.search(r"CN-\d{4}-\d{4}", said)
    one = everything_said(await slack.run("refunds SK-00008"))
    assert "Refunds of order SK-00008" in one and "partially refunded" in one and "$149.00" in one


async def test_a_credit_note_is_uploaded_like_an_invoice(slack: Slack, fake: FakeSlack) -> None:
    await slack.sign_in("alice@example.com")
    number = re.search(r"CN-\d{4}-\d{4}", everything_said(await slack.run("refunds")))
    assert number is not None
    await slack.run(f"invoice {number.group()}")
    [upload] = [u for u in fake.uploads.values() if u.filename == f"{number.group()}.pdf"]
    assert upload.channel_id == fake.dm_channel(DEFAULT_TEAM_ID, DEFAULT_USER_ID)
    assert upload.data is not None and upload.data.startswith(b"%PDF")


async def test_another_customers_order_is_not_found(slack: Slack) -> None:
    await slack.sign_in("bob@example.com", user=BOB_ID)
    said = everything_said(await slack.run("refunds SK-00008", user=BOB_ID))
    assert "You have no order SK-00008." in said and "$49.00" not in said
