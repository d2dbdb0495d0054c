"""`circle backup` while `circle serve` runs, `circle restore` into a fresh data dir, and a
server started on it finds the data; a restore onto a store in use is refused."""

from __future__ import annotations

import os
import stat
import subprocess
import urllib.error
from pathlib import Path

import pytest

from bench.harness import PYTHON, ROOT, start_server
from server.store import SQLITE_FILE_NAME
from server.store.sqlite.schema import connect


def circle(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "server", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_backup_while_serving_then_restore_elsewhere(tmp_path: Path) -> None:
    data, fresh, copy = tmp_path / "data", tmp_path / "fresh", tmp_path / "circle-backup.sqlite3"
    with start_server(data, tmp_path / "a.log") as server:
        kept = server.api("/api/sessions", {"title": "Tuesday group"})
        made = circle("backup", str(copy), "--data-dir", str(data))
        assert made.returncode == 0, made.stderr
        later = server.api("/api/sessions", {"title": "After the backup"})
        refused = circle("restore", str(copy), "--data-dir", str(data))
        assert refused.returncode == 1 and "has" in refused.stderr and "open" in refused.stderr
        key = server.key
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert not copy.with_name(copy.name + "-wal").exists()
    restored = circle("restore", str(copy), "--data-dir", str(fresh))
    assert restored.returncode == 0, restored.stderr
    with start_server(fresh, tmp_path / "b.log", key=key) as server:
        found = server.api(f"/api/sessions/{kept['session_id']}")
        assert found["title"] == "Tuesday group"
        with pytest.raises(urllib.error.HTTPError) as missing:  # as of the backup's moment
            server.api(f"/api/sessions/{later['session_id']}")
        assert missing.value.code == 404


def test_restore_refuses_what_is_not_a_circle_store(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database" * 100)
    result = circle("restore", str(junk), "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 1 and "not a Circle store" in result.stderr
    assert not (tmp_path / "data" / "circle.sqlite3").exists()
    redis = circle("backup", str(tmp_path / "b"), "--redis-url", "redis://127.0.0.1:1")
    assert redis.returncode == 1 and "Redis itself" in redis.stderr


def test_backup_writes_through_nothing_another_user_prepared(tmp_path: Path) -> None:
    """Issue 26, finding 9: a `<target>.partial` made beforehand (another user's, mode 0666) or
    a symlink there must not become the backup or be written through."""
    data, shared = tmp_path / "data", tmp_path / "shared"
    shared.mkdir()
    connect(data / SQLITE_FILE_NAME).close()
    planted = shared / "circle.sqlite3.partial"
    planted.write_bytes(b"")
    planted.chmod(0o666)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (shared / "other.sqlite3.partial").symlink_to(victim)

    for name in ("circle.sqlite3", "other.sqlite3"):
        made = circle("backup", str(shared / name), "--data-dir", str(data))
        assert made.returncode == 0, made.stderr
        written = (shared / name).stat()
        assert stat.S_IMODE(written.st_mode) == 0o600 and written.st_uid == os.getuid()
    assert (shared / "circle.sqlite3").stat().st_ino != planted.stat().st_ino
    assert stat.S_IMODE(planted.stat().st_mode) == 0o666 and planted.read_bytes() == b""
    assert victim.read_text() == "keep me"
    # nothing of the backup's own is left beside it
    assert sorted(p.name for p in shared.iterdir()) == [
        "circle.sqlite3",
        "circle.sqlite3.partial",
        "other.sqlite3",
        "other.sqlite3.partial",
    ]
