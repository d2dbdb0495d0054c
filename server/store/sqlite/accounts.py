"""SQLiteStore's accounts and groups: `facilitators`, `groups` and `group_facilitators`."""

from __future__ import annotations

import sqlite3

from server.store.records import Facilitator, Group
from server.store.sqlite.core import (
    Row,
    SQLiteCore,
    claim,
    columns_of,
    exists,
    insert,
    record_of,
    row_of,
)
from server.store.validation import normalize_email, normalized_facilitator, normalized_group

_FACILITATOR_COLUMNS = columns_of(Facilitator)
_SELECT_FACILITATOR = f"SELECT {_FACILITATOR_COLUMNS} FROM facilitators WHERE"


def _facilitator(row: Row) -> Facilitator:
    return record_of(Facilitator, row)


class SQLiteAccounts(SQLiteCore):
    # facilitators

    async def add_facilitator(self, facilitator: Facilitator) -> Facilitator:
        record = normalized_facilitator(facilitator)

        def add(conn: sqlite3.Connection) -> None:
            claim(conn, "facilitators", "facilitator", [("id", record.id), ("email", record.email)])
            insert(conn, "facilitators", _FACILITATOR_COLUMNS, row_of(record))

        await self._write(add)
        return record

    async def get_facilitator(self, facilitator_id: str) -> Facilitator | None:
        row = await self._one(f"{_SELECT_FACILITATOR} id = ?", (facilitator_id,))
        return None if row is None else _facilitator(row)

    async def find_facilitator_by_email(self, email: str) -> Facilitator | None:
        row = await self._one(f"{_SELECT_FACILITATOR} email = ?", (normalize_email(email),))
        return None if row is None else _facilitator(row)

    async def update_facilitator_profile(
        self, facilitator_id: str, display_name: str, credentials: str
    ) -> Facilitator | None:
        return await self._update_one(
            "UPDATE facilitators SET display_name = ?, credentials = ? WHERE id = ?",
            (display_name, credentials, facilitator_id),
            f"{_SELECT_FACILITATOR} id = ?",
            facilitator_id,
            _facilitator,
        )

    async def update_facilitator_access(
        self, facilitator_id: str, *, password_hash: str | None = None, disabled: bool | None = None
    ) -> Facilitator | None:
        return await self._update_one(
            "UPDATE facilitators SET token_version = token_version + 1,"
            " password_hash = COALESCE(?, password_hash), disabled = COALESCE(?, disabled)"
            " WHERE id = ?",
            (password_hash, disabled, facilitator_id),
            f"{_SELECT_FACILITATOR} id = ?",
            facilitator_id,
            _facilitator,
        )

    # groups

    async def add_group(self, group: Group) -> Group:
        record = normalized_group(group)

        def add(conn: sqlite3.Connection) -> None:
            claim(conn, "groups", "group", [("id", record.id)])
            insert(
                conn,
                "groups",
                "id, name, owner_id, created_at",
                (record.id, record.name, record.owner_id, record.created_at),
            )
            conn.executemany(
                "INSERT INTO group_facilitators (group_id, facilitator_id, position)"
                " VALUES (?, ?, ?)",
                [(record.id, fid, n) for n, fid in enumerate(record.facilitator_ids)],
            )

        await self._write(add)
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
            if not exists(conn, "groups", "id", group_id):
                return None
            conn.execute(
                "INSERT OR IGNORE INTO group_facilitators (group_id, facilitator_id, position)"
                " SELECT ?, ?, COALESCE(MAX(position), -1) + 1 FROM group_facilitators"
                " WHERE group_id = ?",
                (group_id, facilitator_id, group_id),
            )
            return _load_group(conn, group_id)

        return await self._write(add)


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
