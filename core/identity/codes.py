"""One-time codes mailed to an address: signing in, and confirming a change that needs that
mailbox (moving an account to the address).

Codes are 6 digits, kept only as a keyed hash, valid for ten minutes, single use, and die after
five wrong guesses. Requests of either kind are rate-limited together per email and per caller,
and the answer is the same whether or not the address belongs to a customer.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import audit
from core.identity.customers import by_email, normalize_email
from core.kernel.errors import RateLimited
from core.kernel.portal import Portal
from core.kernel.security import keyed_hash, numeric_code
from core.mail import notifications
from core.models import CodeChallenge, Customer
from core.models.identity import CONFIRM, SIGN_IN

MAX_WRONG_GUESSES = 5
CODE_PURPOSE = "login-code"


def _hash(portal: Portal, email: str, code: str) -> str:
    return keyed_hash(portal.secret, CODE_PURPOSE, f"{email}\x00{code}")


async def _within_limits(session: AsyncSession, portal: Portal, *, email: str, caller: str,
                         what: str) -> None:
    hour_ago = portal.now() - timedelta(hours=1)
    for column, value, limit in (
        (CodeChallenge.email, email, portal.settings.codes_per_email_per_hour),
        (CodeChallenge.caller, caller, portal.settings.codes_per_caller_per_hour),
    ):
        recent = await session.scalar(
            select(func.count()).where(column == value, CodeChallenge.created_at > hour_ago)
        )
        if (recent or 0) >= limit:
            raise RateLimited(f"Too many {what} were requested. Please wait an hour and try again.")


async def _replace_open(session: AsyncSession, portal: Portal, caller: str, purpose: str) -> None:
    """A newer request replaces the caller's older open codes of the same kind."""
    open_challenges = await session.scalars(
        select(CodeChallenge).where(
            CodeChallenge.caller == caller, CodeChallenge.purpose == purpose,
            CodeChallenge.used_at.is_(None))
    )
    for challenge in open_challenges:
        challenge.used_at = portal.now()


async def request_code(session: AsyncSession, portal: Portal, *, email: str, caller: str) -> str:
    """Send a code if the address is a customer's; returns the normalized address either way."""
    email = normalize_email(email)
    now = portal.now()
    await _within_limits(session, portal, email=email, caller=caller, what="sign-in codes")
    await _replace_open(session, portal, caller, SIGN_IN)

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
    challenge = await _open_challenge(session, caller, SIGN_IN)
    if challenge is None:
        return Verification(None, "No sign-in is waiting. Send `login you@example.com` first.")
    wrong = _check(portal, challenge, code, again=f"Send `login {challenge.email}` again for a new one.")
    if wrong is not None:
        return Verification(None, wrong)
    customer = await by_email(session, challenge.email)
    if customer is None:  # cannot happen: codes are only made for customers
        return Verification(None, "That code is not right.")
    await audit.record(session, at=portal.now(), customer_id=customer.id, actor=caller, action="signed_in")
    return Verification(customer, f"Signed in as {customer.email}.")


async def _open_challenge(session: AsyncSession, caller: str, purpose: str) -> CodeChallenge | None:
    return await session.scalar(
        select(CodeChallenge)
        .where(CodeChallenge.caller == caller, CodeChallenge.purpose == purpose,
               CodeChallenge.used_at.is_(None))
        .order_by(CodeChallenge.id.desc())
        .limit(1)
    )


def _check(portal: Portal, challenge: CodeChallenge, code: str, *, again: str) -> str | None:
    """None when `code` is the challenge's (which is then used up); else what is wrong, with the
    wrong guess counted."""
    now = portal.now()
    if challenge.expires_at <= now:
        challenge.used_at = now
        return f"That code has expired. {again}"
    code = "".join(code.split())
    expected = challenge.code_hash or ""
    if not expected or not hmac.compare_digest(expected, _hash(portal, challenge.email, code)):
        challenge.failed_attempts += 1
        left = MAX_WRONG_GUESSES - challenge.failed_attempts
        if left <= 0:
            challenge.used_at = now
            return f"Too many wrong codes. {again}"
        return f"That code is not right. {left} {'try' if left == 1 else 'tries'} left."
    challenge.used_at = now
    return None


async def confirmation_code(session: AsyncSession, portal: Portal, *, email: str, caller: str,
                            pending_action_id: int) -> tuple[str, datetime]:
    """A code for `email` that confirms the pending action when `caller` enters it, and when
    it expires. The caller mails it; whether the address is a customer's plays no part."""
    await _within_limits(session, portal, email=email, caller=caller, what="codes")
    await _replace_open(session, portal, caller, CONFIRM)
    now = portal.now()
    code = numeric_code()
    challenge = CodeChallenge(email=email, caller=caller, purpose=CONFIRM,
                              pending_action_id=pending_action_id, code_hash=_hash(portal, email, code),
                              expires_at=now + timedelta(seconds=portal.settings.code_ttl),
                              created_at=now)
    session.add(challenge)
    return code, challenge.expires_at


@dataclass(frozen=True)
class Confirmed:
    """A confirmation code checked: the pending action it confirms and the address it went to,
    or (pending_action_id None) what was wrong with it."""

    pending_action_id: int | None
    email: str
    message: str = ""


async def check_confirmation_code(session: AsyncSession, portal: Portal, *, code: str,
                                  caller: str) -> Confirmed | None:
    """Check a code mailed for a change, entered by `caller`; None when none is waiting for
    them. Wrong guesses are counted, so the caller must commit."""
    challenge = await _open_challenge(session, caller, CONFIRM)
    if challenge is None:
        return None
    wrong = _check(portal, challenge, code, again="Ask again for a new one.")
    if wrong is not None:
        return Confirmed(None, challenge.email, wrong)
    return Confirmed(challenge.pending_action_id, challenge.email)


async def invalidate(session: AsyncSession, portal: Portal, emails: list[str]) -> int:
    """End every open code sent to these addresses, of either kind; returns how many."""
    done = await session.execute(
        update(CodeChallenge).where(CodeChallenge.email.in_(emails), CodeChallenge.used_at.is_(None))
        .values(used_at=portal.now()).execution_options(synchronize_session=False))
    return int(done.rowcount or 0)  # type: ignore[attr-defined]
