"""A node lost or stopped mid-session: SIGKILL (its leases run out, a live node takes the
session over from its saved state) and SIGTERM (the drain hands the session over at once).
Either way the same people go on in the same session on the other node, with media."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from bench.harness import ServerProcess, hears_all
from server.bot.client import Bot
from server.bot.media import EncodedMedia
from server.live.workers import SUMMARY_FLUSH_S
from tests.cluster.conftest import Cluster, cluster_of, counter, group_bots, open_group, started
from tests.conftest import until
from tests.store.conftest import RedisServer

pytestmark = pytest.mark.usefixtures("loopback_ice")

MEDIA_BACK_S = 15.0  # the bound, from the death to media again


def owner_and_other(cluster: Cluster, session_id: str) -> tuple[ServerProcess, ServerProcess]:
    a, b = cluster.nodes
    return (a, b) if cluster.owner_url(session_id) == a.base else (b, a)


def everyone_hears_more(bots: list[Bot], before: dict[tuple[str, str, str], int]) -> bool:
    """Each bot receives audio and video from each other bot beyond `before` (+ 20 packets)."""
    return all(
        hears_all(
            bot,
            [o for o in bots if o is not bot],
            {(k, pid): before[(bot.name, k, pid)] + 20 for (n, k, pid) in before if n == bot.name},
        )
        for bot in bots
    )


def counts(bots: list[Bot]) -> dict[tuple[str, str, str], int]:
    return {
        (bot.name, kind, other.participant_id or ""): bot.received(kind, other.participant_id)
        for bot in bots
        for other in bots
        if other is not bot
        for kind in ("audio", "video")
    }


async def test_a_killed_owner_s_session_goes_on_on_the_other_node(
    redis_server: RedisServer, tmp_path: Path, small_media: EncodedMedia
) -> None:
    async with cluster_of(redis_server, tmp_path) as cluster:
        a, b = await cluster.two_nodes()
        session = open_group(a)
        bots = group_bots(session, a, b, small_media)
        async with started(bots):
            all_bots = list(bots)
            owner, other = owner_and_other(cluster, session["session_id"])
            await until(lambda: everyone_hears_more(all_bots, {}), 15, "media flows")
            ids = [bot.participant_id for bot in all_bots]
            await asyncio.sleep(SUMMARY_FLUSH_S + 1)  # what is kept is what a flush saved

            before = counts(all_bots)
            os.kill(owner.pid, signal.SIGKILL)
            died = time.monotonic()
            await until(lambda: everyone_hears_more(all_bots, before), MEDIA_BACK_S, "media back")
            gap = time.monotonic() - died
            print(f"media back {gap:.1f} s after the owner's death")
            assert all(bot.origin == other.base and bot.moves == 1 for bot in all_bots)
            assert [bot.participant_id for bot in all_bots] == ids  # the same people
            assert cluster.owner_url(session["session_id"]) == other.base
            summary = other.api(f"/api/sessions/{session['session_id']}/summary")
            people = {p["id"]: p for p in summary["participants"]}
            assert set(people) == set(ids)
            assert all(len(p["attendance"]["spans"]) >= 2 for p in people.values())  # the gap
            assert await asyncio.to_thread(counter, other, "circle_failovers_total") == 1


async def test_a_draining_node_hands_its_session_over_and_exits_in_time(
    redis_server: RedisServer, tmp_path: Path, small_media: EncodedMedia
) -> None:
    drain_timeout_s = 10.0
    async with cluster_of(redis_server, tmp_path) as cluster:
        a, b = await cluster.two_nodes("--drain-timeout-s", str(drain_timeout_s))
        session = open_group(a)
        bots = group_bots(session, a, b, small_media)
        async with started(bots):
            all_bots = list(bots)
            owner, other = owner_and_other(cluster, session["session_id"])
            await until(lambda: everyone_hears_more(all_bots, {}), 15, "media flows")
            ids = [bot.participant_id for bot in all_bots]

            before = counts(all_bots)
            owner.process.terminate()
            stopped = time.monotonic()
            await until(lambda: everyone_hears_more(all_bots, before), MEDIA_BACK_S, "media back")
            print(f"media back {time.monotonic() - stopped:.1f} s after SIGTERM")
            await asyncio.to_thread(owner.process.wait, drain_timeout_s + 5)
            exited = time.monotonic() - stopped
            print(f"drained node exited {exited:.1f} s after SIGTERM")
            assert exited < drain_timeout_s + 2
            assert all(bot.origin == other.base and bot.moves == 1 for bot in all_bots)
            assert [bot.participant_id for bot in all_bots] == ids
            assert cluster.owner_url(session["session_id"]) == other.base
