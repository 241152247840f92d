"""Reply -> Block Kit: everything said fits Slack's limits, and nothing said gets lost."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.slack.blocks import BlockKit
from handlers.reply import Choice, Confirmation, Field, Link, Reply, Table

COMMANDS = {"orders", "login", "verify", "confirm", "product"}
KIT = BlockKit(slash="/shop", is_command=lambda word: word in COMMANDS)
EXPIRY = datetime(2026, 3, 15, 13, 0, tzinfo=UTC)


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for block in blocks:
        if "text" in block:
            found.append(block["text"]["text"])
        found += [f["text"] for f in block.get("fields", [])]
        found += [e["text"] for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
    return found


def test_a_long_table_is_split_and_shortened_but_keeps_its_buttons() -> None:
    rows = [[f"INV-2026-{n:04d}", "Mar 1, 2026", "$1,234.56", "paid"] for n in range(4000)]
    reply = Reply(title="Invoices", tables=[Table(["Number", "Date", "Total", "Status"], rows)],
                  choices=[Choice("Next page", "invoices page 2")])

    blocks = KIT.blocks(reply)

    assert len(blocks) <= 50
    assert all(len(text) <= 3000 for text in texts(blocks))
    assert all(text.startswith(("```", "*")) or "```" not in text for text in texts(blocks))
    assert blocks[-1]["type"] == "actions"
    assert blocks[-1]["elements"][0]["value"] == "invoices page 2"
    assert "shortened" in blocks[-2]["elements"][0]["text"]


def test_a_table_that_fits_keeps_every_row_in_order() -> None:
    rows = [[str(n), f"Product {n}"] for n in range(120)]

    blocks = KIT.blocks(Reply(tables=[Table(["#", "Product"], rows, title="Products")]))

    joined = "\n".join(texts(blocks))
    assert joined.startswith("*Products*\n```")
    positions = [joined.index(f"Product {n}\n") for n in range(119)]
    assert positions == sorted(positions)
    assert "Product 119\n```" in joined


def test_fields_go_ten_to_a_section_and_wide_ones_get_their_own() -> None:
    fields = [Field(f"Seat {n}", f"user{n}@example.com") for n in range(23)]
    fields.insert(5, Field("Note", "z" * 5000, inline=False))

    blocks = KIT.blocks(Reply(fields=fields))

    assert [len(b.get("fields", [])) for b in blocks] == [5, 0, 0, 10, 8]
    assert all(len(text) <= 3000 for text in texts(blocks))
    assert sum(text.count("z") for text in texts(blocks)) == 5000


def test_commands_in_code_spans_are_shown_with_the_slash_command_and_text_is_escaped() -> None:
    reply = Reply.text("Send `login you@example.com`, then `verify <code>`. Keys: `ABCDE` & <more>.")

    [section] = KIT.blocks(reply)

    assert section["text"]["text"] == (
        "Send `/shop login you@example.com`, then `/shop verify &lt;code&gt;`. "
        "Keys: `ABCDE` &amp; &lt;more&gt;.")


def test_a_long_paragraph_is_split_without_losing_words() -> None:
    words = [f"word{n}" for n in range(1500)]

    blocks = KIT.blocks(Reply.text(" ".join(words)))

    assert len(blocks) > 1
    assert all(len(text) <= 3000 for text in texts(blocks))
    assert " ".join(texts(blocks)).split() == words


def test_links_are_buttons_with_their_expiry_in_each_readers_time_zone() -> None:
    long_url = "https://example.com/" + "a" * 3000
    reply = Reply(links=[Link("Download", "https://portal.test/d/abc", EXPIRY),
                         Link("Huge", long_url)])

    actions, inline, context = KIT.blocks(reply)

    [button] = actions["elements"]
    assert (button["text"]["text"], button["url"]) == ("Download", "https://portal.test/d/abc")
    assert inline["text"]["text"] == "Huge: this link is too long for Slack; ask for it by email."
    assert f"<!date^{int(EXPIRY.timestamp())}^" in context["elements"][0]["text"]
    assert "2026-03-15 13:00 UTC" in context["elements"][0]["text"]


def test_confirmation_buttons_ask_again_in_a_dialog() -> None:
    confirmation = Confirmation(summary="Cancel Maker Pro at the end of the period",
                                token="42.1773579600.abcdefghij", code="4KQ7PX", expires_at=EXPIRY,
                                confirm_label="Cancel plan", cancel_label="Keep it")

    section, actions, context = KIT.blocks(Reply(confirmation=confirmation))

    confirm, cancel = actions["elements"]
    assert confirm["value"] == cancel["value"] == "42.1773579600.abcdefghij"
    assert confirm["action_id"] == "shopkeep.confirm" and cancel["action_id"] == "shopkeep.cancel"
    assert confirm["confirm"]["text"]["text"] == "Cancel Maker Pro at the end of the period"
    assert (confirm["confirm"]["confirm"]["text"], cancel["text"]["text"]) == ("Cancel plan", "Keep it")
    assert "Cancel Maker Pro" in section["text"]["text"]
    assert "`/shop confirm 4KQ7PX`" in context["elements"][0]["text"]


def test_many_choices_fill_several_rows_of_buttons() -> None:
    reply = Reply(choices=[Choice(f"Product {n} " + "x" * 80, f"product {n}") for n in range(30)])

    blocks = KIT.blocks(reply)

    assert [len(b["elements"]) for b in blocks] == [25, 5]
    assert all(len(e["text"]["text"]) <= 75 for b in blocks for e in b["elements"])
    assert len({e["action_id"] for b in blocks for e in b["elements"]}) == 30


def test_errors_are_marked_and_titles_fit_the_header() -> None:
    error = KIT.blocks(Reply.error("That code is not right."))
    titled = KIT.blocks(Reply(title="T" * 200, paragraphs=["x"]))

    assert error[0]["text"]["text"] == ":warning: That code is not right."
    assert len(titled[0]["text"]["text"]) == 150


def test_message_and_home_shapes() -> None:
    reply = Reply(title="Welcome", paragraphs=[f"line {n}" for n in range(3)], private=False)

    message = KIT.message(reply, replace_original=True)
    home = KIT.home(Reply(tables=[Table(["n"], [[f"{n:040d}"] for n in range(10000)])]))
    empty = KIT.message(Reply())

    assert (message["response_type"], message["replace_original"], message["text"]) == (
        "in_channel", True, "Welcome")
    assert home["type"] == "home" and 50 < len(home["blocks"]) <= 100
    assert empty["blocks"] == [{"type": "section", "text": {"type": "mrkdwn", "text": "Done."}}]
