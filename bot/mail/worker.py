"""Processing stored mail: who wrote, whether to answer, which commands, and the one reply."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

from sqlalchemy.ext.asyncio import AsyncSession

from bot.mail.answer import Answer, compose
from bot.mail.policy import (
    sender_address,
    should_not_reply,
    token_from_recipients,
    trusted_authentication,
)
from bot.mail.reading import read_commands
from core import inbox, outbox
from core.background import poll
from core.customers import by_email
from core.models import InboundMail
from core.outbox import LOOP_HEADER
from core.portal import Portal
from handlers.context import Caller
from handlers.dispatcher import ChangePolicy, Dispatcher
from handlers.parser import looks_like_card_number, parse_line
from handlers.registry import REGISTRY

log = logging.getLogger("shopkeep.mail")

REPLY_KINDS = ("reply", "limit_notice")
NO_ACCOUNT = ("We could not find a customer account for this address. If you bought something "
              "with another address, please write from that one. Purchases give access at once, "
              "and the confirmation email tells you how to reach this portal.")
LIMIT_NOTICE = ("You have sent more than {limit} messages in the last hour, so we are pausing "
                "answers to this address for a while. Nothing you sent was read or changed; please "
                "write again in an hour.")
CARD_LINE = "(a line that looks like a card number; it was not read)"


def is_email_command(word: str) -> bool:
    command = REGISTRY.get(word.lower())
    return command is not None and command.offered_on("email")


def shown(line: str) -> str:
    """A line as the reply may repeat it: card numbers never travel back by email."""
    return CARD_LINE if looks_like_card_number(line) else line


def with_suggestion(line: str) -> str:
    if looks_like_card_number(line):
        return CARD_LINE
    invocation = parse_line(line)
    close = REGISTRY.suggestions(invocation.word, "email") if invocation else []
    return f"{line}   (did you mean \"{close[0]}\"?)" if close else line


class MailWorker:
    def __init__(self, portal: Portal, dispatcher: Dispatcher | None = None,
                 on_queued: Callable[[], None] = lambda: None) -> None:
        self.portal = portal
        self.dispatcher = dispatcher or Dispatcher(portal)
        self.on_queued = on_queued
        self.wakeup = asyncio.Event()

    async def process_pending(self) -> int:
        """Process every stored message that is waiting; returns how many were handled."""
        handled = 0
        while batch := await inbox.claim(self.portal):
            for mail in batch:
                if mail.attempts > inbox.MAX_ATTEMPTS:
                    # Its worker kept dying on it (no exception to catch): set it aside.
                    await self._finish(mail, "failed repeatedly; see the log")
                    handled += 1
                    continue
                try:
                    await self.process(mail)
                except Exception:
                    # Left to its lease: it is tried again, and set aside after a few failures.
                    log.exception("processing message %s failed", mail.id)
                    if mail.attempts >= inbox.MAX_ATTEMPTS:
                        await self._finish(mail, "failed repeatedly; see the log")
                handled += 1
        return handled

    async def process(self, mail: InboundMail) -> None:
        settings = self.portal.settings
        message = message_from_bytes(mail.raw, policy=default_policy)
        assert isinstance(message, EmailMessage)
        reason = should_not_reply(message, envelope_from=mail.envelope_from,
                                  portal_address=settings.portal_address, loop_header=LOOP_HEADER)
        sender = sender_address(message)
        if reason is None and sender is None:
            reason = "no usable From address"
        if reason is not None or sender is None:
            await self._finish(mail, f"no reply: {reason}")
            log.info("message %s: no reply (%s)", mail.id, reason)
            return

        async with self.portal.db.unit_of_work() as session:
            customer = await by_email(session, sender)
            to = customer.email if customer else sender
            allowance = await self._allowance(session, to)
        if allowance is None:
            await self._finish(mail, "no reply: hourly limit reached")
            return
        if allowance == "limit_notice":
            # Checked before any command runs: over the limit, nothing is read or changed.
            await self._reply(mail, message, to, Answer(notice=LIMIT_NOTICE.format(
                limit=settings.mail_replies_per_hour)), kind="limit_notice")
            return

        answer = Answer()
        if customer is None:
            answer.notice = NO_ACCOUNT
        else:
            await self._run_commands(mail, message, sender, customer.id, customer.email, answer)
        await self._reply(mail, message, to, answer, kind="reply")

    async def _run_commands(self, mail: InboundMail, message: EmailMessage, sender: str,
                            customer_id: int, email: str, answer: Answer) -> None:
        settings = self.portal.settings
        caller = Caller(platform="email", account_id=email, customer_id=customer_id,
                        display_name=email)
        trusted = trusted_authentication(message, trusted_authserv_id=settings.trusted_authserv_id,
                                         sender=sender)
        # A second attempt may follow a crash after a change already ran: ask, never repeat.
        policy = (ChangePolicy.PRECONFIRMED if trusted and mail.attempts <= 1
                  else ChangePolicy.ROUND_TRIP)
        token = token_from_recipients(mail.recipients.get("to", []), settings.portal_address)
        if token:
            # A reply to a confirmation request: that, and nothing quoted in it, is the command.
            answer.sections.append(("confirm", await self.dispatcher.handle_line(
                caller, f"confirm {token}", policy)))
            return
        commands = read_commands(message, max_lines=settings.mail_max_lines,
                                 is_known=is_email_command)
        answer.ignored = [with_suggestion(line) for line in commands.ignored]
        for line in commands.commands:
            reply = await self.dispatcher.handle_line(caller, line, policy)
            answer.sections.append((shown(line), reply))
        if not commands.commands:
            answer.sections.append(("help", await self.dispatcher.handle_line(caller, "help")))

    async def _allowance(self, session: AsyncSession, to: str) -> str | None:
        """"reply" under the hourly limit, "limit_notice" once when it is reached, else None."""
        limit = self.portal.settings.mail_replies_per_hour
        if await inbox.replies_since(session, to, ("reply",), self.portal) < limit:
            return "reply"
        if await inbox.replies_since(session, to, ("limit_notice",), self.portal):
            return None
        return "limit_notice"

    async def _finish(self, mail: InboundMail, outcome: str) -> None:
        async with self.portal.db.unit_of_work() as session:
            await inbox.finish(session, self.portal, mail.id, answered=False, outcome=outcome)

    async def _reply(self, mail: InboundMail, message: EmailMessage, to: str, answer: Answer,
                     *, kind: str) -> None:
        async with self.portal.db.unit_of_work() as session:
            reply = compose(self.portal, message, to, answer)
            await outbox.queue(session, self.portal, reply, kind=kind)
            await inbox.finish(session, self.portal, mail.id, answered=True,
                               outcome=f"{kind} with {len(answer.sections)} answer(s)")
        self.on_queued()

    async def run(self, interval: float = 5.0) -> None:
        await poll(self.process_pending, self.wakeup, interval=interval, log=log)
