"""The dispatcher: one unit of work per command, clear messages, confirmations that run once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import audit
from core.kernel.errors import NotAllowed
from core.kernel.portal import Portal
from core.models import AuditEvent
from handlers.context import Caller, Context
from handlers.dispatcher import ChangePolicy, Dispatcher, Run
from handlers.parser import Invocation
from handlers.registry import REGISTRY, Access, Arguments, NoArguments, command
from handlers.reply import Reply
from tests.conftest import Clock
from tests.helpers import caller_for, throwaway_commands


class NoteArguments(Arguments):
    text: str = Field(min_length=1)


async def write_note(ctx: Context, text: str) -> None:
    await audit.record(ctx.session, customer_id=ctx.customer_id, actor=ctx.caller.actor,
                       action="note", text=text)


@pytest.fixture
def note_commands() -> Iterator[None]:
    """Throwaway commands that write an audit row, then succeed or fail in different ways."""
    with throwaway_commands():

        @command("note", summary="Write a note", mutates=True)
        async def note(ctx: Context, args: NoteArguments) -> Reply:
            if not ctx.confirmed:
                return await ctx.confirm(Reply.text(f"Write {args.text!r}?"), summary=f"Write {args.text}",
                                         arguments=args.model_dump())
            await write_note(ctx, args.text)
            return Reply.text("written")

        @command("note-now", summary="Write a note at once", mutates=True)
        async def note_now(ctx: Context, args: NoteArguments) -> Reply:
            await write_note(ctx, args.text)
            return Reply.text("written")

        @command("note-fail", summary="Write then fail", mutates=True)
        async def note_fail(ctx: Context, args: NoteArguments) -> Reply:
            await write_note(ctx, args.text)
            if args.text == "domain":
                raise NotAllowed("You may not do that.")
            if args.text == "refuse":
                return Reply.error("Refused.")
            raise RuntimeError("database exploded: secret internals")

        yield


async def notes(portal: Portal) -> list[str]:
    async with portal.db.unit_of_work() as session:
        rows = await session.scalars(select(AuditEvent).where(AuditEvent.action == "note"))
        return [row.details["text"] for row in rows]


@pytest.mark.usefixtures("note_commands")
@pytest.mark.parametrize("failure", ["domain", "refuse", "crash"])
async def test_a_failing_command_leaves_nothing_behind(demo_portal: Portal, failure: str) -> None:
    alice = await caller_for(demo_portal, "alice@example.com")
    reply = await Dispatcher(demo_portal).handle_line(alice, f"note-fail {failure}")
    assert not reply.ok
    assert await notes(demo_portal) == []
    if failure == "crash":
        text = reply.plain_text()
        assert "Traceback" not in text and "secret internals" not in text and "reference" in text
    if failure == "domain":
        assert reply.plain_text() == "You may not do that."


@pytest.mark.usefixtures("note_commands")
async def test_confirmation_runs_once(demo_portal: Portal, clock: Clock) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com")
    bob = await caller_for(demo_portal, "bob@example.com")
    preview = await dispatcher.handle_line(alice, "note Hello World")
    assert preview.confirmation is not None and await notes(demo_portal) == []
    code = preview.confirmation.code

    assert "nothing waiting" in (await dispatcher.handle_line(bob, f"confirm {code}")).plain_text()
    assert (await dispatcher.handle_line(alice, f"confirm {code}")).plain_text() == "written"
    again = await dispatcher.handle_line(alice, f"confirm {preview.confirmation.token}")
    assert "already done" in again.plain_text()
    assert await notes(demo_portal) == ["Hello World"]

    late = await dispatcher.handle_line(alice, "note Too late")
    assert late.confirmation is not None
    clock.advance(hours=1)
    assert "expired" in (await dispatcher.handle_line(alice, f"confirm {late.confirmation.code}")).plain_text()

    dropped = await dispatcher.handle_line(alice, "note Never")
    assert dropped.confirmation is not None
    assert (await dispatcher.handle_line(alice, f"cancel-request {dropped.confirmation.code}")).ok
    assert not (await dispatcher.handle_line(alice, f"confirm {dropped.confirmation.code}")).ok
    assert await notes(demo_portal) == ["Hello World"]


@pytest.mark.usefixtures("note_commands")
async def test_policies_for_unverified_and_trusted_email(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com", platform="email")
    asked = await dispatcher.handle_line(alice, "note-now via mail", ChangePolicy.ROUND_TRIP)
    assert asked.confirmation is not None and await notes(demo_portal) == []
    await dispatcher.handle_line(alice, f"confirm {asked.confirmation.code}", ChangePolicy.ROUND_TRIP)
    await dispatcher.handle_line(alice, "note trusted", ChangePolicy.PRECONFIRMED)
    assert await notes(demo_portal) == ["via mail", "trusted"]


async def test_messages_for_people(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com")
    assert "Did you mean `orders`?" in (await dispatcher.handle_line(alice, "ordrs")).plain_text()
    missing = await dispatcher.handle_line(alice, "product")
    assert "Missing product" in missing.plain_text() and "Usage: `product <product>`" in missing.plain_text()
    assert "Unexpected" in (await dispatcher.handle_line(alice, "whoami please")).plain_text()
    assert "page number" in (await dispatcher.handle_line(alice, "orders please")).plain_text()
    card = await dispatcher.handle_line(alice, "product 4242 4242 4242 4242")
    assert "card number" in card.plain_text() and not card.ok
    help_all = await dispatcher.handle_line(alice, "help")
    assert {"orders [page]", "product <product>"} <= {row[0] for row in help_all.tables[0].rows}
    assert "downloads" in (await dispatcher.handle_line(alice, "help product")).plain_text()
    signed_out = await dispatcher.handle_line(Caller(platform="console", account_id="x"), "orders")
    assert "login you@example.com" in signed_out.plain_text()


async def test_unknown_words_are_cut_short_and_commands_of_other_doors_say_where_they_work(
        demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    console = Caller(platform="console", account_id="x")
    pasted = (await dispatcher.handle_line(console, "x" * 5000 + " and more")).plain_text()
    assert f"I don't know the command '{'x' * 39}…'." in pasted and len(pasted) < 120
    invite = await dispatcher.handle_line(console, "invite 4")
    assert not invite.ok and invite.plain_text() == "`invite` works only in Discord."
    alice = await caller_for(demo_portal, "alice@example.com", platform="email")
    login = await dispatcher.handle_line(alice, "login alice@example.com")
    assert login.plain_text() == ("By email you need no sign-in: we know you by the address you "
                                  "write from.")
    asked = await dispatcher.handle_line(alice, "help login")
    assert asked.plain_text() == login.plain_text(), "help explains it the same way"
    assert (await dispatcher.handle_line(console, "help invite")).plain_text() == invite.plain_text()


def test_command_arguments_come_from_free_text() -> None:
    product = REGISTRY.get("show")
    assert product is not None and product.name == "product"
    assert product.parse_arguments("  The Indie  Maker ").model_dump() == {"product": "The Indie Maker"}
    orders = REGISTRY.get("orders")
    assert orders is not None and orders.parse_arguments("page 3").model_dump() == {"page": 3}
    whoami = REGISTRY.get("whoami")
    assert whoami is not None and whoami.arguments is NoArguments


class PairArguments(Arguments):
    first: str
    second: str


@pytest.fixture
def pair_command() -> Iterator[None]:
    with throwaway_commands():

        @command("pair", summary="Say two things back", access=Access.ANYONE)
        async def pair(ctx: Context, args: PairArguments) -> Reply:
            return Reply.text(f"{args.first}|{args.second}")

        yield


@pytest.mark.usefixtures("pair_command")
async def test_double_quoted_arguments_are_one_word(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    anyone = Caller(platform="console", account_id="x")
    said = [(await dispatcher.handle_line(anyone, line)).plain_text() for line in (
        'pair "Pixel Studio" Pro Max', 'pair Pixel Studio Pro', 'pair 5" screen', 'pair "open quote')]
    assert said == ["Pixel Studio|Pro Max", "Pixel|Studio Pro", '5"|screen', '"open|quote']
    alice = await caller_for(demo_portal, "alice@example.com")
    quoted = await dispatcher.handle_line(alice, 'invoices "last quarter"')
    assert quoted.ok and quoted == await dispatcher.handle_line(alice, "invoices last quarter")


@dataclass
class Asked:
    """A request as a front door hands it over: it stores its own record with its answer."""

    name: str
    caller: Caller
    invocations: list[Invocation]
    answered: list[tuple[str, AsyncSession, list[str]]]
    failures: list[str] = field(default_factory=list)

    async def answer(self, session: AsyncSession, run: Run) -> None:
        replies = await run(self.caller, self.invocations, ChangePolicy.PRECONFIRMED)
        await audit.record(session, customer_id=self.caller.customer_id, actor="test",
                           action="answered", text=self.name)
        self.answered.append((self.name, session, [reply.plain_text() for reply in replies]))

    async def failed(self) -> None:
        self.failures.append(self.name)


@pytest.mark.usefixtures("note_commands", "broken_reader")
async def test_reads_share_a_transaction_and_a_change_has_its_own(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com", platform="email")
    answered: list[tuple[str, AsyncSession, list[str]]] = []
    lines = {"a": ["orders", "help"], "b": ["whoami"], "change": ["note-now changed", "orders"],
             "d": ["orders"], "bug": ["stats"], "f": ["product ebook"]}
    requests = [Asked(name, alice, [dispatcher.invocation(line, "email") for line in said], answered)
                for name, said in lines.items()]
    commits: list[None] = []

    await dispatcher.answer_in_turn(requests, committed=lambda: commits.append(None))

    first, second, change, *rest = answered
    assert [first[0], second[0], change[0]] == ["a", "b", "change"]
    assert first[1] is second[1] and change[1] is not first[1], "reads share one unit of work"
    # d, bug and f were tried together, undone by the bug, then answered one by one.
    assert [name for name, _, _ in rest] == ["d", "d", "bug", "f"]
    assert len({id(session) for _, session, _ in rest}) == 4
    final = {name: said for name, _, said in answered}
    assert "Something went wrong on our side" in final["bug"][0]
    assert "Your orders" in final["d"][0] and "Handbook" in final["f"][0]
    assert final["change"][0] == "written"
    assert await notes(demo_portal) == ["changed"], "the change ran once"
    async with demo_portal.db.unit_of_work() as session:
        kept = await session.scalars(select(AuditEvent).where(AuditEvent.action == "answered")
                                     .order_by(AuditEvent.id))
        assert [row.details["text"] for row in kept] == ["a", "b", "change", "d", "bug", "f"]
    assert len(commits) == 5 and all(not request.failures for request in requests)


@pytest.mark.usefixtures("note_commands")
async def test_a_request_whose_own_work_fails_is_told(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com", platform="email")
    answered: list[tuple[str, AsyncSession, list[str]]] = []
    change = Asked("change", alice, [dispatcher.invocation("note-now lost", "email")], answered)

    async def broken(session: AsyncSession, run: Run) -> None:
        await Asked.answer(change, session, run)
        raise RuntimeError("storing the answer failed")

    change.answer = broken  # type: ignore[method-assign]
    await dispatcher.answer_in_turn([change])
    assert change.failures == ["change"]
    # The command's own unit of work had committed; the door's record was rolled back.
    assert await notes(demo_portal) == ["lost"]


async def test_argument_errors_are_sentences_with_an_example(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com")
    stranger = Caller(platform="console", account_id="someone")
    for caller, line, expected in (
            (stranger, "verify abc", "That code is not right: the 6-digit code from the email. "
                                     "For example: `verify 123456`."),
            (alice, "confirm 123", "The code must be at least 4 characters long."),
            (alice, "orders page 0", "The page must be at least 1."),
            (alice, "invoice", "Missing which: a number like INV-2026-0007 or 2 (as `invoices` lists them), "
                               'a period like "March", or "last". For example: `invoice March`.')):
        reply = await dispatcher.handle_line(caller, line)
        text = reply.plain_text()
        assert not reply.ok and expected in text, (line, text)
        assert "should" not in text.lower() and "pattern" not in text and "^" not in text, text
