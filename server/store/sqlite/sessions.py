"""SQLiteStore's sessions and invites: `sessions`, `invites` and `blocked_invites`."""

from __future__ import annotations

import sqlite3

from server.store.records import Invite, SessionRecord
from server.store.sqlite.core import Row, SQLiteCore, claim, columns_of, insert, record_of, row_of

_SESSION_COLUMNS = columns_of(SessionRecord)
_SELECT_SESSION = f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE"
_INVITE_COLUMNS = columns_of(Invite)
_SELECT_INVITE = f"SELECT {_INVITE_COLUMNS} FROM invites WHERE"


def _session(row: Row) -> SessionRecord:
    return record_of(SessionRecord, row)


def _invite(row: Row) -> Invite:
    return record_of(Invite, row)


class SQLiteSessions(SQLiteCore):
    # sessions

    async def add_session(self, session: SessionRecord) -> SessionRecord:
        def add(conn: sqlite3.Connection) -> None:
            claim(conn, "sessions", "session", [("id", session.id)])
            insert(conn, "sessions", _SESSION_COLUMNS, row_of(session))

        await self._write(add)
        return session

    async def get_session(self, session_id: str) -> SessionRecord | None:
        row = await self._one(f"{_SELECT_SESSION} id = ?", (session_id,))
        return None if row is None else _session(row)

    async def sessions_of_group(self, group_id: str) -> list[SessionRecord]:
        rows = await self._all(
            f"{_SELECT_SESSION} group_id = ? ORDER BY created_at, id", (group_id,)
        )
        return [_session(row) for row in rows]

    async def sessions_created_by(self, facilitator_id: str) -> list[SessionRecord]:
        rows = await self._all(
            f"{_SELECT_SESSION} created_by = ? ORDER BY created_at, id", (facilitator_id,)
        )
        return [_session(row) for row in rows]

    async def end_session(self, session_id: str, at: float) -> SessionRecord | None:
        return await self._update_one(
            "UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
            (at, session_id),
            f"{_SELECT_SESSION} id = ?",
            session_id,
            _session,
        )

    # invites

    async def add_invite(self, invite: Invite) -> Invite:
        def add(conn: sqlite3.Connection) -> None:
            claim(conn, "invites", "invite", [("id", invite.id), ("token_id", invite.token_id)])
            insert(conn, "invites", _INVITE_COLUMNS, row_of(invite))

        await self._write(add)
        return invite

    async def get_invite(self, invite_id: str) -> Invite | None:
        row = await self._one(f"{_SELECT_INVITE} id = ?", (invite_id,))
        return None if row is None else _invite(row)

    async def invites_of_group(self, group_id: str) -> list[Invite]:
        rows = await self._all(
            f"{_SELECT_INVITE} group_id = ? ORDER BY created_at, id", (group_id,)
        )
        return [_invite(row) for row in rows]

    async def get_invite_by_token_id(self, token_id: str) -> Invite | None:
        row = await self._one(f"{_SELECT_INVITE} token_id = ?", (token_id,))
        return None if row is None else _invite(row)

    async def revoke_invite(self, invite_id: str) -> Invite | None:
        return await self._update_one(
            "UPDATE invites SET revoked = 1 WHERE id = ?",
            (invite_id,),
            f"{_SELECT_INVITE} id = ?",
            invite_id,
            _invite,
        )

    # blocked invites

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
