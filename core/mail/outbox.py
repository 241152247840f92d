"""The outbox: every message shopkeep sends is queued here first, in the caller's transaction,
so nothing is lost while the relay is down. The operator lists and retries it from the CLI."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.kernel.portal import Portal
from core.mail.sending import MAX_ATTEMPTS
from core.models import OutboundMail
from core.models.mail import FAILED, QUEUED


async def queue(session: AsyncSession, portal: Portal, message: EmailMessage, *, kind: str
                ) -> OutboundMail:
    now = portal.now()
    if "Date" not in message:
        message["Date"] = formatdate(now.timestamp(), usegmt=True)
    recipient = parseaddr(str(message["To"]))[1]
    # An internationalized address cannot be written as encoded words: raw UTF-8 (RFC 6532).
    policy = None if recipient.isascii() else message.policy.clone(utf8=True)
    mail = OutboundMail(
        created_at=now,
        next_attempt_at=now,
        kind=kind,
        recipient=recipient,
        subject=str(message["Subject"]),
        message_id=str(message["Message-ID"]),
        raw=message.as_bytes(policy=policy),
    )
    session.add(mail)
    await session.flush()
    return mail


async def listing(session: AsyncSession, limit: int = 50) -> list[OutboundMail]:
    rows = await session.scalars(select(OutboundMail).order_by(OutboundMail.id.desc()).limit(limit))
    return list(rows)


async def retry_now(session: AsyncSession, now: datetime) -> int:
    """Make every queued or failed message due now."""
    mails = list(await session.scalars(
        select(OutboundMail).where(OutboundMail.status.in_((QUEUED, FAILED)))))
    for mail in mails:
        mail.status = QUEUED
        mail.next_attempt_at = now
        if mail.attempts >= MAX_ATTEMPTS:
            mail.attempts = 0
    return len(mails)


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(OutboundMail.status, func.count()).group_by(OutboundMail.status)
    )
    return {status: count for status, count in rows.all()}
