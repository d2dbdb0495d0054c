"""SQLiteStore's summaries, deletion of a session's data (on request or by retention), and the
deletion log: tables `summaries` and `deletions`."""

from __future__ import annotations

import json
import sqlite3
from typing import cast

from server.store.records import DEFAULT_AUDIT_LIMIT, DeletionEntry, DeletionReason, SummaryRecord
from server.store.sqlite.core import Row, SQLiteCore, insert
from server.store.validation import check_deletion_entry, check_summary

_SUMMARY_COLUMNS = "session_id, group_id, data, updated_at, final"
# what one session's data is: the rows that go with it, by table and column
_SESSION_DATA = (
    ("summaries", "session_id"),
    ("audit", "session_id"),
    ("crises", "session_id"),
    ("blocked_invites", "session_id"),
    ("live_states", "session_id"),
    ("sessions", "id"),
)


def _summary(row: Row) -> SummaryRecord:
    return SummaryRecord(row[0], row[1], json.loads(row[2]), row[3], bool(row[4]))


def _delete_session(conn: sqlite3.Connection, session_id: str) -> bool:
    found = False
    for table, column in _SESSION_DATA:
        found |= conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (session_id,)).rowcount > 0
    return found


class SQLiteSummaries(SQLiteCore):
    # summaries

    async def put_summary(self, summary: SummaryRecord) -> None:
        check_summary(summary)
        text = json.dumps(summary.data, allow_nan=False)

        def upsert(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"INSERT INTO summaries ({_SUMMARY_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET"
                " group_id = excluded.group_id, data = excluded.data,"
                " updated_at = excluded.updated_at, final = excluded.final"
                " WHERE excluded.updated_at >= summaries.updated_at",
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

    # deleting a session's data, on request or by retention

    async def delete_session_data(self, session_id: str) -> bool:
        deleted = await self._write(lambda conn: _delete_session(conn, session_id))
        await self._forget_deleted()
        return deleted

    async def _forget_deleted(self) -> None:
        """Copy the WAL into the (secure_delete) database and truncate it: the deleted rows'
        old pages must not stay readable in the WAL."""
        await self._run(lambda conn: conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall())

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

        purged = await self._write(purge)
        if purged:
            await self._forget_deleted()
        return purged

    # the deletion log

    async def append_deletion(self, entry: DeletionEntry) -> None:
        check_deletion_entry(entry)
        values = (entry.session_id, entry.group_id, entry.by, entry.reason, entry.at)
        await self._write(
            lambda conn: insert(conn, "deletions", "session_id, group_id, by, reason, at", values)
        )

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
