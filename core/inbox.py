"""The inbox: received mail is stored first, then claimed by one worker at a time.

Claims are leases taken in one atomic UPDATE (with SKIP LOCKED on PostgreSQL), so several
processes on one database never work on the same message, and a message whose worker died
is picked up again when its lease runs out.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from email.parser import BytesHeaderParser
from email.policy import default as default_policy

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import InboundMail, OutboundMail
from core.models.mail import ANSWERED, IGNORED, PROCESSING, RECEIVED
from core.portal import Portal

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 5  # a message that keeps failing is set aside instead of looping forever


def message_key(raw: bytes) -> str:
    headers = BytesHeaderParser(policy=default_policy).parsebytes(raw)
    message_id = str(headers.get("Message-ID") or "").strip()
    if message_id:
        return message_id[:300]
    return "sha256:" + hashlib.sha256(raw).hexdigest()


async def store(portal: Portal, *, raw: bytes, envelope_from: str, recipients: list[str]) -> bool:
    """Keep a received message durably. False when it is a copy of one already kept."""
    try:
        async with portal.db.unit_of_work() as session:
            session.add(InboundMail(message_key=message_key(raw), envelope_from=envelope_from,
                                    recipients={"to": recipients}, raw=raw,
                                    received_at=portal.now()))
    except IntegrityError:
        return False
    return True


async def claim(portal: Portal, batch: int = 10) -> list[InboundMail]:
    now = portal.now()
    due = (
        select(InboundMail.id)
        .where(or_(InboundMail.status == RECEIVED,
                   (InboundMail.status == PROCESSING) & (InboundMail.lease_until <= now)))
        .order_by(InboundMail.id)
        .limit(batch)
    )
    return await portal.db.claim(InboundMail, due, status=PROCESSING, lease_until=now + LEASE,
                                 attempts=InboundMail.attempts + 1)


async def finish(session: AsyncSession, portal: Portal, mail_id: int, *, answered: bool,
                 outcome: str) -> None:
    await session.execute(
        update(InboundMail).where(InboundMail.id == mail_id).values(
            status=ANSWERED if answered else IGNORED, processed_at=portal.now(),
            lease_until=None, outcome=outcome[:2000])
    )


async def replies_since(session: AsyncSession, recipient: str, kinds: tuple[str, ...],
                        portal: Portal, window: timedelta = timedelta(hours=1)) -> int:
    count = await session.scalar(
        select(func.count()).where(OutboundMail.recipient == recipient,
                                   OutboundMail.kind.in_(kinds),
                                   OutboundMail.created_at > portal.now() - window)
    )
    return count or 0
