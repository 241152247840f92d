"""The dispatcher: validate, check who may run it, choose the unit of work, never leak a traceback."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import confirmations
from core.kernel.cards import looks_like_card_number
from core.kernel.errors import PortalError
from core.kernel.portal import Portal
from core.kernel.validation import reason
from core.payments.provider import PaymentProvider
from handlers import commands as _commands  # noqa: F401 - registers every command
from handlers import forms
from handlers.context import Caller, Context
from handlers.parser import Invocation, Submission
from handlers.registry import REGISTRY, Access, Command, NoArguments, Registry
from handlers.reply import Confirmation, Refused, Reply
from handlers.text import clipped

log = logging.getLogger("shopkeep.dispatch")

LOGIN_HINT = ("You're not signed in. Send `login you@example.com`, then `verify <code>` with the "
              "code we email you.")
CARD_REFUSAL = ("That looks like a card number. Please never send card details here: cards are "
                "added and changed only on the payment provider's secure page. Send `payment` "
                "for a link to it. Nothing you sent was stored.")

SHOWN_WORD = 40  # an unknown word is repeated up to this many characters
# A page built from what the caller may see, like the overview the App Home shows.
View = Callable[[Context], Awaitable[Reply]]


class ChangePolicy(StrEnum):
    """How a front door lets a caller make changes."""

    PREVIEW = "preview"  # commands show their own confirmation (buttons, prompts)
    ROUND_TRIP = "round_trip"  # every change needs a confirmation round trip (unverified email)
    PRECONFIRMED = "preconfirmed"  # changes run at once (email with a trusted DKIM pass)


# Runs a request's invocations for its caller, one Reply each, in the order given.
Run = Callable[[Caller, Sequence[Invocation], ChangePolicy], Awaitable[list[Reply]]]


class Request(Protocol):
    """Something a front door answers in one transaction: the invocations it may run, and the
    door's own reads and writes around them (who asks, the answer it stores)."""

    @property
    def invocations(self) -> Sequence[Invocation]: ...

    async def answer(self, session: AsyncSession, run: Run) -> None:
        """Do the door's work in `session`; `run` runs the invocations where the dispatcher chose."""

    async def failed(self) -> None:
        """Answering it in a transaction of its own raised (called while handling the error)."""


class Dispatcher:
    def __init__(self, portal: Portal, registry: Registry = REGISTRY, *,
                 payments: PaymentProvider | None = None) -> None:
        self.portal = portal
        self.registry = registry
        self.payments = payments

    def invocation(self, line: str, platform: str) -> Invocation:
        return self.registry.invocation(line, platform)

    async def handle_line(self, caller: Caller, line: str,
                          policy: ChangePolicy = ChangePolicy.PREVIEW) -> Reply:
        return await self.handle(caller, self.invocation(line, caller.platform), policy)

    async def handle(self, caller: Caller, invocation: Invocation,
                     policy: ChangePolicy = ChangePolicy.PREVIEW) -> Reply:
        """Run one invocation in a unit of work of its own."""
        return await self._handle(caller, invocation, policy, shared=None)

    async def answer_in_turn(self, requests: Iterable[Request], *,
                             committed: Callable[[], None] = lambda: None) -> None:
        """Answer requests in order. Neighbours that only read share one unit of work (one
        commit for many answers); a request that may change something gets one of its own and
        each of its commands another, so a change is never undone or redone because of a
        neighbour. `committed` is told after each commit."""
        reads: list[Request] = []
        for request in requests:
            if all(map(_only_reads, request.invocations)):
                reads.append(request)
                continue
            await self._answer_together(reads, committed)  # first what came before: order is kept
            reads = []
            await self._answer_alone(request, committed)
        await self._answer_together(reads, committed)

    async def _answer_together(self, requests: list[Request], committed: Callable[[], None]) -> None:
        if not requests:
            return
        try:
            async with self.portal.db.unit_of_work() as session:
                run = self._runner(session)
                for request in requests:
                    await request.answer(session, run)
        except Exception:
            # Nothing of them was kept, and nothing in them changed anything: answer each on
            # its own, so one bad request cannot hold up the others.
            log.exception("answering %d requests together failed; answering each alone", len(requests))
            for request in requests:
                await self._answer_alone(request, committed)
            return
        committed()

    async def _answer_alone(self, request: Request, committed: Callable[[], None]) -> None:
        try:
            async with self.portal.db.unit_of_work() as session:
                await request.answer(session, self._runner(None))
        except Exception:
            await request.failed()
            return
        committed()

    def _runner(self, shared: AsyncSession | None) -> Run:
        """Runs invocations in `shared` (reads only), or each in a unit of work of its own."""

        async def run(caller: Caller, invocations: Sequence[Invocation],
                      policy: ChangePolicy) -> list[Reply]:
            if shared is not None and not all(map(_only_reads, invocations)):
                raise ValueError("a shared transaction only runs what the request said it runs")
            return [await self._handle(caller, invocation, policy, shared) for invocation in invocations]

        return run

    def form_of(self, token: str) -> Command | None:
        """The command that saves the form a token belongs to; None when the token is not one
        of ours (or has expired: running it says which)."""
        try:
            _, name = forms.opened(self.portal, token)
        except PortalError:
            return None
        command = self.registry.named(name)
        return command if command is not None and command.form else None

    def submission(self, token: str, values: Mapping[str, str]) -> Invocation:
        """A form sent back, as an invocation of the command that saves it (no command when the
        token is not one of ours: running it answers why)."""
        command = self.form_of(token)
        line = f"{command.form} (the form, sent back)" if command is not None else "a form, sent back"
        sent = Submission(token, tuple((str(name), str(value)) for name, value in values.items()))
        return Invocation(word="", text="", words=(), line=line, command=command, form=sent)

    async def _handle(self, caller: Caller, invocation: Invocation, policy: ChangePolicy,
                      shared: AsyncSession | None) -> Reply:
        if invocation.card:
            return Reply.error(CARD_REFUSAL)
        if invocation.form is not None:
            return await self._submitted(caller, invocation, invocation.form, policy)
        command = invocation.command
        if command is None or not command.offered_on(caller.platform):
            return self.unknown(invocation.word, caller)
        return await self._run(caller, command, invocation.words, line=invocation.line,
                               policy=policy, confirmed=False, shared=shared)

    async def _submitted(self, caller: Caller, invocation: Invocation, submission: Submission,
                         policy: ChangePolicy) -> Reply:
        try:
            customer_id, _ = forms.opened(self.portal, submission.token)
            if caller.customer_id is None:
                return Reply.error(LOGIN_HINT, title="Please sign in")
            forms.check_owner(customer_id, caller.customer_id)
        except PortalError as exc:
            return Reply.error(exc.message)
        command = invocation.command
        if command is None:
            return Reply.error("That form can no longer be sent; ask for it again.")
        fields = command.arguments.model_fields
        values = {name: value for name, value in submission.values if name in fields}
        if any(looks_like_card_number(value) for value in values.values()):
            return Reply.error(CARD_REFUSAL)
        return await self._run(caller, command, values, line=invocation.line, policy=policy,
                               confirmed=False, shared=None)

    def unknown(self, word: str, caller: Caller) -> Reply:
        """The answer to a word that is no command on the caller's door: where it works if
        another door offers it, else the closest commands here."""
        known = self.registry.get(word) if word else None
        if known is not None and known.platforms and not known.offered_on(caller.platform):
            return Reply.error(known.not_here())
        hint = self.registry.suggestions(word, caller.platform) if word else []
        # Whatever was typed, the answer stays a sentence: a pasted page is not repeated.
        shown = clipped(word, SHOWN_WORD)
        said = f"I don't know the command {shown!r}." if word else "Send a command."
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
                  confirmed: bool = False) -> Reply:
        """Run a command with arguments as text or named values (chat options), in its own unit
        of work."""
        line = line or f"{command.name} {raw if isinstance(raw, str) else ''}".strip()
        return await self._run(caller, command, raw, line=line, policy=policy, confirmed=confirmed,
                               shared=None)

    async def _run(self, caller: Caller, command: Command, raw: str | Sequence[str] | dict[str, Any],
                   *, line: str, policy: ChangePolicy, confirmed: bool,
                   shared: AsyncSession | None) -> Reply:
        try:
            arguments = command.parse_arguments(raw)
        except ValidationError as exc:
            return Reply.error(f"{describe(exc, command)}\nUsage: `{command.usage}`"
                               f" (send `help {command.name}` for more).")
        if command.access is Access.CUSTOMER and caller.customer_id is None:
            return Reply.error(LOGIN_HINT, title="Please sign in")
        if shared is not None:
            try:
                ctx = Context(self.portal, shared, caller, command, line, payments=self.payments)
                return await _in_their_time(ctx, await command.run(ctx, arguments))
            except PortalError as exc:
                return Reply.error(exc.message)
            # Anything else undoes the shared transaction: every request in it is answered anew.
        try:
            async with self.portal.db.unit_of_work() as session:
                ctx = Context(self.portal, session, caller, command, line,
                              confirmed=confirmed or policy is ChangePolicy.PRECONFIRMED,
                              payments=self.payments,
                              round_trip=policy is ChangePolicy.ROUND_TRIP and not confirmed)
                if (command.mutates and policy is ChangePolicy.ROUND_TRIP and not confirmed
                        and not command.previews):
                    return await _round_trip(ctx, arguments)
                reply = await _in_their_time(ctx, await command.run(ctx, arguments))
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


async def _in_their_time(ctx: Context, reply: Reply) -> Reply:
    """Deadlines in the reply (link expiry, a confirmation's) are shown in the customer's time
    zone; looked up only when the reply has one."""
    timed = reply.confirmation is not None or any(link.expires_at for link in reply.links)
    if timed and reply.timezone is None:
        customer = await ctx.customer() if ctx.caller.customer_id is not None else None
        reply.timezone = (customer.timezone if customer else None) or ctx.portal.settings.store.timezone
    return reply


def _only_reads(invocation: Invocation) -> bool:
    """Whether running it writes nothing: refused and unknown lines run nothing at all."""
    command = invocation.command
    return invocation.card or command is None or command.reads_only


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


def describe(error: ValidationError, command: Command) -> str:
    """What is wrong with the arguments, in the product's words, with an example to copy.

    Each problem names the argument as the usage line does and says what it should be (never
    pydantic's own text); a value that does not have the expected form is explained by the
    argument's help."""
    fields = command.arguments.model_fields
    parts = []
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else "arguments"
        described = fields[name].description if name in fields else None
        if item["type"] == "missing":
            parts.append(f"Missing {name}" + (f": {described}." if described else "."))
        elif item["type"] == "extra_forbidden":
            extra = clipped(str(item["input"] if not item["loc"] else name), SHOWN_WORD)
            parts.append(f"Unexpected {extra!r}: "
                         f"`{command.name}` takes no more than that.")
        elif item["type"] == "string_pattern_mismatch" and described:
            parts.append(f"That {name} is not right: {described}.")
        else:
            parts.append(f"The {name} {reason(item)}.")
    example = f" For example: `{command.examples[0]}`." if command.examples else ""
    return " ".join(parts) + example
