"""Two processes on one Redis: whichever node a link names, everyone of a session ends up on
the node that owns it, media flows between them, a facilitator's mute takes effect and the
engagement reports reach the facilitator."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bench.harness import everyone_hears_everyone
from server.bot.media import EncodedMedia
from tests.cluster.conftest import cluster_of, group_bots, open_group, started
from tests.conftest import until
from tests.store.conftest import RedisServer

pytestmark = pytest.mark.usefixtures("loopback_ice")


async def test_people_reaching_either_node_meet_on_the_owner(
    redis_server: RedisServer, tmp_path: Path, small_media: EncodedMedia
) -> None:
    async with cluster_of(redis_server, tmp_path) as cluster:
        a, b = await cluster.two_nodes()
        session = open_group(a)
        bots = group_bots(session, a, b, small_media)
        async with started(bots) as (lead, ana, ben):
            owner = cluster.owner_url(session["session_id"])
            assert owner in (a.base, b.base)
            assert {bot.origin for bot in bots} == {owner}  # the redirected ones moved
            assert lead.nodes == [a.base if owner == b.base else b.base]
            reports: list[dict[str, Any]] = []
            lead.sio.on("engagement", reports.append)  # the socket on the owner, after any move
            await until(lambda: everyone_hears_everyone(list(bots)), 15, "media flows")

            await lead.request("control", {"action": "mute", "target": ana.participant_id})
            await asyncio.sleep(1.0)  # the mute is applied, packets in flight arrive
            frozen = ben.received("audio", ana.participant_id)
            lead_audio = ben.received("audio", lead.participant_id)
            await asyncio.sleep(1.0)
            assert ben.received("audio", ana.participant_id) == frozen
            assert ben.received("audio", lead.participant_id) > lead_audio

            everyone = {bot.participant_id for bot in bots}
            await until(
                lambda: bool(reports) and set(reports[-1]["participants"]) == everyone,
                5,
                "an engagement report naming everyone reaches the facilitator",
            )
