"""Online backup and restore of the SQLite store (`circle backup`, `circle restore`).

A backup is SQLite's online backup API (`Connection.backup`): a consistent copy of the file
as of one moment, taken while the server keeps writing (WAL mode lets the reader and the
writer run together). A restore copies a backup into the store in one write transaction of
the same API, so a crash leaves the old or the new content, never a mix; and it is refused
while any process has the store open, which each does under a shared lock on a file next to
the store (`hold_in_use`).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from server.store.sqlite.schema import SCHEMA_VERSION, connect


class BackupError(RuntimeError):
    """A backup or restore that cannot be done, with the reason for the operator."""


def _lock_path(store: Path) -> Path:
    return store.with_name(store.name + ".lock")


def hold_in_use(store: Path) -> int:
    """A shared lock saying "this store is open" (any number of holders), until the
    descriptor is closed; waits while a restore runs."""
    store.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(_lock_path(store), os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_SH)
    return descriptor


def backup(store: Path, target: Path) -> None:
    """Copy the store, as of now, to `target` (a single file, no WAL beside it, mode 0600);
    `target` appears whole or not at all."""
    if not store.is_file():
        raise BackupError(f"no Circle store at {store}")
    # The copy (and SQLite's journal beside it) is written in a fresh 0700 folder of our own
    # next to the target, created exclusively under a random name: nothing another user made
    # or linked beforehand is opened, followed or renamed into place.
    workdir = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        partial = workdir / target.name
        flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW
        os.close(os.open(partial, flags, 0o600))
        _copy(store, partial, target)
        with partial.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, target)  # replaces a link at `target` itself, never its target
    finally:
        shutil.rmtree(workdir)


def _copy(store: Path, partial: Path, target: Path) -> None:
    source = sqlite3.connect(store)
    copy = sqlite3.connect(partial, isolation_level=None)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        _check(copy, target)
    finally:
        copy.close()
        source.close()


def restore(source: Path, store: Path) -> None:
    """Replace the store's content with the backup at `source`; refused while a Circle
    process has the store open."""
    if not source.is_file():
        raise BackupError(f"no backup at {source}")
    backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        _check(backup_db, source)
        store.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(_lock_path(store), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise BackupError(
                    f"a Circle process has {store} open: stop it (and any `circle` command "
                    "on this data dir) first"
                ) from None
            live = connect(store)
            try:
                backup_db.backup(live)  # one write transaction on the store
            finally:
                live.close()
        finally:
            os.close(descriptor)
    finally:
        backup_db.close()


def _check(db: sqlite3.Connection, path: Path) -> None:
    """A readable Circle store of a schema this Circle knows."""
    try:
        healthy = db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        row = db.execute("SELECT version FROM schema_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a Circle store: {exc}") from exc
    if not healthy or row is None:
        raise BackupError(f"{path} is damaged or not a Circle store")
    if int(row[0]) > SCHEMA_VERSION:
        raise BackupError(f"{path} is from a newer Circle (schema {row[0]} > {SCHEMA_VERSION})")
