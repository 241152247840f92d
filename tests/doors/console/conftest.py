"""The demo store seeded by `shopkeep demo` into a data directory of its own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.cli import run


@pytest.fixture
def data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in list(os.environ):
        if key.startswith("SHOPKEEP_") and key != "SHOPKEEP_TEST_POSTGRES_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("SHOPKEEP_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    assert run(["demo"]) == 0
    return tmp_path / "var"
