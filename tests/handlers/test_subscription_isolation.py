"""Nobody sees, changes, pauses, cancels or pays for someone else's subscription: not by product
slug, name, part of it or number, not with their confirmation code or button, and not with the
quote id their confirmation keeps, whichever door the command comes through."""

from __future__ import annotations

from typing import Any

from bot import bootstrap
from core.kernel.portal import Portal
from handlers.registry import REGISTRY
from handlers.reply import Reply
from tests.handlers.subscribing import ALICE, BOB, State, charges, confirm, quote_of, say, state
from tests.handlers.test_isolation import everything_shown
from tests.helpers import caller_for

DOORS = ("console", "email", "discord", "slack")
DANA = "dana@example.com"
ALICES = ("Maker Pro", "Pro monthly", "Pro yearly", "$12.00", "4242", "Apr 13")
REFS = ("maker-pro", "Maker Pro Membership", "maker", "2")  # bob's 1 is his own Sprite Club


def tells_nothing(reply: Reply, line: str, secrets: tuple[str, ...] = ALICES) -> None:
    """A refusal that says nothing of what it was asked about but the words it was asked in."""
    assert not reply.ok and reply.confirmation is None and not reply.tables, line
    said = line.split(maxsplit=1)[1]  # the arguments, as a refusal may quote them
    shown = everything_shown(reply).replace(line, "")
    for quoted in (said, *said.split()):
        shown = shown.replace(repr(quoted), "")
    assert not any(secret in shown for secret in secrets), (line, shown)


async def with_her_quote(portal: Portal, intruder: str, name: str, arguments: dict[str, Any],
                         door: str) -> Reply:
    """The intruder's own confirmation of `name`, as if it had kept someone else's quote id."""
    caller = await caller_for(portal, intruder, platform=door)
    command = REGISTRY.get(name)
    assert command is not None
    return await bootstrap.dispatcher(portal).run(caller, command, arguments, confirmed=True)


async def her_code_and_token_are_not_his(portal: Portal, preview: Reply, intruder: str = BOB) -> None:
    assert preview.confirmation is not None
    by_code = await say(portal, intruder, preview.confirmation.typed)
    by_token = await say(portal, intruder, f"confirm {preview.confirmation.token}")
    assert "nothing waiting for confirmation" in by_code.plain_text()
    assert "Only the person who asked" in by_token.plain_text()


async def unchanged(portal: Portal, before: State) -> None:
    assert await state(portal, ALICE) == before
    assert await charges(portal, ALICE, "plan_change") == []


async def test_subscriptions_lists_only_ones_own(demo_portal: Portal) -> None:
    for door in DOORS:
        shown = everything_shown(await say(demo_portal, BOB, "subscriptions", door=door))
        assert "Sprite Club" in shown and not any(secret in shown for secret in ALICES), door
        dana = await say(demo_portal, DANA, "plan", door=door)
        assert "You have no subscriptions" in dana.plain_text() and "Sprite" not in dana.plain_text()


async def test_plans_of_someone_elses_subscription_are_not_shown(demo_portal: Portal) -> None:
    for door in DOORS:
        for ref in REFS:
            line = f"plans {ref}"
            tells_nothing(await say(demo_portal, BOB, line, door=door), line, ("Pro yearly", "$120.00", "Basic"))


async def test_change_reaches_nothing_of_anyone_else(demo_portal: Portal) -> None:
    before = await state(demo_portal, ALICE)
    for door in DOORS:
        for ref in REFS:
            for plan in ("yearly", "basic", "keep"):
                line = f"change {ref} {plan}"
                tells_nothing(await say(demo_portal, BOB, line, door=door), line)
        # dana has no subscription at all: alice's number 1 is nothing of hers either.
        tells_nothing(await say(demo_portal, DANA, "change 1 yearly", door=door), "change 1 yearly")
    preview = await say(demo_portal, ALICE, "change maker-pro yearly")
    quote = await quote_of(demo_portal, preview)
    for door in DOORS:
        stolen = await with_her_quote(demo_portal, BOB, "change",
                                      {"product": "maker-pro", "plan": "yearly", "quote": quote}, door)
        assert stolen.plain_text() == "There is no such change waiting; ask again for a preview."
    await her_code_and_token_are_not_his(demo_portal, preview)
    await unchanged(demo_portal, before)
    assert (await confirm(demo_portal, ALICE, preview)).ok, "still hers to confirm"


async def test_pause_reaches_nothing_of_anyone_else(demo_portal: Portal) -> None:
    before = await state(demo_portal, ALICE)
    for door in DOORS:
        for ref in REFS:
            for line in (f"pause {ref}", f"pause {ref} until 2026-05-01"):
                tells_nothing(await say(demo_portal, BOB, line, door=door), line)
    preview = await say(demo_portal, ALICE, "pause maker-pro")
    quote = await quote_of(demo_portal, preview)
    stolen = await with_her_quote(demo_portal, BOB, "pause", {"product": "sprite-club", "quote": quote}, "slack")
    assert not stolen.ok and "no such change waiting" in stolen.plain_text()
    await her_code_and_token_are_not_his(demo_portal, preview)
    await unchanged(demo_portal, before)


async def test_resume_reaches_nothing_of_anyone_else(demo_portal: Portal) -> None:
    await confirm(demo_portal, ALICE, await say(demo_portal, ALICE, "pause maker-pro"))
    before = await state(demo_portal, ALICE)
    for door in DOORS:
        for ref in REFS:
            line = f"resume {ref}"
            tells_nothing(await say(demo_portal, BOB, line, door=door), line)
    preview = await say(demo_portal, ALICE, "resume maker-pro")
    quote = await quote_of(demo_portal, preview)
    stolen = await with_her_quote(demo_portal, BOB, "resume", {"product": "maker-pro", "quote": quote}, "discord")
    assert not stolen.ok and "no such change waiting" in stolen.plain_text()
    await her_code_and_token_are_not_his(demo_portal, preview)
    await unchanged(demo_portal, before)
    assert before.pause_at_period_end


async def test_cancel_reaches_nothing_of_anyone_else(demo_portal: Portal) -> None:
    before = await state(demo_portal, ALICE)
    for door in DOORS:
        for ref in REFS:
            for line in (f"cancel {ref}", f"cancel {ref} now", f"cancel {ref} too expensive"):
                tells_nothing(await say(demo_portal, BOB, line, door=door), line)
    preview = await say(demo_portal, ALICE, "cancel maker-pro")
    quote = await quote_of(demo_portal, preview)
    for door in DOORS:
        stolen = await with_her_quote(demo_portal, BOB, "cancel", {"product": "maker-pro", "quote": quote}, door)
        assert stolen.plain_text() == "There is no such change waiting; ask again for a preview."
    await her_code_and_token_are_not_his(demo_portal, preview)
    await unchanged(demo_portal, before)
    assert (await state(demo_portal, BOB, "sprite-club")).status == "past_due", "his own stays as it was"


async def test_uncancel_reaches_nothing_of_anyone_else(demo_portal: Portal) -> None:
    await confirm(demo_portal, ALICE, await say(demo_portal, ALICE, "cancel maker-pro"))
    before = await state(demo_portal, ALICE)
    for door in DOORS:
        for ref in REFS:
            line = f"uncancel {ref}"
            tells_nothing(await say(demo_portal, BOB, line, door=door), line)
    preview = await say(demo_portal, ALICE, "uncancel maker-pro")
    quote = await quote_of(demo_portal, preview)
    stolen = await with_her_quote(demo_portal, BOB, "uncancel", {"product": "maker-pro", "quote": quote}, "email")
    assert not stolen.ok and "no such change waiting" in stolen.plain_text()
    await her_code_and_token_are_not_his(demo_portal, preview)
    await unchanged(demo_portal, before)
    assert before.cancel_at_period_end


async def test_resubscribe_reaches_nothing_of_anyone_else(demo_portal: Portal) -> None:
    """bob's Sprite Club has ended; alice can neither restart it nor pay for it."""
    await confirm(demo_portal, BOB, await say(demo_portal, BOB, "cancel sprite-club"))
    bobs = ("Sprite Club", "$8.00", "0002")
    for door in DOORS:
        for ref in ("sprite-club", "Sprite Club", "sprite", "2"):
            for line in (f"resubscribe {ref}", f"resubscribe {ref} monthly"):
                tells_nothing(await say(demo_portal, ALICE, line, door=door), line, bobs)
    preview = await say(demo_portal, BOB, "resubscribe sprite-club")
    quote = await quote_of(demo_portal, preview)
    for door in DOORS:
        stolen = await with_her_quote(demo_portal, ALICE, "resubscribe",
                                      {"product": "maker-pro", "quote": quote}, door)
        assert stolen.plain_text() == "There is no such change waiting; ask again for a preview."
    await her_code_and_token_are_not_his(demo_portal, preview, intruder=ALICE)
    assert (await state(demo_portal, BOB, "sprite-club")).status == "canceled"
    assert await charges(demo_portal, ALICE, "resubscribe") == []
    assert await charges(demo_portal, BOB, "resubscribe") == []
