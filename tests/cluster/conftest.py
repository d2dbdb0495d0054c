"""A cluster for the tests: a real `redis-server` (with its append-only file, so a restart
keeps what it held) and real `circle serve` processes on it, each a node, all on loopback."""

from __future__ import annotations

import asyncio
import json
import secrets
import urllib.request
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bench.harness import ServerProcess, start_server
from server.bot.client import Bot
from server.bot.media import EncodedMedia
from tests.conftest import until
from tests.store.conftest import RedisServer


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path, persistent=True)
    server.start()
    yield server
    server.stop()


@dataclass
class Cluster:
    redis: RedisServer
    tmp_path: Path
    key: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    nodes: list[ServerProcess] = field(default_factory=list)

    async def start_node(self, *flags: str) -> ServerProcess:
        """A `circle serve` on the shared Redis (and data directory, for the shared secret)."""
        index = len(self.nodes)
        args = ["--redis-url", self.redis.url, "--workers", "1", "--node-id", f"n{index}", *flags]
        node = await asyncio.to_thread(
            start_server,
            self.tmp_path / "data",
            self.tmp_path / f"node{index}.log",
            extra_args=args,
            key=self.key,
        )
        self.nodes.append(node)
        return node

    async def two_nodes(self, *flags: str) -> tuple[ServerProcess, ServerProcess]:
        """Two nodes, both registered in Redis."""
        a = await self.start_node(*flags)
        b = await self.start_node(*flags)
        await until(lambda: self.node_ids() == {"n0", "n1"}, 10, "both nodes registered")
        return a, b

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def owner_url(self, session_id: str) -> str | None:
        """The URL of the node that owns the session, from Redis."""
        with self.redis.client() as client:
            owner = client.get(f"circle:owner:{session_id}")
            raw = client.get(f"circle:node:{owner.decode()}") if owner else None
        return json.loads(raw)["url"] if raw else None

    def node_ids(self) -> set[str]:
        with self.redis.client() as client:
            return {k.decode().split(":")[-1] for k in client.scan_iter(match="circle:node:*")}


def open_group(node: ServerProcess) -> dict[str, Any]:
    """A session without a waiting room, made through `node`'s API."""
    session: dict[str, Any] = node.api("/api/sessions", {"title": "Group", "waiting_room": False})
    return session


def on_node(url: str, node: ServerProcess) -> str:
    """The same invite link, on another node."""
    return urlunsplit(urlsplit(url)._replace(netloc=urlsplit(node.base).netloc))


@asynccontextmanager
async def cluster_of(redis: RedisServer, tmp_path: Path) -> AsyncIterator[Cluster]:
    cluster = Cluster(redis, tmp_path)
    try:
        yield cluster
    finally:
        await asyncio.to_thread(cluster.stop)


@asynccontextmanager
async def cluster_on_own_redis(tmp_path: Path) -> AsyncIterator[Cluster]:
    """A cluster with a Redis of its own, for tests in other folders (no `redis_server`)."""
    redis = RedisServer(tmp_path, persistent=True)
    await asyncio.to_thread(redis.start)
    try:
        async with cluster_of(redis, tmp_path) as cluster:
            yield cluster
    finally:
        await asyncio.to_thread(redis.stop)


def counter(node: ServerProcess, name: str) -> float:
    """A sample of the node's /metrics (summed over its labels), e.g. circle_failovers_total."""
    request = urllib.request.Request(
        node.base + "/metrics", headers={"Authorization": f"Bearer {node.key}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    families = text_string_to_metric_families(text)
    return sum(s.value for family in families for s in family.samples if s.name == name)


@asynccontextmanager
async def started(bots: Sequence[Bot]) -> AsyncIterator[Sequence[Bot]]:
    try:
        for bot in bots:
            await bot.start()
        yield bots
    finally:
        for bot in bots:
            await bot.close()


def group_bots(
    session: dict[str, str],
    lead_node: ServerProcess,
    others_node: ServerProcess,
    media: EncodedMedia,
) -> list[Bot]:
    """A facilitator whose link names one node and two participants whose link names another."""
    return [
        Bot(on_node(session["facilitator_url"], lead_node), "Lead", media),
        Bot(on_node(session["invite_url"], others_node), "Ana", media),
        Bot(on_node(session["invite_url"], others_node), "Ben", media),
    ]
