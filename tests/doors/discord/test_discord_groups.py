"""Every command has a place under /shop: flat while 25 fit, then grouped by capability."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import Field

from bot.discord.commands import CommandLayoutError
from bot.discord.door import DiscordDoor
from core.kernel.portal import Portal
from handlers.context import Context
from handlers.registry import REGISTRY, Access, Arguments, Command, NoArguments, command
from handlers.reply import Reply
from tests.doors.discord.test_discord_door import Bot, connected, sign_in, synced_paths, text_of
from tests.fakes.discord_api import DEFAULT_GUILD_ID
from tests.fakes.discord_gateway import autocomplete_payload, deliver_interaction
from tests.helpers import throwaway_commands

OWN_GROUP = "test-discord-groups"  # this module's commands share its capability


class EchoArguments(Arguments):
    words: str = Field(description="what to say back", min_length=1)


def register_echoes(count: int) -> list[str]:
    """Commands in this module's capability, each saying back what it was given."""
    names = [f"echo{index}" for index in range(count)]
    for name in names:
        _register_echo(name)
    return names


def _register_echo(name: str) -> None:
    @command(name, summary=f"Say the words back ({name})", access=Access.ANYONE)
    async def echo(ctx: Context, args: EchoArguments) -> Reply:
        return Reply.text(f"{name} heard {args.words}")


async def _nothing(ctx: Context, args: NoArguments) -> Reply:
    return Reply.text("nothing")


def register_loners(count: int) -> None:
    """Commands that each have a capability of their own, so grouping cannot fold them."""
    for index in range(count):
        REGISTRY.add(Command(name=f"loner{index}", summary="A command alone in its capability",
                             run=_nothing, arguments=NoArguments, capability=f"loner_{index}"))


def offered_names() -> list[str]:
    return [c.name for c in REGISTRY.commands("discord")]


def assert_each_command_once(bot: Bot) -> None:
    synced = Counter(path.split()[-1] for path in synced_paths(bot.fake))
    missing = set(offered_names()) - set(synced)
    assert not missing, f"offered on Discord but not synced: {sorted(missing)}"
    assert set(synced) == set(offered_names()), "nothing synced that is not a command"
    assert max(synced.values()) == 1, f"synced more than once: {synced.most_common(3)}"


def top_level(bot: Bot) -> dict[str, dict[str, object]]:
    [shop] = bot.fake.commands(guild_id=DEFAULT_GUILD_ID)
    return {option["name"]: option for option in shop["options"]}


@pytest.fixture
def echoes() -> Iterator[list[str]]:
    """Past 25 commands: 15 from the registry and 11 here."""
    with throwaway_commands():
        names = register_echoes(26 - len(offered_names()))
        yield names


@pytest.fixture
async def grouped(demo_portal: Portal, echoes: list[str]) -> AsyncIterator[Bot]:
    async with connected(demo_portal) as bot:
        yield bot


async def test_every_discord_command_is_synced(demo_portal: Portal) -> None:
    async with connected(demo_portal) as bot:
        assert_each_command_once(bot)


async def test_up_to_25_commands_stay_flat_under_their_own_names(demo_portal: Portal) -> None:
    with throwaway_commands():
        register_echoes(25 - len(offered_names()))
        async with connected(demo_portal) as bot:
            assert synced_paths(bot.fake) == offered_names()
            assert {option["type"] for option in top_level(bot).values()} == {1}
            assert "echo0" in (await bot.slash("echo0", words="flat"))["embeds"][0]["description"]


async def test_past_25_each_capability_with_several_commands_is_a_group(grouped: Bot) -> None:
    assert_each_command_once(grouped)
    options = top_level(grouped)
    groups = {name for name, option in options.items() if option["type"] == 2}
    assert groups == {"my-account", "purchases", "documents", "requests", OWN_GROUP}
    assert {name for name, option in options.items() if option["type"] == 1} == {"invite", "help", "overview", "payment"}
    assert grouped.path("orders") == "purchases orders" and grouped.path("login") == "my-account login"
    assert str(options["purchases"]["description"]).startswith("What the customer owns")
    words = {word for c in REGISTRY.commands() for word in (c.name, *c.aliases)}
    assert not groups & words, "a group name never reads like a command"


async def test_a_grouped_subcommand_runs_its_command_and_answers(grouped: Bot, echoes: list[str]) -> None:
    answer = await grouped.slash(f"{OWN_GROUP} {echoes[3]}", words="hello")
    assert f"{echoes[3]} heard hello" in text_of(answer)
    welcome = await sign_in(grouped)
    assert "Signed in as alice@example.com" in text_of(welcome)
    orders = await grouped.slash("purchases orders")
    assert "Pixel Studio Pro" in text_of(orders)


async def test_autocomplete_works_inside_a_group(grouped: Bot) -> None:
    await sign_in(grouped, "bob@example.com")
    delivery = await deliver_interaction(grouped.door.client, grouped.fake, autocomplete_payload(
        "shop", "purchases product", focused="product", value=""))
    await delivery.finished()
    [callback] = grouped.fake.interaction_responses(delivery.id)
    assert callback.json is not None and callback.json["type"] == 8
    assert [c["name"] for c in callback.json["data"]["choices"]] == ["1. The Indie Maker's Handbook", "2. Sprite Club",
                                                                         "3. Tileset Forge Teams"]


async def test_a_group_takes_another_name_when_a_command_has_its_word(demo_portal: Portal) -> None:
    with throwaway_commands():
        register_echoes(26 - len(offered_names()))

        @command("recent", summary="Recent purchases", aliases=("purchases",))
        async def recent(ctx: Context, args: NoArguments) -> Reply:
            return Reply.text("recent")

        async with connected(demo_portal) as bot:
            assert bot.path("orders") == "my-orders orders"
            assert_each_command_once(bot)


def register_echoes_taking_every_orders_word() -> None:
    register_echoes(25 - len(offered_names()))
    REGISTRY.add(Command(name="my-orders", summary="Taken", run=_nothing, arguments=NoArguments,
                         aliases=("purchases",), capability="taken"))


@pytest.mark.parametrize(("crowd", "problem"), [
    (lambda: register_loners(18), r"need 26 options \(4 groups and 22 single commands\)"),
    (lambda: register_echoes(26), rf"the '{OWN_GROUP}' group \(test_discord_groups\) has 26 commands"),
    (register_echoes_taking_every_orders_word, r"no Discord group name for the 'orders' commands"),
])
async def test_commands_that_cannot_fit_stop_the_start(demo_portal: Portal, crowd: object,
                                                       problem: str) -> None:
    with throwaway_commands():
        assert callable(crowd)
        crowd()
        with pytest.raises(CommandLayoutError, match=problem):
            DiscordDoor(demo_portal)
