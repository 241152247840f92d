"""Plain-text pieces every front door renders the same way (aligned tables)."""

from __future__ import annotations

from handlers.reply import Table


def table_lines(table: Table, *, with_title: bool = True) -> list[str]:
    """A table as aligned monospace lines: header, rule, rows."""
    widths = [len(c) for c in table.columns]
    for row in table.rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=False)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()

    title = [table.title] if with_title and table.title else []
    return [*title, line(table.columns), line(["-" * w for w in widths]), *map(line, table.rows)]
