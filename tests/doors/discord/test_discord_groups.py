"""Every command has a place under /shop: flat while 25 fit, then the largest capabilities grouped
until everything fits, the ways in (login, help) always direct."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import Field

from bot.discord.commands import DIRECT, OPTION_LIMIT, CommandLayoutError
from bot.discord.door import DiscordDoor
from core.kernel.portal import Portal
from core.mail import notifications
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


class PickArguments(Arguments):
    product: str = Field(description="a product", json_schema_extra={"suggest": "products"})


def _register_pick() -> None:
    @command("pick", summary="Pick a product", access=Access.ANYONE)
    async def pick(ctx: Context, args: PickArguments) -> Reply:
        return Reply.text(f"picked {args.product}")


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


def sizes() -> Counter[str]:
    """Commands per capability on Discord."""
    return Counter(c.capability for c in REGISTRY.commands("discord"))


def past_the_limit() -> int:
    """How many echoes take the commands past 25 and make this module's capability the largest."""
    largest = max(n for capability, n in sizes().items() if capability not in DIRECT)
    return max(OPTION_LIMIT + 1 - len(offered_names()), largest + 1)


@pytest.fixture
def echoes() -> Iterator[list[str]]:
    """Past 25 commands, this module's capability the largest: echoes and a command to pick a
    product with."""
    with throwaway_commands():
        names = register_echoes(past_the_limit() - 1)
        _register_pick()
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


async def test_past_25_the_largest_capability_is_a_group_and_the_rest_stay_put(grouped: Bot) -> None:
    assert_each_command_once(grouped)
    options = top_level(grouped)
    groups = {name for name, option in options.items() if option["type"] == 2}
    assert groups == {OWN_GROUP}, "one group is enough to fit"
    assert grouped.path("echo0") == f"{OWN_GROUP} echo0" and grouped.path("pick") == f"{OWN_GROUP} pick"
    assert grouped.path("orders") == "orders" and grouped.path("login") == "login"
    words = {word for c in REGISTRY.commands() for word in (c.name, *c.aliases)}
    assert not groups & words, "a group name never reads like a command"


async def test_however_crowded_login_and_help_stay_direct_and_larger_capabilities_move_first(
        demo_portal: Portal) -> None:
    with throwaway_commands():
        register_echoes(2)
        register_loners(OPTION_LIMIT - len(offered_names()) + 2)
        async with connected(demo_portal) as bot:
            assert_each_command_once(bot)
            options = top_level(bot)
            paths = synced_paths(bot.fake)
        size = sizes()
        grouped = {c.capability for c in REGISTRY.commands("discord")
                   if any(p.endswith(f" {c.name}") for p in paths)}
    assert len(options) <= OPTION_LIMIT
    assert "login" in paths and "help" in paths
    assert grouped and not grouped & DIRECT
    left = [size[c] for c in size if c not in grouped and c not in DIRECT and size[c] > 1]
    assert min(size[c] for c in grouped) >= max(left, default=0), "the largest moved first"


async def test_a_grouped_subcommand_runs_its_command_and_answers(grouped: Bot, echoes: list[str]) -> None:
    answer = await grouped.slash(f"{OWN_GROUP} {echoes[-1]}", words="hello")
    assert f"{echoes[-1]} heard hello" in text_of(answer)
    welcome = await sign_in(grouped)
    assert "Signed in as alice@example.com" in text_of(welcome)
    orders = await grouped.slash("orders")
    assert "Pixel Studio Pro" in text_of(orders)


async def test_autocomplete_works_inside_a_group(grouped: Bot) -> None:
    await sign_in(grouped, "bob@example.com")
    delivery = await deliver_interaction(grouped.door.client, grouped.fake, autocomplete_payload(
        "shop", f"{OWN_GROUP} pick", focused="product", value=""))
    await delivery.finished()
    [callback] = grouped.fake.interaction_responses(delivery.id)
    assert callback.json is not None and callback.json["type"] == 8
    assert [c["name"] for c in callback.json["data"]["choices"]] == ["1. The Indie Maker's Handbook", "2. Tileset Forge Teams"]


async def test_a_group_takes_another_name_when_a_command_has_its_word(demo_portal: Portal) -> None:
    with throwaway_commands():
        register_echoes(past_the_limit())

        @command("recent", summary="Recent purchases", aliases=(OWN_GROUP,))
        async def recent(ctx: Context, args: NoArguments) -> Reply:
            return Reply.text("recent")

        async with connected(demo_portal) as bot:
            assert bot.path("echo0") == f"my-{OWN_GROUP} echo0"
            assert_each_command_once(bot)


def register_echoes_taking_every_name_of_their_group() -> None:
    register_echoes(past_the_limit())
    REGISTRY.add(Command(name=f"my-{OWN_GROUP}", summary="Taken", run=_nothing, arguments=NoArguments,
                         aliases=(OWN_GROUP,), capability="taken"))


@pytest.mark.parametrize(("crowd", "problem"), [
    (lambda: register_loners(OPTION_LIMIT), r"grouped by capability, the \d+ commands still need \d+ options"),
    (lambda: register_echoes(26), rf"the '{OWN_GROUP}' group \(test_discord_groups\) has 26 commands"),
    (register_echoes_taking_every_name_of_their_group,
     r"no Discord group name for the 'test_discord_groups' commands"),
])
async def test_commands_that_cannot_fit_stop_the_start(demo_portal: Portal, crowd: object,
                                                       problem: str) -> None:
    with throwaway_commands():
        assert callable(crowd)
        crowd()
        with pytest.raises(CommandLayoutError, match=problem):
            DiscordDoor(demo_portal)


async def test_the_discord_way_in_that_invite_emails_name_is_the_synced_command(
        demo_portal: Portal) -> None:
    async with connected(demo_portal) as bot:
        path = bot.path("login")
        portal = bot.door.portal
    said = " ".join(notifications.ways_in(portal))
    assert f"type /{portal.settings.discord_command} {path} in the store's server" in said
