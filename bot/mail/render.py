"""Reply -> the text and HTML of an email section. Tables become aligned text and HTML tables."""

from __future__ import annotations

from html import escape

from core.kernel.formatting import moment
from handlers.forms import lines as form_lines
from handlers.reply import Choice, Reply
from handlers.text import html_inline

CELL = "padding:4px 10px;border-bottom:1px solid #e5e7eb;text-align:left"
NUMBER_CELL = CELL.replace("text-align:left", "text-align:right")
SEND_HEADING = "To do it, send"


def _send(action: Choice | None) -> str:
    return f"<code>{escape(action.command)}</code> ({escape(action.label)})" if action else ""


def reply_html(reply: Reply, *, confirm_hint: str | None = None, form_hint: str | None = None) -> str:
    parts: list[str] = []
    if reply.title:
        parts.append(f"<h3 style='margin:16px 0 6px'>{escape(reply.title)}</h3>")
    parts += [f"<p style='margin:4px 0'>{html_inline(p)}</p>" for p in reply.paragraphs]
    if reply.fields:
        rows = "".join(f"<tr><th style='{CELL}'>{escape(f.name)}</th><td style='{CELL}'>"
                       f"{html_inline(f.value)}</td></tr>" for f in reply.fields)
        parts.append(f"<table style='border-collapse:collapse'>{rows}</table>")
    for table in reply.tables:
        if table.title:
            parts.append(f"<p style='margin:10px 0 4px'><b>{escape(table.title)}</b></p>")
        styles = [NUMBER_CELL if i in table.numeric else CELL for i in range(len(table.columns))]
        head = "".join(f"<th style='{style}'>{escape(c)}</th>"
                       for c, style in zip(table.columns, styles, strict=False))
        # A row's action is the line to send back, in a last column.
        actions = table.actions or (None,) * len(table.rows)
        if table.actions:
            head += f"<th style='{CELL}'>{escape(SEND_HEADING)}</th>"
        body = "".join("<tr>" + "".join(f"<td style='{style}'>{html_inline(c)}</td>"
                                        for c, style in zip(row, styles, strict=False))
                       + (f"<td style='{CELL}'>{_send(action)}</td>" if table.actions else "")
                       + "</tr>" for row, action in zip(table.rows, actions, strict=True))
        parts.append(f"<table style='border-collapse:collapse'><tr>{head}</tr>{body}</table>")
    if reply.links:
        items = "".join(
            f"<li><a href='{escape(link.url, quote=True)}'>{escape(link.label)}</a>"
            + (f" <small>(valid until {moment(link.expires_at, reply.timezone)})</small>"
               if link.expires_at else "") + "</li>"
            for link in reply.links)
        parts.append(f"<ul>{items}</ul>")
    if reply.attachments:
        parts.append("<p>Attached: " + escape(", ".join(a.filename for a in reply.attachments))
                     + "</p>")
    if reply.choices:
        parts.append("<p>You can also send: " + "; ".join(
            f"<code>{escape(c.command)}</code> ({escape(c.label)})" for c in reply.choices) + "</p>")
    if reply.form:
        # The lines to send back, as they are to be written: a plain-text reply quotes them.
        parts.append(f"<p>{escape(form_hint or '')}</p><pre style='padding:8px;background:#f3f4f6'>"
                     + escape("\n".join(form_lines(reply.form))) + "</pre>")
    if reply.confirmation and confirm_hint:
        parts.append(f"<p style='padding:8px;background:#fef3c7'>{html_inline(confirm_hint)}</p>")
    return "\n".join(parts)
