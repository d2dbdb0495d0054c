"""The SQLite schema: its migrations, and opening a file at the current version."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

# MIGRATIONS[n] moves the schema from version n to n + 1; never edit a released entry.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE facilitators (
            id TEXT PRIMARY KEY,
            email TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            display_name TEXT NOT NULL,
            credentials TEXT NOT NULL,
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE groups (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            owner_id TEXT NOT NULL,
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE group_facilitators (
            group_id TEXT NOT NULL,
            facilitator_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            PRIMARY KEY (group_id, facilitator_id)
        ) WITHOUT ROWID""",
        "CREATE INDEX group_facilitators_by_facilitator ON group_facilitators (facilitator_id)",
        """CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            group_id TEXT,
            created_by TEXT,
            waiting_room INTEGER NOT NULL,
            scheduled_start TEXT,
            created_at REAL NOT NULL,
            ended_at REAL
        )""",
        "CREATE INDEX sessions_by_group ON sessions (group_id, created_at, id)",
        "CREATE INDEX sessions_by_creator ON sessions (created_by, created_at, id)",
        """CREATE TABLE invites (
            id TEXT PRIMARY KEY,
            group_id TEXT NOT NULL,
            label TEXT NOT NULL,
            token_id TEXT NOT NULL UNIQUE,
            created_at REAL NOT NULL,
            revoked INTEGER NOT NULL
        )""",
        "CREATE INDEX invites_by_group ON invites (group_id, created_at, id)",
        """CREATE TABLE blocked_invites (
            session_id TEXT NOT NULL,
            token_id TEXT NOT NULL,
            PRIMARY KEY (session_id, token_id)
        ) WITHOUT ROWID""",
        # AUTOINCREMENT: an id is never handed out twice, even after the newest rows go
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id TEXT NOT NULL,
            actor_id TEXT NOT NULL,
            actor_role TEXT NOT NULL,
            action TEXT NOT NULL,
            target_id TEXT,
            detail TEXT NOT NULL,
            at REAL NOT NULL,
            outcome TEXT NOT NULL
        )""",
        "CREATE INDEX audit_by_session ON audit (session_id, id)",
    ),
    (
        """CREATE TABLE summaries (
            session_id TEXT PRIMARY KEY,
            group_id TEXT,
            data TEXT NOT NULL,
            updated_at REAL NOT NULL,
            final INTEGER NOT NULL
        )""",
        "CREATE INDEX summaries_by_group ON summaries (group_id, updated_at, session_id)",
        "CREATE INDEX summaries_by_time ON summaries (updated_at, session_id)",
        """CREATE TABLE deletions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id TEXT NOT NULL,
            group_id TEXT,
            by TEXT NOT NULL,
            reason TEXT NOT NULL,
            at REAL NOT NULL
        )""",
    ),
    (
        # a running session's state (rooms.persistence), kept to be restored after a restart
        """CREATE TABLE live_states (
            session_id TEXT PRIMARY KEY,
            data TEXT NOT NULL,
            updated_at REAL NOT NULL
        )""",
    ),
    (  # 3: revocable sign-in cookies, disabled accounts
        "ALTER TABLE facilitators ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE facilitators ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0",
    ),
    (  # 4: crisis readiness: the safety check setting, crisis records (with the audit data)
        "ALTER TABLE sessions ADD COLUMN safety_check INTEGER NOT NULL DEFAULT 1",
        """CREATE TABLE crises (
            session_id TEXT NOT NULL,
            crisis_id TEXT NOT NULL,
            started_at REAL NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (session_id, crisis_id)
        ) WITHOUT ROWID""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def private_files(path: Path) -> None:
    """The folder 0700 and the database 0600 before SQLite opens it: SQLite makes its WAL and
    shared-memory files with the database's own mode."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists():
            file.chmod(0o600)


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating it, with its folder, if need be) and migrate the store's file."""
    private_files(path)
    # isolation_level=None: no implicit transactions; writes say BEGIN IMMEDIATE (core.py)
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA secure_delete=ON")  # deleted rows are zeroed, not left in free pages
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
    conn.execute("PRAGMA busy_timeout=5000")
    migrate(conn)
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the file to SCHEMA_VERSION in one transaction; refuse a newer one."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        version = 0 if row is None else int(row[0])
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"store schema {version} is newer than this Circle ({SCHEMA_VERSION})"
            )
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                conn.execute(statement)
        conn.execute("DELETE FROM schema_version")
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
