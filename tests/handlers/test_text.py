"""The one text rendering: aligned tables with amounts on the right, short "Next" lists, and
HTML without raw backticks."""

from __future__ import annotations

import pytest

from bot.mail.render import reply_html
from handlers.reply import Choice, Reply, Table
from handlers.text import reply_text, table_lines


def test_amounts_line_up_on_the_right() -> None:
    table = Table(["Invoice", "Total"], [["INV-1", "$9.00"], ["INV-2", "$1,249.00"]], numeric=(1,))
    _, _, first, second = table_lines(table)
    assert first.endswith("    $9.00") and second.endswith("$1,249.00")
    assert len(first) == len(second)


def test_next_steps_are_a_short_list_not_one_long_line() -> None:
    reply = Reply(title="Your orders", choices=[Choice(f"{n}. Product", f"product {n}") for n in range(1, 6)])
    text = reply_text(reply)
    assert "Next:\n  product 1   (1. Product)\n" in text
    assert all(len(line) < 60 for line in text.splitlines())


def test_html_mail_shows_commands_as_code_not_backticks() -> None:
    html = reply_html(Reply(paragraphs=["Send `invoice <number>` for the PDF."],
                            tables=[Table(["A"], [["`x`"]])]))
    assert "`" not in html and "<code>invoice &lt;number&gt;</code>" in html


def test_a_row_action_is_the_line_to_send_and_tables_without_keep_their_look() -> None:
    rows = [["1", "Studio iMac"], ["2", "Old ThinkPad"]]
    plain = reply_text(Reply(tables=[Table(["#", "Device"], rows)]))
    acted = reply_text(Reply(tables=[Table(["#", "Device"], rows, actions=(
        Choice("Deactivate 1", "deactivate app 6f0c"), None))]))
    assert acted.startswith(plain)  # the table itself reads the same
    assert acted.endswith("To act on a row, send its line:\n  deactivate app 6f0c   (Deactivate 1)")
    html = reply_html(Reply(tables=[Table(["#", "Device"], rows, actions=(
        Choice("Deactivate 1", "deactivate app 6f0c"), None))]))
    assert "<code>deactivate app 6f0c</code> (Deactivate 1)</td></tr><tr>" in html
    assert "To do it, send" not in reply_html(Reply(tables=[Table(["#", "Device"], rows)]))


def test_actions_go_one_to_a_row() -> None:
    with pytest.raises(ValueError, match="one to a row"):
        Table(["#"], [["1"], ["2"]], actions=(Choice("A", "a"),))
