"""The dispatcher: validate, check who may run it, run in one unit of work, never leak a traceback."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import confirmations
from core.kernel.cards import looks_like_card_number
from core.kernel.errors import PortalError
from core.kernel.portal import Portal
from handlers import commands as _commands  # noqa: F401 - registers every command
from handlers.context import Caller, Context
from handlers.parser import parse_line
from handlers.registry import REGISTRY, Access, Command, NoArguments, Registry
from handlers.reply import Confirmation, Refused, Reply

log = logging.getLogger("shopkeep.dispatch")

LOGIN_HINT = ("You're not signed in. Send `login you@example.com`, then `verify <code>` with the "
              "code we email you.")
CARD_REFUSAL = ("That looks like a card number. Please never send card details here: payment "
                "methods are changed on the payment provider's secure page (`payment`). "
                "Nothing you sent was stored.")

# A page built from what the caller may see, like the overview the App Home shows.
View = Callable[[Context], Awaitable[Reply]]


class ChangePolicy(StrEnum):
    """How a front door lets a caller make changes."""

    PREVIEW = "preview"  # commands show their own confirmation (buttons, prompts)
    ROUND_TRIP = "round_trip"  # every change needs a confirmation round trip (unverified email)
    PRECONFIRMED = "preconfirmed"  # changes run at once (email with a trusted DKIM pass)


class Dispatcher:
    def __init__(self, portal: Portal, registry: Registry = REGISTRY) -> None:
        self.portal = portal
        self.registry = registry

    async def handle_line(self, caller: Caller, line: str,
                          policy: ChangePolicy = ChangePolicy.PREVIEW,
                          session: AsyncSession | None = None) -> Reply:
        """Run one line. With `session`, a command that only reads runs inside that open
        transaction instead of a unit of work of its own; every other command gets its own."""
        if looks_like_card_number(line):
            return Reply.error(CARD_REFUSAL)
        invocation = parse_line(line)
        if invocation is None:
            return self.unknown("", caller)
        command = self.registry.get(invocation.word)
        if command is None or not command.offered_on(caller.platform):
            return self.unknown(invocation.word, caller)
        return await self.run(caller, command, invocation.text, line=invocation.line,
                              policy=policy, session=session)

    def only_reads(self, line: str, platform: str) -> bool:
        """Whether `handle_line` would run nothing that writes (unknown lines run nothing)."""
        invocation = None if looks_like_card_number(line) else parse_line(line)
        command = self.registry.get(invocation.word) if invocation else None
        return command is None or not command.offered_on(platform) or command.reads_only

    def unknown(self, word: str, caller: Caller) -> Reply:
        hint = self.registry.suggestions(word, caller.platform) if word else []
        said = f"I don't know the command {word!r}." if word else "Send a command."
        if hint:
            return Reply.error(f"{said} Did you mean {' or '.join(f'`{h}`' for h in hint)}?")
        return Reply.error(f"{said} Send `help` to see what you can do.")

    async def view(self, caller: Caller, build: View) -> Reply:
        """Build a page that only reads (Slack's App Home) for `caller`, without looking up a
        command: it runs as an unlisted one, in its own unit of work and with the same shelter
        from failures. The page decides itself what a signed-out caller sees."""
        # Named after its module (handlers.commands.overview -> "overview") for logs and lines.
        page = Command(name=build.__module__.rpartition(".")[2], summary="", arguments=NoArguments,
                       run=lambda ctx, _arguments: build(ctx), access=Access.ANYONE, reads_only=True)
        return await self.run(caller, page, "")

    async def run(self, caller: Caller, command: Command, raw: str | dict[str, Any], *,
                  line: str | None = None, policy: ChangePolicy = ChangePolicy.PREVIEW,
                  confirmed: bool = False, session: AsyncSession | None = None) -> Reply:
        line = line or f"{command.name} {raw if isinstance(raw, str) else ''}".strip()
        try:
            arguments = command.parse_arguments(raw)
        except ValidationError as exc:
            return Reply.error(f"{describe(exc)}\nUsage: `{command.usage}`"
                               f" (send `help {command.name}` for more).")
        if command.access is Access.CUSTOMER and caller.customer_id is None:
            return Reply.error(LOGIN_HINT, title="Please sign in")
        if session is not None and command.reads_only:
            try:
                return await command.run(Context(self.portal, session, caller, command, line), arguments)
            except PortalError as exc:
                return Reply.error(exc.message)
            # Anything else goes to the owner of the transaction, which may have to give it up.
        try:
            async with self.portal.db.unit_of_work() as session:
                ctx = Context(self.portal, session, caller, command, line,
                              confirmed=confirmed or policy is ChangePolicy.PRECONFIRMED)
                if command.mutates and policy is ChangePolicy.ROUND_TRIP and not confirmed:
                    return await _round_trip(ctx, arguments)
                reply = await command.run(ctx, arguments)
                if not reply.ok and command.mutates:
                    raise Refused(reply)
                return reply
        except Refused as refused:
            # A refused change leaves nothing behind; other commands that answer with an
            # error (a wrong sign-in code) still commit what they counted.
            return refused.reply
        except PortalError as exc:
            return Reply.error(exc.message)
        except Exception:
            reference = secrets.token_hex(4)
            log.exception("command %r failed (ref %s)", command.name, reference)
            return Reply.error("Something went wrong on our side and nothing was changed. "
                               f"Please try again later (reference {reference}).")


async def _round_trip(ctx: Context, arguments: Any) -> Reply:
    action = await confirmations.create(ctx.session, ctx.portal, customer_id=ctx.customer_id,
                                  action=ctx.command.name, arguments=arguments.model_dump(),
                                  summary=f"Run `{ctx.line}`")
    reply = Reply(title="Please confirm",
                  paragraphs=[f"You asked to run `{ctx.line}`. This changes your account, so "
                              "we need to know it was you."])
    reply.confirmation = Confirmation(summary=action.summary,
                                      token=confirmations.token_for(ctx.portal, action),
                                      code=action.code, expires_at=action.expires_at)
    return reply


def describe(error: ValidationError) -> str:
    """One sentence per problem, naming the argument as the customer knows it."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"])
        if item["type"] == "missing":
            parts.append(f"Missing {where}.")
        elif item["type"] == "extra_forbidden":
            parts.append(f"Unexpected {where!r}.")
        else:
            parts.append(f"{where}: {item['msg'].removeprefix('Value error, ')}.")
    return " ".join(parts)
