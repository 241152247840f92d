"""Header text as people wrote it, including raw UTF-8 headers (RFC 6532, SMTPUTF8 mail).

The stdlib parses message bytes as ASCII and keeps other bytes as surrogate escapes; they are
turned back into the UTF-8 (or, failing that, Windows-1252) text the sender meant.
"""

from __future__ import annotations

import re
from email.message import EmailMessage

_SURROGATES = re.compile("[\udc80-\udcff]")


def unescape(value: str) -> str:
    if not _SURROGATES.search(value):
        return value
    raw = value.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def header_text(message: EmailMessage, name: str) -> str:
    return unescape(str(message.get(name) or ""))


def header_texts(message: EmailMessage, name: str) -> list[str]:
    return [unescape(str(value)) for value in message.get_all(name) or []]
