"""Signing in and out: login, verify, logout, whoami."""

from __future__ import annotations

from pydantic import Field

from core.accounts import audit
from core.identity import chat_links, codes
from core.identity.customers import normalize_email
from core.licenses import seats
from handlers.context import LINKED_PLATFORMS, Context
from handlers.registry import Access, Arguments, NoArguments, command
from handlers.reply import Field as ReplyField
from handlers.reply import Reply

# By email the sender's mailbox is the identity, so signing in makes no sense there.
CHAT_DOORS = ("console", "discord", "slack")
NO_SIGN_IN_BY_EMAIL = "By email you need no sign-in: we know you by the address you write from."
NO_SIGN_OUT_BY_EMAIL = ("By email there is nothing to sign out of: we know you by the address "
                        "you write from.")


class LoginArguments(Arguments):
    email: str = Field(description="the email address you bought with", max_length=320)


@command("login", summary="Get a one-time sign-in code by email", access=Access.ANYONE,
         aliases=("signin",), examples=("login alice@example.com",), platforms=CHAT_DOORS,
         elsewhere=NO_SIGN_IN_BY_EMAIL)
async def login(ctx: Context, args: LoginArguments) -> Reply:
    """We email a 6-digit code to the address. It works once, for ten minutes."""
    current = await ctx.customer() if ctx.caller.customer_id is not None else None
    if current is not None and normalize_email(args.email) == current.email:
        return Reply.text(f"You're already signed in as {current.email}. Send `orders` to see what "
                          "you own, or `logout` to sign out.", title="Already signed in")
    email = await codes.request_code(ctx.session, ctx.portal, email=args.email,
                                     caller=ctx.caller.key)
    minutes = ctx.portal.settings.code_ttl // 60
    # The same answer whether or not the address is a customer's.
    reply = Reply.text(
        f"If {email} belongs to a customer, a sign-in code is on its way. "
        f"Send `verify <code>` within {minutes} minutes.",
        title="Check your inbox",
    )
    if current is not None:
        reply.paragraphs.append(f"You're signed in as {current.email} now; the code switches this "
                                f"account to {email}.")
    return reply


class VerifyArguments(Arguments):
    code: str = Field(description="the 6-digit code from the email", pattern=r"^\s*\d[\d ]{3,10}\s*$")


@command("verify", summary="Finish signing in with the code from the email", access=Access.ANYONE,
         examples=("verify 123456",), platforms=CHAT_DOORS, elsewhere=NO_SIGN_IN_BY_EMAIL)
async def verify(ctx: Context, args: VerifyArguments) -> Reply:
    result = await codes.verify_code(ctx.session, ctx.portal, code=args.code,
                                        caller=ctx.caller.key)
    if result.customer is None:
        return Reply.error(result.message, title="Not signed in")
    link = await ctx.sign_in(result.customer)
    await seats.claim(ctx.session, ctx.portal, result.customer.id)  # a seat given them is theirs now
    paragraphs = [result.message]
    if link is not None and link.previous_customer is not None:
        paragraphs.append(f"This {ctx.caller.platform} account was linked to "
                          f"{link.previous_customer.email} before; it now belongs to "
                          f"{result.customer.email}.")
    if link is not None:
        others = [other for other in await chat_links.links_of(ctx.session, result.customer.id)
                  if other.platform == link.link.platform and other.id != link.link.id]
        if others:
            names = ", ".join(other.display_name or other.account_id for other in others)
            paragraphs.append(f"{result.customer.email} is also linked to another {link.link.platform} "
                              f"account ({names}); `logout` there if that is not you any more.")
    paragraphs.append("Send `orders` to see everything you own.")
    return Reply.text(*paragraphs, title="Welcome back")


@command("logout", summary="Unlink this chat account from your customer account",
         aliases=("signout",), platforms=CHAT_DOORS, elsewhere=NO_SIGN_OUT_BY_EMAIL)
async def logout(ctx: Context, args: NoArguments) -> Reply:
    customer = await ctx.customer()
    if ctx.caller.platform in LINKED_PLATFORMS:
        await chat_links.unlink_chat_account(ctx.session, platform=ctx.caller.platform,
                                           account_id=ctx.caller.account_id)
        await audit.record(ctx.session, at=ctx.portal.now(), customer_id=customer.id, actor=ctx.caller.actor,
                           action="chat_unlinked", platform=ctx.caller.platform)
    ctx.caller.customer_id = None
    return Reply.text(f"Signed out of {customer.email}. Send `login` to sign in again.",
                      title="Signed out")


@command("whoami", summary="Show which account you are signed in as", access=Access.ANYONE,
         aliases=("me", "account"), reads_only=True)
async def whoami(ctx: Context, args: NoArguments) -> Reply:
    if ctx.caller.customer_id is None:
        return Reply.text("You're not signed in. Send `login you@example.com` to sign in.",
                          title="Not signed in")
    customer = await ctx.customer()
    reply = Reply(title="Your account")
    reply.fields.append(ReplyField("Email", customer.email))
    if customer.name:
        reply.fields.append(ReplyField("Name", customer.name))
    links = await chat_links.links_of(ctx.session, customer.id)
    if links:
        reply.fields.append(ReplyField("Linked chat accounts", ", ".join(
            f"{link.platform} ({link.display_name or link.account_id})" for link in links)))
    if ctx.caller.operator:
        reply.paragraphs.append("Support mode: you are acting for this customer as the operator.")
    return reply
