"""Pending actions: a change waiting for the customer's confirmation, run at most once.

The confirmation travels as a signed token (buttons, email sub-addresses) or as a short code the
customer types (`confirm 4KQ7PX`). Claiming flips the row from pending to done with a guarded
UPDATE, so two clicks or two re-sent emails cannot both win.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.kernel.errors import Conflict, NotAllowed, NotFound
from core.models import PendingAction

__all__ = ["PendingAction", "cancel", "claim", "create", "find", "mailed", "token_for"]
from core.kernel.portal import Portal
from core.kernel.security import TokenError, sign, verify

PURPOSE = "confirm"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PENDING, DONE, CANCELLED = "pending", "done", "cancelled"


# The code of a pending action that only a code mailed elsewhere confirms (core.identity.codes):
# shorter than any typed code may be, so typing never reaches it, and no token is made for it.
NOT_TYPED = ""


def _typed_code() -> str:
    """Six characters with at least one letter, so a typed code is never taken for one of the
    all-digit codes mailed to an address."""
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
        if not code.isdigit():
            return code


async def create(session: AsyncSession, portal: Portal, *, customer_id: int, action: str,
                 arguments: dict[str, Any], summary: str, typed: bool = True) -> PendingAction:
    """A pending action confirmed with a code the customer is shown, or (`typed=False`) only by a
    code mailed to an address, which proves that mailbox is theirs too."""
    pending = PendingAction(
        customer_id=customer_id,
        action=action,
        arguments=arguments,
        summary=summary,
        code=_typed_code() if typed else NOT_TYPED,
        expires_at=portal.now() + timedelta(seconds=portal.settings.pending_action_ttl),
    )
    session.add(pending)
    await session.flush()
    return pending


def token_for(portal: Portal, pending: PendingAction) -> str:
    assert pending.code != NOT_TYPED, "only its mailed code confirms this action"
    # Short enough for an email sub-address (local part <= 64 characters).
    return sign(portal.secret, PURPOSE, [pending.id, int(pending.expires_at.timestamp())],
                length=20)


def pending_id_from_token(portal: Portal, token: str) -> int:
    try:
        pending_id, expiry = verify(portal.secret, PURPOSE, token, expiring=False, length=20)
    except (TokenError, ValueError):
        raise NotFound("That confirmation link is not valid.") from None
    if int(expiry) < portal.now().timestamp():
        raise Conflict("That confirmation has expired. Please ask again.")
    return int(pending_id)


async def find(session: AsyncSession, portal: Portal, customer_id: int, *,
               token: str | None = None, code: str | None = None) -> PendingAction:
    """The customer's pending action. A signed token (a button, a reply address) names one
    action, so someone else's is refused as such; a typed code is only looked for among the
    customer's own, so guessing tells nothing."""
    if token is not None:
        pending = await session.get(PendingAction, pending_id_from_token(portal, token))
        if pending is not None and pending.customer_id != customer_id:
            raise NotAllowed("Only the person who asked can confirm this.")
    else:
        pending = await session.scalar(select(PendingAction).where(
            PendingAction.code == (code or "").strip().upper(), PendingAction.customer_id == customer_id))
    if pending is None or (token is not None and pending.code == NOT_TYPED):
        raise NotFound("There is nothing waiting for confirmation with that code.")
    return pending


async def mailed(session: AsyncSession, customer_id: int, pending_id: int) -> PendingAction:
    """The customer's pending action that a code mailed to an address confirms, once that code
    was entered; someone else's (the caller signed in as another account since) is refused."""
    pending = await session.get(PendingAction, pending_id)
    if pending is None or pending.code != NOT_TYPED:
        raise NotFound("There is nothing waiting for confirmation with that code.")
    if pending.customer_id != customer_id:
        raise NotAllowed("That code confirms a change to another account. Sign in as that "
                         "account to confirm it.")
    return pending


async def claim(session: AsyncSession, portal: Portal, pending: PendingAction) -> None:
    """Mark the action done, or explain why it cannot run. Rolled back with the effect on error."""
    now = portal.now()
    if pending.state == DONE:
        raise Conflict("That was already done.")
    if pending.state == CANCELLED:
        raise Conflict("That was cancelled.")
    if pending.expires_at <= now:
        raise Conflict("That confirmation has expired. Please ask again.")
    result = await session.execute(
        update(PendingAction)
        .where(PendingAction.id == pending.id, PendingAction.state == PENDING)
        .values(state=DONE, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("That was already done.")
    pending.state = DONE


async def cancel(session: AsyncSession, portal: Portal, pending: PendingAction) -> None:
    if pending.state != PENDING:
        raise Conflict("That is no longer waiting for confirmation.")
    pending.state = CANCELLED
    pending.finished_at = portal.now()
