"""A cluster whose every node forwards more than its capacity refuses a new session with
`at_capacity`, while the rooms already running go on, with room for those who belong there."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from server.bot.client import Bot, BotError
from server.bot.media import EncodedMedia
from tests.cluster.conftest import cluster_of, counter, started
from tests.cluster.test_failover import everyone_hears_more
from tests.conftest import until
from tests.store.conftest import RedisServer

pytestmark = pytest.mark.usefixtures("loopback_ice")

CAPACITY_PPS = 100  # two bots exchanging audio and video forward a few hundred


def node_load(redis: RedisServer) -> float:
    with redis.client() as client:
        raw = client.get("circle:node:n0")
    return float(json.loads(raw)["load_pps"]) if raw else 0.0


async def test_a_full_cluster_refuses_a_new_session_and_keeps_the_running_one(
    redis_server: RedisServer, tmp_path: Path, small_media: EncodedMedia
) -> None:
    async with cluster_of(redis_server, tmp_path) as cluster:
        node = await cluster.start_node("--capacity-pps", str(CAPACITY_PPS))
        running = node.api("/api/sessions", {"title": "Running", "waiting_room": False})
        bots = [Bot(running["invite_url"], name, small_media) for name in ("Ana", "Ben")]
        async with started(bots):
            await until(lambda: everyone_hears_more(bots, {}), 15, "media flows")
            await until(lambda: node_load(redis_server) > CAPACITY_PPS, 10, "the node is full")

            refusals = "circle_joins_refused_capacity_total"
            refused_before = await asyncio.to_thread(counter, node, refusals)
            new = node.api("/api/sessions", {"title": "New", "waiting_room": False})
            refused = Bot(new["invite_url"], "Cleo", small_media)
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
            for bot in bots:
                for kind in ("audio", "video"):
                    assert bot.lost(kind) <= 0.01 * bot.received(kind)
