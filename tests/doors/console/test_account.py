"""transfer, activity and export in `shopkeep chat`, and `shopkeep customer show|export|erase`, as
an operator runs them on the store `shopkeep demo` seeds."""

from __future__ import annotations

import builtins
import json
import re
import stat
import sys
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from bot.cli import run

NEW = "alice@new.example"


def code_mailed_to(data_dir: Path, address: str) -> str:
    """The code in the newest mail written to the outbox folder for `address`."""
    for path in sorted((data_dir / "mail" / "outbox").glob("*-code.eml"), reverse=True):
        message = message_from_bytes(path.read_bytes(), policy=default)
        if message["To"] == address:
            found = re.search(r"\b(\d{6})\b", str(message["Subject"]))
            assert found
            return found.group(1)
    raise AssertionError(f"no code was mailed to {address}")


def test_transfer_in_support_mode_then_show_and_activity(data_dir: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run(["chat", "--as", "alice@example.com", "-c", f"transfer {NEW}"]) == 0
    asked = capsys.readouterr().out
    assert f"we emailed a code to {NEW}. Send `confirm <code>` here" in asked
    assert run(["chat", "--as", "alice@example.com", "-c", f"confirm {code_mailed_to(data_dir, NEW)}"]) == 0
    moved = capsys.readouterr().out
    assert f"Your account is {NEW} now" in moved and "Support mode goes on acting for the account" in moved

    assert run(["chat", "--as", "alice@example.com", "-c", "orders"]) == 1, "the old address is nobody's"
    assert run(["chat", "--as", NEW, "-c", "activity"]) == 0
    log = capsys.readouterr().out
    assert re.search(rf"Moved the account from alice@example.com to {re.escape(NEW)}\s+Console, operator "
                     "support mode", log)
    assert "Operator support mode: the store's operator did it for you." in log

    assert run(["customer", "show", NEW]) == 0
    shown = capsys.readouterr().out
    assert re.search(rf"Customer\s+{re.escape(NEW)} \(id 1\)", shown)
    assert re.search(rf"Moves\s+alice@example.com -> {re.escape(NEW)} on ", shown)
    assert re.search(r"Documents\s+1 credit note\(s\), \d+ invoice\(s\), \d+ receipt\(s\)", shown)


def test_export_in_chat_saves_the_file(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run(["chat", "--as", "bob@example.com", "-c", "export", "--out", str(data_dir / "mine")]) == 0
    out = capsys.readouterr().out
    [saved] = [Path(line.strip()) for line in out.splitlines() if line.strip().endswith(".json")]
    assert json.loads(saved.read_text())["customer"]["email"] == "bob@example.com"


def test_customer_export_writes_the_json_for_the_operator(data_dir: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run(["customer", "export", "Bob@Example.com"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["customer"]["email"] == "bob@example.com" and data["orders"]
    out = tmp_path / "bob.json"
    assert run(["customer", "export", "bob@example.com", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == {**data, "exported_at": json.loads(out.read_text())["exported_at"]}
    assert stat.S_IMODE(out.stat().st_mode) == 0o600, "everything about a person: the operator's eyes only"
    assert run(["customer", "show", "nobody@example.com"]) == 1
    assert "there is no customer nobody@example.com" in capsys.readouterr().err


def test_erase_asks_at_a_terminal_and_needs_yes_elsewhere(data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run(["customer", "erase", "bob@example.com"]) == 2, "no terminal, no --yes: nothing happens"
    said = capsys.readouterr()
    assert "Kept for the legal retention period: 4 invoice(s), receipt(s) and credit note(s)" in said.out
    assert "confirm with --yes when not at a terminal" in said.err
    assert run(["customer", "show", "bob@example.com"]) == 0

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(builtins, "input", lambda prompt: "bob")
    assert run(["customer", "erase", "bob@example.com"]) == 1
    assert "Not erased." in capsys.readouterr().out
    monkeypatch.setattr(builtins, "input", lambda prompt: "Bob@example.com")
    assert run(["customer", "erase", "bob@example.com"]) == 0
    assert re.search(r"Erased bob@example.com; the account is erased-\d+@erased.invalid now, with its "
                     "invoices.", capsys.readouterr().out)
    assert run(["customer", "show", "bob@example.com"]) == 1
    assert run(["chat", "--as", "bob@example.com", "-c", "orders"]) == 1

    assert run(["customer", "erase", "dana@example.com", "--yes"]) == 0
    capsys.readouterr()
    assert run(["chat", "--as", "alice@example.com", "-c", "seats tileset-forge"]) == 0
    seats = capsys.readouterr().out
    assert "No seat is assigned yet: all 5 are free." in seats, "the seats they were given are free again"
