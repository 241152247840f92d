"""Chat accounts (a Discord user, a Slack workspace member) linked to a customer by a sign-in code."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import audit
from core.kernel import events
from core.models import ChatLink, Customer


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
    # Each log names only its own customer: the one the account leaves is told in theirs.
    await audit.record(session, customer_id=customer.id, actor=f"{platform}:{account_id}",
                       action="chat_linked", platform=platform, switched=previous is not None)
    if previous is not None:
        await audit.record(session, customer_id=previous.id, actor=f"{platform}:{account_id}",
                           action="chat_unlinked", platform=platform,
                           reason="it signed in with another address")
        events.publish(session, events.ChatAccountUnlinked(
            customer_id=previous.id, platform=platform, account_id=account_id))
    events.publish(session, events.ChatAccountLinked(
        customer_id=customer.id, platform=platform, account_id=account_id))
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
    customer_ids = await session.scalars(
        delete(ChatLink).where(ChatLink.platform == platform, ChatLink.account_id == account_id)
        .returning(ChatLink.customer_id)
    )
    unlinked = False
    for customer_id in customer_ids:
        events.publish(session, events.ChatAccountUnlinked(
            customer_id=customer_id, platform=platform, account_id=account_id))
        unlinked = True
    return unlinked


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
        events.publish(session, events.ChatAccountUnlinked(
            customer_id=link.customer_id, platform=platform, account_id=link.account_id))
        await session.delete(link)
        unlinked += 1
    return unlinked


async def unlink_all(session: AsyncSession, customer_id: int, *, actor: str, reason: str) -> int:
    """Unlink every chat account linked to the customer (each announced, so Discord roles
    follow, and recorded in their audit trail); returns how many."""
    unlinked = 0
    for link in await links_of(session, customer_id):
        await audit.record(session, customer_id=customer_id, actor=actor, action="chat_unlinked",
                           platform=link.platform, reason=reason)
        events.publish(session, events.ChatAccountUnlinked(
            customer_id=customer_id, platform=link.platform, account_id=link.account_id))
        await session.delete(link)
        unlinked += 1
    await session.flush()
    return unlinked
