"""Reply -> plain text for a terminal. Attachments are saved to a folder and shown as paths."""

from __future__ import annotations

from pathlib import Path

from handlers.reply import Reply
from handlers.text import reply_text


def save_attachments(reply: Reply, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for attachment in reply.attachments:
        path = folder / Path(attachment.filename).name
        path.write_bytes(attachment.data)
        paths.append(path.resolve())
    return paths


FORM_HINT = "To fill it in, run `shopkeep chat` (without -c) and send the same command. It holds:"


def render(reply: Reply, saved: list[Path] | None = None, *, prompt_for_confirmation: bool = False
           ) -> str:
    # The prompts ask themselves (y/N, a question a field), so the text does not also say how.
    return reply_text(reply, saved=saved or (), confirm_hint="" if prompt_for_confirmation else None,
                      form_hint="" if prompt_for_confirmation else FORM_HINT)
