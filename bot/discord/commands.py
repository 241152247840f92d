"""Slash commands generated from the handler registry: one top-level command, a subcommand per
command, and subcommand groups by capability for the largest capabilities once the commands
outgrow Discord's 25 options.

Options come from each command's pydantic arguments, descriptions from its help text, and
autocomplete from fields marked with a suggestion source. Nothing here names a command.
"""

from __future__ import annotations

import inspect
import re
import sys
import types
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

import discord
from discord import app_commands
from pydantic.fields import FieldInfo

from handlers.registry import Command

NAME = re.compile(r"[^a-z0-9_-]")
DESCRIPTION_LIMIT = 100
OPTION_LIMIT = 25  # Discord: options under a command, and subcommands in a group
# What customers call a capability when its commands become a subcommand group. A name never
# equals a command name or alias (sign_in's "account" is whoami's alias, licenses and
# subscriptions are command names); capabilities not listed fall back to their own name.
GROUP_NAMES = {
    "sign_in": "my-account",
    "orders": "purchases",
    "documents": "documents",
    "confirm": "requests",
    "licenses": "license-keys",
    "seats": "team-seats",
    "subscriptions": "memberships",
    "billing": "billing-details",
}

# The ways in that invite emails and help texts name (`/shop login`) stay direct however many
# commands there are.
DIRECT = frozenset({"sign_in", "help"})

Run = Callable[[discord.Interaction, Command, dict[str, Any]], Awaitable[None]]
Suggest = Callable[[discord.Interaction, str, str], Awaitable[list[tuple[str, str]]]]


def option_name(field: str) -> str:
    return NAME.sub("", field.lower())[:32] or "value"


def _short(text: str | None, fallback: str) -> str:
    text = (text or fallback).strip().rstrip(".").rstrip()
    return text if len(text) <= DESCRIPTION_LIMIT else text[: DESCRIPTION_LIMIT - 1] + "…"


def _option_type(info: FieldInfo) -> tuple[type, list[app_commands.Choice[Any]] | None, bool]:
    """(Python type discord.py maps to an option type, fixed choices, optional)."""
    annotation = info.annotation
    optional = False
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(members) < len(typing.get_args(annotation))
        annotation = members[0] if len(members) == 1 else str
    if typing.get_origin(annotation) is Literal:
        values = typing.get_args(annotation)
        return str, [app_commands.Choice(name=str(v), value=str(v)) for v in values], optional
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return str, [app_commands.Choice(name=str(m.value), value=str(m.value)) for m in annotation], optional
    if annotation in (int, float, bool):
        return annotation, None, optional  # type: ignore[return-value]
    return str, None, optional


def subcommand(command: Command, run: Run, suggest: Suggest) -> app_commands.Command[Any, ..., Any]:
    parameters = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                    annotation=discord.Interaction)]
    descriptions: dict[str, str] = {}
    names: dict[str, str] = {}
    choices: dict[str, list[app_commands.Choice[Any]]] = {}
    sources: dict[str, str] = {}
    for field, info in command.arguments.given_fields().items():
        name = option_name(field)
        names[name] = field
        kind, field_choices, optional = _option_type(info)
        if field_choices:
            choices[name] = field_choices
        required = info.is_required() and not optional
        parameters.append(inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY,
            annotation=kind if required else kind | None,
            default=inspect.Parameter.empty if required else None))
        descriptions[name] = _short(info.description, field.replace("_", " "))
        extra = info.json_schema_extra
        if isinstance(extra, dict) and isinstance(extra.get("suggest"), str):
            sources[name] = str(extra["suggest"])

    async def callback(interaction: discord.Interaction, **options: Any) -> None:
        values = {names[k]: v for k, v in options.items() if v is not None}
        await run(interaction, command, values)

    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    callback.__discord_app_commands_param_description__ = descriptions  # type: ignore[attr-defined]
    callback.__qualname__ = callback.__name__ = f"shop_{option_name(command.name)}"
    generated = app_commands.Command(name=option_name(command.name),
                                     description=_short(command.summary, command.name), callback=callback)
    for name, values in choices.items():
        generated._params[name].choices = values
    for name, source in sources.items():
        generated.autocomplete(name)(_completer(source, suggest))
    return generated


def _completer(source: str, suggest: Suggest) -> Callable[..., Awaitable[list[app_commands.Choice[str]]]]:
    async def complete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=label[:100], value=value[:100])
                for label, value in await suggest(interaction, source, current)]

    return complete


class CommandLayoutError(RuntimeError):
    """The commands cannot all have a place under one Discord command, even grouped."""


@dataclass(frozen=True)
class Section:
    """One capability's commands as a subcommand group: `/shop <name> <command>`."""

    name: str
    description: str
    commands: tuple[Command, ...]


def arrange(commands: list[Command]) -> list[Command | Section]:
    """The options under the top-level command, in registry order.

    Flat while every command fits, so the names customers know stay put. Past that, the
    capabilities with the most commands become groups, one at a time, until everything fits:
    as few commands as possible move (`/shop login`, which invite emails name, stays while it can).
    """
    if len(commands) <= OPTION_LIMIT:
        return list(commands)
    by_capability: dict[str, list[Command]] = {}
    for command in commands:
        by_capability.setdefault(command.capability, []).append(command)
    grouped: set[str] = set()
    options = len(commands)
    # Largest first; among equals, the later in the registry (the newer) moves first.
    order = sorted((c for c, members in by_capability.items() if len(members) > 1 and c not in DIRECT),
                   key=lambda c: (len(by_capability[c]), list(by_capability).index(c)), reverse=True)
    for capability in order:
        if options <= OPTION_LIMIT:
            break
        grouped.add(capability)
        options -= len(by_capability[capability]) - 1
    taken = {option_name(word) for command in commands for word in (command.name, *command.aliases)}
    layout: list[Command | Section] = []
    for capability, members in by_capability.items():
        if capability not in grouped:
            layout.extend(members)
            continue
        name = _group_name(capability, taken)
        taken.add(name)
        layout.append(Section(name, _capability_description(capability, members[0]), tuple(members)))
    _check_fits(layout, len(commands))
    return layout


def _group_name(capability: str, taken: set[str]) -> str:
    derived = option_name(capability.replace("_", "-"))
    candidates = [GROUP_NAMES[capability]] if capability in GROUP_NAMES else []
    candidates += [derived, option_name(f"my-{derived}")]
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    raise CommandLayoutError(
        f"no Discord group name for the {capability!r} commands: {', '.join(map(repr, candidates))} "
        "are all command names, aliases or other groups; add one to GROUP_NAMES in bot/discord/commands.py")


def _capability_description(capability: str, command: Command) -> str:
    """The first line of the handler module's docstring, else the capability in words."""
    module = sys.modules.get(command.run.__module__)
    doc = inspect.getdoc(module) if module is not None else None
    first_line = doc.strip().splitlines()[0] if doc and doc.strip() else None
    return _short(first_line, capability.replace("_", " ").capitalize())


def _check_fits(layout: list[Command | Section], total: int) -> None:
    problems = [f"the {item.name!r} group ({item.commands[0].capability}) has {len(item.commands)} "
                f"commands, over Discord's {OPTION_LIMIT} per group"
                for item in layout if isinstance(item, Section) and len(item.commands) > OPTION_LIMIT]
    if len(layout) > OPTION_LIMIT:
        groups = sum(isinstance(item, Section) for item in layout)
        problems.insert(0, f"grouped by capability, the {total} commands still need {len(layout)} options "
                           f"({groups} groups and {len(layout) - groups} single commands), over Discord's "
                           f"{OPTION_LIMIT} under one command")
    if problems:
        raise CommandLayoutError("Discord cannot hold every command: " + "; ".join(problems)
                              + ". Merge small capabilities or offer fewer commands on Discord.")


def build_group(name: str, commands: list[Command], run: Run, suggest: Suggest) -> app_commands.Group:
    """The top-level slash command holding every command; CommandLayoutError if some have no place."""
    group = app_commands.Group(name=option_name(name),
                               description="Your orders, subscriptions, downloads, licenses and invoices")
    for item in arrange(commands):
        if isinstance(item, Section):
            section = app_commands.Group(name=item.name, description=item.description)
            for command in item.commands:
                section.add_command(subcommand(command, run, suggest))
            group.add_command(section)
        else:
            group.add_command(subcommand(item, run, suggest))
    return group
