"""SQLiteStore's live session states: table `live_states`, one JSON text per running session
(what the server restores after a restart). Deleting a session's data, by request or by
retention, deletes its row too (summaries.py lists it among the session's data)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from server.store.sqlite.core import SQLiteCore
from server.store.validation import check_live_state


class SQLiteLiveStates(SQLiteCore):
    async def put_live_state(self, session_id: str, state: dict[str, Any], at: float) -> None:
        check_live_state(session_id, state, at)
        text = json.dumps(state, allow_nan=False)

        def upsert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO live_states (session_id, data, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (session_id) DO UPDATE SET"
                " data = excluded.data, updated_at = excluded.updated_at",
                (session_id, text, float(at)),
            )

        await self._write(upsert)

    async def get_live_state(self, session_id: str) -> dict[str, Any] | None:
        row = await self._one("SELECT data FROM live_states WHERE session_id = ?", (session_id,))
        return None if row is None else _state(row[0])

    async def live_states(self) -> list[tuple[str, dict[str, Any]]]:
        rows = await self._all("SELECT session_id, data FROM live_states ORDER BY session_id", ())
        return [(row[0], _state(row[1])) for row in rows]

    async def delete_live_state(self, session_id: str) -> None:
        await self._write(
            lambda conn: conn.execute("DELETE FROM live_states WHERE session_id = ?", (session_id,))
        )


def _state(text: str) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(text)
    return state
