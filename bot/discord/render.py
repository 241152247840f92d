"""Reply -> Discord: embeds within Discord's limits, buttons, files."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import discord

from handlers.reply import Reply
from handlers.text import table_lines

DESCRIPTION_LIMIT = 4096
FIELD_VALUE_LIMIT = 1024
FIELDS_PER_EMBED = 25
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL = 6000
LABEL_LIMIT = 80
CUSTOM_ID_LIMIT = 100
BUTTONS = 25  # five rows of five
COLOR_OK, COLOR_ERROR = 0x2563EB, 0xDC2626

CONFIRM, CANCEL, RUN = "sk:confirm:", "sk:cancel:", "sk:run:"


@dataclass
class DiscordMessage:
    embeds: list[discord.Embed] = field(default_factory=list)
    view: discord.ui.View | None = None
    files: list[discord.File] = field(default_factory=list)


def _chunks(text: str, limit: int) -> list[str]:
    """Split on line ends where possible, so tables and paragraphs stay whole."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            chunks.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) + 1 > limit:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def _body(reply: Reply) -> str:
    parts = list(reply.paragraphs)
    for table in reply.tables:
        lines = table_lines(table, with_title=False)
        title = f"**{table.title}**\n" if table.title else ""
        for chunk in _chunks("\n".join(lines), DESCRIPTION_LIMIT - 20 - len(title)):
            parts.append(f"{title}```\n{chunk}\n```")
            title = ""
        # A custom id holds 100 characters: a longer action is a line to type instead.
        typed = [action for _, action in table.acted_on() if len(RUN + action.command) > CUSTOM_ID_LIMIT]
        parts += [f"{action.label}: `/shop {action.command}`" for action in typed]
    if reply.confirmation:
        parts.append(f"**{reply.confirmation.summary}?** Confirm below "
                     f"(or `/shop confirm code:{reply.confirmation.code}`).")
    return "\n\n".join(parts)


def render(reply: Reply) -> DiscordMessage:
    message = DiscordMessage()
    color = COLOR_OK if reply.ok else COLOR_ERROR
    for index, chunk in enumerate(_chunks(_body(reply), DESCRIPTION_LIMIT) or [""]):
        title = (reply.title or "")[:256] if index == 0 else None
        message.embeds.append(discord.Embed(title=title, description=chunk or None, color=color))
    embed = message.embeds[-1]
    for item in reply.fields:
        full = len(embed.fields) >= FIELDS_PER_EMBED
        if full or len(embed) + len(item.value) + len(item.name) > EMBED_TOTAL:
            embed = discord.Embed(color=color)
            message.embeds.append(embed)
        embed.add_field(name=item.name[:256], value=item.value[:FIELD_VALUE_LIMIT] or "-", inline=item.inline)
    message.embeds = message.embeds[:EMBEDS_PER_MESSAGE]
    message.view = _buttons(reply)
    message.files = [discord.File(io.BytesIO(a.data), filename=a.filename) for a in reply.attachments]
    return message


def _buttons(reply: Reply) -> discord.ui.View | None:
    view = discord.ui.View(timeout=None)
    buttons: list[discord.ui.Button[discord.ui.View]] = []
    if reply.confirmation:
        token = reply.confirmation.token
        buttons.append(discord.ui.Button(label=reply.confirmation.confirm_label[:LABEL_LIMIT],
                                         style=discord.ButtonStyle.success, custom_id=CONFIRM + token))
        buttons.append(discord.ui.Button(label=reply.confirmation.cancel_label[:LABEL_LIMIT],
                                         style=discord.ButtonStyle.secondary, custom_id=CANCEL + token))
    # A table's row actions, in row order: one button a row (the table shows the rows).
    for table in reply.tables:
        for _, action in table.acted_on():
            if len(RUN + action.command) <= CUSTOM_ID_LIMIT:
                buttons.append(discord.ui.Button(label=action.label[:LABEL_LIMIT],
                                                 custom_id=RUN + action.command,
                                                 style=discord.ButtonStyle.secondary))
    for link in reply.links:
        buttons.append(discord.ui.Button(label=link.label[:LABEL_LIMIT], url=link.url))
    for choice in reply.choices:
        custom_id = RUN + choice.command
        if len(custom_id) <= CUSTOM_ID_LIMIT:
            buttons.append(discord.ui.Button(label=choice.label[:LABEL_LIMIT], custom_id=custom_id,
                                             style=discord.ButtonStyle.primary))
    for button in buttons[:BUTTONS]:
        view.add_item(button)
    return view if buttons else None
