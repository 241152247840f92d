"""The one free-text parser every front door shares: a line becomes a command word and its text."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Invocation:
    word: str  # the command word, lower-cased
    text: str  # the rest, case kept
    line: str  # the whole line, tidied


def parse_line(line: str) -> Invocation | None:
    tidy = " ".join(line.split())
    # People type "/shop orders" or "!orders" out of chat habit.
    tidy = re.sub(r"^[/!]\S*\s+(?=\S)", "", tidy) if tidy.startswith(("/shop", "!shop")) else tidy
    tidy = tidy.lstrip("/!").strip()
    if not tidy:
        return None
    word, _, rest = tidy.partition(" ")
    return Invocation(word=word.lower(), text=rest, line=tidy)


MENTION = re.compile(r"<@!?([A-Z0-9]+)(?:\|[^>]*)?>")


def mentioned_users(text: str) -> list[str]:
    """Chat mentions (`<@U123>` as Slack and Discord send them) in the order they appear."""
    return MENTION.findall(text)


def replace_mentions(text: str, emails: dict[str, str]) -> str:
    """Put each resolved member's email where they were mentioned; unknown mentions stay."""
    return MENTION.sub(lambda m: emails.get(m.group(1), m.group(0)), text)
