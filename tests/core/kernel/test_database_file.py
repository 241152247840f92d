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
    for file in [path, *tmp_path.glob("var/shopkeep.db-*")]:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
