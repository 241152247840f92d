"""License keys: how they are made and how they are shown when not revealed."""

from __future__ import annotations

import secrets

# No look-alikes (no 0/O, 1/I): keys are read off screens and typed by hand.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_key() -> str:
    """Five groups of five."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(25))
    return "-".join(raw[i : i + 5] for i in range(0, 25, 5))


def masked(key: str) -> str:
    """The first and last groups only: enough to tell keys apart, not to use one."""
    groups = key.split("-")
    return "-".join(g if i in (0, len(groups) - 1) else "•" * len(g) for i, g in enumerate(groups))
