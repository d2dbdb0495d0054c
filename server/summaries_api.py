"""REST API for engagement: a running session's live metrics, one session's summary (JSON or
CSV), a group's trends across its sessions, deleting a session's data, and the retention purge.
Only the leaders of the session's group (or its creator) and the API key may read or delete
(docs/summaries.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from rooms.errors import Refusal
from rooms.spreadsheet import session_zone
from rooms.summary import Member, group_trends, summary_csv
from server.store import DeletionEntry
from server.web import (
    CLOCK,
    CLUSTER,
    LIVE,
    SETTINGS,
    STORE,
    Caller,
    key_or_facilitator,
    led_group,
    led_session,
)

log = logging.getLogger(__name__)

PURGE_INTERVAL_S = 3600.0


@key_or_facilitator
async def session_engagement(request: web.Request, caller: Caller) -> web.StreamResponse:
    """The live engagement metrics of a session its caller leads (docs/api.md)."""
    record = await led_session(request, caller)
    report = request.app[LIVE].engagement(record.id)
    if report is None:
        return web.json_response({"session_id": record.id, "live": False, "participants": {}})
    return web.json_response({**report, "live": True})


@key_or_facilitator
async def get_summary(request: web.Request, caller: Caller) -> web.StreamResponse:
    record = await led_session(request, caller)
    data = await summary_of_session(request.app, record.id)
    if data is None:
        raise Refusal("not_found", "this session has no summary (nobody joined yet)")
    fmt = request.query.get("format", "json")
    if fmt == "csv":
        store = request.app[STORE]
        invites = await store.invites_of_group(record.group_id) if record.group_id else []
        labels = {i.id: i.label for i in invites}
        return web.Response(
            text=summary_csv(data, session_zone(record.scheduled_start), labels),
            content_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="circle-{record.id}.csv"'},
        )
    if fmt != "json":
        raise Refusal("invalid", "format: json or csv")
    return web.json_response(data)


async def summary_of_session(app: web.Application, session_id: str) -> dict[str, Any] | None:
    """A running session's summary (fresh, "in progress"), else the stored one, else None."""
    data = app[LIVE].summary(session_id)
    if data is None:
        stored = await app[STORE].get_summary(session_id)
        data = stored.data if stored is not None else None
    return data


@key_or_facilitator
async def delete_session_data(request: web.Request, caller: Caller) -> web.StreamResponse:
    record = await led_session(request, caller)
    store = request.app[STORE]
    if await _running(request, record.id):
        raise Refusal("live", "the session is running: end it first")
    await store.delete_session_data(record.id)
    await store.append_deletion(
        DeletionEntry(record.id, record.group_id, caller.who, "deleted", request.app[CLOCK]())
    )
    log.info("session %s data deleted by %s", record.id, caller.who)
    return web.json_response({"ok": True, "session_id": record.id})


async def _running(request: web.Request, session_id: str) -> bool:
    """Running here, or anywhere: a running session keeps a saved live state in the shared
    store until it ends (on any node of a cluster, or for a restarted server to resume), and
    a cluster's directory names the node that owns it from a join's first step. Its owner
    would write its summary, audit and crisis records back under a deleted session."""
    if request.app[LIVE].summary(session_id) is not None:
        return True
    if await request.app[STORE].get_live_state(session_id) is not None:
        return True
    cluster = request.app[CLUSTER]
    return cluster is not None and await cluster.claimed(session_id)


@key_or_facilitator
async def get_trends(request: web.Request, caller: Caller) -> web.StreamResponse:
    group = await led_group(request, caller)
    store = request.app[STORE]
    summaries = await store.summaries_of_group(group.id)
    invites = await store.invites_of_group(group.id)
    members = [Member(i.id, i.label, i.created_at, i.revoked) for i in invites]
    trends = group_trends([s.data for s in summaries], members)
    return web.json_response({"group": {"id": group.id, "name": group.name}, **trends})


async def purge_expired(app: web.Application, now: float) -> list[str]:
    """Delete every summary (with its session's audit log) older than the retention time."""
    cutoff = now - app[SETTINGS].retention_days * 86400
    store = app[STORE]
    purged = await store.purge_summaries(cutoff)
    for session_id in purged:
        await store.append_deletion(DeletionEntry(session_id, None, "retention", "retention", now))
    if purged:
        log.info("retention: purged %d sessions", len(purged))
    return purged


async def _retention_worker(app: web.Application) -> AsyncIterator[None]:
    async def run() -> None:
        while True:
            try:
                await purge_expired(app, app[CLOCK]())
            except Exception as exc:  # the store unreachable (Redis restarting, ...): next time
                log.warning("retention: purge failed (%s); next try in an hour", type(exc).__name__)
            await asyncio.sleep(PURGE_INTERVAL_S)

    task = asyncio.create_task(run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/sessions/{session_id}/engagement", session_engagement)
    app.router.add_get("/api/sessions/{session_id}/summary", get_summary)
    app.router.add_delete("/api/sessions/{session_id}", delete_session_data)
    app.router.add_get("/api/groups/{group_id}/trends", get_trends)
    app.cleanup_ctx.append(_retention_worker)
