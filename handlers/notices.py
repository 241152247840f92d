"""What the chat doors say unasked, in a direct message to each account linked to the customer:
a renewal payment that failed, with the one command that fixes it (a button in chat).

A domain event may be delivered again (at least once), so each message is claimed by a key that
names it before it is sent, and sent once; a send that fails gives its claim back, to be tried
again with the event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.identity import chat_links, deliveries
from core.kernel.events import RenewalPaymentFailed
from core.kernel.formatting import date
from core.kernel.portal import Portal
from core.models import Customer
from handlers.reply import Choice, Reply

KEEP_CLAIMS = timedelta(days=30)  # an event is redelivered within hours, never after this


@dataclass(frozen=True)
class Notice:
    """One message for the customer's accounts on one platform."""

    key: str  # names this message among every notice ever sent
    reply: Reply
    accounts: list[str] = field(default_factory=list)  # account ids linked on the platform


async def renewal_failed(portal: Portal, event: RenewalPaymentFailed, *, platform: str) -> Notice:
    async with portal.db.unit_of_work() as session:
        customer = await session.get(Customer, event.customer_id)
        links = await chat_links.links_of(session, event.customer_id)
    accounts = [link.account_id for link in links if link.platform == platform]
    key = f"notice:renewal_failed:{event.subscription_id}:{event.attempt}:{event.next_retry_at}"
    if customer is None:
        return Notice(key, Reply(), [])
    if event.next_retry_at is None:
        reply = Reply(title=f"{event.product} has ended", paragraphs=[
            f"We could not renew your {event.product}: {event.reason}, again. That was the last "
            "try, so it has ended and your access with it.",
            f"To come back, send `{event.fix}` once a card works."],
            choices=[Choice("Subscribe again", event.fix)])
    else:
        retry = date(datetime.fromisoformat(event.next_retry_at), customer.locale, customer.timezone)
        reply = Reply(title=f"Your {event.product} payment failed", paragraphs=[
            f"We could not renew your {event.product}: {event.reason}. We try again on {retry}.",
            f"Send `{event.fix}` to add a card or choose another one; it is tried at once."],
            choices=[Choice("Fix the payment", event.fix)])
    return Notice(key, reply, accounts)


async def send_once(portal: Portal, platform: str, key: str, send: Callable[[], Awaitable[None]]) -> bool:
    """Run `send` unless `key` was sent on `platform` before; True when it ran now."""
    async with portal.db.unit_of_work() as session:
        await deliveries.prune(session, platform, before=portal.now() - KEEP_CLAIMS)
        if not await deliveries.first_time(session, platform, key, now=portal.now()):
            return False
    try:
        await send()
    except BaseException:
        async with portal.db.unit_of_work() as session:
            await deliveries.release(session, platform, key)
        raise
    return True
