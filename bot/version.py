"""The installed shopkeep's version, for `--version` and the health check."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def shopkeep_version() -> str:
    try:
        return version("shopkeep")
    except PackageNotFoundError:
        return "0+unknown"
