"""/metrics on a real server with two aiortc bots: the Prometheus text parses, every series
names this process, and the forwarding counters move with the media."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from server.ops_api import METRICS
from tests.clients import start_bots
from tests.conftest import API_KEY, RunningServer, serve, until

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(server: RunningServer, key: str | None = API_KEY) -> tuple[int, str, str]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.base_url}/metrics", headers=headers) as response,
    ):
        return response.status, response.headers["Content-Type"], await response.text()


async def samples(server: RunningServer) -> Samples:
    """Every sample of a scrape by (name, labels but `process`); each must name this process."""
    status, content_type, text = await scrape(server)
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4"), text
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = dict(sample.labels)
            assert labels.pop("process") == server.settings.node_id, sample
            found[(sample.name, frozenset(labels.items()))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


async def test_metrics_parse_and_move_with_the_media(
    tmp_path: Path, small_media: Any, loopback_ice: None
) -> None:
    async with serve(tmp_path, node_id="node-a") as server:
        status, _, body = await scrape(server, key=None)
        assert status == 401 and '"unauthorized"' in body
        idle = await samples(server)
        assert value(idle, "circle_sessions") == value(idle, "circle_participants") == 0
        assert value(idle, "process_cpu_seconds_total") > 0
        session = await server.create_session()
        bots = await start_bots(session["invite_url"], small_media, ["A", "B"])
        try:
            stats = server.stats.by_kind
            await until(
                lambda: min(stats["audio"].packets_out, stats["video"].packets_out) > 20,
                20,
                "both kinds forwarded",
            )
            first = await samples(server)
            await asyncio.sleep(1.0)
            second = await samples(server)
        finally:
            await asyncio.gather(*(bot.leave() for bot in bots))
    assert value(first, "circle_sessions") == 1 and value(first, "circle_participants") == 2
    for kind in ("audio", "video"):
        for name in ("circle_forwarded_packets_total", "circle_forwarded_bytes_total"):
            assert 0 < value(first, name, kind=kind) < value(second, name, kind=kind), (name, kind)
        # two people: each packet received goes to the one other, once at most
        received = value(second, "circle_received_packets_total", kind=kind)
        assert 0 < value(second, "circle_forwarded_packets_total", kind=kind) <= received
    delays = value(second, "circle_forwarding_delay_seconds_count")
    assert delays == value(second, "circle_forwarding_delay_seconds_bucket", le="+Inf") > 0
    assert value(second, "circle_forwarding_delay_seconds_sum") > 0
    for direction in ("up", "down"):
        people = sum(
            v
            for (name, labels), v in second.items()
            if name == "circle_link_quality_participants" and ("direction", direction) in labels
        )
        assert people == 2, direction


async def test_cluster_events_are_exported_as_counted(tmp_path: Path) -> None:
    async with serve(tmp_path) as server:
        cluster = server.app[METRICS].cluster
        cluster.joins_refused_capacity += 3
        cluster.failovers += 1
        found = await samples(server)
    assert value(found, "circle_joins_refused_capacity_total") == 3
    assert value(found, "circle_failovers_total") == 1
