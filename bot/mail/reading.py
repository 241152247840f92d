"""Reading commands out of a received message: the subject, then the first lines of the body.

Quoted replies are cut off by mail-parser-reply (Gmail, Outlook, Apple Mail headers in many
languages); the rules here cover what it leaves: stop words, signatures, `>` quotes, and a reply
that has nothing of its own above the quoted message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage

import html2text
from mailparser_reply.parser import EmailMessage as ReplyFragments
from pydantic import ValidationError

from bot.mail.headers import header_text
from handlers import forms
from handlers.parser import Invocation

# Reply and forward prefixes in the languages customers commonly write in, and [list tags].
SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|sv|vs|antw|tr|rif|r|enc|odp|ynt|vl|ref|réf)\s*(?:\[\d+\])?\s*:\s*"
    r"|\[[^\]]*\]\s*)+", re.I)
STOP_WORDS = {"end", "stop", "thanks", "thank you", "thx", "cheers", "regards", "best regards",
              "kind regards", "merci", "danke"}
SIGNATURE = re.compile(r"^(?:--\s*|__+|—)$")
# Phone and webmail footers the reply parser keeps inside the newest reply.
SENT_FROM = re.compile(r"^(?:sent from my |get outlook for |sent from outlook|von meinem .* gesendet)",
                       re.I)
QUOTE_LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "sv", "pl"]
# Where clients start the quoted message in HTML: Outlook (optionally after an <hr>),
# Gmail, Yahoo, Thunderbird, and any <blockquote> (Apple Mail, most others).
HTML_QUOTE_START = re.compile(
    r"(?:<hr[^>]*>\s*)?<div[^>]+id=[\"']?(?:divRplyFwdMsg|appendonsend)"
    r"|<div[^>]+class=[\"']?(?:gmail_quote|yahoo_quoted|moz-cite-prefix)"
    r"|<blockquote", re.I)
MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>])")
# Only the top of a message can hold commands; the rest is never read, so never parsed.
READ_AT_MOST = 20_000
# Words of a sentence about oneself, which no command's arguments need ("Cancel my order").
PERSONAL_WORDS = {"i", "i'm", "i’m", "me", "my", "mine", "we", "our", "us", "you", "your"}
# A subject may give a command a few more words than it has arguments ("invoices last quarter
# page 2"); past that it is a sentence that happens to start with a command word.
SPARE_SUBJECT_WORDS = 3


@dataclass
class MailCommands:
    commands: list[Invocation] = field(default_factory=list)
    ignored: list[Invocation] = field(default_factory=list)  # read, but not commands or past the limits
    unread: int = 0  # lines past the limits, not even read
    subject_command: Invocation | None = None

    @property
    def question(self) -> bool:
        """Nothing in the message is a command: it is a question, not a list of commands."""
        return not self.commands


def html_to_text(html: str) -> str:
    """The customer's own text of an HTML mail, without the message it quotes."""
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    converter.ignore_links = True
    converter.ignore_emphasis = True
    converter.ignore_tables = True
    text = converter.handle(HTML_QUOTE_START.split(html, maxsplit=1)[0])
    # html2text escapes Markdown ("1\.", "\-"); commands are plain words, so take them back.
    return MARKDOWN_ESCAPE.sub(r"\1", text)


def repair_latin1(text: str) -> str:
    """Mail labelled ISO-8859-1 is nearly always Windows-1252 (as browsers assume): its C1
    control characters are really curly quotes and dashes."""
    if not re.search("[\x80-\x9f]", text):
        return text
    try:
        return text.encode("latin-1").decode("cp1252", errors="replace")
    except UnicodeEncodeError:
        return text


def clean_subject(subject: str) -> str:
    return " ".join(SUBJECT_PREFIX.sub("", repair_latin1(subject)).split())


def body_text(message: EmailMessage) -> str:
    """The first text part (plain preferred, HTML converted), decoded from any charset."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeDecodeError, AssertionError):
        # An unknown or lying charset: Latin-1 never fails and keeps ASCII commands intact.
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("latin-1") if isinstance(payload, bytes) else str(payload)
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        content = html_to_text(content)
    return repair_latin1(content)


def latest_reply(text: str) -> str:
    """The newest part of a reply chain: what the customer wrote above the quoted message."""
    text = text.replace("\r\n", "\n")[:READ_AT_MOST]
    fragments = ReplyFragments(text=text, languages=list(QUOTE_LANGUAGES)).read().replies
    if not fragments:
        return text
    newest = fragments[0]
    # The library skips an empty first fragment; then the customer wrote nothing of their own
    # (Outlook puts "From: ... Sent: ..." at the very top, without ">" on the quoted lines).
    return "" if newest.headers else newest.content


def _is_stop(line: str) -> bool:
    return line.lower().rstrip(".!,") in STOP_WORDS


def _ends_reading(raw_line: str, line: str) -> bool:
    return (bool(SIGNATURE.match(raw_line.strip())) or raw_line.startswith("-- ")
            or line.startswith(">") or _is_stop(line) or bool(SENT_FROM.match(line)))


def _unread(lines: list[str]) -> int:
    count = 0
    for raw_line in lines:
        line = " ".join(raw_line.split())
        if line and _ends_reading(raw_line, line):
            break
        count += bool(line)
    return count


def is_subject_command(invocation: Invocation) -> bool:
    """Whether a subject is a command rather than a sentence starting with a command word.

    A body line is a command when its first word is one (a wrong argument gets the command's
    usage), because customers write commands there on purpose. A subject is what mail clients
    ask for first, so people write sentences there ("my stuff", "Cancel my order", "Payment
    failed"). It counts only when all of it is a command:

    - its first word is a command here, and the rest are valid arguments by the command's own
      argument model (checked without running it): "orders", "invoice March", "orders page 2"
      count; "my stuff" (`my` is `orders`, which takes a page number) and "Payment failed"
      (`payment` takes no words) do not;
    - and it shows no sign of a sentence: an argument ending in "?", a word about oneself
      ("my", "I", "your"; "Cancel my order" names a product by the argument model's lights),
      or more than SPARE_SUBJECT_WORDS words beyond the command's argument fields.

    Whether an argument names something the customer owns is left to the command: a subject
    like "product Pixel Studio" is read and answered, "Not found" included. A subject that
    looks like a card number counts when its first word is a command, so the customer is told
    it was refused; its arguments are never kept, so never checked.
    """
    command = invocation.command
    if command is None:
        return False
    if invocation.card:
        return True
    words = invocation.words
    if len(words) > len(command.arguments.given_fields()) + SPARE_SUBJECT_WORDS:
        return False
    if any(word.endswith("?") or word.strip(".,;:!").casefold() in PERSONAL_WORDS for word in words):
        return False
    try:
        command.parse_arguments(words)
    except ValidationError:
        return False
    return True


def form_reply(message: EmailMessage) -> tuple[str, str, str] | None:
    """(the form's token, the newest reply's text, the whole text) of a message that sends a
    form back: one with a `Form: <token>` line, above the quoted message or within it."""
    whole = body_text(message).replace("\r\n", "\n")[:READ_AT_MOST]
    newest = latest_reply(whole)
    token = forms.token_in(newest) or forms.token_in(whole)
    return (token, newest, whole) if token else None


def read_commands(message: EmailMessage, *, parse: Callable[[str], Invocation],
                  elsewhere: Callable[[Invocation], bool] = lambda _: False,
                  max_lines: int = 10, max_unknown: int = 5) -> MailCommands:
    """Commands in the subject (if all of it is one, see `is_subject_command`) and in the body,
    one per line. `parse` turns a line into an invocation with its command resolved (None: not
    a command here); `elsewhere` says whether such a line names a command another front door
    offers, which is answered (with where it works) instead of being ignored."""
    found = MailCommands()
    subject = clean_subject(header_text(message, "Subject"))
    if subject and is_subject_command(invocation := parse(subject)):
        found.subject_command = invocation
        found.commands.append(invocation)

    unknown = 0
    lines = latest_reply(body_text(message)).split("\n")
    for index, raw_line in enumerate(lines):
        line = " ".join(raw_line.split())
        if not line:
            continue
        if _ends_reading(raw_line, line):
            break
        if len(found.commands) >= max_lines or unknown >= max_unknown:
            rest = _unread(lines[index:])
            if rest == 1:
                found.ignored.append(parse(line))
            else:
                found.unread = rest
            break
        invocation = parse(line)
        if invocation.command is None and (invocation.card or not elsewhere(invocation)):
            unknown += 1
            found.ignored.append(invocation)
            continue
        if _same(invocation, found.subject_command):
            continue  # "Re: orders" with "orders" in the body runs once
        found.commands.append(invocation)
    return found


def _same(invocation: Invocation, other: Invocation | None) -> bool:
    return (other is not None and not invocation.card and not other.card
            and invocation.line.casefold() == other.line.casefold())
