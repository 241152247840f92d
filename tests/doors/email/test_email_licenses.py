"""Devices and seats by email: the exact line to send back for each row, and the confirmation
round trip through the mail desk (a reply to the one-time address, or `confirm <code>`)."""

from __future__ import annotations

import re
from email.message import EmailMessage

from sqlalchemy import select

from core.kernel.portal import Portal
from core.models import Activation, Seat
from core.models.licenses import CLAIMED, PENDING
from tests.doors.email.conftest import MailDesk, mail, text
from tests.doors.email.test_email_e2e import TRUSTED, code_in

ROW_LINE = re.compile(r"^\s+(deactivate pixel-studio [0-9a-f-]{36})\s+\(Deactivate (\d+)\)\r?$", re.M)


async def active(portal: Portal) -> set[str]:
    async with portal.db.unit_of_work() as session:
        return set(await session.scalars(select(Activation.name).where(Activation.deactivated_at.is_(None))))


async def seat_holders(portal: Portal) -> set[str]:
    async with portal.db.unit_of_work() as session:
        return set(await session.scalars(select(Seat.email).where(Seat.state.in_((PENDING, CLAIMED)))))


def html(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


async def answer_by_reply(desk: MailDesk, asked: EmailMessage, sender: str = "alice@example.com") -> None:
    """The customer answers the request, quoting it, to the one-time Reply-To address."""
    reply_to = str(asked["Reply-To"])
    assert reply_to.startswith("portal+")
    quoted = "\n".join(f"> {line}" for line in text(asked).splitlines())
    answer = mail(f"yes\n\nOn Tue, Shop wrote:\n{quoted}", subject=f"Re: {asked['Subject']}",
                  sender=sender)
    del answer["To"]
    answer["To"] = reply_to
    await desk.send(answer, sender=sender, recipients=(reply_to,))
    await desk.deliver()


async def test_devices_by_email_list_the_line_to_send_for_each_row(desk: MailDesk) -> None:
    listed = await desk.exchange(mail("devices pixel-studio"))

    lines = dict((number, line) for line, number in ROW_LINE.findall(text(listed)))
    assert set(lines) == {"1", "2"} and "To act on a row, send its line:" in text(listed)
    assert "Old ThinkPad" in text(listed) and "(stale)" in text(listed)
    assert "To do it, send" in html(listed) and f"<code>{lines['2']}</code>" in html(listed)


async def test_deactivate_by_the_rows_line_with_a_reply_to_confirm(desk: MailDesk) -> None:
    listed = await desk.exchange(mail("devices pixel-studio"))
    line = dict((n, ln) for ln, n in ROW_LINE.findall(text(listed)))["2"]

    asked = await desk.exchange(mail(line))
    assert "This frees 1 of 3 slots; the app on 'Old ThinkPad' will stop working" in text(asked)
    assert await active(desk.portal) == {"Studio iMac", "Old ThinkPad", "MacBook Pro (Bob)"}

    await answer_by_reply(desk, asked)
    await answer_by_reply(desk, asked)

    done, again = desk.relay.messages[-2:]
    assert "Deactivated 'Old ThinkPad'" in text(done) and "already done" in text(again)
    assert await active(desk.portal) == {"Studio iMac", "MacBook Pro (Bob)"}


async def test_deactivate_all_with_the_typed_code(desk: MailDesk) -> None:
    asked = await desk.exchange(mail("deactivate pixel-studio all"))
    assert "Deactivate every device?" in text(asked)
    code = code_in(asked)
    done = await desk.exchange(mail(f"confirm {code}"))
    again = await desk.exchange(mail(f"confirm {code}"))
    assert "Deactivated 'Studio iMac' and 'Old ThinkPad'" in text(done) and "already done" in text(again)
    assert await active(desk.portal) == {"MacBook Pro (Bob)"}


async def test_a_trusted_sender_deactivates_at_once(desk: MailDesk) -> None:
    done = await desk.exchange(mail("deactivate pixel-studio 2", Authentication_Results=TRUSTED))
    assert "Deactivated 'Old ThinkPad'" in text(done) and done["Reply-To"] is None
    assert await active(desk.portal) == {"Studio iMac", "MacBook Pro (Bob)"}


async def test_seats_by_email_then_unassign_with_a_reply(desk: MailDesk) -> None:
    listed = await desk.exchange(mail("seats tileset-forge"))
    assert "unassign tileset-forge dana@example.com   (Unassign 2)" in text(listed)

    asked = await desk.exchange(mail("unassign tileset-forge dana@example.com"))
    assert "Take dana@example.com's seat back?" in text(asked)
    await answer_by_reply(desk, asked)

    assert "no longer has a seat" in text(desk.relay.messages[-1])
    assert await seat_holders(desk.portal) == {"bob@example.com"}


async def test_assign_by_email_sends_the_member_an_invite(desk: MailDesk) -> None:
    asked = await desk.exchange(mail("assign tileset-forge erin@example.com"))
    assert "Give erin@example.com a seat?" in text(asked)

    await answer_by_reply(desk, asked)

    sent = {str(m["To"]): m for m in desk.relay.messages[-2:]}
    assert "erin@example.com has a seat" in text(sent["alice@example.com"])
    assert "Tileset Forge" in text(sent["erin@example.com"])  # the invite, through the outbox
    assert "erin@example.com" in await seat_holders(desk.portal)


async def test_another_customer_reaches_nothing_of_alices_by_email(desk: MailDesk) -> None:
    listed = await desk.exchange(mail("devices pixel-studio"))
    alices = [line for line, _ in ROW_LINE.findall(text(listed))]
    # Signed by their own domain, so a change would run at once: none may reach alice's.
    attempts = [("bob@example.com", line) for line in (
        *alices, "devices pixel-studio", "deactivate pixel-studio all", "seats tileset-forge")]
    attempts += [("dana@example.com", line) for line in (
        "assign tileset-forge erin@example.com", "unassign tileset-forge bob@example.com",
        "deactivate tileset-forge 1")]
    for sender, line in attempts:
        answer = await desk.exchange(mail(line, sender=sender, Authentication_Results=TRUSTED),
                                     sender=sender)
        said = text(answer).replace(line, "")
        assert answer["To"] == sender and answer["Reply-To"] is None, line
        assert "Studio iMac" not in said and "Old ThinkPad" not in said and "MacBook" not in said, line
        assert "Take " not in said and "dana@example.com" not in said.replace(sender, ""), line
    assert await active(desk.portal) == {"Studio iMac", "Old ThinkPad", "MacBook Pro (Bob)"}
    assert await seat_holders(desk.portal) == {"bob@example.com", "dana@example.com"}
