"""transfer, activity and export by email, through the real SMTP server, the mail worker and a
capturing relay: an unverified sender confirms the request from the old inbox before the code
goes to the new one; files come as attachments to the account's own address."""

from __future__ import annotations

import io
import json
import re
import zipfile
from email.message import EmailMessage

from sqlalchemy import select

from core.kernel.portal import Portal
from core.models import Customer
from tests.doors.email.conftest import MailDesk, mail, text
from tests.doors.email.test_email_e2e import TRUSTED
from tests.doors.email.test_email_licenses import answer_by_reply

NEW = "alice@new.example"


def sent_to(desk: MailDesk, address: str) -> list[EmailMessage]:
    """What the relay was handed for `address`, oldest first."""
    return [message for message in desk.relay.messages if message["To"] == address]


def code_to(desk: MailDesk, address: str) -> str:
    [mail_with_code] = [m for m in sent_to(desk, address) if "code to move" in str(m["Subject"])][-1:]
    found = re.search(r"\b(\d{6})\b", str(mail_with_code["Subject"]))
    assert found and f"confirm {found.group(1)}" in text(mail_with_code)
    return found.group(1)


async def email_of(portal: Portal, customer_id: int) -> str:
    async with portal.db.unit_of_work() as session:
        customer = await session.get(Customer, customer_id)
        assert customer is not None
        return customer.email


async def alice_id(portal: Portal) -> int:
    async with portal.db.unit_of_work() as session:
        found = await session.scalar(select(Customer.id).where(Customer.email == "alice@example.com"))
    assert found is not None
    return found


async def test_an_unverified_move_asks_the_old_inbox_then_the_new_one(desk: MailDesk) -> None:
    account = await alice_id(desk.portal)
    asked = await desk.exchange(mail(f"transfer {NEW}"))
    assert "This changes your account, so we need to know it was you" in text(asked)
    assert sent_to(desk, NEW) == [], "no code before the old inbox says yes"

    await answer_by_reply(desk, asked)
    [checked] = [m for m in sent_to(desk, "alice@example.com") if "Check the new address" in text(m)]
    assert f"we emailed a code to {NEW}. Send `confirm <code>` here" in text(checked)
    assert checked["Reply-To"] is None, "no reply confirms it: the code at the new address does"

    await desk.send(mail(f"confirm {code_to(desk, NEW)}"))
    await desk.deliver()
    [moved] = [m for m in sent_to(desk, "alice@example.com") if "Account moved" in text(m)]
    assert f"From now on, write from {NEW}." in text(moved)
    [notice] = [m for m in sent_to(desk, "alice@example.com") if "moved to" in str(m["Subject"])]
    assert re.search(r"http://portal\.test/account/undo/\S+", text(notice))
    assert await email_of(desk.portal, account) == NEW

    stranger = await desk.exchange(mail("orders"))
    assert "We could not find a customer account for this address" in text(stranger)
    mine = await desk.exchange(mail("orders", sender=NEW), sender=NEW)
    assert mine["To"] == NEW and "Pixel Studio Pro" in text(mine)


async def test_a_trusted_sender_gets_the_code_sent_at_once(desk: MailDesk) -> None:
    await desk.send(mail(f"transfer {NEW}", Authentication_Results=TRUSTED))
    await desk.deliver()
    [asked] = sent_to(desk, "alice@example.com")
    assert "Check the new address" in text(asked) and asked["Reply-To"] is None
    assert code_to(desk, NEW), "the reply and the code went out together"
    assert await email_of(desk.portal, await alice_id(desk.portal)) == "alice@example.com", "not moved yet"


async def test_someone_elses_code_moves_nothing(desk: MailDesk) -> None:
    await desk.send(mail(f"transfer {NEW}", Authentication_Results=TRUSTED))
    await desk.deliver()
    stolen = await desk.exchange(mail(f"confirm {code_to(desk, NEW)}", sender="bob@example.com",
                                      Authentication_Results=TRUSTED), sender="bob@example.com")
    assert stolen["To"] == "bob@example.com" and "nothing waiting" in text(stolen)
    assert await email_of(desk.portal, await alice_id(desk.portal)) == "alice@example.com"


def attachments(message: EmailMessage) -> dict[str, bytes]:
    return {part.get_filename() or "": part.get_content() for part in message.iter_attachments()}


async def test_export_and_activity_by_mail(desk: MailDesk) -> None:
    exported = await desk.exchange(mail("export"))
    assert exported["To"] == "alice@example.com"
    [(name, data)] = attachments(exported).items()
    assert name.endswith(".json") and json.loads(data)["customer"]["email"] == "alice@example.com"

    invoices = await desk.exchange(mail("export invoices last"))
    [(name, data)] = attachments(invoices).items()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert name.endswith(".zip") and len(archive.namelist()) == 2

    log = text(await desk.exchange(mail("activity")))
    assert "When" in log and "What" in log and "From" in log and "activity page 2   (Older)" in log
