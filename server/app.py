"""The aiohttp application factory: wires the REST API, the pages, socket.io signalling, the
live-session registry and its workers."""

from __future__ import annotations

import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from server import (
    console_api,
    crisis_api,
    link_api,
    openapi,
    ops_api,
    security,
    sessions_api,
    summaries_api,
)
from server.cluster.node import ClusterNode
from server.config import Settings
from server.live.effects import Effects
from server.live.fanout import Fanout
from server.live.registry import LiveSessions
from server.live.workers import Workers
from server.media import aiortc_hooks, compiled_send
from server.media.router import MediaRouter
from server.media.stats import ForwardingStats
from server.metrics import Metrics
from server.readiness import Readiness
from server.signalling import Signalling
from server.socket_server import CircleServer
from server.store import open_store
from server.web import CLOCK, CLUSTER, LIVE, MAX_BODY_BYTES, SETTINGS, STORE, refusals

SESSIONS = web.AppKey("sessions", LiveSessions)
SOCKET_MESSAGE_MAX_BYTES = 1_000_000  # larger messages close that one connection
FRESH_PATHS = frozenset({"/readyz", "/metrics"})  # never answered from a cache either


def create_app(
    settings: Settings,
    clock: Callable[[], float] = time.time,
    router_class: type[MediaRouter] = MediaRouter,
) -> web.Application:
    aiortc_hooks.restrict_host_addresses(settings.ice_host_addresses or None)
    aiortc_hooks.bind_host_ports(settings.media.ice_port_range)
    compiled_send.use_compiled(settings.media.compiled_send)
    app = web.Application(
        middlewares=[*security.make_middlewares(settings), no_store, refusals],
        client_max_size=MAX_BODY_BYTES,
    )
    sio = CircleServer(
        async_mode="aiohttp",
        # only the public origin ([] would turn python-engineio's check off altogether)
        cors_allowed_origins=security.socket_origin_check(settings),
        ping_interval=4,
        ping_timeout=5,  # a vanished tab is noticed within 10 s
        max_http_buffer_size=SOCKET_MESSAGE_MAX_BYTES,
        logger=False,
        engineio_logger=False,
    )
    sio.attach(app)
    stats = ForwardingStats()
    fanout = Fanout(sio)
    registry = LiveSessions(settings, stats, lambda: app[STORE], fanout, clock, router_class)
    effects = Effects(registry, fanout)
    registry.on_media_failed = effects.media_failed
    readiness = Readiness()
    metrics = Metrics(settings.node_id, stats, registry)
    # With Redis, this process is one node of a cluster (a cluster of one is fine).
    cluster = (
        ClusterNode(settings, registry, readiness, metrics.cluster) if settings.redis_url else None
    )
    sio.register_namespace(Signalling(registry, fanout, effects, cluster))
    workers = Workers(registry, fanout, effects)

    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[ops_api.STATS] = stats
    app[ops_api.METRICS] = metrics
    app[ops_api.READINESS] = readiness
    app[SESSIONS] = registry
    app[LIVE] = registry
    app[CLUSTER] = cluster
    console_api.add_routes(app)
    sessions_api.add_routes(app)
    crisis_api.add_routes(app)
    link_api.add_routes(app)
    ops_api.add_routes(app)
    openapi.add_routes(app)
    app.router.add_get("/signin", _page("signin.html"))
    app.router.add_get("/console", _page("console.html"))
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
    if cluster is not None:
        # after the store, and ended after the sessions are saved (cleanups run in reverse)
        app.cleanup_ctx.append(cluster.run)
        app.on_shutdown.append(cluster.drain)
    app.on_shutdown.append(_stopping)
    app.cleanup_ctx.append(lambda app: workers.run())
    app.cleanup_ctx.append(_live_sessions if cluster is None else _cluster_sessions)
    return app


@web.middleware
async def no_store(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    response = await handler(request)
    if request.path.startswith(("/api/", "/s/")) or request.path in FRESH_PATHS:
        response.headers["Cache-Control"] = "no-store"
    return response


def _page(name: str) -> Callable[[web.Request], Awaitable[web.FileResponse]]:
    async def handler(request: web.Request) -> web.FileResponse:
        return web.FileResponse(request.app[SETTINGS].static_dir / name)

    return handler


def _vendor(relative: str) -> Callable[[web.Request], Awaitable[web.FileResponse]]:
    async def handler(request: web.Request) -> web.FileResponse:
        path = request.app[SETTINGS].vendor_dir / relative
        if not path.exists():
            raise web.HTTPServiceUnavailable(text="run scripts/setup.sh: npm packages missing")
        return web.FileResponse(path)

    return handler


async def _store(app: web.Application) -> AsyncIterator[None]:
    store = app[STORE] = await open_store(app[SETTINGS])
    app[ops_api.READINESS].probes["redis" if app[SETTINGS].redis_url else "sqlite"] = store.ping
    yield
    await app[STORE].close()


async def _stopping(app: web.Application) -> None:
    app[SESSIONS].stopping = True


async def _freeze_startup_heap(app: web.Application) -> None:
    """Move everything allocated so far (aiortc, PyAV, ...) out of the garbage collector's
    view. Without it, full collections walk that heap mid-session: measured here, single GC
    pauses of 0.5-0.7 s and a forwarding delay p99 of ~800 ms, against ~5 ms with it."""
    gc.collect()
    gc.freeze()


async def _live_sessions(app: web.Application) -> AsyncIterator[None]:
    """Sessions that were running when the server stopped come back; at the end, each is
    kept as it is (mid-session) for the next start."""
    registry = app[SESSIONS]
    await registry.restore()
    yield
    await _keep_sessions(registry)


async def _cluster_sessions(app: web.Application) -> AsyncIterator[None]:
    """In a cluster, a session comes back on the node that claims it (server/cluster/)."""
    yield
    await _keep_sessions(app[SESSIONS])


async def _keep_sessions(registry: LiveSessions) -> None:
    await registry.close()
    registry.fanout.close()
