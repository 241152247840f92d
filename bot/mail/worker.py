"""Processing stored mail: who wrote, whether to answer, which commands, and the one reply."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

from sqlalchemy.ext.asyncio import AsyncSession

from bot import bootstrap
from bot.mail.answer import Answer, compose
from bot.mail.policy import (
    sender_address,
    should_not_reply,
    token_from_recipients,
    trusted_authentication,
)
from bot.mail.reading import MailCommands, form_reply, read_commands
from core.kernel.background import poll
from core.kernel.portal import Portal
from core.mail import inbox, outbox
from core.mail.composing import LOOP_HEADER
from core.models import InboundMail
from handlers import forms
from handlers.callers import caller_in
from handlers.context import Caller
from handlers.dispatcher import ChangePolicy, Dispatcher, Run
from handlers.parser import Invocation
from handlers.reply import Choice, answer_line
from handlers.text import clipped

log = logging.getLogger("shopkeep.mail")

REPLY_KINDS = ("reply", "limit_notice")
NO_ACCOUNT = ("We could not find a customer account for this address. If you bought something "
              "with another address, please write from that one. Purchases give access at once, "
              "and the confirmation email tells you how to reach this portal.")
LIMIT_NOTICE = ("You have sent more than {limit} messages in the last hour, so we are pausing "
                "answers to this address for a while. Nothing you sent was read or changed; please "
                "write again in an hour.")
PLATFORM = "email"
PURGE_EVERY = timedelta(hours=1)  # how often old received mail is emptied (mail_retention_days)
# What a mail without any command is offered instead: the commands most people write for.
SUGGESTED = ("orders", "invoices", "help")
SHOWN_LINE = 80  # an ignored line is repeated up to this many characters


@dataclass
class Reading:
    """What a stored message is, before anything is looked up or run."""

    mail: InboundMail
    message: EmailMessage
    sender: str | None = None
    no_reply: str | None = None  # why it must not be answered
    token: str | None = None  # a reply to a confirmation request carries its token
    commands: MailCommands = field(default_factory=MailCommands)
    invocations: list[Invocation] = field(default_factory=list)  # what answering it runs


@dataclass
class MailRequest:
    """One message as the dispatcher answers it, in the order the messages came."""

    worker: MailWorker
    reading: Reading

    @property
    def invocations(self) -> list[Invocation]:
        return self.reading.invocations

    async def answer(self, session: AsyncSession, run: Run) -> None:
        await self.worker.answer(self.reading, session, run)

    async def failed(self) -> None:
        # Left to its lease: it is tried again, and set aside after a few failures.
        log.exception("processing message %s failed", self.reading.mail.id)
        await self.worker.failed(self.reading.mail)


class MailWorker:
    """Answers stored mail: reads each message, hands its invocations to the dispatcher (which
    decides what shares a transaction) and queues the one reply in the transaction it is given."""

    def __init__(self, portal: Portal, dispatcher: Dispatcher | None = None,
                 on_queued: Callable[[], None] = lambda: None) -> None:
        self.portal = portal
        self.dispatcher = dispatcher or bootstrap.dispatcher(portal)
        self.on_queued = on_queued
        self.wakeup = asyncio.Event()
        self._purged_at: datetime | None = None

    async def process_pending(self) -> int:
        """Process every stored message that is waiting; returns how many were handled."""
        if self._purged_at is None or self.portal.now() - self._purged_at > PURGE_EVERY:
            self._purged_at = self.portal.now()
            await inbox.purge_processed(self.portal)
        handled = 0
        while batch := await inbox.claim(self.portal, batch=50):
            requests: list[MailRequest] = []
            for mail in batch:
                if mail.attempts > inbox.MAX_ATTEMPTS:
                    # Its worker kept dying on it (no exception to catch): set it aside.
                    await self._set_aside(mail)
                    continue
                try:
                    requests.append(MailRequest(self, self.read(mail)))
                except Exception as exc:
                    # Reading is the same every time: record why now instead of retrying.
                    log.exception("reading message %s failed", mail.id)
                    async with self.portal.db.unit_of_work() as session:
                        await self._finish(session, mail, f"unreadable: {type(exc).__name__}: {exc}")
            await self.dispatcher.answer_in_turn(requests, committed=self.on_queued)
            handled += len(batch)
        return handled

    def read(self, mail: InboundMail) -> Reading:
        settings = self.portal.settings
        message = message_from_bytes(mail.raw, policy=default_policy)
        assert isinstance(message, EmailMessage)
        reading = Reading(mail, message, sender=sender_address(message))
        reading.no_reply = should_not_reply(message, envelope_from=mail.envelope_from,
                                            portal_address=settings.portal_address,
                                            loop_header=LOOP_HEADER)
        if reading.no_reply is None and reading.sender is None:
            reading.no_reply = "no usable From address"
        if reading.no_reply is not None:
            return reading
        reading.token = token_from_recipients(mail.recipients.get("to", []), settings.portal_address)
        if reading.token:
            # A reply to a confirmation request: that, and nothing quoted in it, is the command.
            reading.invocations = [self._invocation(answer_line(reading.token, accept=True))]
            return reading
        form = self._form(message)
        if form is not None:
            # A form sent back is read as that form, every line of it: the line limit is for
            # commands.
            reading.invocations = [form]
            return reading
        reading.commands = read_commands(message, parse=self._invocation,
                                         elsewhere=self._offered_elsewhere,
                                         max_lines=settings.mail_max_lines)
        # A mail with no command runs nothing: it is answered as a question.
        reading.invocations = reading.commands.commands
        return reading

    def _form(self, message: EmailMessage) -> Invocation | None:
        """A reply carrying a form's token: its `Label: value` lines, those the customer wrote
        above the quoted form, or (when they filled it in where it was quoted) the quoted ones."""
        found = form_reply(message)
        if found is None:
            return None
        token, newest, whole = found
        command = self.dispatcher.form_of(token)
        values = (forms.read_lines(command, newest) or forms.read_lines(command, whole)) if command else {}
        return self.dispatcher.submission(token, values)

    def _invocation(self, line: str) -> Invocation:
        return self.dispatcher.invocation(line, PLATFORM)

    def _offered_elsewhere(self, invocation: Invocation) -> bool:
        """`login` by email: a command of the chat doors, answered with where it works."""
        command = self.dispatcher.registry.get(invocation.word) if invocation.word else None
        return command is not None and bool(command.platforms)

    async def answer(self, reading: Reading, session: AsyncSession, run: Run) -> None:
        """Decide and queue the one reply (or none) to a message, and mark it done, in `session`."""
        mail, settings = reading.mail, self.portal.settings
        if reading.no_reply is not None or reading.sender is None:
            await self._finish(session, mail, f"no reply: {reading.no_reply}")
            log.info("message %s: no reply (%s)", mail.id, reading.no_reply)
            return
        caller = await caller_in(session, platform=PLATFORM, account_id=reading.sender)
        to = caller.account_id
        allowance = await self._allowance(session, to)
        if allowance is None:
            await self._finish(session, mail, "no reply: hourly limit reached")
            return
        if allowance == "limit_notice":
            # Checked before any command runs: over the limit, nothing is read or changed.
            answer = Answer(notice=LIMIT_NOTICE.format(limit=settings.mail_replies_per_hour))
            await self._reply(session, reading, to, answer, kind="limit_notice")
            return
        answer = Answer()
        if caller.customer_id is None:
            answer.notice = NO_ACCOUNT
        else:
            await self._run_commands(reading, caller, answer, run)
        await self._reply(session, reading, to, answer, kind="reply")

    async def _run_commands(self, reading: Reading, caller: Caller, answer: Answer, run: Run) -> None:
        settings = self.portal.settings
        trusted = trusted_authentication(reading.message, trusted_authserv_id=settings.trusted_authserv_id,
                                         sender=caller.account_id)
        # A second attempt may follow a crash after a change already ran: ask, never repeat.
        policy = (ChangePolicy.PRECONFIRMED if trusted and reading.mail.attempts <= 1
                  else ChangePolicy.ROUND_TRIP)
        replies = await run(caller, reading.invocations, policy)
        # The token is not repeated: the answer says "confirm", as the customer never typed it.
        shown = ["confirm"] if reading.token else [invocation.shown for invocation in reading.invocations]
        answer.sections.extend(zip(shown, replies, strict=True))
        if any(invocation.form for invocation in reading.invocations):
            return  # a form sent back: nothing else in it was read
        if not reading.token and reading.commands.question:
            self._answer_question(reading.commands, answer)
            return
        answer.ignored = [self._with_suggestion(invocation) for invocation in reading.commands.ignored]
        if reading.commands.unread:
            answer.ignored.append(f"(the remaining {reading.commands.unread} lines were not read)")

    def _answer_question(self, found: MailCommands, answer: Answer) -> None:
        """No line is a command: offer the few commands most people want, not a list of every
        line we could not read. Only a card number is still said to be refused."""
        registry = self.dispatcher.registry
        answer.suggested = [Choice(command.summary, command.name) for name in SUGGESTED
                            if (command := registry.offered(name, PLATFORM)) is not None]
        answer.ignored = [invocation.shown for invocation in found.ignored if invocation.card]

    def _with_suggestion(self, invocation: Invocation) -> str:
        if invocation.card or invocation.command is not None or not invocation.word:
            return clipped(invocation.shown, SHOWN_LINE)
        close = self.dispatcher.registry.suggestions(invocation.word, PLATFORM)
        line = clipped(invocation.line, SHOWN_LINE)
        return f"{line}   (did you mean \"{close[0]}\"?)" if close else line

    async def _allowance(self, session: AsyncSession, to: str) -> str | None:
        """"reply" under the hourly limit, "limit_notice" once when it is reached, else None."""
        limit = self.portal.settings.mail_replies_per_hour
        if await inbox.replies_since(session, to, ("reply",), self.portal) < limit:
            return "reply"
        if await inbox.replies_since(session, to, ("limit_notice",), self.portal):
            return None
        return "limit_notice"

    async def _finish(self, session: AsyncSession, mail: InboundMail, outcome: str) -> None:
        await inbox.finish(session, self.portal, mail.id, answered=False, outcome=outcome)

    async def _set_aside(self, mail: InboundMail) -> None:
        async with self.portal.db.unit_of_work() as session:
            await self._finish(session, mail, "failed repeatedly; see the log")

    async def failed(self, mail: InboundMail) -> None:
        if mail.attempts >= inbox.MAX_ATTEMPTS:
            await self._set_aside(mail)

    async def _reply(self, session: AsyncSession, reading: Reading, to: str, answer: Answer, *,
                     kind: str) -> None:
        reply = compose(self.portal, reading.message, to, answer)
        await outbox.queue(session, self.portal, reply, kind=kind)
        await inbox.finish(session, self.portal, reading.mail.id, answered=True,
                           outcome=f"{kind} with {len(answer.sections)} answer(s)")

    async def run(self, interval: float = 5.0) -> None:
        await poll(self.process_pending, self.wakeup, interval=interval, log=log)
