"""Long lists a page at a time: ten rows, and the line that shows the next ten.

Chat buttons sit one a row beside a list, and ten rows keep a message (and its buttons) within
every door's limits; `devices pixel-studio page 2` asks for the next ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from core.kernel.errors import NotFound

PAGE_ROWS = 10
_PAGE = re.compile(r"(?:^|\s)page\s+(\d{1,6})$", re.I)

T = TypeVar("T")


def split_page(text: str) -> tuple[str, int]:
    """`"pixel-studio page 2"` -> `("pixel-studio", 2)`; without a page, page 1."""
    text = text.strip()
    match = _PAGE.search(text)
    if match is None:
        return text, 1
    return text[: match.start()].strip(), max(1, int(match[1]))


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int
    more: bool  # a next page exists


def page_of(items: Sequence[T], number: int, *, what: str) -> Page[T]:
    """The `number`th page of `items`; NotFound naming how many pages there are past the end."""
    start = (number - 1) * PAGE_ROWS
    if number > 1 and start >= len(items):
        pages = max(1, -(-len(items) // PAGE_ROWS))
        raise NotFound(f"There is no page {number}: your {what} fit on {pages} "
                       f"page{'s' if pages > 1 else ''}.")
    return Page(list(items[start : start + PAGE_ROWS]), number, start + PAGE_ROWS < len(items))
