"""Store fixtures: every contract test runs on SQLite (a file in tmp_path) and on a real Redis.

The Redis side is a real `redis-server` child process on a free loopback port, never a fake:
the contract is only worth something if it holds against what production runs. When the binary
is missing the tests fail (they are not skipped), so a green run always means both backends.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest
import redis

from bench.harness import free_port, log_tail, stop_process, wait_ready
from server.store import RedisStore, Store, open_store

REDIS_SERVER = Path("/usr/bin/redis-server")  # Debian's package; scripts/test.sh installs it
START_TIMEOUT = 10.0
BACKENDS = ["sqlite", "redis"]


def _redis_binary() -> str:
    if REDIS_SERVER.exists():
        return str(REDIS_SERVER)
    found = shutil.which("redis-server")
    if found is None:
        pytest.fail(
            f"redis-server not found ({REDIS_SERVER} or on PATH): the Redis store is tested "
            "against a real server. Install Debian's redis-server (scripts/test.sh does).",
            pytrace=False,
        )
    return found


class RedisServer:
    """A `redis-server` on 127.0.0.1; `persistent` turns the append-only file on (fsync always)
    so `restart()` shows what a real restart keeps, while per-test servers skip the disk."""

    def __init__(self, workdir: Path, *, persistent: bool) -> None:
        self.workdir = workdir
        self.persistent = persistent
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log(self) -> Path:
        return self.workdir / "redis.log"

    def start(self) -> None:
        persistence = ["--appendonly", "yes", "--appendfsync", "always"]
        command = [
            _redis_binary(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.workdir),
            "--save", "",
            *(persistence if self.persistent else ["--appendonly", "no"]),
            "--daemonize", "no",
            "--logfile", str(self.log),
        ]  # fmt: skip
        self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self._process is not None
        with redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1) as client:

            def answers() -> bool:
                try:
                    return bool(client.ping())
                except redis.exceptions.ConnectionError:
                    return False

            if wait_ready(self._process, answers, START_TIMEOUT, 0.02):
                return
        self.stop()
        log = log_tail(self.log)
        pytest.fail(f"redis-server did not start on port {self.port}:\n{log}", pytrace=False)

    def stop(self) -> None:
        """SIGTERM: Redis flushes the append-only file and exits, as under a service manager."""
        process, self._process = self._process, None
        stop_process(process, timeout_s=10)

    def restart(self) -> None:
        self.stop()
        self.start()  # same port and --dir: the same server, as far as clients can tell

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port)


@dataclass(frozen=True)
class StoreConfig:
    """Stands in for the server's settings: what `open_store` reads."""

    data_dir: Path
    redis_url: str | None = None


class Backend(Protocol):
    name: str

    async def open(self) -> Store: ...

    def restart(self) -> None: ...


class SQLiteBackend:
    name = "sqlite"

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    async def open(self) -> Store:
        return await open_store(StoreConfig(self.data_dir))

    def restart(self) -> None:
        """Nothing runs besides us: closing and reopening the file is the whole restart."""


class RedisBackend:
    name = "redis"

    def __init__(self, server: RedisServer, prefix: str | None) -> None:
        self.server = server
        self.prefix = prefix  # None: the production prefix, through open_store

    async def open(self) -> Store:
        if self.prefix is None:
            return await open_store(StoreConfig(self.server.workdir, self.server.url))
        return RedisStore(self.server.url, prefix=self.prefix)

    def restart(self) -> None:
        self.server.restart()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One server for the whole run, no persistence; tests keep apart by key prefix."""
    server = RedisServer(tmp_path_factory.mktemp("redis"), persistent=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield SQLiteBackend(tmp_path)
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    prefix = f"circle:test-{uuid.uuid4().hex}:"
    yield RedisBackend(server, prefix)
    with server.client() as client:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)


@pytest.fixture(params=BACKENDS)
def durable_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """A backend that can really be restarted: Redis gets its own server with an AOF."""
    if request.param == "sqlite":
        yield SQLiteBackend(tmp_path)
        return
    server = RedisServer(tmp_path, persistent=True)
    server.start()
    try:
        yield RedisBackend(server, prefix=None)
    finally:
        server.stop()


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    opened = await backend.open()
    yield opened
    await opened.close()
