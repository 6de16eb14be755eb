"""Process-wide handles built from settings: the database. CLIs, the API and workers share these."""

from __future__ import annotations

import functools

from dualsign.db import Database
from dualsign.settings import get_settings


@functools.cache
def _database(url: str) -> Database:
    return Database(url)


def get_database() -> Database:
    return _database(get_settings().database_url)


def reset() -> None:
    """Forget cached handles (after settings change)."""
    _database.cache_clear()
