"""Reply: what a command answers, as data. Each front door renders it in its own idiom."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Field:
    name: str
    value: str
    inline: bool = True


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[str]]
    title: str | None = None


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


@dataclass(frozen=True)
class Choice:
    """A follow-up the customer can pick: a button in chat, a line to send by email."""

    label: str
    command: str


@dataclass(frozen=True)
class Confirmation:
    summary: str
    token: str  # signed pending-action token, for buttons and reply-to addresses
    code: str  # what the customer types: `confirm <code>`
    expires_at: datetime
    confirm_label: str = "Confirm"
    cancel_label: str = "Cancel"


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
    private: bool = True
    ok: bool = True

    @classmethod
    def error(cls, message: str, *, title: str | None = None) -> Reply:
        return cls(title=title, paragraphs=[message], ok=False)

    @classmethod
    def text(cls, *paragraphs: str, title: str | None = None) -> Reply:
        return cls(title=title, paragraphs=list(paragraphs))

    def plain_text(self) -> str:
        """Everything the reply says, as text (for logs, tests and the simplest renderers)."""
        lines: list[str] = []
        if self.title:
            lines.append(self.title)
        lines.extend(self.paragraphs)
        lines.extend(f"{f.name}: {f.value}" for f in self.fields)
        for table in self.tables:
            if table.title:
                lines.append(table.title)
            lines.append(" | ".join(table.columns))
            lines.extend(" | ".join(row) for row in table.rows)
        lines.extend(f"{link.label}: {link.url}" for link in self.links)
        lines.extend(f"[{a.filename}]" for a in self.attachments)
        lines.extend(f"{c.label}: {c.command}" for c in self.choices)
        if self.confirmation:
            lines.append(f"{self.confirmation.summary} (confirm {self.confirmation.code})")
        return "\n".join(lines)


class Refused(Exception):
    """Answer with this reply and roll the unit of work back."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.plain_text())
        self.reply = reply
