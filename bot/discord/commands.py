"""Slash commands generated from the handler registry: one group, a subcommand per command.

Options come from each command's pydantic arguments, descriptions from its help text, and
autocomplete from fields marked with a suggestion source. Nothing here names a command.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any, Literal

import discord
from discord import app_commands
from pydantic.fields import FieldInfo

from handlers.registry import Command

NAME = re.compile(r"[^a-z0-9_-]")
DESCRIPTION_LIMIT = 100

Run = Callable[[discord.Interaction, Command, dict[str, Any]], Awaitable[None]]
Suggest = Callable[[discord.Interaction, str, str], Awaitable[list[tuple[str, str]]]]


def option_name(field: str) -> str:
    return NAME.sub("", field.lower())[:32] or "value"


def _short(text: str | None, fallback: str) -> str:
    text = (text or fallback).strip().rstrip(".")
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
    for field, info in command.arguments.model_fields.items():
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


def build_group(name: str, commands: list[Command], run: Run, suggest: Suggest) -> app_commands.Group:
    group = app_commands.Group(name=option_name(name),
                               description="Your orders, downloads, licenses and invoices")
    for command in commands[:25]:  # Discord allows 25 subcommands in a group
        group.add_command(subcommand(command, run, suggest))
    return group
