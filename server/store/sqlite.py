"""The embedded default store: one SQLite file in the data directory, nothing to install.

sqlite3 blocks, so every call runs in a worker thread (asyncio.to_thread) on one connection
guarded by a lock; WAL mode lets a second process (a CLI tool, a backup) read while we write.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar, cast

from server.store.base import (
    DEFAULT_AUDIT_LIMIT,
    AuditEntry,
    AuditOutcome,
    DeletionEntry,
    DeletionReason,
    DetailValue,
    Facilitator,
    Group,
    Invite,
    SessionRecord,
    StoreConflict,
    SummaryRecord,
    check_audit_entry,
    check_deletion_entry,
    check_summary,
    normalize_email,
    normalized_facilitator,
    normalized_group,
)

T = TypeVar("T")

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
)
SCHEMA_VERSION = len(MIGRATIONS)

_FACILITATOR_COLUMNS = "id, email, password_hash, display_name, credentials, created_at"
_SESSION_COLUMNS = (
    "id, title, group_id, created_by, waiting_room, scheduled_start, created_at, ended_at"
)
_INVITE_COLUMNS = "id, group_id, label, token_id, created_at, revoked"
_SUMMARY_COLUMNS = "session_id, group_id, data, updated_at, final"
_AUDIT_COLUMNS = "id, session_id, actor_id, actor_role, action, target_id, detail, at, outcome"


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: no implicit transactions; writes below say BEGIN IMMEDIATE themselves
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
    conn.execute("PRAGMA busy_timeout=5000")
    _migrate(conn)
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
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


def _facilitator(row: tuple[Any, ...]) -> Facilitator:
    return Facilitator(
        id=row[0],
        email=row[1],
        password_hash=row[2],
        display_name=row[3],
        credentials=row[4],
        created_at=row[5],
    )


def _session(row: tuple[Any, ...]) -> SessionRecord:
    return SessionRecord(
        id=row[0],
        title=row[1],
        group_id=row[2],
        created_by=row[3],
        waiting_room=bool(row[4]),
        scheduled_start=row[5],
        created_at=row[6],
        ended_at=row[7],
    )


def _invite(row: tuple[Any, ...]) -> Invite:
    return Invite(
        id=row[0],
        group_id=row[1],
        label=row[2],
        token_id=row[3],
        created_at=row[4],
        revoked=bool(row[5]),
    )


def _audit(row: tuple[Any, ...]) -> AuditEntry:
    return AuditEntry(
        id=row[0],
        session_id=row[1],
        actor_id=row[2],
        actor_role=row[3],
        action=row[4],
        target_id=row[5],
        detail=cast(dict[str, DetailValue], json.loads(row[6])),
        at=row[7],
        outcome=cast(AuditOutcome, row[8]),
    )


class SQLiteStore:
    """`Store` on a single SQLite file; the schema is created (or migrated) when it opens.

    The constructor opens the file and so blocks briefly: call it from a thread (as
    `open_store` does) when an event loop is running.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn = _connect(self.path)
        self._lock = threading.Lock()

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(self._locked, work)

    def _locked(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            return work(self._conn)

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in one transaction: all of its statements land, or none do."""

        def transaction(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return await self._run(transaction)

    async def _one(self, sql: str, args: Iterable[Any]) -> tuple[Any, ...] | None:
        params = tuple(args)
        row = await self._run(lambda conn: conn.execute(sql, params).fetchone())
        return cast(tuple[Any, ...] | None, row)

    async def _all(self, sql: str, args: Iterable[Any]) -> list[tuple[Any, ...]]:
        params = tuple(args)
        return await self._run(lambda conn: conn.execute(sql, params).fetchall())

    # facilitators

    async def add_facilitator(self, facilitator: Facilitator) -> Facilitator:
        record = normalized_facilitator(facilitator)

        def insert(conn: sqlite3.Connection) -> None:
            if _exists(conn, "SELECT 1 FROM facilitators WHERE id = ?", record.id):
                raise StoreConflict("facilitator", "id", record.id)
            if _exists(conn, "SELECT 1 FROM facilitators WHERE email = ?", record.email):
                raise StoreConflict("facilitator", "email", record.email)
            conn.execute(
                f"INSERT INTO facilitators ({_FACILITATOR_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.email,
                    record.password_hash,
                    record.display_name,
                    record.credentials,
                    record.created_at,
                ),
            )

        await self._write(insert)
        return record

    async def get_facilitator(self, facilitator_id: str) -> Facilitator | None:
        row = await self._one(
            f"SELECT {_FACILITATOR_COLUMNS} FROM facilitators WHERE id = ?", (facilitator_id,)
        )
        return None if row is None else _facilitator(row)

    async def find_facilitator_by_email(self, email: str) -> Facilitator | None:
        row = await self._one(
            f"SELECT {_FACILITATOR_COLUMNS} FROM facilitators WHERE email = ?",
            (normalize_email(email),),
        )
        return None if row is None else _facilitator(row)

    async def update_facilitator_profile(
        self, facilitator_id: str, display_name: str, credentials: str
    ) -> Facilitator | None:
        def update(conn: sqlite3.Connection) -> Facilitator | None:
            conn.execute(
                "UPDATE facilitators SET display_name = ?, credentials = ? WHERE id = ?",
                (display_name, credentials, facilitator_id),
            )
            row = conn.execute(
                f"SELECT {_FACILITATOR_COLUMNS} FROM facilitators WHERE id = ?", (facilitator_id,)
            ).fetchone()
            return None if row is None else _facilitator(row)

        return await self._write(update)

    # groups

    async def add_group(self, group: Group) -> Group:
        record = normalized_group(group)

        def insert(conn: sqlite3.Connection) -> None:
            if _exists(conn, "SELECT 1 FROM groups WHERE id = ?", record.id):
                raise StoreConflict("group", "id", record.id)
            conn.execute(
                "INSERT INTO groups (id, name, owner_id, created_at) VALUES (?, ?, ?, ?)",
                (record.id, record.name, record.owner_id, record.created_at),
            )
            conn.executemany(
                "INSERT INTO group_facilitators (group_id, facilitator_id, position)"
                " VALUES (?, ?, ?)",
                [(record.id, fid, n) for n, fid in enumerate(record.facilitator_ids)],
            )

        await self._write(insert)
        return record

    async def get_group(self, group_id: str) -> Group | None:
        return await self._run(lambda conn: _load_group(conn, group_id))

    async def groups_of(self, facilitator_id: str) -> list[Group]:
        def load(conn: sqlite3.Connection) -> list[Group]:
            rows = conn.execute(
                "SELECT g.id FROM groups g JOIN group_facilitators f ON f.group_id = g.id"
                " WHERE f.facilitator_id = ? ORDER BY g.created_at, g.id",
                (facilitator_id,),
            ).fetchall()
            groups = (_load_group(conn, row[0]) for row in rows)
            return [g for g in groups if g is not None]

        return await self._run(load)

    async def add_group_facilitator(self, group_id: str, facilitator_id: str) -> Group | None:
        def add(conn: sqlite3.Connection) -> Group | None:
            if not _exists(conn, "SELECT 1 FROM groups WHERE id = ?", group_id):
                return None
            conn.execute(
                "INSERT OR IGNORE INTO group_facilitators (group_id, facilitator_id, position)"
                " SELECT ?, ?, COALESCE(MAX(position), -1) + 1 FROM group_facilitators"
                " WHERE group_id = ?",
                (group_id, facilitator_id, group_id),
            )
            return _load_group(conn, group_id)

        return await self._write(add)

    # sessions

    async def add_session(self, session: SessionRecord) -> SessionRecord:
        def insert(conn: sqlite3.Connection) -> None:
            if _exists(conn, "SELECT 1 FROM sessions WHERE id = ?", session.id):
                raise StoreConflict("session", "id", session.id)
            conn.execute(
                f"INSERT INTO sessions ({_SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session.id,
                    session.title,
                    session.group_id,
                    session.created_by,
                    int(session.waiting_room),
                    session.scheduled_start,
                    session.created_at,
                    session.ended_at,
                ),
            )

        await self._write(insert)
        return session

    async def get_session(self, session_id: str) -> SessionRecord | None:
        row = await self._one(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)
        )
        return None if row is None else _session(row)

    async def sessions_of_group(self, group_id: str) -> list[SessionRecord]:
        rows = await self._all(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE group_id = ? ORDER BY created_at, id",
            (group_id,),
        )
        return [_session(row) for row in rows]

    async def sessions_created_by(self, facilitator_id: str) -> list[SessionRecord]:
        rows = await self._all(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE created_by = ? ORDER BY created_at, id",
            (facilitator_id,),
        )
        return [_session(row) for row in rows]

    async def end_session(self, session_id: str, at: float) -> SessionRecord | None:
        def end(conn: sqlite3.Connection) -> SessionRecord | None:
            conn.execute(
                "UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
                (at, session_id),
            )
            row = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
            return None if row is None else _session(row)

        return await self._write(end)

    # invites

    async def add_invite(self, invite: Invite) -> Invite:
        def insert(conn: sqlite3.Connection) -> None:
            if _exists(conn, "SELECT 1 FROM invites WHERE id = ?", invite.id):
                raise StoreConflict("invite", "id", invite.id)
            if _exists(conn, "SELECT 1 FROM invites WHERE token_id = ?", invite.token_id):
                raise StoreConflict("invite", "token_id", invite.token_id)
            conn.execute(
                f"INSERT INTO invites ({_INVITE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    invite.id,
                    invite.group_id,
                    invite.label,
                    invite.token_id,
                    invite.created_at,
                    int(invite.revoked),
                ),
            )

        await self._write(insert)
        return invite

    async def get_invite(self, invite_id: str) -> Invite | None:
        row = await self._one(f"SELECT {_INVITE_COLUMNS} FROM invites WHERE id = ?", (invite_id,))
        return None if row is None else _invite(row)

    async def invites_of_group(self, group_id: str) -> list[Invite]:
        rows = await self._all(
            f"SELECT {_INVITE_COLUMNS} FROM invites WHERE group_id = ? ORDER BY created_at, id",
            (group_id,),
        )
        return [_invite(row) for row in rows]

    async def get_invite_by_token_id(self, token_id: str) -> Invite | None:
        row = await self._one(
            f"SELECT {_INVITE_COLUMNS} FROM invites WHERE token_id = ?", (token_id,)
        )
        return None if row is None else _invite(row)

    async def revoke_invite(self, invite_id: str) -> Invite | None:
        def revoke(conn: sqlite3.Connection) -> Invite | None:
            conn.execute("UPDATE invites SET revoked = 1 WHERE id = ?", (invite_id,))
            row = conn.execute(
                f"SELECT {_INVITE_COLUMNS} FROM invites WHERE id = ?", (invite_id,)
            ).fetchone()
            return None if row is None else _invite(row)

        return await self._write(revoke)

    async def block_invite(self, session_id: str, token_id: str) -> None:
        def block(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR IGNORE INTO blocked_invites (session_id, token_id) VALUES (?, ?)",
                (session_id, token_id),
            )

        await self._write(block)

    async def unblock_invite(self, session_id: str, token_id: str) -> None:
        def unblock(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM blocked_invites WHERE session_id = ? AND token_id = ?",
                (session_id, token_id),
            )

        await self._write(unblock)

    async def is_invite_blocked(self, session_id: str, token_id: str) -> bool:
        row = await self._one(
            "SELECT 1 FROM blocked_invites WHERE session_id = ? AND token_id = ?",
            (session_id, token_id),
        )
        return row is not None

    # audit

    async def append_audit(self, entry: AuditEntry) -> AuditEntry:
        check_audit_entry(entry)

        def insert(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "INSERT INTO audit (session_id, actor_id, actor_role, action, target_id, detail,"
                " at, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.session_id,
                    entry.actor_id,
                    entry.actor_role,
                    entry.action,
                    entry.target_id,
                    json.dumps(entry.detail, allow_nan=False),
                    entry.at,
                    entry.outcome,
                ),
            )
            return cast(int, cursor.lastrowid)

        new_id = await self._write(insert)
        return replace(entry, id=new_id, detail=dict(entry.detail))

    async def audit_of_session(
        self, session_id: str, limit: int = DEFAULT_AUDIT_LIMIT
    ) -> list[AuditEntry]:
        if limit <= 0:
            return []
        rows = await self._all(
            f"SELECT {_AUDIT_COLUMNS} FROM audit WHERE session_id = ? ORDER BY id DESC LIMIT ?",
            (session_id, limit),
        )
        return [_audit(row) for row in reversed(rows)]

    # summaries and deletions

    async def put_summary(self, summary: SummaryRecord) -> None:
        check_summary(summary)
        text = json.dumps(summary.data, allow_nan=False)

        def upsert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO summaries (session_id, group_id, data, updated_at, final)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET"
                " group_id = excluded.group_id, data = excluded.data,"
                " updated_at = excluded.updated_at, final = excluded.final"
                " WHERE excluded.final = 1 OR summaries.final = 0",
                (summary.session_id, summary.group_id, text, summary.updated_at, summary.final),
            )

        await self._write(upsert)

    async def get_summary(self, session_id: str) -> SummaryRecord | None:
        row = await self._one(
            f"SELECT {_SUMMARY_COLUMNS} FROM summaries WHERE session_id = ?", (session_id,)
        )
        return None if row is None else _summary(row)

    async def summaries_of_group(self, group_id: str) -> list[SummaryRecord]:
        rows = await self._all(
            "SELECT m.session_id, m.group_id, m.data, m.updated_at, m.final"
            " FROM summaries m LEFT JOIN sessions s ON s.id = m.session_id"
            " WHERE m.group_id = ? ORDER BY COALESCE(s.created_at, m.updated_at), m.session_id",
            (group_id,),
        )
        return [_summary(row) for row in rows]

    async def delete_session_data(self, session_id: str) -> bool:
        return await self._write(lambda conn: _delete_session(conn, session_id))

    async def purge_summaries(self, older_than: float) -> list[str]:
        def purge(conn: sqlite3.Connection) -> list[str]:
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT session_id FROM summaries WHERE updated_at < ?"
                    " ORDER BY updated_at, session_id",
                    (older_than,),
                )
            ]
            for session_id in ids:
                _delete_session(conn, session_id)
            return ids

        return await self._write(purge)

    async def append_deletion(self, entry: DeletionEntry) -> None:
        check_deletion_entry(entry)

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO deletions (session_id, group_id, by, reason, at)"
                " VALUES (?, ?, ?, ?, ?)",
                (entry.session_id, entry.group_id, entry.by, entry.reason, entry.at),
            )

        await self._write(insert)

    async def deletions(self, limit: int = DEFAULT_AUDIT_LIMIT) -> list[DeletionEntry]:
        if limit <= 0:
            return []
        rows = await self._all(
            "SELECT session_id, group_id, by, reason, at FROM deletions ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [
            DeletionEntry(row[0], row[1], row[2], cast(DeletionReason, row[3]), row[4])
            for row in reversed(rows)
        ]

    async def close(self) -> None:
        await self._run(lambda conn: conn.close())


def _delete_session(conn: sqlite3.Connection, session_id: str) -> bool:
    found = False
    for table, column in (
        ("summaries", "session_id"),
        ("audit", "session_id"),
        ("blocked_invites", "session_id"),
        ("sessions", "id"),
    ):
        found |= conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (session_id,)).rowcount > 0
    return found


def _summary(row: tuple[Any, ...]) -> SummaryRecord:
    return SummaryRecord(row[0], row[1], json.loads(row[2]), row[3], bool(row[4]))


def _exists(conn: sqlite3.Connection, sql: str, value: str) -> bool:
    return conn.execute(sql, (value,)).fetchone() is not None


def _load_group(conn: sqlite3.Connection, group_id: str) -> Group | None:
    row = conn.execute(
        "SELECT id, name, owner_id, created_at FROM groups WHERE id = ?", (group_id,)
    ).fetchone()
    if row is None:
        return None
    members = conn.execute(
        "SELECT facilitator_id FROM group_facilitators WHERE group_id = ? ORDER BY position",
        (group_id,),
    ).fetchall()
    return Group(
        id=row[0],
        name=row[1],
        owner_id=row[2],
        facilitator_ids=tuple(m[0] for m in members),
        created_at=row[3],
    )
