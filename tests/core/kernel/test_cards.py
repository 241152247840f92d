"""Spotting card numbers in what people send: alone, grouped, and with more digits around them
(the expiry and CVC typed after the number), without taking dates or order numbers for cards."""

from __future__ import annotations

import pytest

from core.kernel.cards import REDACTED, looks_like_card_number, redact_card_numbers


@pytest.mark.parametrize(("text", "kept"), [
    ("4242 4242 4242 4242", REDACTED),
    ("4242-4242-4242-4242", REDACTED),
    ("card 4242424242424242 exp 12/30", f"card {REDACTED} exp 12/30"),
    ("3782 822463 10005", REDACTED),  # American Express groups
    # More digits around the number used to hide it from the check:
    ("4242 4242 4242 4242 12/30 123", f"{REDACTED} 12/30 123"),
    ("4242 4242 4242 4242 123", f"{REDACTED} 123"),
    ("payment 1 4242 4242 4242 4242", f"payment 1 {REDACTED}"),
    ("order 12 4000000000000002", f"order 12 {REDACTED}"),
    ("4000-0000-0000-0002 and 4000 0000 0000 9995", f"{REDACTED} and {REDACTED}"),
])
def test_a_card_number_is_found_and_removed(text: str, kept: str) -> None:
    assert looks_like_card_number(text)
    assert redact_card_numbers(text) == kept
    assert looks_like_card_number(kept), "a redacted line still reads as one"


@pytest.mark.parametrize("text", [
    "verify 123456", "invoice 2026 03", "call +1 555 123 4567", "SK-2026-000123",
    "4242 4242 4242 4241",  # a typo: not a card number
    "42424242424242424242",  # 20 digits together: too long to be one
    "1 2 3 4 5 6 7 8 9 10 11 12",
])
def test_other_numbers_are_left_alone(text: str) -> None:
    assert not looks_like_card_number(text)
    assert redact_card_numbers(text) == text
