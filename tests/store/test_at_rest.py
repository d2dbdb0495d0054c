"""Issue 15, finding 10: the SQLite store's folder and files are private to the server's
user, and deleted or purged data is not left readable in the WAL or in free pages."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from server.store import SessionRecord, SummaryRecord
from server.store.sqlite import SQLiteStore

pytestmark = pytest.mark.unit

MARKER = "Zebra-Quokka-1234"  # stands for a name or engagement data


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_files_are_private_and_deletions_leave_no_trace(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = SQLiteStore(data / "circle.sqlite3")
    try:
        for n in range(2):
            sid = f"s-{n}"
            await store.add_session(SessionRecord(sid, "T", None, None, False, None, 1.0))
            record = SummaryRecord(sid, None, {"who": MARKER * 50, "n": n}, 10.0 * n, True)
            await store.put_summary(record)
        assert _mode(data) == 0o700
        files = [p for p in data.iterdir() if p.name.startswith("circle.sqlite3")]
        assert {p.name for p in files} >= {"circle.sqlite3", "circle.sqlite3-wal"}
        assert all(_mode(p) == 0o600 for p in files), {p.name: oct(_mode(p)) for p in files}
        assert await store.delete_session_data("s-0")
        assert await store.purge_summaries(older_than=100.0) == ["s-1"]
        left = b"".join(p.read_bytes() for p in data.iterdir() if p.is_file())
        assert MARKER.encode() not in left
    finally:
        await store.close()
