"""`shopkeep chat` asks for each field of a form in turn, and again for the ones that were wrong."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.cli import run


def chat(monkeypatch: pytest.MonkeyPatch, typed: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(typed))
    return run(["chat", "--as", "alice@example.com"])


def test_the_form_asks_each_field_and_again_for_a_wrong_one(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    # name, company, invoice email kept; two address lines; a wrong postal code, then the right one.
    assert chat(monkeypatch, "billing edit\n\n-\n\n4 Rue X / Étage 2\n7501\nLyon\n\n\n69001\nquit\n") == 0
    out = capsys.readouterr().out
    assert "Name (required) [Alice Moreau]: " in out and "Company [Atelier Moreau]: " in out
    assert "Postal code: 7501 isn't a postal code of France; they look like" in out
    assert "Postal code [7501]: " in out  # asked again, with what was typed
    assert "Changed: company, address, postal code and city." in out
    capsys.readouterr()
    assert run(["chat", "--as", "alice@example.com", "-c", "billing"]) == 0
    shown = capsys.readouterr().out
    assert "4 Rue X" in shown and "Étage 2" in shown and "69001 Lyon" in shown and "Atelier" not in shown


def test_giving_up_changes_nothing_and_one_shot_shows_the_lines(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert chat(monkeypatch, "billing edit\nBob\n") == 0  # input ends in the middle
    assert "Nothing was changed." in capsys.readouterr().out
    assert run(["chat", "--as", "alice@example.com", "-c", "billing edit"]) == 0
    out = capsys.readouterr().out
    assert "run `shopkeep chat` (without -c)" in out and "Name: Alice Moreau" in out
    assert run(["chat", "--as", "alice@example.com", "-c", "taxid add 123"]) == 1
    assert "123 isn't a valid French VAT number: they look like FR" in capsys.readouterr().out
