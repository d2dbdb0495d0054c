"""/api/stats: what the process holds, counted, goes up when people join and back to nothing
when they have left (the soak benchmark, bench/soak.py, watches these over time)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.clients import start_bots
from tests.conftest import RunningServer, serve, until


async def test_stats_count_what_running_sessions_hold(
    tmp_path: Path, small_media: Any, loopback_ice: None
) -> None:
    async with serve(tmp_path, empty_session_final_s=1.0) as server:
        await counted(server, small_media)


async def counted(circle_server: RunningServer, small_media: Any) -> None:
    empty = await circle_server.api_get("/api/stats")
    assert empty["objects"]["peer_connections"] == empty["objects"]["producers"] == 0
    assert empty["tasks"] > 0
    session = await circle_server.create_session()
    bots = await start_bots(session["invite_url"], small_media, ["A", "B"])
    try:
        held = (await circle_server.api_get("/api/stats"))["objects"]
        slots = circle_server.settings.media.slots_per_kind
        assert held["peer_connections"] == held["peer_connections_open"] == 4
        assert (held["producers"], held["consumers"]) == (4, 2 * 2 * slots)
        assert (held["sockets"], held["engagement_people"]) == (2, 2)
    finally:
        await asyncio.gather(*(b.leave() for b in bots))
    live = circle_server.live
    await until(lambda: not live.sessions, 15, "the empty session is finished")
    after = (await circle_server.api_get("/api/stats"))["objects"]
    assert {k: v for k, v in after.items() if v} == {}, after
