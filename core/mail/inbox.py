"""The inbox: received mail is stored first, then claimed by one worker at a time.

Claims are leases taken in one atomic UPDATE (with SKIP LOCKED on PostgreSQL), so several
processes on one database never work on the same message, and a message whose worker died
is picked up again when its lease runs out.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.policy import default as default_policy
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.kernel.cards import looks_like_card_number, redact_card_numbers
from core.kernel.portal import Portal
from core.kernel.validation import without_controls
from core.models import InboundMail, OutboundMail
from core.models.mail import ANSWERED, IGNORED, PROCESSING, RECEIVED

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 5  # a message that keeps failing is set aside instead of looping forever


def message_key(raw: bytes) -> str:
    """The Message-ID as sent, or a digest of the bytes when there is none. Read raw (compat32
    parses nothing), because a malformed header must not stop a message from being kept."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    value = headers.get("Message-ID")
    # Bytes that are not UTF-8 stay in the key as replacement characters, never raw, and
    # control characters not at all (PostgreSQL refuses NUL in text).
    message_id = without_controls(" ".join(str(value or "").split()).encode(
        "utf-8", "surrogateescape").decode("utf-8", "replace"))
    if message_id:
        return message_id[:300]
    return "sha256:" + hashlib.sha256(raw).hexdigest()


_ENCODED_PART = re.compile(rb"content-transfer-encoding:\s*(?:base64|quoted-printable)", re.I)


def redacted(raw: bytes) -> bytes:
    """The message as it is kept: card numbers masked wherever a person could read them (the
    text, the headers, inside base64 or quoted-printable parts). Nothing else changes."""
    text = raw.decode("utf-8", "surrogateescape")
    if not _ENCODED_PART.search(raw):
        if not looks_like_card_number(text):
            return raw  # the common case costs one scan
        return redact_card_numbers(text).encode("utf-8", "surrogateescape")
    message = message_from_bytes(raw, policy=default_policy)
    changed = False
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        try:
            content = part.get_content()
        except (LookupError, UnicodeError, ValueError, AssertionError):
            continue
        if isinstance(content, str) and looks_like_card_number(content):
            part.set_content(redact_card_numbers(content), subtype=part.get_content_subtype())
            changed = True
    if changed:
        text = message.as_bytes().decode("utf-8", "surrogateescape")
    return redact_card_numbers(text).encode("utf-8", "surrogateescape")


@dataclass
class _Arrival:
    key: str
    row: dict[str, Any]
    stored: asyncio.Future[bool]


class InboxWriter:
    """Keeps received mail durably, many messages to a commit.

    Each message waits for the commit that contains it, so nothing is acknowledged before it is
    safe; whatever arrives while a commit is running goes into the next one. Under load one
    commit serves every connection that was waiting, instead of one commit per message.
    """

    def __init__(self, portal: Portal, max_batch: int = 200) -> None:
        self.portal = portal
        self.max_batch = max_batch
        self._waiting: list[_Arrival] = []
        self._writer: asyncio.Task[None] | None = None

    async def store(self, *, raw: bytes, envelope_from: str, recipients: list[str]) -> bool:
        """Keep a received message. False when it is a copy of one already kept."""
        key = message_key(raw)
        arrival = _Arrival(key, {"message_key": key, "envelope_from": envelope_from,
                                 "recipients": {"to": recipients}, "raw": redacted(raw)},
                           asyncio.get_running_loop().create_future())
        self._waiting.append(arrival)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all())
        return await arrival.stored

    async def _write_all(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[:self.max_batch]
                del self._waiting[:self.max_batch]
                try:
                    new = await self._insert(batch)
                except Exception as exc:  # answered 451 by the server: the client sends again
                    for arrival in batch:
                        if not arrival.stored.done():
                            arrival.stored.set_exception(exc)
                    continue
                for arrival in batch:
                    if not arrival.stored.done():
                        arrival.stored.set_result(arrival.key in new)
                        new.discard(arrival.key)  # a second copy in the same batch is a copy
        finally:
            self._writer = None

    async def _insert(self, batch: list[_Arrival]) -> set[str]:
        """Insert the batch, skipping keys already kept; returns the keys that are new."""
        now = self.portal.now()
        rows = [{**arrival.row, "received_at": now} for arrival in batch]
        insert = sqlite_insert if self.portal.db.is_sqlite else postgresql_insert
        statement = (insert(InboundMail).values(rows)
                     .on_conflict_do_nothing(index_elements=[InboundMail.message_key])
                     .returning(InboundMail.message_key))
        async with self.portal.db.unit_of_work() as session:
            return set(await session.scalars(statement))


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


async def listing(session: AsyncSession, limit: int = 50) -> list[InboundMail]:
    """The newest received messages, for the operator: what each became and why."""
    rows = await session.scalars(select(InboundMail).order_by(InboundMail.id.desc()).limit(limit))
    return list(rows)


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(InboundMail.status, func.count()).group_by(InboundMail.status))
    return {status: count for status, count in rows.all()}


async def purge_processed(portal: Portal) -> int:
    """Drop the text of mail answered longer ago than the retention period. The row and its
    Message-ID key stay, so a copy sent again still gets no second answer."""
    cutoff = portal.now() - timedelta(days=portal.settings.mail_retention_days)
    async with portal.db.unit_of_work() as session:
        result = await session.execute(
            update(InboundMail)
            .where(InboundMail.status.in_((ANSWERED, IGNORED)), InboundMail.processed_at < cutoff,
                   func.length(InboundMail.raw) > 0)
            .values(raw=b""))
    return result.rowcount or 0  # type: ignore[attr-defined]
