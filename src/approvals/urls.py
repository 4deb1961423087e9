"""Where a store is: the URL a path or nothing names (light: the quick read path uses it)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_url", "sqlite_url", "store_url"]


def default_url() -> str:
    """Return the URL of the default store: a SQLite file in the user's data folder."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return f"sqlite:///{Path(base) / 'approvals' / 'approvals.db'}"


def sqlite_url(path: str | Path) -> str:
    """Return the URL of the SQLite file at ``path``."""
    return f"sqlite:///{Path(path).expanduser().resolve()}"


def store_url(db: str | None) -> str:
    """Return the SQLAlchemy URL of the store ``db`` names: a URL as it is, a plain path as a
    SQLite file, nothing as the default file in the user's data folder."""
    if not db:
        return default_url()
    if "://" in db:
        return db
    return sqlite_url(db)
