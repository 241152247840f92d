"""Subscriptions by email, end to end through the mail desk: an unverified sender gets core's
real preview (the amounts, not just "please confirm") and confirms it by replying or with the
code, once; the reasons to cancel come as lines to send back; a trusted DKIM pass changes at
once; refusals are core's sentences; nobody else's reply confirms someone's change."""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

from tests.doors.email.conftest import MailDesk, mail, text
from tests.doors.email.test_email_e2e import TRUSTED, code_in
from tests.handlers.subscribing import ALICE, charges, state

PERIOD_END = "Apr 13, 2026"


async def exchange(desk: MailDesk, raw: EmailMessage, **kwargs: Any) -> tuple[EmailMessage, list[EmailMessage]]:
    """Send `raw`: the one answer to it, and the mails confirming a change it made."""
    before = len(desk.relay.messages)
    await desk.send(raw, **kwargs)
    await desk.deliver()
    new = desk.relay.messages[before:]
    answers = [m for m in new if m["In-Reply-To"]]
    assert len(answers) == 1, [m["Subject"] for m in new]
    return answers[0], [m for m in new if not m["In-Reply-To"]]


def replying(asked: EmailMessage, body: str = "yes") -> tuple[EmailMessage, str]:
    """The customer's answer to a request, quoting it, to its one-time address."""
    reply_to = str(asked["Reply-To"])
    assert reply_to.startswith("portal+")
    quoted = "\n".join(f"> {line}" for line in text(asked).splitlines())
    answer = mail(f"{body}\n\nOn Tue, Shop wrote:\n{quoted}", subject=f"Re: {asked['Subject']}")
    del answer["To"]
    answer["To"] = reply_to
    return answer, reply_to


async def test_an_unverified_upgrade_shows_the_real_preview_and_a_reply_confirms_it_once(desk: MailDesk) -> None:
    asked, _ = await exchange(desk, mail("change maker-pro yearly"))

    said = text(asked)
    assert "Move Maker Pro Membership to Pro yearly?" in said, "core's preview, not a generic request"
    assert re.search(r"Due now\s+\$108\.77", said) and re.search(r"Unused time on Pro monthly\s+-\$11\.23", said)
    assert "Then     $120.00 a year, renewing on Mar 15, 2027" in said
    assert (await state(desk.portal, ALICE)).plan == "monthly"

    answer, reply_to = replying(asked)
    done, notices = await exchange(desk, answer, recipients=(reply_to,))
    again, more = await exchange(desk, mail("yes", subject="Re: again"), recipients=(reply_to,))

    assert "Maker Pro Membership is now on Pro yearly. $108.77 was charged" in text(done)
    assert "already done" in text(again)
    assert [m["Subject"] for m in notices] == ["Your Maker Pro Membership is now on Pro yearly"] and more == []
    assert await charges(desk.portal, ALICE, "plan_change") == [(10877, "succeeded")]


async def test_the_reasons_to_cancel_are_lines_to_send_and_the_code_confirms(desk: MailDesk) -> None:
    asked, _ = await exchange(desk, mail("cancel maker-pro"))
    said = text(asked)
    assert f"it ends on {PERIOD_END}, when the current period ends" in said
    assert "  cancel maker-pro too expensive   (Too expensive)" in said
    assert "  cancel maker-pro customer service   (Customer service)" in said

    with_reason, _ = await exchange(desk, mail("cancel maker-pro customer service"))
    assert "Your reason: customer service." in text(with_reason)
    done, notices = await exchange(desk, mail(f"confirm {code_in(with_reason)}"))

    assert "Maker Pro Membership is cancelled: it ends on Apr 13, 2026" in text(done)
    assert [m["Subject"] for m in notices] == ["Your Maker Pro Membership is cancelled"]
    assert (await state(desk.portal, ALICE)).cancel_reason == "customer service"
    refused, _ = await exchange(desk, mail("cancel maker-pro"))
    assert (f"Your Maker Pro Membership is already cancelled; it ends on {PERIOD_END} — send `uncancel "
            "maker-pro` to keep it.") in text(refused)


async def test_a_trusted_sender_pauses_at_once_and_resumes_at_once(desk: MailDesk) -> None:
    paused, notices = await exchange(desk, mail("pause maker-pro until 2026-05-01", Authentication_Results=TRUSTED))
    assert f"Maker Pro Membership pauses on {PERIOD_END} and resumes on May 1, 2026." in text(paused)
    assert paused["Reply-To"] is None and "confirm" not in text(paused).lower()
    assert len(notices) == 1 and (await state(desk.portal, ALICE)).pause_at_period_end
    resumed, _ = await exchange(desk, mail("resume maker-pro", Authentication_Results=TRUSTED))
    assert "the pause is dropped" in text(resumed)


async def test_a_refusal_by_email_is_cores_sentence_and_asks_nothing(desk: MailDesk) -> None:
    reply, notices = await exchange(desk, mail("uncancel maker-pro\nresubscribe maker-pro"))
    said = text(reply)
    assert "Your Maker Pro Membership is not cancelled." in said
    assert "You already have Maker Pro Membership; send `subscriptions` to see it." in said
    assert reply["Reply-To"] is None and notices == []


async def test_someone_else_cannot_confirm_by_replying(desk: MailDesk) -> None:
    asked, _ = await exchange(desk, mail("downgrade maker-pro basic"))
    answer, reply_to = replying(asked)
    del answer["From"]
    answer["From"] = "bob@example.com"
    stolen, notices = await exchange(desk, answer, sender="bob@example.com", recipients=(reply_to,))
    assert stolen["To"] == "bob@example.com" and "moves from" not in text(stolen) and notices == []
    assert (await state(desk.portal, ALICE)).scheduled_plan is None
    listed, _ = await exchange(desk, mail("subscriptions", sender="bob@example.com"))
    assert "Sprite Club" in text(listed) and "Maker Pro" not in text(listed)


async def test_subscriptions_and_plans_by_email_list_the_lines_to_send(desk: MailDesk) -> None:
    listed, _ = await exchange(desk, mail("subscriptions\nplans maker-pro"))
    said = text(listed)
    assert "Maker Pro Membership  Pro monthly  $12.00 a month  renews Apr 13, 2026" in said
    assert "  plans maker-pro   (Plans 1)" in said
    assert "  change maker-pro basic    (Switch to Basic monthly)" in said
    assert "  change maker-pro yearly   (Switch to Pro yearly)" in said
