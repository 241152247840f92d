"""The one plain-text rendering of a Reply: the console prints it, email sends it as the text
part, logs and tests read it. Front doors pass what only they know (a confirmation hint that
names their way to answer, the paths attachments were saved to)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape

from core.kernel.formatting import moment
from handlers.forms import lines as form_lines
from handlers.reply import Reply, Table

CODE_SPAN = re.compile(r"`([^`]+)`")
ROW_ACTIONS = "To act on a row, send its line:"


def html_inline(text: str) -> str:
    """Reply text for HTML (mail, web pages): escaped, with `command` spans as <code>, never as
    raw backticks."""
    return CODE_SPAN.sub(lambda m: f"<code>{m.group(1)}</code>", escape(text))


def clipped(text: str, limit: int) -> str:
    """Text as an answer may repeat it: a pasted page is not sent back whole."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def table_lines(table: Table, *, with_title: bool = True) -> list[str]:
    """A table as aligned monospace lines: header, rule, rows."""
    widths = [len(c) for c in table.columns]
    for row in table.rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=False)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in table.numeric else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=False))).rstrip()

    title = [table.title] if with_title and table.title else []
    return [*title, line(table.columns), line(["-" * w for w in widths]), *map(line, table.rows)]


def action_lines(table: Table) -> list[str]:
    """What a table's row buttons do, as the lines to send: where there are no buttons (email,
    the console) each row's action is one line to copy."""
    acted = table.acted_on()
    if not acted:
        return []
    width = max(len(action.command) for _, action in acted)
    return ["", ROW_ACTIONS, *(f"  {action.command.ljust(width)}   ({action.label})"
                               for _, action in acted)]


FORM_HINT = "Send these lines back with what you want changed (lines you leave out stay as they are):"


def reply_text(reply: Reply, *, confirm_hint: str | None = None, form_hint: str | None = None,
               saved: Sequence[object] = ()) -> str:
    """Everything the reply says. `confirm_hint` replaces the default "send `confirm CODE`"
    line ("" leaves it out, for a door that asks itself); `form_hint` the line above a form's
    `Label: value` lines ("" leaves the form out, for a door that asks for each field itself);
    `saved` lists where attachments went."""
    lines: list[str] = []
    if reply.title:
        lines += [reply.title, "=" * len(reply.title)]
    lines += reply.paragraphs
    if reply.fields:
        width = max(len(f.name) for f in reply.fields)
        for item in reply.fields:
            first, *more = item.value.split("\n") or [""]
            lines += [f"{item.name.ljust(width)}  {first}", *(" " * (width + 2) + line for line in more)]
    for table in reply.tables:
        lines += ["", *table_lines(table), *action_lines(table)]
    for link in reply.links:
        until = f" (valid until {moment(link.expires_at, reply.timezone)})" if link.expires_at else ""
        lines += ["", f"{link.label}{until}:", f"  {link.url}"]
    if saved:
        lines += ["", "Saved:", *(f"  {path}" for path in saved)]
    elif reply.attachments:
        lines += ["", "Attached: " + ", ".join(a.filename for a in reply.attachments)]
    if reply.choices:
        lines += ["", "Next:", *(f"  {c.command}   ({c.label})" for c in reply.choices)]
    if reply.form and form_hint != "":
        lines += ["", form_hint or FORM_HINT, "", *form_lines(reply.form)]
    if reply.confirmation:
        hint = confirm_hint if confirm_hint is not None else (
            f"To go ahead, send `{reply.confirmation.typed}` (valid until "
            f"{moment(reply.confirmation.expires_at, reply.timezone)}).")
        if hint:
            lines += ["", hint]
    return "\n".join(lines)
