"""Redis away for longer than a lease, then back (its append-only file kept what it held):
the room's media never stops, the node and its session's ownership are registered again
within 10 s, and nothing stored is lost."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from server.bot.media import EncodedMedia
from server.cluster.node import LEASE_MS
from tests.cluster.conftest import cluster_of, group_bots, open_group, started
from tests.cluster.test_failover import counts, everyone_hears_more
from tests.conftest import until
from tests.store.conftest import RedisServer

pytestmark = pytest.mark.usefixtures("loopback_ice")


async def test_rooms_run_on_while_redis_restarts(
    redis_server: RedisServer, tmp_path: Path, small_media: EncodedMedia
) -> None:
    async with cluster_of(redis_server, tmp_path) as cluster:
        node = await cluster.start_node()
        session = open_group(node)
        session_id = session["session_id"]
        async with started(group_bots(session, node, node, small_media)) as bots:
            all_bots = list(bots)
            await until(lambda: everyone_hears_more(all_bots, {}), 15, "media flows")
            assert cluster.owner_url(session_id) == node.base

            await asyncio.to_thread(redis_server.stop)
            before = counts(all_bots)
            await asyncio.sleep(LEASE_MS / 1000 + 1)  # past every lease
            assert everyone_hears_more(all_bots, before)  # media went on without Redis
            await asyncio.to_thread(redis_server.start)
            back = time.monotonic()

            await until(lambda: cluster.node_ids() == {"n0"}, 10, "the node registered again")
            await until(lambda: cluster.owner_url(session_id) == node.base, 10, "owner again")
            print(f"cluster state back {time.monotonic() - back:.1f} s after Redis")
            assert all(bot.resumes == 0 for bot in all_bots)  # nobody was cut off
            assert node.api(f"/api/sessions/{session_id}")["title"] == "Group"
            with redis_server.client() as client:
                assert client.sismember("circle:live_states", session_id)
            # the flush that failed while Redis was away succeeds again
            summary = node.api(f"/api/sessions/{session_id}/summary")
            assert {p["id"] for p in summary["participants"]} == {
                bot.participant_id for bot in all_bots
            }
