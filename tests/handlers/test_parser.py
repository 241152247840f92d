"""The shared parser: a line becomes one Invocation, quoted words stay together, card numbers
leave nothing behind."""

from __future__ import annotations

import pytest

from handlers import commands as _commands  # noqa: F401 - registers every command
from handlers.parser import CARD_PLACEHOLDER, Invocation, split_words
from handlers.registry import REGISTRY


def test_a_line_becomes_word_text_and_words() -> None:
    invocation = Invocation.parse("  /shop Product   Pixel  Studio ")
    assert (invocation.word, invocation.text, invocation.line) == ("product", "Pixel Studio", "Product Pixel Studio")
    assert invocation.words == ("Pixel", "Studio") and not invocation.card
    assert invocation.shown == "Product Pixel Studio"
    assert Invocation.parse("!orders").word == "orders"


def test_an_empty_line_names_no_command() -> None:
    assert Invocation.parse("   ").word == ""
    assert Invocation.parse("/").word == "" and Invocation.parse("/").shown == "/"


@pytest.mark.parametrize(("text", "words"), [
    ('"last quarter"', ("last quarter",)),
    ('"Pixel Studio" bob@example.com', ("Pixel Studio", "bob@example.com")),
    ('a"b c"d', ("ab cd",)),
    ('5" screen', ('5"', "screen")),  # a quote left open is an ordinary character
    ('"Pro" 5" screen', ("Pro", '5"', "screen")),
    ("The Indie Maker's Handbook", ("The", "Indie", "Maker's", "Handbook")),  # apostrophes group nothing
    ("C:\\path\\file", ("C:\\path\\file",)),
    ("", ()),
])
def test_double_quotes_make_one_word(text: str, words: tuple[str, ...]) -> None:
    assert split_words(text) == words


def test_a_card_line_keeps_nothing_of_the_number() -> None:
    refused = Invocation.parse("product 4242 4242 4242 4242")
    assert refused.card and refused.word == "product"  # still says which command was refused
    assert refused.shown == CARD_PLACEHOLDER
    assert "4242" not in repr(refused) and "4242" not in refused.line + refused.text
    bare = Invocation.parse("4111111111111111")
    assert bare.card and bare.word == "" and "4111" not in repr(bare)
    assert not Invocation.parse("verify 123456").card


def test_the_command_is_resolved_for_one_front_door() -> None:
    login = REGISTRY.invocation("login alice@example.com", "console")
    assert login.command is not None and login.command.name == "login"
    assert REGISTRY.invocation("login alice@example.com", "email").command is None  # not offered by email
    assert REGISTRY.invocation("show 3", "email").command is REGISTRY.get("product")  # aliases too
    assert REGISTRY.invocation("nonsense", "email").command is None


def test_mentions_replaced_keep_the_command() -> None:
    invocation = REGISTRY.invocation("/shop Help  <@U1>", "slack")
    replaced = invocation.with_text("bob@example.com")
    assert replaced.command is not None and replaced.command is invocation.command
    assert replaced.line == "Help bob@example.com" and replaced.words == ("bob@example.com",)


def test_control_characters_never_reach_a_command() -> None:
    invocation = Invocation.parse("login carol\x00@example.com\x07")
    assert invocation.word == "login" and invocation.text == "carol@example.com"
