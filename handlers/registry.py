"""The command registry: every command, declared once, for every front door."""

from __future__ import annotations

import difflib
import inspect
import typing
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo

from handlers.parser import Invocation, split_words
from handlers.reply import Reply

if typing.TYPE_CHECKING:
    from handlers.context import Context


WHERE = {"console": "in the console", "discord": "in Discord", "slack": "in Slack", "email": "by email"}


class Access(StrEnum):
    ANYONE = "anyone"  # help, login, verify
    CUSTOMER = "customer"  # needs a signed-in customer


class Arguments(BaseModel):
    """Base for command arguments. Fields are filled in order from free text; the last text
    field takes the rest of the line, so names with spaces need no quotes (double quotes make
    several words one where a field is not the last)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @classmethod
    def given_fields(cls) -> dict[str, FieldInfo]:
        """The fields a person gives (free text, chat options, the usage line): all but those
        only a stored confirmation fills (`confirmation_field`)."""
        return {name: info for name, info in cls.model_fields.items()
                if not (isinstance(info.json_schema_extra, dict)
                        and info.json_schema_extra.get(CONFIRMATION_ONLY))}


CONFIRMATION_ONLY = "confirmation_only"


def confirmation_field(description: str) -> Any:
    """An argument the command's own confirmation keeps (the quote it previewed), never typed:
    no door asks for it, free text never fills it, help does not list it."""
    return Field(default=None, description=description, json_schema_extra={CONFIRMATION_ONLY: True})


class NoArguments(Arguments):
    pass


Handler = Callable[["Context", Any], Awaitable[Reply]]


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    run: Handler
    arguments: type[Arguments]
    aliases: tuple[str, ...] = ()
    access: Access = Access.CUSTOMER
    mutates: bool = False
    # Asks for its own confirmation, with a preview of what it will change, and changes nothing
    # until confirmed: a door that needs a round trip for every change (unverified email) lets
    # it ask, so what is confirmed is what the preview showed (the devices, not their numbers).
    previews: bool = False
    # Answers from what is stored and writes nothing, so the dispatcher may run it in a
    # transaction shared with other reads (a burst of email is answered many to a commit).
    reads_only: bool = False
    slow: bool = False  # may take over a second (PDFs): chat front doors defer first
    examples: tuple[str, ...] = ()
    details: str | None = None
    platforms: tuple[str, ...] | None = None  # None: every front door
    # What a front door that does not offer it says instead ("by email you need no sign-in");
    # None: the dispatcher names the doors where it works.
    elsewhere: str | None = None
    # What customers do with it: the handler's module (orders, documents, sign_in, ...).
    # Front doors that group commands (Discord's subcommand groups) group by it.
    capability: str = ""
    # Saves a form (handlers/forms.py) rather than being typed: the line that opens the form
    # ("billing edit"). Such a command is listed nowhere and no typed line runs it; its
    # arguments are the form's fields, each titled with its label.
    form: str | None = None

    def __post_init__(self) -> None:
        if self.mutates and self.reads_only:
            raise ValueError(f"{self.name}: a command that changes things does not only read")
        if self.previews and not self.mutates:
            raise ValueError(f"{self.name}: only a command that changes things asks to confirm")

    def offered_on(self, platform: str) -> bool:
        return self.platforms is None or platform in self.platforms

    def not_here(self) -> str:
        """What a door that does not offer the command says of it."""
        if self.elsewhere:
            return self.elsewhere
        doors = [WHERE.get(door, f"in {door}") for door in self.platforms or ()]
        listed = doors[0] if len(doors) == 1 else f"{', '.join(doors[:-1])} or {doors[-1]}"
        return f"`{self.name}` works only {listed}."

    @property
    def usage(self) -> str:
        parts = [self.name]
        for name, info in self.arguments.given_fields().items():
            parts.append(f"<{name}>" if info.is_required() else f"[{name}]")
        return " ".join(parts)

    def parse_arguments(self, raw: str | Sequence[str] | dict[str, Any]) -> Arguments:
        """Validate arguments given as free text, as its words, or as named values (chat options)."""
        if isinstance(raw, dict):
            return self.arguments.model_validate(raw)
        words = split_words(raw) if isinstance(raw, str) else raw
        return self.arguments.model_validate(positional(self.arguments, words))


def positional(model: type[Arguments], given: Sequence[str]) -> dict[str, str]:
    names = list(model.given_fields())
    words = list(given)
    if not names:
        if words:
            raise ValidationError.from_exception_data(
                model.__name__, [{"type": "extra_forbidden", "loc": (words[0],), "input": " ".join(words)}]
            )
        return {}
    values: dict[str, str] = {}
    for index, name in enumerate(names):
        if not words:
            break
        if index == len(names) - 1:
            values[name] = " ".join(words)
            words = []
        else:
            values[name] = words.pop(0)
    return values


class Registry:
    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}
        self._aliases: dict[str, str] = {}

    def add(self, command: Command) -> Command:
        for word in (command.name, *command.aliases):
            if word in self._commands or word in self._aliases:
                raise ValueError(f"command word {word!r} is taken")
        self._commands[command.name] = command
        self._aliases.update({alias: command.name for alias in command.aliases})
        return command

    def get(self, word: str) -> Command | None:
        """The command a typed word names (a form's command is never typed)."""
        word = word.lower()
        command = self._commands.get(self._aliases.get(word, word))
        return command if command is not None and command.form is None else None

    def named(self, name: str) -> Command | None:
        """Any command by its own name: what a stored confirmation or a form sent back runs."""
        return self._commands.get(name)

    def opens_form(self, command: Command) -> bool:
        """Whether the command may answer with a form: some form is opened by a line of it."""
        return any(c.form is not None and c.form.split()[0] == command.name for c in self._commands.values())

    def offered(self, word: str, platform: str) -> Command | None:
        """The command a word names on a front door, if that door offers it."""
        command = self.get(word)
        return command if command is not None and command.offered_on(platform) else None

    def invocation(self, line: str, platform: str) -> Invocation:
        """A line parsed once and its command resolved for `platform`."""
        parsed = Invocation.parse(line)
        return parsed.resolved(self.offered(parsed.word, platform) if parsed.word else None)

    def commands(self, platform: str | None = None) -> list[Command]:
        return [c for c in self._commands.values()
                if c.form is None and (platform is None or c.offered_on(platform))]

    def suggestions(self, word: str, platform: str | None = None) -> list[str]:
        words: dict[str, str] = {}
        for command in self.commands(platform):
            for candidate in (command.name, *command.aliases):
                words[candidate] = command.name
        close = difflib.get_close_matches(word.lower(), list(words), n=3, cutoff=0.6)
        return list(dict.fromkeys(words[w] for w in close))


REGISTRY = Registry()


def command(name: str, *, summary: str, aliases: tuple[str, ...] = (),
            access: Access = Access.CUSTOMER, mutates: bool = False, reads_only: bool = False,
            previews: bool = False, slow: bool = False,
            examples: tuple[str, ...] = (), platforms: tuple[str, ...] | None = None,
            elsewhere: str | None = None, form: str | None = None,
            registry: Registry = REGISTRY) -> Callable[[Handler], Handler]:
    """Register a handler `async def run(ctx: Context, args: SomeArguments) -> Reply`."""

    def register(function: Handler) -> Handler:
        hints = typing.get_type_hints(function)
        params = list(inspect.signature(function).parameters)
        arguments = hints.get(params[1]) if len(params) > 1 else NoArguments
        if not (isinstance(arguments, type) and issubclass(arguments, Arguments)):
            raise TypeError(f"{name}: the second parameter must be typed with an Arguments model")
        registry.add(Command(
            name=name, summary=summary, run=function, arguments=arguments, aliases=aliases,
            access=access, mutates=mutates, previews=previews, reads_only=reads_only, slow=slow,
            examples=examples,
            details=inspect.cleandoc(function.__doc__) if function.__doc__ else None,
            platforms=platforms, elsewhere=elsewhere, capability=function.__module__.rpartition(".")[2],
            form=form,
        ))
        return function

    return register
