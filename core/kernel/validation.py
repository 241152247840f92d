"""Validation problems in the product's words: what is wrong with one value, as a sentence part.

pydantic's own messages ("String should match pattern '^\\s*\\d...'") are for developers; every
door and the command line say instead what the value should be.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

_PHRASES = {
    "missing": "is missing",
    "extra_forbidden": "is not something this takes",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "float_parsing": "must be a number",
    "bool_parsing": "must be yes or no",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "datetime_parsing": "must be a date and time like 2026-03-01T10:00:00Z",
    "datetime_from_date_parsing": "must be a date and time like 2026-03-01T10:00:00Z",
    "datetime_type": "must be a date and time like 2026-03-01T10:00:00Z",
    "string_pattern_mismatch": "is not in the expected form",
    "json_invalid": "is not valid JSON",
}


def reason(error: ErrorDetails) -> str:
    """e.g. "must be at least 1", "must be at most 200 characters long"."""
    kind, context = error["type"], error.get("ctx") or {}
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return _bound(kind, context)
    if kind == "string_too_short":
        return "must not be empty" if context.get("min_length") == 1 else \
            f"must be at least {context.get('min_length')} characters long"
    if kind == "string_too_long":
        return f"must be at most {context.get('max_length')} characters long"
    if kind == "too_short":
        return f"needs at least {context.get('min_length')}"
    if kind == "too_long":
        return f"may have at most {context.get('max_length')}"
    if kind == "literal_error":
        return f"must be one of {context.get('expected')}"
    return _PHRASES.get(kind, "is not valid")


def _bound(kind: str, context: dict[str, Any]) -> str:
    if kind == "greater_than":
        return f"must be more than {context.get('gt')}"
    if kind == "greater_than_equal":
        return f"must be at least {context.get('ge')}"
    if kind == "less_than":
        return f"must be less than {context.get('lt')}"
    return f"must be at most {context.get('le')}"


def first_problem(exc: ValidationError) -> tuple[str, str]:
    """(the dotted field, what is wrong with it) of the first error."""
    error = exc.errors()[0]
    return ".".join(str(p) for p in error["loc"]), reason(error)


# C0 control characters and DEL, but tab, line feed and carriage return: nothing a person types,
# and PostgreSQL refuses NUL in text outright.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def without_controls(text: str) -> str:
    return CONTROL.sub("", text)


def no_controls(value: str | None) -> str | None:
    """A pydantic validator: text with control characters is refused, not stored."""
    if value is not None and CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value
