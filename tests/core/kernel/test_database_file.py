"""The SQLite database holds every customer's data: only its owner may read it."""

from __future__ import annotations

import stat
from pathlib import Path

from core.kernel.db import Database


async def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "var" / "shopkeep.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await db.upgrade()
    finally:
        await db.close()
    modes = {file.name: stat.S_IMODE(file.stat().st_mode) for file in path.parent.iterdir()}
    assert modes and all(mode == 0o600 for mode in modes.values()), modes
