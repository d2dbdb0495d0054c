"""The aiohttp application: REST API, pages, socket.io signalling, background workers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import socketio
from aiohttp import web

from server import console_api, sessions_api, summaries_api
from server.config import Settings
from server.media import aiortc_hooks
from server.media.router import MediaRouter
from server.media.stats import ForwardingStats
from server.signalling import Signalling, engagement_report, summary_of
from server.store import open_store

log = logging.getLogger(__name__)

SETTINGS = console_api.SETTINGS
SIGNALLING = web.AppKey("signalling", Signalling)
STATS = web.AppKey("stats", ForwardingStats)

SOCKET_MESSAGE_MAX_BYTES = 1_000_000  # larger messages close that one connection


error = console_api.error


async def forwarding_stats(request: web.Request) -> web.Response:
    """Counters of the forwarding path since start (for operators and benchmarks)."""
    if not sessions_api.api_key_ok(request):
        return error(401, "unauthorized", "a valid API key is required (Authorization: Bearer)")
    stats = request.app[STATS]
    if request.query.get("reset_delays") == "1":
        stats.reset_delays()
    sessions = request.app[SIGNALLING].sessions
    return web.json_response(
        {
            "sessions": len(sessions),
            "participants": sum(len(s.session.participants) for s in sessions.values()),
            "packets_in": stats.packets_in,
            "packets_out": stats.packets_out,
            "frames_in": stats.frames_in,
            "frames_out": stats.frames_out,
            "frames_dropped": stats.frames_dropped,
            "keyframe_requests": stats.keyframe_requests,
            "delay_ms": {
                "p50": stats.delay_percentile_ms(50),
                "p99": stats.delay_percentile_ms(99),
                "samples": len(stats.delays_s),
            },
        }
    )


@sessions_api.key_or_facilitator
async def session_engagement(request: web.Request, caller: sessions_api.Caller) -> web.Response:
    """The live engagement metrics of a session its caller leads (docs/api.md)."""
    record = await sessions_api.led_session(request, caller)
    if record is None:
        return error(404, "not_found", "no such session of yours")
    live = request.app[SIGNALLING].sessions.get(record.id)
    if live is None:
        return web.json_response({"session_id": record.id, "live": False, "participants": {}})
    report = engagement_report(live, request.app[SIGNALLING].clock())
    return web.json_response({**report, "live": True})


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def _page(name: str) -> Callable[[web.Request], Awaitable[web.FileResponse]]:
    async def handler(request: web.Request) -> web.FileResponse:
        return web.FileResponse(request.app[SETTINGS].static_dir / name)

    return handler


@web.middleware
async def no_store(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    response = await handler(request)
    if request.path.startswith(("/api/", "/s/")):
        response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


def create_app(
    settings: Settings,
    clock: Callable[[], float] = time.time,
    router_class: type[MediaRouter] = MediaRouter,
) -> web.Application:
    aiortc_hooks.restrict_host_addresses(settings.ice_host_addresses or None)
    app = web.Application(middlewares=[no_store], client_max_size=console_api.MAX_BODY_BYTES)
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        serializer="msgpack",
        cors_allowed_origins=[],  # same origin only
        ping_interval=4,
        ping_timeout=5,  # a vanished tab is noticed within 10 s
        max_http_buffer_size=SOCKET_MESSAGE_MAX_BYTES,
        logger=False,
        engineio_logger=False,
    )
    sio.attach(app)
    stats = ForwardingStats()
    app[SETTINGS] = settings
    app[STATS] = stats

    app[SIGNALLING] = Signalling(
        sio, settings, stats, lambda: app[console_api.STORE], clock, router_class
    )

    app[console_api.CLOCK] = clock
    console_api.add_routes(app)
    sessions_api.add_routes(app)

    def live_summary(session_id: str) -> dict[str, Any] | None:
        live = app[SIGNALLING].sessions.get(session_id)
        return summary_of(live, clock(), final=False) if live else None

    app[summaries_api.LIVE_SUMMARY] = live_summary
    app.router.add_get("/signin", _page("signin.html"))
    app.router.add_get("/console", _page("console.html"))
    app.router.add_get("/api/stats", forwarding_stats)
    app.router.add_get("/api/sessions/{session_id}/engagement", session_engagement)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/", _page("index.html"))
    app.router.add_get("/sessions/{session_id}/summary", _page("summary.html"))
    app.router.add_get("/groups/{group_id}", _page("group.html"))
    app.router.add_get("/s/{session_id}", _page("session.html"))
    app.router.add_static("/static/", settings.static_dir)
    app.router.add_get(
        "/vendor/socket.io.msgpack.min.js",
        _vendor("socket.io-client/dist/socket.io.msgpack.min.js"),
    )
    app.router.add_get("/vendor/chart.umd.min.js", _vendor("chart.js/dist/chart.umd.min.js"))
    app.cleanup_ctx.append(_store)
    summaries_api.add_routes(app)  # its retention worker needs the store open
    app.on_startup.append(_freeze_startup_heap)
    app.on_shutdown.append(_stopping)
    app.cleanup_ctx.append(_workers)
    app.cleanup_ctx.append(_close_sessions)
    return app


def _vendor(relative: str) -> Callable[[web.Request], Awaitable[web.FileResponse]]:
    async def handler(request: web.Request) -> web.FileResponse:
        path = request.app[SETTINGS].vendor_dir / relative
        if not path.exists():
            raise web.HTTPServiceUnavailable(text="run scripts/setup.sh: npm packages missing")
        return web.FileResponse(path)

    return handler


async def _store(app: web.Application) -> AsyncIterator[None]:
    app[console_api.STORE] = await open_store(app[SETTINGS])
    yield
    await app[console_api.STORE].close()


async def _stopping(app: web.Application) -> None:
    app[SIGNALLING].stopping = True


async def _freeze_startup_heap(app: web.Application) -> None:
    """Move everything allocated so far (aiortc, PyAV, ...) out of the garbage collector's
    view. Without it, full collections walk that heap mid-session: measured here, single GC
    pauses of 0.5-0.7 s and a forwarding delay p99 of ~800 ms, against ~5 ms with it."""
    gc.collect()
    gc.freeze()


async def _workers(app: web.Application) -> AsyncIterator[None]:
    """The periodic workers: active speakers, breakout timers, engagement, quality,
    summaries."""
    signalling = app[SIGNALLING]
    tasks = [
        asyncio.create_task(signalling.announce_speakers()),
        asyncio.create_task(signalling.run_breakout_timers()),
        asyncio.create_task(signalling.report_engagement()),
        asyncio.create_task(signalling.monitor_quality()),
        asyncio.create_task(signalling.flush_summaries()),
    ]
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _close_sessions(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[SIGNALLING].close()
