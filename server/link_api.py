"""What a link holder may know before joining: the session's title, who leads it and when it
starts; for a leader's link, the name their account will join with; in a cluster, the node
running the session when it is another (the page goes there before its pre-join screen, so
the answers given there are not lost to a redirect). Nothing about who is in."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field

from rooms.errors import Refusal
from rooms.validation import StrictModel
from server import links, tokens
from server.store import Facilitator, SessionRecord, Store
from server.web import CLOCK, CLUSTER, SETTINGS, STORE, parse_body, signed_in


class LinkRequest(StrictModel):
    token: str = Field(min_length=10, max_length=4096)


async def _leader(store: Store, record: SessionRecord) -> Facilitator | None:
    """The facilitator who made the session, else its group's owner."""
    fid = record.created_by
    if fid is None and record.group_id is not None:
        group = await store.get_group(record.group_id)
        fid = group.owner_id if group is not None else None
    return await store.get_facilitator(fid) if fid else None


async def link_info(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, LinkRequest)
    grant = tokens.verify(request.app[SETTINGS].secret, body.token, request.app[CLOCK]())
    store = request.app[STORE]
    record = await store.get_session(grant.session_id)
    if record is None:
        raise Refusal("not_found", "This session does not exist any more.")
    await links.may_join(store, grant)  # a revoked link learns nothing of the session
    leader = await _leader(store, record)
    reply: dict[str, Any] = {
        "title": record.title,
        "scheduled_start": record.scheduled_start,
        "ended": record.ended_at is not None,
        "safety_check": record.safety_check,
        "leader": {"name": leader.display_name, "credentials": leader.credentials}
        if leader is not None
        else None,
        "your_name": None,
        "node": None,
    }
    cluster = request.app[CLUSTER]
    if cluster is not None and record.ended_at is None:
        reply["node"] = await cluster.owner_url(record.id)
    if grant.role.leads:
        account = (
            await store.get_facilitator(grant.facilitator_id) if grant.facilitator_id else None
        )
        account = account or await signed_in(request)
        if account is not None:
            reply["your_name"] = account.display_name
    return web.json_response(reply)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/link", link_info)
