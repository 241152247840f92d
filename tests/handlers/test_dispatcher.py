"""The dispatcher: one unit of work per command, clear messages, confirmations that run once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import Field
from sqlalchemy import select

from core.accounts import audit
from core.kernel.errors import NotAllowed
from core.kernel.portal import Portal
from core.models import AuditEvent
from handlers.context import Caller, Context
from handlers.dispatcher import ChangePolicy, Dispatcher
from handlers.registry import REGISTRY, Arguments, NoArguments, command
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


def test_command_arguments_come_from_free_text() -> None:
    product = REGISTRY.get("show")
    assert product is not None and product.name == "product"
    assert product.parse_arguments("  The Indie  Maker ").model_dump() == {"product": "The Indie Maker"}
    orders = REGISTRY.get("orders")
    assert orders is not None and orders.parse_arguments("page 3").model_dump() == {"page": 3}
    whoami = REGISTRY.get("whoami")
    assert whoami is not None and whoami.arguments is NoArguments
