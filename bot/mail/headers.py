"""Header text as people wrote it, including raw UTF-8 headers (RFC 6532, SMTPUTF8 mail).

The stdlib parses message bytes as ASCII and keeps other bytes as surrogate escapes; they are
turned back into the UTF-8 (or, failing that, Windows-1252) text the sender meant.
"""

from __future__ import annotations

import re
from email.errors import MessageError
from email.header import decode_header, make_header
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


def raw_header_values(message: EmailMessage, name: str) -> list[str]:
    """The header's values as sent, unfolded, encoded words left as they are.

    Read from the raw headers: the standard library's parsed headers raise on some malformed
    values (an encoded CR or LF in an address's display name), and a message we accepted must
    still be read."""
    wanted = name.lower()
    return [" ".join(unescape(str(value)).split()) for key, value in message.raw_items()
            if key.lower() == wanted]


def _decoded(value: str) -> str:
    try:
        text = str(make_header(decode_header(value)))
    except (MessageError, UnicodeError, LookupError, ValueError):
        text = value  # a broken encoded word stays as it was written
    return " ".join(text.split())  # whatever it encoded, never a line break


def header_texts(message: EmailMessage, name: str) -> list[str]:
    """The header's values as people read them: encoded words decoded, on one line each."""
    return [_decoded(value) for value in raw_header_values(message, name)]


def header_text(message: EmailMessage, name: str) -> str:
    values = header_texts(message, name)
    return values[0] if values else ""
