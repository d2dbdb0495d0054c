"""Where Circle keeps accounts, groups, sessions, invites and the audit log.

`open_store` picks the backend: Redis when `redis_url` is set (several processes share it),
else the embedded SQLite file `circle.sqlite3` in the data directory (nothing to install).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from redis.exceptions import RedisError

from server.store.base import (
    AUDIT_OUTCOMES,
    DEFAULT_AUDIT_LIMIT,
    AuditEntry,
    AuditOutcome,
    CrisisRecord,
    DeletionEntry,
    DetailValue,
    Facilitator,
    Group,
    Invite,
    SessionRecord,
    Store,
    StoreConflict,
    StoreError,
    SummaryRecord,
    normalize_email,
)
from server.store.redis import RedisStore
from server.store.sqlite import SQLiteStore

SQLITE_FILE_NAME = "circle.sqlite3"

__all__ = [
    "AUDIT_OUTCOMES",
    "DEFAULT_AUDIT_LIMIT",
    "SQLITE_FILE_NAME",
    "AuditEntry",
    "AuditOutcome",
    "CrisisRecord",
    "DeletionEntry",
    "DetailValue",
    "Facilitator",
    "Group",
    "Invite",
    "RedisStore",
    "SQLiteStore",
    "SessionRecord",
    "Store",
    "StoreConflict",
    "StoreError",
    "StoreSettings",
    "SummaryRecord",
    "normalize_email",
    "open_store",
]


class StoreSettings(Protocol):
    """The part of the server's settings the store needs (server.config.Settings fits)."""

    @property
    def data_dir(self) -> Path: ...

    @property
    def redis_url(self) -> str | None: ...


async def open_store(settings: StoreSettings) -> Store:
    """Open the configured store, failing now (not at the first request) if Redis is down."""
    if settings.redis_url:
        store = RedisStore(settings.redis_url)
        try:
            await store.ping()
        except (RedisError, OSError) as exc:
            await store.close()
            # name the server but never the URL itself: it may carry a password
            where = urlsplit(settings.redis_url)
            raise StoreError(f"cannot reach Redis at {where.hostname}:{where.port}: {exc}") from exc
        return store
    return await asyncio.to_thread(SQLiteStore, settings.data_dir / SQLITE_FILE_NAME)
