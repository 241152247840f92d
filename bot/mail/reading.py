"""Reading commands out of a received message: the subject, then the first lines of the body."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage

import html2text
from mailparser_reply import EmailReplyParser

# Reply and forward prefixes in the languages customers commonly write in.
SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|sv|vs|antw|tr|rif|r|enc|odp|ynt|vl|ref|réf)\s*(?:\[\d+\])?\s*:\s*"
    r"|\[[^\]]*\]\s*)+", re.I)
STOP_WORDS = {"end", "stop", "thanks", "thank you", "thanks!", "thank you!", "cheers", "regards",
              "best", "best regards", "kind regards", "merci", "danke"}
SIGNATURE = re.compile(r"^(--\s*|__+|—)$")
QUOTE_LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "sv", "pl"]


@dataclass
class MailCommands:
    commands: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    subject_command: str | None = None


def html_to_text(html: str) -> str:
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    converter.ignore_links = True
    converter.ignore_emphasis = True
    # Outlook marks where the quoted message starts; keep only what is above it.
    html = re.split(r"<div[^>]+id=[\"']?(?:divRplyFwdMsg|appendonsend)", html, maxsplit=1, flags=re.I)[0]
    html = re.split(r"<blockquote", html, maxsplit=1, flags=re.I)[0]
    return converter.handle(html)


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
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeDecodeError):
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("latin-1") if isinstance(payload, bytes) else str(payload)
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        content = html_to_text(content)
    return repair_latin1(content)


def _latest_reply(text: str) -> str:
    text = text.replace("\r\n", "\n")
    latest = EmailReplyParser(languages=QUOTE_LANGUAGES).parse_reply(text)
    return text if latest is None else latest


def read_commands(message: EmailMessage, *, max_lines: int = 10, max_unknown: int = 5,
                  is_known: Callable[[str], bool] | None = None) -> MailCommands:
    known = is_known or (lambda word: True)
    found = MailCommands()
    subject = clean_subject(str(message.get("Subject") or ""))
    if subject and known(subject.split()[0]):
        found.subject_command = subject
        found.commands.append(subject)

    unknown = 0
    for raw_line in _latest_reply(body_text(message)).split("\n"):
        line = " ".join(raw_line.split())
        if SIGNATURE.match(raw_line.strip()) or raw_line.startswith("-- "):
            break
        if line.startswith(">"):
            break
        if not line:
            continue
        if line.lower().rstrip(".!,") in STOP_WORDS:
            break
        if len(found.commands) >= max_lines or unknown >= max_unknown:
            found.ignored.append(line)
            continue
        if not known(line.split()[0].lstrip("/!")):
            unknown += 1
            found.ignored.append(line)
            continue
        if line == found.subject_command:
            continue  # "Re: orders" with "orders" in the body runs once
        found.commands.append(line)
    if unknown >= max_unknown:
        found.ignored = found.ignored[:max_unknown] + (
            [f"(and {len(found.ignored) - max_unknown} more lines)"]
            if len(found.ignored) > max_unknown else [])
    return found
