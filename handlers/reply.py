"""Reply: what a command answers, as data. Each front door renders it in its own idiom."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime


@dataclass(frozen=True)
class Field:
    name: str
    value: str
    inline: bool = True


@dataclass(frozen=True)
class Choice:
    """A follow-up the customer can pick: a button in chat, a line to send by email."""

    label: str
    command: str


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[str]]
    title: str | None = None
    numeric: tuple[int, ...] = ()  # columns of amounts and counts, aligned right where text is aligned
    # What can be done to each row, in row order (None: nothing for that row): a button on the
    # row in chat, the line to send back by email. Empty: a table to read only.
    actions: tuple[Choice | None, ...] = ()

    def __post_init__(self) -> None:
        if self.actions and len(self.actions) != len(self.rows):
            raise ValueError("a table's actions go one to a row")

    def acted_on(self) -> list[tuple[list[str], Choice]]:
        """(row, its action) for the rows that have one."""
        return [(row, action) for row, action in zip(self.rows, self.actions, strict=False)
                if action is not None]


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Attachment:
    filename: str
    mime_type: str
    data: bytes


CONFIRM_COMMAND, CANCEL_COMMAND = "confirm", "cancel-request"


def answer_line(token_or_code: str, *, accept: bool) -> str:
    """The command a confirmation's answer stands for: a button click, a reply to the request's
    one-time address, a y/N prompt. Every front door turns its answer into this line."""
    return f"{CONFIRM_COMMAND if accept else CANCEL_COMMAND} {token_or_code}"


@dataclass(frozen=True)
class Confirmation:
    summary: str
    token: str  # signed pending-action token, for buttons and reply-to addresses
    code: str  # what the customer types: `confirm <code>`
    expires_at: datetime
    confirm_label: str = "Confirm"
    cancel_label: str = "Cancel"

    @property
    def typed(self) -> str:
        """What a person types to go ahead."""
        return answer_line(self.code, accept=True)


TEXT, LINES, EMAIL, COUNTRY, CHOICE = "text", "lines", "email", "country", "choice"


@dataclass(frozen=True)
class FormField:
    """One thing to fill in. `value` is what it holds now (several lines joined by line
    breaks, for LINES); `error` what is wrong with what was sent, in words."""

    name: str  # the key its value is sent back under
    label: str
    kind: str = TEXT  # TEXT, LINES (several lines), EMAIL, COUNTRY (a name or code), CHOICE
    required: bool = False
    value: str = ""
    choices: tuple[str, ...] = ()
    error: str | None = None
    hint: str | None = None  # an example, shown where the door has room (a placeholder)
    max_length: int | None = None
    group: str | None = None  # fields of a group stay together where a door splits a form


@dataclass(frozen=True)
class Form:
    """Fields to fill in and send back, as a whole. `token` says whose form it is and what
    saves it (signed, expiring; see handlers/forms.py); `reopen` is the line that shows the
    form anew, with what is stored now."""

    title: str
    token: str
    fields: tuple[FormField, ...]
    reopen: str
    intro: str | None = None
    submit_label: str = "Save"

    def field(self, name: str) -> FormField | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def errors(self) -> dict[str, str]:
        return {f.name: f.error for f in self.fields if f.error}

    def filled(self, values: dict[str, str]) -> Form:
        """The same form holding `values` where they are given (what was sent, to edit again)."""
        return replace(self, fields=tuple(replace(f, value=values[f.name]) if f.name in values else f
                                          for f in self.fields))


@dataclass
class Reply:
    title: str | None = None
    paragraphs: list[str] = field(default_factory=list)
    fields: list[Field] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    choices: list[Choice] = field(default_factory=list)
    confirmation: Confirmation | None = None
    form: Form | None = None  # fields to fill in: a modal in chat, prompts, lines by email
    private: bool = True
    ok: bool = True
    timezone: str | None = None  # the customer's, for deadlines shown as text (UTC when unknown)

    @classmethod
    def error(cls, message: str, *, title: str | None = None) -> Reply:
        return cls(title=title, paragraphs=[message], ok=False)

    @classmethod
    def text(cls, *paragraphs: str, title: str | None = None) -> Reply:
        return cls(title=title, paragraphs=list(paragraphs))

    def plain_text(self) -> str:
        """Everything the reply says, as text: the rendering console and email use."""
        from handlers.text import reply_text  # the renderer builds on this module

        return reply_text(self)


class Refused(Exception):
    """Answer with this reply and roll the unit of work back."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.plain_text())
        self.reply = reply
