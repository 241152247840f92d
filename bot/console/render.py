"""Reply -> plain text for a terminal. Attachments are saved to a folder and shown as paths."""

from __future__ import annotations

from pathlib import Path

from handlers.reply import Reply
from handlers.text import table_lines


def save_attachments(reply: Reply, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for attachment in reply.attachments:
        path = folder / Path(attachment.filename).name
        path.write_bytes(attachment.data)
        paths.append(path.resolve())
    return paths


def render(reply: Reply, saved: list[Path] | None = None, *, prompt_for_confirmation: bool = False
           ) -> str:
    lines: list[str] = []
    if reply.title:
        lines += [reply.title, "=" * len(reply.title)]
    lines += reply.paragraphs
    if reply.fields:
        width = max(len(f.name) for f in reply.fields)
        lines += [f"{f.name.ljust(width)}  {f.value}" for f in reply.fields]
    for table in reply.tables:
        lines += ["", *table_lines(table)]
    if reply.links:
        lines.append("")
        for link in reply.links:
            until = f" (valid until {link.expires_at:%H:%M} UTC)" if link.expires_at else ""
            lines.append(f"{link.label}{until}:\n  {link.url}")
    if saved:
        lines += ["", "Saved:", *(f"  {path}" for path in saved)]
    if reply.choices:
        lines += ["", "Next: " + "; ".join(f"{c.label} -> `{c.command}`" for c in reply.choices)]
    if reply.confirmation and not prompt_for_confirmation:
        lines += ["", f"To go ahead, send `confirm {reply.confirmation.code}` "
                      f"(valid until {reply.confirmation.expires_at:%H:%M} UTC)."]
    return "\n".join(lines)
