"""The embedded default store: one SQLite file in the data directory, nothing to install.

sqlite3 blocks, so every call runs in a worker thread (asyncio.to_thread) on one connection
guarded by a lock; WAL mode lets a second process (a CLI tool, a backup) read while we write.

One class, one file per concern: schema.py (migrations), core.py (connection, transactions,
row helpers), accounts.py (facilitators, groups), sessions.py (sessions, invites, blocks),
audit.py, crises.py (crisis records), summaries.py (summaries, deletion and retention, the
deletion log), live.py (running sessions' states, restored after a restart).
"""

from __future__ import annotations

from server.store.sqlite.accounts import SQLiteAccounts
from server.store.sqlite.audit import SQLiteAudit
from server.store.sqlite.crises import SQLiteCrises
from server.store.sqlite.live import SQLiteLiveStates
from server.store.sqlite.schema import MIGRATIONS, SCHEMA_VERSION
from server.store.sqlite.sessions import SQLiteSessions
from server.store.sqlite.summaries import SQLiteSummaries

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SQLiteStore"]


class SQLiteStore(
    SQLiteAccounts, SQLiteSessions, SQLiteAudit, SQLiteCrises, SQLiteSummaries, SQLiteLiveStates
):
    """`Store` on a single SQLite file; the schema is created (or migrated) when it opens.

    The constructor opens the file and so blocks briefly: call it from a thread (as
    `open_store` does) when an event loop is running.
    """
