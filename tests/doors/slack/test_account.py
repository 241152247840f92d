"""transfer, activity and export in Slack: signed slash commands through the real bolt app, the
move dropping the workspace link, the export uploaded to the user's direct messages."""

from __future__ import annotations

import json
import re

from core.kernel.portal import Portal
from tests.doors.slack.conftest import BOB_ID, Slack, buttons, everything_said
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import DEFAULT_TEAM_ID, DEFAULT_USER_ID
from tests.helpers import sent_mail

NEW = "alice@new.example"


async def mailed_code(portal: Portal, to: str) -> str:
    found = re.search(r"\b(\d{6})\b", str((await sent_mail(portal, to=to, kind="code"))[-1]["Subject"]))
    assert found
    return found.group(1)


async def test_a_move_confirmed_with_the_mailed_code_signs_slack_out(slack: Slack) -> None:
    await slack.sign_in("alice@example.com")
    asked = await slack.run(f"transfer {NEW}")
    assert f"we emailed a code to {NEW}" in everything_said(asked)
    assert not [b for b in buttons(asked) if b["action_id"] == "shopkeep.confirm"]
    done = await slack.run(f"confirm {await mailed_code(slack.portal, NEW)}")
    assert f"Your account is {NEW} now" in everything_said(done)
    assert "login you@example.com" in everything_said(await slack.run("orders"))
    await slack.sign_in(NEW)
    assert "Pixel Studio Pro" in everything_said(await slack.run("orders"))


async def test_a_taken_address_is_refused_to_whoever_holds_its_code(slack: Slack) -> None:
    await slack.sign_in("alice@example.com")
    await slack.run("transfer bob@example.com")
    refused = await slack.run(f"confirm {await mailed_code(slack.portal, 'bob@example.com')}")
    assert "bob@example.com already has an account here" in everything_said(refused)
    assert "Pixel Studio Pro" in everything_said(await slack.run("orders")), "still signed in, nothing moved"


async def test_export_goes_to_the_direct_messages(slack: Slack, fake: FakeSlack) -> None:
    await slack.sign_in("alice@example.com")
    answer = await slack.run("export")
    assert "to you as a direct message" in everything_said(answer)
    [upload] = fake.uploads.values()
    assert upload.completed and upload.channel_id == fake.dm_channel(DEFAULT_TEAM_ID, DEFAULT_USER_ID)
    assert upload.filename.endswith(".json") and upload.data is not None
    assert json.loads(upload.data)["customer"]["email"] == "alice@example.com"


async def test_activity_is_each_ones_own(slack: Slack) -> None:
    await slack.sign_in("alice@example.com")
    await slack.sign_in("bob@example.com", user=BOB_ID)
    mine = await slack.run("activity")
    assert "Linked a Slack account" in everything_said(mine)
    assert [b["text"]["text"] for b in buttons(mine)] == ["Older"]
    bobs = everything_said(await slack.run("activity", user=BOB_ID))
    assert "Pixel Studio" not in bobs and "SK-00001" not in bobs
