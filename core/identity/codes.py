"""Sign-in by one-time code.

Codes are 6 digits, kept only as a keyed hash, valid for ten minutes, single use, and die after
five wrong guesses. Requests are rate-limited per email and per caller, and the answer is the same
whether or not the address belongs to a customer.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import audit
from core.identity.customers import by_email, normalize_email
from core.kernel.errors import RateLimited
from core.kernel.portal import Portal
from core.kernel.security import keyed_hash, numeric_code
from core.mail import notifications
from core.models import CodeChallenge, Customer

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
    # Both paths do the same work (a code, its hash, one queued mail), so neither the answer
    # nor its timing tells whether the address is a customer's. An unknown address gets a
    # challenge without a code: it counts toward the limits and fails like a wrong code.
    code = numeric_code()
    code_hash = _hash(portal, email, code)
    if customer is not None:
        challenge.code_hash = code_hash
        await notifications.queue_login_code(session, portal, customer.email, code)
    else:
        await notifications.queue_no_account(session, portal, email)
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
    again = f"Send `login {challenge.email}` again for a new one."
    if challenge.expires_at <= now:
        challenge.used_at = now
        return Verification(None, f"That code has expired. {again}")
    code = "".join(code.split())
    expected = challenge.code_hash or ""
    if not expected or not hmac.compare_digest(expected, _hash(portal, challenge.email, code)):
        challenge.failed_attempts += 1
        left = MAX_WRONG_GUESSES - challenge.failed_attempts
        if left <= 0:
            challenge.used_at = now
            return Verification(None, f"Too many wrong codes. {again}")
        return Verification(None, f"That code is not right. {left} {'try' if left == 1 else 'tries'} left.")
    challenge.used_at = now
    customer = await by_email(session, challenge.email)
    if customer is None:  # cannot happen: codes are only made for customers
        return Verification(None, "That code is not right.")
    await audit.record(session, customer_id=customer.id, actor=caller, action="signed_in")
    return Verification(customer, f"Signed in as {customer.email}.")
