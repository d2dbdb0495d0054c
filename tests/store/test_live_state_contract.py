"""The `Store` contract for running sessions' live states (rooms.persistence): every test here
runs on SQLite and on Redis (see conftest.py), like test_store_contract.py.

Backend-specific checks (migration, key layout) are at the end and say so.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import msgpack
import pytest

from rooms.model import Role, Session
from rooms.persistence import restore_session, session_state
from server.store import SQLITE_FILE_NAME, RedisStore, SQLiteStore, Store, SummaryRecord
from server.store.sqlite import MIGRATIONS, SCHEMA_VERSION
from tests.store.conftest import Backend, RedisServer
from tests.store.test_store_contract import _nested, audit, session


def live(session_id: str, title: str = "Tuesday group") -> dict[str, Any]:
    """A real state: a session with a leader, a participant with a raised hand, breakouts."""
    s = Session(session_id, title, created_at=100.0, max_participants=5)
    s.join("fac", "Fran", Role.FACILITATOR, 101.0, rejoin_key_hash="k" * 22)
    s.join("p1", "Pat", Role.PARTICIPANT, 102.0, invite_id="inv-1")
    s.participants["p1"].hand_raised_at = 103.5
    s.removed = {"gone", "also-gone"}
    s.breakouts.keep_apart = {frozenset(("p1", "p2"))}
    s.breakouts.return_countdown_s = 30.0
    return session_state(s)


def summary(session_id: str, at: float) -> SummaryRecord:
    return SummaryRecord(session_id, "g-1", {"at": at}, at, False)


async def test_live_state_round_trip_and_replace(store: Store) -> None:
    assert await store.get_live_state("s-1") is None
    await store.put_live_state("s-1", live("s-1"), 10.0)
    stored = await store.get_live_state("s-1")
    assert stored == live("s-1")  # lists stay lists, floats stay floats
    assert stored is not None
    assert restore_session(stored) == restore_session(live("s-1"))
    await store.put_live_state("s-1", live("s-1", title="Renamed"), 20.0)
    assert await store.get_live_state("s-1") == live("s-1", title="Renamed")
    assert await store.live_states() == [("s-1", live("s-1", title="Renamed"))]  # one, replaced


async def test_live_states_lists_every_stored_one_by_session_id(store: Store) -> None:
    assert await store.live_states() == []
    for sid in ("s-b", "s-c", "s-a"):
        await store.put_live_state(sid, live(sid), 10.0)
    assert await store.live_states() == [(sid, live(sid)) for sid in ("s-a", "s-b", "s-c")]
    await store.delete_live_state("s-b")
    assert [sid for sid, _ in await store.live_states()] == ["s-a", "s-c"]
    assert await store.get_live_state("s-b") is None
    await store.delete_live_state("s-b")  # again: nothing there, no error
    await store.delete_live_state("never")
    assert [sid for sid, _ in await store.live_states()] == ["s-a", "s-c"]


async def test_concurrent_writes_leave_one_state_each(store: Store) -> None:
    await asyncio.gather(
        *(store.put_live_state(f"s-{n % 3}", live(f"s-{n % 3}", f"T{n}"), n) for n in range(12))
    )
    states = await store.live_states()
    assert [sid for sid, _ in states] == ["s-0", "s-1", "s-2"]
    assert all(state["session"]["id"] == sid for sid, state in states)


async def test_deleting_a_sessions_data_takes_its_live_state(store: Store) -> None:
    await store.add_session(session("s-1"))
    await store.put_live_state("s-1", live("s-1"), 10.0)
    await store.put_live_state("s-2", live("s-2"), 10.0)
    assert await store.delete_session_data("s-1") is True
    assert await store.get_live_state("s-1") is None
    assert await store.live_states() == [("s-2", live("s-2"))]
    # a live state alone is some of the session's data too
    assert await store.delete_session_data("s-2") is True
    assert await store.live_states() == []
    assert await store.delete_session_data("s-2") is False


async def test_retention_purges_live_states_with_their_sessions(store: Store) -> None:
    for sid, at in (("s-old", 1000.0), ("s-new", 3000.0)):
        await store.add_session(session(sid))
        await store.put_summary(summary(sid, at))
        await store.append_audit(audit(sid, "x"))
        await store.put_live_state(sid, live(sid), at)
    assert await store.purge_summaries(2000.0) == ["s-old"]
    assert await store.get_live_state("s-old") is None
    assert await store.live_states() == [("s-new", live("s-new"))]


@pytest.mark.parametrize(
    ("session_id", "state", "at"),
    [
        ("s-1", {"x": float("nan")}, 1.0),
        ("s-1", {"x": [float("inf")]}, 1.0),
        ("s-1", {1: "int key"}, 1.0),
        ("s-1", {"x": {1, 2}}, 1.0),
        ("s-1", {"x": object()}, 1.0),
        ("s-1", {"x": b"bytes"}, 1.0),
        ("s-1", {"x": 2**64}, 1.0),
        ("s-1", {"x": "\ud800"}, 1.0),
        ("s-1", {"x": _nested(100)}, 1.0),
        ("s-1", ["not", "an", "object"], 1.0),
        ("s-1", {"ok": 1}, float("nan")),
        ("s-1", {"ok": 1}, float("inf")),
        ("", {"ok": 1}, 1.0),
        ("\udfff", {"ok": 1}, 1.0),
    ],
)
async def test_live_state_rejects_what_either_backend_could_not_carry(
    store: Store, session_id: str, state: Any, at: float
) -> None:
    await store.put_live_state("s-1", live("s-1"), 0.5)
    with pytest.raises(ValueError):
        await store.put_live_state(session_id, state, at)
    assert await store.live_states() == [("s-1", live("s-1"))]  # the stored one stands


async def test_live_states_survive_a_restart(durable_backend: Backend) -> None:
    store = await durable_backend.open()
    await store.put_live_state("s-1", live("s-1"), 10.0)
    await store.put_live_state("s-2", live("s-2"), 11.0)
    await store.delete_live_state("s-2")
    await store.close()

    durable_backend.restart()
    store = await durable_backend.open()
    try:
        assert await store.live_states() == [("s-1", live("s-1"))]
    finally:
        await store.close()


# backend-specific: migration and key layout


async def test_sqlite_migrates_a_version_2_file_to_keep_live_states(tmp_path: Path) -> None:
    path = tmp_path / SQLITE_FILE_NAME
    with sqlite3.connect(path) as conn:  # the file as the release before live states left it
        for statements in MIGRATIONS[:2]:
            for statement in statements:
                conn.execute(statement)
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version (version) VALUES (2)")
        conn.execute(
            "INSERT INTO summaries VALUES ('s-1', 'g-1', '{\"at\": 1.0}', 1.0, 0)",
        )
    conn.close()

    store = await asyncio.to_thread(SQLiteStore, path)
    try:
        assert SCHEMA_VERSION >= 3  # migrated past version 2, to the latest
        assert await store.get_summary("s-1") == summary("s-1", 1.0)
        await store.put_live_state("s-1", live("s-1"), 2.0)
        assert await store.live_states() == [("s-1", live("s-1"))]
    finally:
        await store.close()


async def test_redis_keeps_live_states_as_msgpack_under_the_prefix(tmp_path: Path) -> None:
    server = RedisServer(tmp_path, persistent=False)  # its own: this test reads every key
    server.start()
    try:
        store = RedisStore(server.url, prefix="circle:")
        try:
            await store.put_live_state("s-1", live("s-1"), 10.0)
        finally:
            await store.close()
        with server.client() as client:
            keys = sorted(k.decode() for k in client.keys("*"))
            raw = client.get("circle:live_state:s-1")
            index = client.smembers("circle:live_states")
    finally:
        server.stop()

    assert keys == ["circle:live_state:s-1", "circle:live_states"]
    assert raw is not None and msgpack.unpackb(raw) == {"state": live("s-1"), "at": 10.0}
    assert index == {b"s-1"}
