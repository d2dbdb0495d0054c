"""Endpoints for operators and benchmarks: liveness, the forwarding path's counters and what
the process holds (tasks, peer connections, per-session objects)."""

from __future__ import annotations

import asyncio
from collections import Counter

from aiohttp import web

from server.media.stats import ForwardingStats
from server.web import LIVE, require_api_key

STATS = web.AppKey("stats", ForwardingStats)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def forwarding_stats(request: web.Request) -> web.Response:
    """Counters of the forwarding path since start, and what the process holds now: its
    asyncio tasks and the running sessions' objects (API key only)."""
    require_api_key(request)
    stats = request.app[STATS]
    if request.query.get("reset_delays") == "1":
        stats.reset_delays()
    sessions, participants = request.app[LIVE].counts()
    tasks = asyncio.all_tasks()
    return web.json_response(
        {
            "sessions": sessions,
            "participants": participants,
            "packets_in": stats.packets_in,
            "packets_out": stats.packets_out,
            "frames_in": stats.frames_in,
            "frames_out": stats.frames_out,
            "frames_dropped": stats.frames_dropped,
            "keyframe_requests": stats.keyframe_requests,
            "tasks": len(tasks),
            # what the tasks run, by coroutine (to tell which ones pile up)
            "task_kinds": dict(Counter(_kind(t) for t in tasks).most_common()),
            "objects": request.app[LIVE].objects(),
            "delay_ms": {
                "p50": stats.delay_percentile_ms(50),
                "p99": stats.delay_percentile_ms(99),
                "samples": len(stats.delays_s),
            },
        }
    )


def _kind(task: asyncio.Task[object]) -> str:
    coro = task.get_coro()
    return str(getattr(coro, "__qualname__", type(coro).__name__))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/stats", forwarding_stats)
