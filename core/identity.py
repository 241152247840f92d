"""Sign-in by one-time code, and the chat accounts linked by it.

Codes are 6 digits, kept only as a keyed hash, valid for ten minutes, single use, and die after
five wrong guesses. Requests are rate-limited per email and per caller, and the answer is the same
whether or not the address belongs to a customer.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit, notifications
from core.customers import by_email, normalize_email
from core.errors import RateLimited
from core.models import ChatLink, CodeChallenge, Customer
from core.portal import Portal
from core.security import keyed_hash, numeric_code

MAX_WRONG_GUESSES = 5
CODE_PURPOSE = "login-code"


def _hash(portal: Portal, email: str, code: str) -> str:
    return keyed_hash(portal.secret, CODE_PURPOSE, f"{email}\x00{code}")


async def request_code(session: AsyncSession, portal: Portal, *, email: str, caller: str) -> str:
    """Send a code if the address is a customer's; returns the normalized address either way."""
    email = normalize_email(email)
    now = portal.now()
    hour_ago = now - timedelta(hours=1)
    for column, value, limit in (
        (CodeChallenge.email, email, portal.settings.codes_per_email_per_hour),
        (CodeChallenge.caller, caller, portal.settings.codes_per_caller_per_hour),
    ):
        recent = await session.scalar(
            select(func.count()).where(column == value, CodeChallenge.created_at > hour_ago)
        )
        if (recent or 0) >= limit:
            raise RateLimited("Too many sign-in codes were requested. Please wait an hour and try again.")

    # A newer request replaces older open codes for this caller and address.
    open_challenges = await session.scalars(
        select(CodeChallenge).where(
            CodeChallenge.caller == caller, CodeChallenge.used_at.is_(None)
        )
    )
    for challenge in open_challenges:
        challenge.used_at = now

    customer = await by_email(session, email)
    challenge = CodeChallenge(email=email, caller=caller, expires_at=now + timedelta(
        seconds=portal.settings.code_ttl), created_at=now)
    if customer is not None:
        code = numeric_code()
        challenge.code_hash = _hash(portal, email, code)
        await notifications.queue_login_code(session, portal, customer, code)
    # Unknown addresses get a challenge without a code: it counts toward the limits and
    # fails verification exactly like a wrong code.
    session.add(challenge)
    return email


@dataclass(frozen=True)
class Verification:
    customer: Customer | None
    message: str


async def verify_code(session: AsyncSession, portal: Portal, *, code: str, caller: str
                      ) -> Verification:
    """Check a code entered by `caller`. Wrong guesses are counted, so the caller must commit."""
    now = portal.now()
    challenge = await session.scalar(
        select(CodeChallenge)
        .where(CodeChallenge.caller == caller, CodeChallenge.used_at.is_(None))
        .order_by(CodeChallenge.id.desc())
        .limit(1)
    )
    if challenge is None:
        return Verification(None, "No sign-in is waiting. Send `login you@example.com` first.")
    if challenge.expires_at <= now:
        challenge.used_at = now
        return Verification(None, "That code has expired. Send `login` again for a new one.")
    code = "".join(code.split())
    expected = challenge.code_hash or ""
    if not expected or not hmac.compare_digest(expected, _hash(portal, challenge.email, code)):
        challenge.failed_attempts += 1
        left = MAX_WRONG_GUESSES - challenge.failed_attempts
        if left <= 0:
            challenge.used_at = now
            return Verification(None, "Too many wrong codes. Send `login` again for a new one.")
        return Verification(None, f"That code is not right. {left} tries left.")
    challenge.used_at = now
    customer = await by_email(session, challenge.email)
    if customer is None:  # cannot happen: codes are only made for customers
        return Verification(None, "That code is not right.")
    await audit.record(session, customer_id=customer.id, actor=caller, action="signed_in")
    return Verification(customer, f"Signed in as {customer.email}.")


@dataclass(frozen=True)
class LinkResult:
    link: ChatLink
    previous_customer: Customer | None  # the account this chat account was linked to before


async def link_chat_account(session: AsyncSession, customer: Customer, *, platform: str,
                            account_id: str, display_name: str | None = None) -> LinkResult:
    existing = await session.scalar(
        select(ChatLink).where(ChatLink.platform == platform, ChatLink.account_id == account_id)
    )
    previous = None
    if existing is not None:
        if existing.customer_id != customer.id:
            previous = await session.get(Customer, existing.customer_id)
        existing.customer_id = customer.id
        existing.display_name = display_name or existing.display_name
        link = existing
    else:
        link = ChatLink(customer_id=customer.id, platform=platform, account_id=account_id,
                        display_name=display_name)
        session.add(link)
    await session.flush()
    await audit.record(session, customer_id=customer.id, actor=f"{platform}:{account_id}",
                       action="chat_linked", platform=platform,
                       switched_from=previous.email if previous else None)
    return LinkResult(link, previous)


async def linked_customer(session: AsyncSession, *, platform: str, account_id: str
                          ) -> Customer | None:
    return await session.scalar(
        select(Customer).join(ChatLink).where(
            ChatLink.platform == platform, ChatLink.account_id == account_id
        )
    )


async def links_of(session: AsyncSession, customer_id: int) -> list[ChatLink]:
    rows = await session.scalars(
        select(ChatLink).where(ChatLink.customer_id == customer_id).order_by(ChatLink.id)
    )
    return list(rows)


async def unlink_chat_account(session: AsyncSession, *, platform: str, account_id: str) -> bool:
    result = await session.execute(
        delete(ChatLink).where(ChatLink.platform == platform, ChatLink.account_id == account_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def unlink_chat_accounts_under(session: AsyncSession, *, platform: str, prefix: str,
                                     actor: str, reason: str) -> int:
    """Unlink every account whose id starts with `prefix` (a Slack workspace's "T0AAA:"), each
    recorded in its customer's audit trail; returns how many."""
    links = await session.scalars(select(ChatLink).where(
        ChatLink.platform == platform, ChatLink.account_id.startswith(prefix, autoescape=True)))
    unlinked = 0
    for link in links:
        await audit.record(session, customer_id=link.customer_id, actor=actor,
                           action="chat_unlinked", platform=platform, reason=reason)
        await session.delete(link)
        unlinked += 1
    return unlinked
