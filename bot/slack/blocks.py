"""Reply -> Slack Block Kit, within Slack's limits.

Messages hold at most 50 blocks and the Home tab 100; a text holds 3000 characters, a section 10
fields. Tables become monospace code blocks split across sections. Links become link buttons,
choices buttons that run their command, and a confirmation two buttons whose `confirm` dialog asks
once more before the signed pending-action token is sent back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from handlers.reply import LINES, Confirmation, Field, Form, Link, Reply, Table
from handlers.text import table_lines

Block = dict[str, Any]

MESSAGE_BLOCKS = 50
HOME_BLOCKS = 100
TEXT_LIMIT = 3000
FIELD_LIMIT = 2000
FIELDS_PER_SECTION = 10
HEADER_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
URL_LIMIT = 3000
BUTTONS_PER_ACTIONS = 25
CONTEXT_ELEMENTS = 10
CONFIRM_TEXT_LIMIT = 300
FALLBACK_LIMIT = 300

VIEW_TITLE_LIMIT = 24  # a modal's title and its buttons
INPUT_LABEL_LIMIT, INPUT_HINT_LIMIT, PLACEHOLDER_LIMIT, INPUT_VALUE_LIMIT = 2000, 2000, 150, 3000
METADATA_LIMIT = 3000
# A form's modal: its callback_id; each field an input block named by the field, its element's
# action_id INPUT.
FORM_CALLBACK, INPUT = "shopkeep.form", "value"

# Every interactive element shopkeep renders has an action_id `shopkeep.<kind>.<n>`.
ACTION_PREFIX = "shopkeep"
RUN, CONFIRM, CANCEL, LINK = "run", "confirm", "cancel", "link"
# The tail tells buttons of one message apart: `.3`, or `.row.0.3` for a table's fourth row.
ACTION_PATTERN = re.compile(rf"^{ACTION_PREFIX}\.(?P<kind>{RUN}|{CONFIRM}|{CANCEL}|{LINK})(\.[a-z0-9.]+)?$")

_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_FENCE = "```"


def action_kind(action_id: str) -> str | None:
    match = ACTION_PATTERN.match(action_id)
    return match.group("kind") if match else None


def escape(text: str) -> str:
    """Slack reads &, < and > as markup in every text field; these three must be escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": _clip(text, limit) or " ", "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def slack_date(moment: datetime, pattern: str, fallback_format: str = "%Y-%m-%d %H:%M UTC") -> str:
    """A date Slack shows in each reader's own time zone; `pattern` uses Slack's date tokens."""
    return f"<!date^{int(moment.timestamp())}^{pattern}|{moment:{fallback_format}}>"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _split(text: str, limit: int) -> Iterator[str]:
    """Pieces of at most `limit` characters, cut at a line break or space where there is one."""
    while len(text) > limit:
        cut = max(text.rfind("\n", 0, limit), text.rfind(" ", 0, limit))
        cut = cut if cut > limit // 2 else limit
        yield text[:cut]
        text = text[cut:].lstrip("\n ")
    if text:
        yield text


@dataclass(frozen=True)
class BlockKit:
    """Renders replies for one Slack app: `slash` is its command, `is_command` tells commands
    apart from other code in the text so `orders` can be shown as `/shop orders`."""

    slash: str = "/shop"
    is_command: Callable[[str], bool] = lambda word: False

    # ------------------------------------------------------------------ whole messages and views

    def message(self, reply: Reply, *, replace_original: bool = False) -> dict[str, Any]:
        """A response_url / chat.postMessage body."""
        return {
            "response_type": "ephemeral" if reply.private else "in_channel",
            "replace_original": replace_original,
            "text": self.fallback(reply),
            "blocks": self.blocks(reply, limit=MESSAGE_BLOCKS),
        }

    def home(self, reply: Reply) -> dict[str, Any]:
        """A views.publish view for the App Home tab."""
        return {"type": "home", "blocks": self.blocks(reply, limit=HOME_BLOCKS)}

    def fallback(self, reply: Reply) -> str:
        """The notification text shown where blocks are not (push notifications, previews)."""
        first = reply.title or next(iter(reply.paragraphs), "") or "Done."
        if not reply.ok and not reply.title:
            first = f"Sorry: {first}"
        return escape(_clip(self.commands_in(first), FALLBACK_LIMIT))

    def blocks(self, reply: Reply, *, limit: int = MESSAGE_BLOCKS) -> list[Block]:
        body = [*self._title(reply), *self._paragraphs(reply), *self._fields(reply.fields)]
        for index, table in enumerate(reply.tables):
            body += self._rows_with_actions(table, index) if table.actions else self._table(table)
        tail = [*self._attachments(reply), *self._links(reply.links), *self._choices(reply)]
        if reply.confirmation is not None:
            tail += self._confirmation(reply.confirmation)
        if not body and not tail:
            body = [self._section("Done.")]
        if len(body) + len(tail) > limit:
            # The actions matter most; the text gives way first, and says so.
            tail = tail[: limit // 2]
            room = limit - len(tail) - 1
            body = [*body[:room], {"type": "context", "elements": [mrkdwn(
                ":scissors: This answer was shortened to fit in Slack. Ask for less at a time, "
                "or by email for everything.")]}]
        return body + tail

    # ------------------------------------------------------------------ text

    def commands_in(self, text: str) -> str:
        """Show commands in code spans the way they are typed here: `orders` -> `/shop orders`."""

        def prefixed(match: re.Match[str]) -> str:
            inner = match.group(1)
            word = inner.split()[0].lower() if inner.split() else ""
            if inner.startswith(("/", "!")) or not self.is_command(word):
                return match.group(0)
            return f"`{self.slash} {inner}`"

        return _CODE_SPAN.sub(prefixed, text)

    def _section(self, text: str) -> Block:
        return {"type": "section", "text": mrkdwn(text)}

    def _title(self, reply: Reply) -> list[Block]:
        if not reply.title:
            return []
        title = reply.title if reply.ok else f":warning: {reply.title}"
        return [{"type": "header", "text": plain(title, HEADER_LIMIT)}]

    def _paragraphs(self, reply: Reply) -> list[Block]:
        paragraphs = [escape(self.commands_in(p)) for p in reply.paragraphs if p.strip()]
        if paragraphs and not reply.ok and not reply.title:
            paragraphs[0] = f":warning: {paragraphs[0]}"
        blocks: list[Block] = []
        current = ""
        for paragraph in paragraphs:
            for piece in _split(paragraph, TEXT_LIMIT):
                joined = f"{current}\n\n{piece}" if current else piece
                if len(joined) <= TEXT_LIMIT:
                    current = joined
                else:
                    blocks.append(self._section(current))
                    current = piece
        if current:
            blocks.append(self._section(current))
        return blocks

    def _fields(self, fields: list[Field]) -> list[Block]:
        blocks: list[Block] = []
        row: list[dict[str, Any]] = []
        for field in fields:
            text = f"*{escape(field.name)}*\n{escape(self.commands_in(field.value))}"
            if field.inline:
                row.append(mrkdwn(_clip(text, FIELD_LIMIT)))
                if len(row) == FIELDS_PER_SECTION:
                    blocks.append({"type": "section", "fields": row})
                    row = []
                continue
            if row:
                blocks.append({"type": "section", "fields": row})
                row = []
            blocks += [self._section(piece) for piece in _split(text, TEXT_LIMIT)]
        if row:
            blocks.append({"type": "section", "fields": row})
        return blocks

    def _table(self, table: Table) -> list[Block]:
        """Aligned monospace text, as many sections as it takes (each at most 3000 characters)."""
        title = f"*{escape(table.title)}*\n" if table.title else ""
        room = TEXT_LIMIT - len(title) - 2 * len(_FENCE) - 2
        lines = [_clip(escape(line), room) for line in table_lines(table, with_title=False)]
        if not table.rows:
            lines.append("(none)")
        blocks: list[Block] = []
        chunk: list[str] = []
        size = 0
        for line in lines:
            if chunk and size + len(line) + 1 > room:
                blocks.append(self._section(f"{title}{_FENCE}\n" + "\n".join(chunk) + f"\n{_FENCE}"))
                title, chunk, size = "", [], 0
                room = TEXT_LIMIT - 2 * len(_FENCE) - 2
            chunk.append(line)
            size += len(line) + 1
        blocks.append(self._section(f"{title}{_FENCE}\n" + "\n".join(chunk) + f"\n{_FENCE}"))
        return blocks

    def _rows_with_actions(self, table: Table, index: int) -> list[Block]:
        """A table whose rows can be acted on: the column names once, then a section a row with
        the row's button beside it."""
        title = f"*{escape(table.title)}*\n" if table.title else ""
        blocks: list[Block] = [{"type": "section", "text": mrkdwn(_clip(
            f"{title}{escape(' · '.join(table.columns))}", TEXT_LIMIT))}]
        for number, (row, action) in enumerate(zip(table.rows, table.actions, strict=True)):
            first, *rest = row or [""]
            block: Block = self._section(_clip(
                f"*{escape(first)}*  " + escape(" · ".join(cell for cell in rest if cell)), TEXT_LIMIT))
            if action is not None and len(action.command) <= BUTTON_VALUE_LIMIT:
                block["accessory"] = {
                    "type": "button", "action_id": f"{ACTION_PREFIX}.{RUN}.row.{index}.{number}",
                    "text": plain(action.label, BUTTON_TEXT_LIMIT), "value": action.command}
            blocks.append(block)
        return blocks

    # ------------------------------------------------------------------ actions

    def _attachments(self, reply: Reply) -> list[Block]:
        names = [mrkdwn(f":page_facing_up: {escape(a.filename)}") for a in reply.attachments]
        return [{"type": "context", "elements": names[i: i + CONTEXT_ELEMENTS]}
                for i in range(0, len(names), CONTEXT_ELEMENTS)]

    def _links(self, links: list[Link]) -> list[Block]:
        buttons: list[dict[str, Any]] = []
        too_long: list[str] = []
        for index, link in enumerate(links):
            if len(link.url) <= URL_LIMIT:
                buttons.append({"type": "button", "action_id": f"{ACTION_PREFIX}.{LINK}.{index}",
                                "text": plain(link.label, BUTTON_TEXT_LIMIT), "url": link.url})
            else:  # Slack takes no longer URL anywhere, and a cut one would lead astray
                too_long.append(f"{escape(link.label)}: this link is too long for Slack; "
                                "ask for it by email.")
        blocks = list(_actions(buttons))
        blocks += [self._section(piece) for piece in _split("\n".join(too_long), TEXT_LIMIT)]
        expiries = [link.expires_at for link in links if link.expires_at is not None]
        if expiries:
            until = slack_date(min(expiries), "{date_short_pretty} at {time}")
            works = "This link works" if len(links) == 1 else "These links work"
            blocks.append({"type": "context", "elements": [mrkdwn(f"{works} until {until}.")]})
        return blocks

    def _choices(self, reply: Reply) -> list[Block]:
        buttons = [
            {"type": "button", "action_id": f"{ACTION_PREFIX}.{RUN}.{index}",
             "text": plain(choice.label, BUTTON_TEXT_LIMIT), "value": choice.command}
            for index, choice in enumerate(reply.choices)
            if len(choice.command) <= BUTTON_VALUE_LIMIT
        ]
        if reply.form is not None:
            # Where the form could not open as a modal: a click brings a new trigger to open it.
            buttons.append({"type": "button", "action_id": f"{ACTION_PREFIX}.{RUN}.form",
                            "style": "primary", "value": reply.form.reopen,
                            "text": plain("Edit again" if reply.form.errors else "Open the form",
                                          BUTTON_TEXT_LIMIT)})
        return list(_actions(buttons))

    # ------------------------------------------------------------------ forms

    def modal(self, form: Form, private_metadata: str) -> dict[str, Any]:
        """A views.open view: an input block a field, named by the field."""
        blocks: list[Block] = []
        if form.intro:
            blocks.append(self._section(escape(self.commands_in(form.intro))))
        for item in form.fields:
            limit = min(item.max_length or INPUT_VALUE_LIMIT, INPUT_VALUE_LIMIT)
            element: dict[str, Any] = {"type": "plain_text_input", "action_id": INPUT,
                                       "multiline": item.kind == LINES, "max_length": limit}
            if item.value:
                element["initial_value"] = item.value[:INPUT_VALUE_LIMIT]
            block: Block = {"type": "input", "block_id": item.name, "optional": not item.required,
                            "label": plain(item.label, INPUT_LABEL_LIMIT), "element": element}
            if item.hint:
                block["hint"] = plain(item.hint, INPUT_HINT_LIMIT)
            blocks.append(block)
        return {"type": "modal", "callback_id": FORM_CALLBACK, "private_metadata": private_metadata,
                "title": plain(form.title, VIEW_TITLE_LIMIT),
                "submit": plain(form.submit_label, VIEW_TITLE_LIMIT),
                "close": plain("Cancel", VIEW_TITLE_LIMIT), "blocks": blocks[:HOME_BLOCKS]}

    def _confirmation(self, confirmation: Confirmation) -> list[Block]:
        summary = escape(self.commands_in(confirmation.summary))
        until = slack_date(confirmation.expires_at, "{date_short_pretty} at {time}")
        return [
            self._section(f"*Please confirm:* {_clip(summary, TEXT_LIMIT - 40)}"),
            {"type": "actions", "elements": [
                {
                    "type": "button", "style": "primary",
                    "action_id": f"{ACTION_PREFIX}.{CONFIRM}",
                    "text": plain(confirmation.confirm_label, BUTTON_TEXT_LIMIT),
                    "value": confirmation.token,
                    "confirm": {
                        "title": plain("Are you sure?", 100),
                        "text": plain(confirmation.summary, CONFIRM_TEXT_LIMIT),
                        "confirm": plain(confirmation.confirm_label, 30),
                        "deny": plain("Not yet", 30),
                    },
                },
                {
                    "type": "button", "action_id": f"{ACTION_PREFIX}.{CANCEL}",
                    "text": plain(confirmation.cancel_label, BUTTON_TEXT_LIMIT),
                    "value": confirmation.token,
                },
            ]},
            {"type": "context", "elements": [mrkdwn(
                f"Or send `{self.slash} {escape(confirmation.typed)}` before {until}.")]},
        ]


def _actions(buttons: Iterable[dict[str, Any]]) -> Iterator[Block]:
    row: list[dict[str, Any]] = []
    for button in buttons:
        row.append(button)
        if len(row) == BUTTONS_PER_ACTIONS:
            yield {"type": "actions", "elements": row}
            row = []
    if row:
        yield {"type": "actions", "elements": row}
