"""Card numbers never travel through chat or email, and are never kept: spotting and redacting them.

A card number is 13 to 19 digits, typed together or in groups split by single spaces or dashes,
that passes the Luhn check (every real card number does; most other long numbers, like order ids,
do not). People send more digits around it ("4242 4242 4242 4242 12 30 123", "order 12 4242..."),
so every run of consecutive groups inside a longer run of digits is checked, not only the run
as a whole. Cards are added on the payment provider's page: the refusal says `payment`.
"""

from __future__ import annotations

import re

from stdnum import luhn

# Digit groups joined by single spaces or dashes: where a card number may hide.
_RUN = re.compile(r"(?<!\d)\d+(?:[ -]\d+)*(?!\d)")
_GROUP = re.compile(r"\d+")
SHORTEST, LONGEST = 13, 19


def _card_spans(text: str) -> list[tuple[int, int]]:
    """Where card numbers are in `text` (start, end), overlapping finds merged."""
    spans: list[tuple[int, int]] = []
    for run in _RUN.finditer(text):
        if len(run.group()) < SHORTEST:
            continue
        groups = [(run.start() + g.start(), run.start() + g.end()) for g in _GROUP.finditer(run.group())]
        for first, (start, _) in enumerate(groups):
            digits = ""
            for group_start, group_end in groups[first:]:
                digits += text[group_start:group_end]
                if len(digits) > LONGEST:
                    break
                if len(digits) >= SHORTEST and luhn.is_valid(digits):
                    if spans and start <= spans[-1][1]:
                        spans[-1] = (spans[-1][0], max(spans[-1][1], group_end))
                    else:
                        spans.append((start, group_end))
    return spans


# What a kept message says where a card number was: still read as one, so the customer is
# still told not to send them.
REDACTED = "[card number removed]"


def looks_like_card_number(text: str) -> bool:
    return REDACTED in text or bool(_card_spans(text))


def redact_card_numbers(text: str) -> str:
    """Every card number in `text` replaced by REDACTED."""
    kept, last = [], 0
    for start, end in _card_spans(text):
        kept += [text[last:start], REDACTED]
        last = end
    return "".join(kept) + text[last:]
