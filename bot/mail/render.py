"""Reply -> the text and HTML of an email section. Tables become aligned text and HTML tables."""

from __future__ import annotations

from html import escape

from handlers.reply import Reply

CELL = "padding:4px 10px;border-bottom:1px solid #e5e7eb;text-align:left"


def reply_html(reply: Reply, *, confirm_hint: str | None = None) -> str:
    parts: list[str] = []
    if reply.title:
        parts.append(f"<h3 style='margin:16px 0 6px'>{escape(reply.title)}</h3>")
    parts += [f"<p style='margin:4px 0'>{escape(p)}</p>" for p in reply.paragraphs]
    if reply.fields:
        rows = "".join(f"<tr><th style='{CELL}'>{escape(f.name)}</th><td style='{CELL}'>"
                       f"{escape(f.value)}</td></tr>" for f in reply.fields)
        parts.append(f"<table style='border-collapse:collapse'>{rows}</table>")
    for table in reply.tables:
        if table.title:
            parts.append(f"<p style='margin:10px 0 4px'><b>{escape(table.title)}</b></p>")
        head = "".join(f"<th style='{CELL}'>{escape(c)}</th>" for c in table.columns)
        body = "".join("<tr>" + "".join(f"<td style='{CELL}'>{escape(c)}</td>" for c in row) + "</tr>"
                       for row in table.rows)
        parts.append(f"<table style='border-collapse:collapse'><tr>{head}</tr>{body}</table>")
    if reply.links:
        items = "".join(
            f"<li><a href='{escape(link.url, quote=True)}'>{escape(link.label)}</a>"
            + (f" <small>(valid until {link.expires_at:%Y-%m-%d %H:%M} UTC)</small>"
               if link.expires_at else "") + "</li>"
            for link in reply.links)
        parts.append(f"<ul>{items}</ul>")
    if reply.attachments:
        parts.append("<p>Attached: " + escape(", ".join(a.filename for a in reply.attachments))
                     + "</p>")
    if reply.choices:
        parts.append("<p>You can also send: " + "; ".join(
            f"<code>{escape(c.command)}</code> ({escape(c.label)})" for c in reply.choices) + "</p>")
    if reply.confirmation and confirm_hint:
        parts.append(f"<p style='padding:8px;background:#fef3c7'>{escape(confirm_hint)}</p>")
    return "\n".join(parts)
