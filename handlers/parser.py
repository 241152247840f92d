"""The one free-text parser every front door shares: a line becomes an Invocation, once."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from core.kernel.cards import looks_like_card_number
from core.kernel.validation import without_controls

if TYPE_CHECKING:
    from handlers.registry import Command

# What a reply repeats instead of a line that looks like a card number.
CARD_PLACEHOLDER = "(a line that looks like a card number; not read. Send `payment` to add a card)"
# Stands in for a quote left open while shlex splits, which would refuse it.
_OPEN_QUOTE = "\ue000"


@dataclass(frozen=True)
class Submission:
    """A form sent back: its token and what was filled in, field by field."""

    token: str
    values: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Invocation:
    """One line, parsed once: every later step (routing, transactions, replies) reads this."""

    word: str  # the command word, lower-cased
    text: str  # the rest, case kept
    words: tuple[str, ...]  # the rest as argument words; "last quarter" in double quotes is one
    line: str  # the whole line, tidied
    card: bool = False  # looks like a card number: refused, and nothing of it is kept
    command: Command | None = field(default=None, repr=False)  # resolved for one front door
    form: Submission | None = None  # a form sent back: run with its values instead of words

    @classmethod
    def parse(cls, line: str) -> Invocation:
        card = looks_like_card_number(line)
        line = without_controls(line)  # nothing a person types; PostgreSQL refuses NUL
        tidy = " ".join(line.split())
        # People type "/shop orders" or "!orders" out of chat habit.
        tidy = re.sub(r"^[/!]\S*\s+(?=\S)", "", tidy) if tidy.startswith(("/shop", "!shop")) else tidy
        tidy = tidy.lstrip("/!").strip()
        typed, _, rest = tidy.partition(" ")
        word = typed.lower()
        if card:
            # The word still says which command was refused, unless it is part of the number.
            return cls(word="" if any(c.isdigit() for c in word) else word, text="", words=(),
                       line="", card=True)
        # A line of only "/" or "!" names no command; it is still shown as it was sent.
        return cls(word=word, text=rest, words=split_words(rest), line=tidy or " ".join(line.split()))

    @property
    def shown(self) -> str:
        """The line as a reply may repeat it: card numbers never travel back."""
        return CARD_PLACEHOLDER if self.card else self.line

    def resolved(self, command: Command | None) -> Invocation:
        return replace(self, command=command)

    def with_text(self, text: str) -> Invocation:
        """The same command with other argument text (chat mentions replaced by emails)."""
        typed = self.line[:len(self.line) - len(self.text)].rstrip()
        return replace(self, text=text, words=split_words(text), line=f"{typed} {text}".strip())


def split_words(text: str) -> tuple[str, ...]:
    """Argument words, split the way a shell would, but only double quotes group words and a
    quote left open is an ordinary character (apostrophes and `5" screen` are common in names)."""
    if '"' not in text:
        return tuple(text.split())
    if text.count('"') % 2:
        # Quotes pair up in order, so the last one is the one left open.
        at = text.rindex('"')
        text = f"{text[:at]}{_OPEN_QUOTE}{text[at + 1:]}"
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    lexer.quotes = '"'
    lexer.escape = ""
    lexer.commenters = ""
    return tuple(word.replace(_OPEN_QUOTE, '"') for word in lexer)


MENTION = re.compile(r"<@!?([A-Z0-9]+)(?:\|[^>]*)?>")


def mentioned_users(text: str) -> list[str]:
    """Chat mentions (`<@U123>` as Slack and Discord send them) in the order they appear."""
    return MENTION.findall(text)


def replace_mentions(text: str, emails: dict[str, str]) -> str:
    """Put each resolved member's email where they were mentioned; unknown mentions stay."""
    return MENTION.sub(lambda m: emails.get(m.group(1), m.group(0)), text)
