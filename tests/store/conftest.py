"""Store fixtures: every contract test runs on SQLite (a file in tmp_path) and on a real Redis.

The Redis side is a real `redis-server` child process on a free loopback port, never a fake:
the contract is only worth something if it holds against what production runs. When the binary
is missing the tests fail (they are not skipped), so a green run always means both backends.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from bench.harness import RedisServer
from server.store import RedisStore, Store, open_store

BACKENDS = ["sqlite", "redis"]


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
