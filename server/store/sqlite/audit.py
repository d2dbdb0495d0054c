"""SQLiteStore's audit log: table `audit`, ids from AUTOINCREMENT."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from typing import cast

from server.store.records import DEFAULT_AUDIT_LIMIT, AuditEntry, AuditOutcome, DetailValue
from server.store.sqlite.core import Row, SQLiteCore, insert
from server.store.validation import check_audit_entry

_WRITTEN_COLUMNS = "session_id, actor_id, actor_role, action, target_id, detail, at, outcome"
_AUDIT_COLUMNS = f"id, {_WRITTEN_COLUMNS}"  # the id comes from AUTOINCREMENT


def _audit(row: Row) -> AuditEntry:
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


class SQLiteAudit(SQLiteCore):
    async def append_audit(self, entry: AuditEntry) -> AuditEntry:
        check_audit_entry(entry)
        values = (
            entry.session_id,
            entry.actor_id,
            entry.actor_role,
            entry.action,
            entry.target_id,
            json.dumps(entry.detail, allow_nan=False),
            entry.at,
            entry.outcome,
        )

        def add(conn: sqlite3.Connection) -> int:
            return insert(conn, "audit", _WRITTEN_COLUMNS, values)

        new_id = await self._write(add)
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
