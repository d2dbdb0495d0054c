"""Endpoints for operators and benchmarks: liveness, readiness, Prometheus metrics, the
forwarding path's counters and what the process holds (tasks, peer connections, per-session
objects)."""

from __future__ import annotations

import asyncio
from collections import Counter

from aiohttp import web

from server.media.stats import ForwardingStats
from server.metrics import CONTENT_TYPE, Metrics
from server.readiness import Readiness
from server.web import LIVE, STATUS, require_api_key

STATS = web.AppKey("stats", ForwardingStats)
METRICS = web.AppKey("metrics", Metrics)
READINESS = web.AppKey("readiness", Readiness)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def readyz(request: web.Request) -> web.Response:
    """200 when this process should get new work, else 503 `not_ready` saying why. No key: a
    load balancer asks, and it learns only whether the process drains and what is reachable."""
    report = await request.app[READINESS].report()
    if report["ready"]:
        return web.json_response(report)
    unreachable = [name for name, ok in report["reachable"].items() if not ok]
    why = ["draining"] if report["draining"] else []
    why += [f"{name} unreachable" for name in unreachable]
    refused = {"error": "not_ready", "message": ", ".join(why)}
    return web.json_response({**refused, **report}, status=STATUS["not_ready"])


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format (API key only, as /api/stats: a scrape job sends it as a
    bearer token)."""
    require_api_key(request)
    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


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
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/api/stats", forwarding_stats)
