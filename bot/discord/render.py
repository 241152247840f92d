"""Reply -> Discord: embeds within Discord's limits, buttons, files."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import discord

from handlers.forms import lines as form_lines
from handlers.reply import LINES, Form, FormField, Reply
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
# A modal's custom id: `sk:form:<step>:<token>`. A button that opens step n of a form anew
# (Continue, Edit again, Open the form): `sk:step:<n>:<the line that shows the form>`.
FORM, STEP = "sk:form:", "sk:step:"
MODAL_FIELDS = 5  # text inputs a modal holds
MODAL_TITLE_LIMIT, INPUT_LABEL_LIMIT, PLACEHOLDER_LIMIT, INPUT_VALUE_LIMIT = 45, 45, 100, 4000
SENT = "What you sent"


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
    if reply.form and reply.form.errors:
        # What was sent, to read back when the form opens again (Edit again).
        sent = "\n".join(form_lines(reply.form)[1:])
        parts.append(f"**{SENT}**\n```\n{sent}\n```")
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
    if reply.form is not None:
        step = step_with_errors(reply.form)
        custom_id = f"{STEP}{step}:{reply.form.reopen}"
        if len(custom_id) <= CUSTOM_ID_LIMIT:
            buttons.append(discord.ui.Button(label="Edit again" if reply.form.errors else "Open the form",
                                             custom_id=custom_id, style=discord.ButtonStyle.primary))
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


# ---------------------------------------------------------------------------- forms


def steps(fields: Sequence[FormField]) -> list[list[FormField]]:
    """A form in modals of at most five fields: a group's fields stay together where they fit
    (a larger group fills modals of its own), and neighbouring groups share a modal when both fit."""
    groups: list[list[FormField]] = []
    for item in fields:
        if groups and groups[-1][0].group == item.group and item.group is not None:
            groups[-1].append(item)
        else:
            groups.append([item])
    pages: list[list[FormField]] = []
    for group in groups:
        if pages and len(pages[-1]) + len(group) <= MODAL_FIELDS:
            pages[-1].extend(group)
            continue
        pages += [group[start:start + MODAL_FIELDS] for start in range(0, len(group), MODAL_FIELDS)]
    return pages or [[]]


def step_with_errors(form: Form) -> int:
    """The first step (from 1) holding a field that was wrong, else 1."""
    for number, page in enumerate(steps(form.fields), start=1):
        if any(item.error for item in page):
            return number
    return 1


class FormModal(discord.ui.Modal):
    """A step of a form. What it sends is read from the interaction by the door (the modal is
    not kept in memory, so a submit after a restart still counts)."""


def modal(form: Form, step: int) -> discord.ui.Modal:
    pages = steps(form.fields)
    step = min(max(step, 1), len(pages))
    title = form.title if len(pages) == 1 else f"{form.title} ({step} of {len(pages)})"
    window = FormModal(title=title[:MODAL_TITLE_LIMIT], custom_id=f"{FORM}{step}:{form.token}")
    for item in pages[step - 1]:
        window.add_item(discord.ui.TextInput(
            label=item.label[:INPUT_LABEL_LIMIT], custom_id=item.name, required=item.required,
            style=discord.TextStyle.paragraph if item.kind == LINES else discord.TextStyle.short,
            default=item.value[:INPUT_VALUE_LIMIT] or None,
            placeholder=(item.hint or "")[:PLACEHOLDER_LIMIT] or None,
            max_length=min(item.max_length or INPUT_VALUE_LIMIT, INPUT_VALUE_LIMIT)))
    window.stop()  # not kept: the door reads the submit itself
    return window


def continue_button(view: discord.ui.View | None, step: int, reopen: str) -> discord.ui.View:
    view = view or discord.ui.View(timeout=None)
    view.add_item(discord.ui.Button(label="Continue", custom_id=f"{STEP}{step}:{reopen}"[:CUSTOM_ID_LIMIT],
                                    style=discord.ButtonStyle.success))
    return view


def sent_lines(message: discord.Message | None) -> str:
    """The "What you sent" block of a message that said what was wrong with a form."""
    for embed in message.embeds if message is not None else []:
        description = embed.description or ""
        if SENT in description:
            return description.split(SENT, 1)[1]
    return ""
