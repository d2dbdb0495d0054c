"""What every part of SQLiteStore stands on: the one connection, its lock, transactions, and
the row helpers the concerns share."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import astuple, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from server.store.records import StoreConflict
from server.store.sqlite.backup import hold_in_use
from server.store.sqlite.schema import connect

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T")
D = TypeVar("D", bound="DataclassInstance")

Row = tuple[Any, ...]


def columns_of(kind: type[DataclassInstance]) -> str:
    """A record's fields as a column list: tables of whole records name columns after them."""
    return ", ".join(f.name for f in fields(kind))


def row_of(record: DataclassInstance) -> Row:
    """A whole record's values, in its `columns_of` order."""
    return astuple(record)


def record_of(kind: type[D], row: Row) -> D:
    """A whole record back from its row (`columns_of` order); SQLite keeps booleans as 0/1."""
    values = (
        bool(value) if column.type in (bool, "bool") else value
        for column, value in zip(fields(kind), row, strict=True)
    )
    return kind(*values)


def insert(conn: sqlite3.Connection, table: str, columns: str, values: Sequence[Any]) -> int:
    """INSERT one row; returns its rowid."""
    marks = ", ".join("?" * len(values))
    cursor = conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values))
    return cast(int, cursor.lastrowid)


def exists(conn: sqlite3.Connection, table: str, column: str, value: str) -> bool:
    return (
        conn.execute(f"SELECT 1 FROM {table} WHERE {column} = ?", (value,)).fetchone() is not None
    )


def claim(
    conn: sqlite3.Connection, table: str, kind: str, unique: Sequence[tuple[str, str]]
) -> None:
    """Refuse a new `kind` whose unique (column, value)s are taken, naming the first one."""
    for column, value in unique:
        if exists(conn, table, column, value):
            raise StoreConflict(kind, column, value)


class SQLiteCore:
    """The connection: every call runs in a worker thread, one at a time under the lock.

    The constructor opens the file and so blocks briefly: call it from a thread (as
    `open_store` does) when an event loop is running.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._in_use = hold_in_use(self.path)  # `circle restore` refuses while it is held
        self._conn = connect(self.path)
        self._lock = threading.Lock()

    async def ping(self) -> None:
        await self._run(lambda conn: conn.execute("SELECT 1").fetchone())

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

    async def _one(self, sql: str, args: Iterable[Any]) -> Row | None:
        params = tuple(args)
        row = await self._run(lambda conn: conn.execute(sql, params).fetchone())
        return cast(Row | None, row)

    async def _all(self, sql: str, args: Iterable[Any]) -> list[Row]:
        params = tuple(args)
        return await self._run(lambda conn: conn.execute(sql, params).fetchall())

    async def _update_one(
        self, update: str, args: Sequence[Any], select: str, key: str, load: Callable[[Row], T]
    ) -> T | None:
        """Run `update`, then read the row `select` finds by `key` (None when there is none),
        in one transaction."""

        def work(conn: sqlite3.Connection) -> T | None:
            conn.execute(update, tuple(args))
            row = conn.execute(select, (key,)).fetchone()
            return None if row is None else load(row)

        return await self._write(work)

    async def close(self) -> None:
        await self._run(lambda conn: conn.close())
        os.close(self._in_use)
