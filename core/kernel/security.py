"""Keyed hashes and signed, expiring tokens (HMAC-SHA256 with the server secret)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time


class TokenError(Exception):
    pass


class TokenInvalid(TokenError):
    """Tampered, truncated, or signed for another purpose."""


class TokenExpired(TokenError):
    pass


def keyed_hash(secret: bytes, purpose: str, value: str) -> str:
    return hmac.new(secret, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def _signature(secret: bytes, purpose: str, body: str, length: int) -> str:
    digest = hmac.new(secret, f"{purpose}\x00{body}".encode(), hashlib.sha256).digest()
    # Base32 survives case-folding mail systems and needs no URL escaping.
    return base64.b32encode(digest).decode().rstrip("=").lower()[:length]


def sign(secret: bytes, purpose: str, fields: list[str | int], ttl: int | None = None,
         *, now: float | None = None, length: int = 26) -> str:
    """A token `field.field...[.expiry].signature`; fields must not contain dots."""
    parts = [str(f) for f in fields]
    if any("." in p or not p for p in parts):
        raise ValueError("token fields must be non-empty and dot-free")
    if ttl is not None:
        parts.append(str(int((time.time() if now is None else now) + ttl)))
    body = ".".join(parts)
    return f"{body}.{_signature(secret, purpose, body, length)}"


def verify(secret: bytes, purpose: str, token: str, *, expiring: bool = True,
           now: float | None = None, length: int = 26) -> list[str]:
    """Check a token made by `sign`; returns its fields (without the expiry)."""
    if not token.isascii():  # every token we sign is ASCII; compare_digest refuses the rest
        raise TokenInvalid("bad characters")
    body, _, signature = token.strip().rpartition(".")
    expected = _signature(secret, purpose, body, length)
    if not body or not hmac.compare_digest(signature.lower(), expected):
        raise TokenInvalid("bad signature")
    parts = body.split(".")
    if expiring:
        expiry = parts.pop()
        if not expiry.isdigit():
            raise TokenInvalid("bad expiry")
        if int(expiry) < (time.time() if now is None else now):
            raise TokenExpired("expired")
    return parts


def numeric_code(digits: int = 6) -> str:
    return f"{secrets.randbelow(10**digits):0{digits}d}"
