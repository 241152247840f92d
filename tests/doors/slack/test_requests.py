"""What every request gets: signature checks, an ack at once, one run however often Slack
delivers it, and the slash command's text reaching the shared parser intact."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from pydantic import Field

from core.kernel.portal import Portal
from handlers.context import Caller, Context
from handlers.parser import Invocation
from handlers.registry import Access, Arguments, Registry, command
from handlers.reply import Attachment, Reply
from tests.doors.slack.conftest import SECRET, Slack, StartSlack, everything_said
from tests.fakes.relay import free_port
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import (
    DEFAULT_TEAM_ID,
    DEFAULT_USER_ID,
    app_home_opened_event,
    retry_headers,
    signed_headers,
    slash_command_body,
)

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"


class PeriodArguments(Arguments):
    period: str = Field(description="which month")


def slow_invoice_registry(started: asyncio.Event, release: asyncio.Event) -> Registry:
    """An `invoice` command that renders its PDF for as long as the test holds `release`."""
    registry = Registry()

    @command("invoice", summary="An invoice PDF", access=Access.ANYONE, slow=True, registry=registry)
    async def invoice(ctx: Context, args: PeriodArguments) -> Reply:
        started.set()
        await release.wait()
        return Reply(title=f"Invoice for {args.period}",
                     attachments=[Attachment("INV-2026-0003.pdf", "application/pdf", PDF)])

    return registry


async def test_request_signed_with_another_secret_is_refused_and_nothing_runs(
    slack: Slack, fake: FakeSlack
) -> None:
    body = slash_command_body(text="orders", response_url=fake.response_url("forged"))

    status, _ = await slack.post(body, secret="not-the-signing-secret")
    await slack.door.idle()

    assert status == 401
    assert [c for c in fake.recorded if c.method != "auth.test"] == [] and fake.responses == []


async def test_request_older_than_five_minutes_is_refused(slack: Slack, fake: FakeSlack) -> None:
    body = slash_command_body(text="orders", response_url=fake.response_url("replayed"))

    status, _ = await slack.post(body, timestamp=int(time.time()) - 6 * 60)
    await slack.door.idle()

    assert status == 401
    assert fake.responses == []


async def test_garbage_or_missing_timestamps_are_refused_quietly(
    slack: Slack, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    body = slash_command_body(text="orders", response_url=fake.response_url("garbage"))
    headers = signed_headers(body, SECRET)
    for stamp in ("not-a-time", "", "1e9", "-5"):
        async with slack.http.post(f"{slack.url}/slack/events", data=body,
                                   headers={**headers, "X-Slack-Request-Timestamp": stamp}) as resp:
            assert resp.status == 401, stamp
    await slack.door.idle()
    assert fake.responses == []
    assert not [r for r in caplog.records if r.exc_info], "no traceback for an unsigned request"


async def test_a_bad_signature_is_logged_in_one_line_without_the_body(
    slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = slash_command_body(text="orders secret-words-of-the-body")
    status, _ = await slack.post(body, secret="not-the-signing-secret")
    assert status == 401
    assert "secret-words-of-the-body" not in caplog.text
    assert "bad signature" in caplog.text


async def test_tampered_body_is_refused(slack: Slack, fake: FakeSlack) -> None:
    signed = slash_command_body(text="orders", response_url=fake.response_url("t"))
    headers = signed_headers(signed, SECRET)
    tampered = signed.replace(b"orders", b"logout")

    async with slack.http.post(f"{slack.url}/slack/events", data=tampered, headers=headers) as resp:
        status = resp.status
    await slack.door.idle()

    assert status == 401
    assert fake.responses == []


async def test_ack_comes_at_once_while_the_pdf_is_still_rendering(
    start_slack: StartSlack, demo_portal: Portal, fake: FakeSlack
) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    async with start_slack(demo_portal, registry=slow_invoice_registry(started, release)) as slack:
        sent = await slack.command("invoice March")
        # The HTTP answer is in while the PDF cannot have finished: `release` is still held.
        assert sent.status == 200
        assert sent.text == "Working on it…"
        await asyncio.wait_for(started.wait(), 5)
        assert fake.responses_to(sent.name) == []

        release.set()
        answer = await slack.answer(sent.name)

    assert answer["replace_original"] is True  # the answer takes the place of "Working on it…"
    assert "I sent INV-2026-0003.pdf to you as a direct message" in everything_said(answer)
    # The three steps of files_upload_v2, into the DM opened with the user.
    assert [m for m in fake.methods_called() if m != "auth.test"] == [
        "conversations.open", "files.getUploadURLExternal", "files.completeUploadExternal"]
    [asked] = fake.calls("files.getUploadURLExternal")
    assert (asked["filename"], int(asked["length"])) == ("INV-2026-0003.pdf", len(PDF))
    [upload] = fake.uploads.values()
    assert upload.data == PDF
    assert upload.completed and upload.title == "INV-2026-0003.pdf"
    assert upload.channel_id == fake.dm_channel(DEFAULT_TEAM_ID, DEFAULT_USER_ID)
    assert upload.initial_comment == "Invoice for March"


async def test_failed_upload_is_explained_in_the_answer(
    start_slack: StartSlack, demo_portal: Portal, fake: FakeSlack
) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    release.set()
    fake.fail("files.getUploadURLExternal", "not_allowed_token_type")
    async with start_slack(demo_portal, registry=slow_invoice_registry(started, release)) as slack:
        answer = await slack.run("invoice March")

    said = everything_said(answer)
    assert "couldn't send INV-2026-0003.pdf" in said and "not_allowed_token_type" in said
    assert fake.calls("files.completeUploadExternal") == []


async def test_a_retried_slash_command_runs_once(slack: Slack, fake: FakeSlack) -> None:
    body = slash_command_body(text="help", response_url=fake.response_url("retried"))

    first = await slack.post(body)
    again = await slack.post(body, headers=retry_headers(1))
    await slack.door.idle()

    assert first[0] == again[0] == 200
    assert len(fake.responses_to("retried")) == 1


async def test_a_delivery_and_its_retry_arriving_together_run_once(slack: Slack, fake: FakeSlack) -> None:
    body = slash_command_body(text="help", response_url=fake.response_url("together"))

    await asyncio.gather(slack.post(body), slack.post(body, headers=retry_headers(1)),
                         slack.post(body, headers=retry_headers(2, "http_error")))
    await slack.door.idle()

    assert len(fake.responses_to("together")) == 1


async def test_a_retry_whose_first_delivery_never_arrived_still_runs(slack: Slack, fake: FakeSlack) -> None:
    # Slack retries when it got no ack; if the first attempt never reached us, the retry is the
    # only chance to answer, so it must run rather than be ignored.
    body = slash_command_body(text="help", response_url=fake.response_url("lost"))

    await slack.post(body, headers=retry_headers(1, "http_timeout"))
    answer = await slack.answer("lost")

    assert "What you can do" in everything_said(answer)


async def test_a_redelivered_event_publishes_the_home_once(slack: Slack, fake: FakeSlack) -> None:
    event = app_home_opened_event(DEFAULT_USER_ID)

    await slack.event(event, event_id="Ev0HOME1")
    await slack.event(event, event_id="Ev0HOME1", headers=retry_headers(1))
    await slack.door.idle()

    assert len(fake.calls("views.publish")) == 1


async def test_text_containing_the_word_payload_still_reaches_the_command(slack: Slack) -> None:
    # bolt alone reads such a form as a button click and drops the command.
    answer = await slack.run("help payload")

    assert "There is no command 'payload'" in everything_said(answer)


async def test_unlinked_user_is_told_how_to_sign_in_with_the_slash_command(slack: Slack) -> None:
    answer = await slack.run("orders")

    said = everything_said(answer)
    assert answer["response_type"] == "ephemeral"
    assert "Please sign in" in said
    assert "`/shop login you@example.com`" in said and "`/shop verify &lt;code&gt;`" in said


async def test_unknown_command_suggests_the_closest(slack: Slack) -> None:
    answer = await slack.run("ordres")

    assert "Did you mean `/shop orders`" in everything_said(answer)  # first, the closest


async def test_card_numbers_are_refused(slack: Slack, fake: FakeSlack) -> None:
    answer = await slack.run("login 4242 4242 4242 4242")

    assert "looks like a card number" in everything_said(answer)


async def test_an_answer_whose_response_url_is_used_up_goes_to_a_direct_message(
    slack: Slack, fake: FakeSlack
) -> None:
    for n in range(5):  # Slack takes five posts per response_url
        async with slack.http.post(fake.response_url("spent"), json={"text": str(n)}):
            pass
    body = slash_command_body(text="help", response_url=fake.response_url("spent"))

    await slack.post(body)
    [posted] = await fake.wait_for_calls("chat.postMessage")

    assert posted["channel"] == DEFAULT_USER_ID
    assert "What you can do" in everything_said(posted)


async def test_each_request_is_parsed_once(slack: Slack, monkeypatch: pytest.MonkeyPatch) -> None:
    await slack.sign_in("alice@example.com")
    lines: list[str] = []
    handed: list[Invocation] = []
    parse, handle = Invocation.parse, slack.door.dispatcher.handle

    def counting_parse(cls: type[Invocation], line: str) -> Invocation:
        lines.append(line)
        return parse(line)

    async def spy(caller: Caller, invocation: Invocation, *args: Any) -> Reply:
        handed.append(invocation)
        return await handle(caller, invocation, *args)

    monkeypatch.setattr(Invocation, "parse", classmethod(counting_parse))
    monkeypatch.setattr(slack.door.dispatcher, "handle", spy)

    answer = await slack.run('invoices "last quarter"')
    assert lines == ['invoices "last quarter"'] and "Your invoices" in everything_said(answer)
    assert handed[0].words == ("last quarter",) and handed[0].command is not None
    clicked = await slack.click("shopkeep.run.0", "product ebook")
    assert "The Indie Maker's Handbook" in everything_said(await slack.answer(clicked.name))
    assert lines == ['invoices "last quarter"', "product ebook"]


async def test_a_command_is_acknowledged_even_when_slacks_api_is_unreachable(
        start_slack: StartSlack, demo_portal: Portal) -> None:
    # Nothing listens on this port: auth.test at start-up and every call after the ack fail.
    async with start_slack(demo_portal, slack_api_url=f"http://127.0.0.1:{free_port()}/api/") as slack:
        status, _ = await slack.post(slash_command_body(text="help"))
        await slack.door.idle()
    assert status == 200


async def test_the_bot_identity_is_asked_once_at_start_up_not_per_request(slack: Slack, fake: FakeSlack) -> None:
    for _ in range(3):
        status, _ = await slack.post(slash_command_body(text="help"))
        assert status == 200
    await slack.door.idle()
    assert fake.methods_called().count("auth.test") == 1
