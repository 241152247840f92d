"""Card numbers never travel through chat or email, and are never kept: spotting and redacting them.

A candidate is 13 to 19 digits, optionally grouped by spaces or dashes, that passes the Luhn
check (every real card number does; most other long numbers, like order ids, do not).
"""

from __future__ import annotations

import re

from stdnum import luhn

_CANDIDATE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


def _is_card(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    return 13 <= len(digits) <= 19 and luhn.is_valid(digits)


# What a kept message says where a card number was: still read as one, so the customer is
# still told not to send them.
REDACTED = "[card number removed]"


def looks_like_card_number(text: str) -> bool:
    return REDACTED in text or any(_is_card(match.group()) for match in _CANDIDATE.finditer(text))


def redact_card_numbers(text: str) -> str:
    """Every card number in `text` replaced by REDACTED."""
    return _CANDIDATE.sub(lambda m: REDACTED if _is_card(m.group()) else m.group(), text)
