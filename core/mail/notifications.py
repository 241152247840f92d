"""The mail the portal sends on its own: sign-in codes, purchase and seat invites, account moves."""

from __future__ import annotations

from html import escape

from sqlalchemy.ext.asyncio import AsyncSession

from core.kernel.portal import Portal
from core.mail import composing, outbox
from core.models import Customer, Order, Product


def _html(paragraphs: list[str]) -> str:
    body = "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return f'<html><body style="font-family:sans-serif;line-height:1.5">{body}</body></html>'


async def queue_login_code(session: AsyncSession, portal: Portal, email: str, code: str) -> None:
    minutes = portal.settings.code_ttl // 60
    paragraphs = [
        f"Your sign-in code for {portal.settings.store_name} is:",
        code,
        f"Enter it with `verify {code}` where you asked for it. It works once, for {minutes} minutes.",
        "If you did not ask for it, you can ignore this message; nobody can sign in without it.",
    ]
    message = composing.new_message(
        portal,
        to=email,
        subject=f"{code} is your {portal.settings.store_name} sign-in code",
        text="\n\n".join(paragraphs) + "\n",
        html=_html(paragraphs),
    )
    await outbox.queue(session, portal, message, kind="code")


async def queue_no_account(session: AsyncSession, portal: Portal, email: str) -> None:
    """Someone asked for a code for an address that bought nothing here: tell its owner, as a
    code would have been sent, so the two cases look alike from outside."""
    store = portal.settings.store_name
    paragraphs = [
        f"Someone asked to sign in to {store} with this address, but we have no purchases "
        "made with it.",
        "If you bought with another address, ask for the code with that one. If it was not "
        "you, you can ignore this message; nothing was changed.",
    ]
    message = composing.new_message(portal, to=email, subject=f"Signing in to {store}",
                                    text="\n\n".join(paragraphs) + "\n", html=_html(paragraphs))
    await outbox.queue(session, portal, message, kind="code")


def ways_in(portal: Portal) -> list[str]:
    """Every front door this store has, as a customer would use it."""
    settings = portal.settings
    doors = [
        f"Email: write to {settings.portal_address} with a command such as \"orders\" "
        "in the subject; the answer comes back to you. No sign-in needed: we know you by your "
        "address."
    ]
    if settings.discord_token:
        doors.append(f"Discord: type /{settings.discord_command} login in the store's server; we "
                     "email you a one-time code to link your account, no password needed.")
    if settings.slack_signing_secret:
        doors.append(f"Slack: type {settings.slack_command} login in your workspace; we email you a "
                     "one-time code to link your account, no password needed.")
    return doors


async def queue_invite(session: AsyncSession, portal: Portal, customer: Customer, order: Order,
                       product_names: list[str]) -> None:
    store = portal.settings.store_name
    greeting = f"Hi {customer.name}," if customer.name else "Hi,"
    paragraphs = [
        greeting,
        f"thank you for your order {order.number}. You now have access to: "
        + ", ".join(product_names) + ".",
        "Your downloads, license keys and invoices are waiting in the customer portal:",
        "\n".join(f"- {door}" for door in ways_in(portal)),
        f"Use the address this mail went to ({customer.email}). Send \"help\" to see everything "
        "you can do.",
        f"- {store}",
    ]
    message = composing.new_message(
        portal,
        to=customer.email,
        subject=f"Your {store} order {order.number}: access is ready",
        text="\n\n".join(paragraphs) + "\n",
        html=_html(paragraphs),
    )
    await outbox.queue(session, portal, message, kind="invite")


async def queue_seat_invite(session: AsyncSession, portal: Portal, member: Customer, owner: Customer,
                            product: Product) -> None:
    """A team owner gave `member` a seat: how to reach the product and their own key."""
    store = portal.settings.store_name
    who = f"{owner.name} ({owner.email})" if owner.name else owner.email
    devices = product.activation_limit or 1
    paragraphs = [
        f"Hi {member.name}," if member.name else "Hi,",
        f"{who} gave you a seat of {product.name}. You have your own access and your own license "
        f"key, for {devices} device{'s' if devices != 1 else ''}.",
        "Your downloads and your key are waiting in the customer portal:",
        "\n".join(f"- {door}" for door in ways_in(portal)),
        f"Send \"reveal {product.slug}\" for the key and \"devices {product.slug}\" for the "
        "devices using it. Use the address this mail went to "
        f"({member.email}).",
        f"- {store}",
    ]
    message = composing.new_message(
        portal, to=member.email, subject=f"{owner.email} gave you a seat of {product.name}",
        text="\n\n".join(paragraphs) + "\n", html=_html(paragraphs))
    await outbox.queue(session, portal, message, kind="invite")


async def queue_notice(session: AsyncSession, portal: Portal, to: str, subject: str,
                       paragraphs: list[str], *, greeting: str | None = None,
                       kind: str = "notice") -> None:
    """A short notice in the portal's voice (a subscription change, a failed payment, a
    refund: `kind` "refund"), signed by the store."""
    body = ([greeting] if greeting else []) + paragraphs + [f"- {portal.settings.store_name}"]
    message = composing.new_message(portal, to=to, subject=subject,
                                    text="\n\n".join(body) + "\n", html=_html(body))
    await outbox.queue(session, portal, message, kind=kind)


async def queue_transfer_code(session: AsyncSession, portal: Portal, email: str, code: str) -> None:
    """The code that moves an account to `email`. The same mail whether or not the address
    already has an account here: only its owner learns that, when they enter the code."""
    store = portal.settings.store_name
    minutes = portal.settings.code_ttl // 60
    paragraphs = [
        f"Someone asked to move their {store} account to this address. The code that confirms "
        "it is:",
        code,
        f"Enter it with `confirm {code}` where the move was asked for. It works once, for "
        f"{minutes} minutes.",
        "If you did not ask for it, you can ignore this message: nothing moves without the code.",
    ]
    message = composing.new_message(
        portal, to=email, subject=f"{code} is your code to move a {store} account to this address",
        text="\n\n".join(paragraphs) + "\n", html=_html(paragraphs))
    await outbox.queue(session, portal, message, kind="code")


async def queue_transfer_notice(session: AsyncSession, portal: Portal, *, old_email: str,
                                new_email: str, undo_url: str, until: str) -> None:
    """To the address an account left: where it went, and the link that takes it back."""
    store = portal.settings.store_name
    paragraphs = [
        f"Your {store} account moved from this address to {new_email}: its orders, "
        "subscriptions, licenses, invoices and billing details now belong to that address, "
        "and chat accounts signed in with this one were signed out.",
        "If you did not ask for this, undo it here (the link works until "
        f"{until}):\n{undo_url}",
        "If it was you, there is nothing to do.",
        f"- {store}",
    ]
    message = composing.new_message(portal, to=old_email, subject=f"Your {store} account moved to "
                                    f"{new_email}", text="\n\n".join(paragraphs) + "\n",
                                    html=_html(paragraphs))
    await outbox.queue(session, portal, message, kind="notice")


async def queue_transfer_undone(session: AsyncSession, portal: Portal, *, email: str,
                                back_to: str) -> None:
    """To the address an account was moved to, when the old address took it back."""
    store = portal.settings.store_name
    paragraphs = [
        f"The {store} account that was moved to this address went back to {back_to}: its "
        "previous address undid the move with the link we sent it. Chat accounts signed in with "
        "this address were signed out.",
        f"- {store}",
    ]
    message = composing.new_message(portal, to=email, subject=f"A {store} account left this address",
                                    text="\n\n".join(paragraphs) + "\n", html=_html(paragraphs))
    await outbox.queue(session, portal, message, kind="notice")
