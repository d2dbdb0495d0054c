"""A node takes new groups while its process measures itself under its capacity (by default 70 %
of a core, over the last seconds): one running a 12-person group takes a second; one measurably
busier refuses a new session with `at_capacity`, while the room already running goes on, with
room for those who belong there. No setting is lowered: the load is real CPU."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bench.forwarding import bench_clip
from server.bot.client import Bot, BotError
from server.bot.media import EncodedMedia
from server.console_api import SIGNIN_PER_MINUTE
from tests.cluster.conftest import cluster_of, counter, open_group, started
from tests.cluster.test_failover import everyone_hears_more
from tests.conftest import until
from tests.store.conftest import RedisServer

pytestmark = pytest.mark.usefixtures("loopback_ice")


def node_info(redis: RedisServer) -> dict[str, Any]:
    """What node n0 said of itself at its last heartbeat."""
    with redis.client() as client:
        raw = client.get("circle:node:n0")
    info: dict[str, Any] = json.loads(raw) if raw else {}
    return info


def measured_full(redis: RedisServer) -> bool:
    info = node_info(redis)
    return bool(info) and info["cpu_cores"] >= info["capacity_cores"]


async def sign_in_storm(base: str, storm: int, stop: asyncio.Event) -> None:
    """Failed sign-ins back to back until `stop`: each makes the node verify a password with
    argon2 (~0.15 s of CPU), from loopback addresses of its own, each used only as often as
    the per-address limit allows, with a new unknown email each time (the per-account limit)."""
    attempt = 0
    while not stop.is_set():
        address = f"127.0.{storm}.{2 + attempt // SIGNIN_PER_MINUTE}"
        connector = aiohttp.TCPConnector(local_addr=(address, 0))
        body = {"email": f"nobody{storm}-{attempt}@example.org", "password": "not the password"}
        async with (
            aiohttp.ClientSession(connector=connector) as http,
            http.post(f"{base}/api/auth/signin", json=body) as response,
        ):
            assert (await response.json())["error"] == "unauthorized"  # verified, not limited
        attempt += 1


async def test_a_node_running_a_twelve_person_group_takes_a_second_group(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    clip = await asyncio.to_thread(bench_clip, 640, 480)  # the benchmarks' media: ~12,000 pkt/s
    media = EncodedMedia.load(clip, clip)
    async with cluster_of(redis_server, tmp_path) as cluster:
        node = await cluster.start_node()  # the default capacity
        first = open_group(node)
        group = [Bot(first["invite_url"], f"Person {i}", media) for i in range(12)]
        async with started(group):
            await until(lambda: everyone_hears_more(group, {}), 30, "the twelve hear each other")
            await until(
                lambda: node_info(redis_server).get("load_pps", 0) > 10_000,
                10,
                "the node's heartbeat counts the group's packets",
            )
            second = open_group(node)
            async with started([Bot(second["invite_url"], "Cleo", media)]) as (cleo,):
                assert cleo.participant_id is not None  # joined the second group


async def test_a_node_busy_past_its_capacity_refuses_a_new_session_and_keeps_the_running_one(
    redis_server: RedisServer, tmp_path: Path, small_media: EncodedMedia
) -> None:
    async with cluster_of(redis_server, tmp_path) as cluster:
        node = await cluster.start_node()  # the default capacity
        running = open_group(node)
        bots = [Bot(running["invite_url"], name, small_media) for name in ("Ana", "Ben")]
        async with started(bots):
            await until(lambda: everyone_hears_more(bots, {}), 15, "media flows")
            assert not measured_full(redis_server)

            stop = asyncio.Event()
            storms = [asyncio.create_task(sign_in_storm(node.base, i, stop)) for i in (1, 2)]
            try:
                # the node's own measure over its window; margin for a loaded machine
                await until(lambda: measured_full(redis_server), 40, "it measures itself full")

                refusals = "circle_joins_refused_capacity_total"
                refused_before = await asyncio.to_thread(counter, node, refusals)
                refused = Bot(open_group(node)["invite_url"], "Cleo", small_media)
                try:
                    with pytest.raises(BotError) as caught:
                        await refused.start()
                finally:
                    await refused.close()
                assert caught.value.code == "at_capacity"
                assert "at capacity" in caught.value.reason
                assert await asyncio.to_thread(counter, node, refusals) == refused_before + 1

                # one who belongs to the running session still gets in
                async with started([Bot(running["invite_url"], "Dev", small_media)]) as (dev,):
                    await until(lambda: everyone_hears_more([*bots, dev], {}), 15, "Dev in")
            finally:
                stop.set()
                await asyncio.gather(*storms)
            for bot in bots:
                for kind in ("audio", "video"):
                    assert bot.lost(kind) <= 0.01 * bot.received(kind)
