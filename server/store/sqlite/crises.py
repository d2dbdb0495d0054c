"""SQLiteStore's crisis records: table `crises`, one JSON text per crisis response. Deleting a
session's data, by request or by retention, deletes its rows too (summaries.py lists them)."""

from __future__ import annotations

import json
import sqlite3

from server.store.records import CrisisRecord
from server.store.sqlite.core import SQLiteCore
from server.store.validation import check_crisis


class SQLiteCrises(SQLiteCore):
    async def put_crisis(self, record: CrisisRecord) -> None:
        check_crisis(record)
        text = json.dumps(record.data, allow_nan=False)

        def upsert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO crises (session_id, crisis_id, started_at, data) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (session_id, crisis_id) DO UPDATE SET"
                " started_at = excluded.started_at, data = excluded.data",
                (record.session_id, record.crisis_id, float(record.started_at), text),
            )

        await self._write(upsert)

    async def crises_of_session(self, session_id: str) -> list[CrisisRecord]:
        rows = await self._all(
            "SELECT session_id, crisis_id, started_at, data FROM crises WHERE session_id = ?"
            " ORDER BY started_at, crisis_id",
            (session_id,),
        )
        return [CrisisRecord(row[0], row[1], row[2], json.loads(row[3])) for row in rows]
