"""REST API for sessions, personal invites and the audit log.

A session is created by a signed-in facilitator (cookie) or by the server's API key. Links are
minted on demand from the stored record, so the console can show them again later; tokens
carry the role, the facilitator account (leader links) and the personal invite (invite links).
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import Field, field_validator

from rooms.errors import Refusal
from rooms.model import Role
from rooms.validation import StrictModel, TidyText
from server import links, tokens
from server.store import AuditEntry, Invite, SessionRecord
from server.summaries_api import summary_of_session
from server.web import (
    CLOCK,
    SETTINGS,
    STORE,
    Caller,
    key_or_facilitator,
    led_group,
    led_session,
    parse_body,
)

AUDIT_LIMIT_MAX = 1000
# A start is at most this far ahead (links live until token_ttl_hours after it) or behind.
SCHEDULE_AHEAD_S = 366 * 86400
SCHEDULE_BEHIND_S = 86400


class CreateSessionRequest(StrictModel):
    title: TidyText = Field(min_length=1, max_length=200)
    group_id: str | None = Field(default=None, min_length=1, max_length=64)
    waiting_room: bool = True
    # ask each participant where they are and whom to call at join (docs/crisis.md)
    safety_check: bool = True
    scheduled_start: str | None = Field(default=None, max_length=64)

    @field_validator("scheduled_start")
    @classmethod
    def _iso_with_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("use an ISO 8601 time, e.g. 2026-12-01T18:00:00-05:00") from None
        if when.tzinfo is None:
            raise ValueError("the time needs a zone, e.g. 2026-12-01T18:00:00-05:00 or ...Z")
        return when.isoformat()


class EmptyRequest(StrictModel):
    pass


class InviteRequest(StrictModel):
    label: TidyText = Field(min_length=1, max_length=80)


def _timestamp(iso: str) -> float:
    """Unix seconds of a stored or given start; out of range is infinitely far."""
    try:
        return datetime.fromisoformat(iso).timestamp()
    except (OverflowError, ValueError):
        return float("inf")


def _expiry(request: web.Request, record: SessionRecord) -> int:
    """Links work from now until token_ttl_hours after the later of now and the start time."""
    now = request.app[CLOCK]()
    start = now
    if record.scheduled_start is not None:  # bounded on creation; older records too here
        start = min(max(now, _timestamp(record.scheduled_start)), now + SCHEDULE_AHEAD_S)
    return int(start + request.app[SETTINGS].token_ttl_hours * 3600)


def _link(request: web.Request, record: SessionRecord, grant: tokens.SessionGrant) -> str:
    settings = request.app[SETTINGS]
    base = (settings.public_url or str(request.url.origin())).rstrip("/")
    return f"{base}/s/{record.id}#t={tokens.issue(settings.secret, grant)}"


async def session_json(
    request: web.Request, record: SessionRecord, caller: Caller
) -> dict[str, Any]:
    """The record with its links; the facilitator link names the caller's account."""
    expires = _expiry(request, record)

    def grant(
        role: Role,
        facilitator_id: str | None = None,
        invite_token_id: str | None = None,
        link_id: str | None = None,
    ) -> tokens.SessionGrant:
        return tokens.SessionGrant(
            record.id,
            record.title,
            role,
            expires,
            facilitator_id=facilitator_id,
            invite_token_id=invite_token_id,
            link_id=link_id,
        )

    store, secret = request.app[STORE], request.app[SETTINGS].secret
    me = caller.facilitator.id if caller.facilitator else record.created_by
    account = caller.facilitator or (await store.get_facilitator(me) if me else None)

    def leader(role: Role, facilitator_id: str | None = None, link_id: str | None = None) -> str:
        """A leader's link: it ends with the account's access (tokens.SessionGrant)."""
        made = grant(role, facilitator_id=facilitator_id, link_id=link_id)
        if account is not None:  # else made with the API key for no account: nothing to follow
            made = replace(made, issued_by=account.id, account_version=account.token_version)
        return _link(request, record, made)

    general = await links.general_link_id(store, secret, record.id)
    data: dict[str, Any] = asdict(record)
    data["session_id"] = data.pop("id")
    data["expires_at"] = datetime.fromtimestamp(expires, UTC).isoformat()
    data["facilitator_url"] = leader(Role.FACILITATOR, facilitator_id=me)
    data["cofacilitator_url"] = leader(Role.COFACILITATOR, link_id=general)
    data["invite_url"] = _link(request, record, grant(Role.PARTICIPANT, link_id=general))
    invites = []
    if record.group_id is not None:
        for invite in await request.app[STORE].invites_of_group(record.group_id):
            if not invite.revoked:
                personal = grant(Role.PARTICIPANT, invite_token_id=invite.token_id)
                invites.append(
                    {
                        "invite_id": invite.id,
                        "label": invite.label,
                        "url": _link(request, record, personal),
                    }
                )
    data["personal_invites"] = invites
    return data


@key_or_facilitator
async def create_session(request: web.Request, caller: Caller) -> web.StreamResponse:
    body = await parse_body(request, CreateSessionRequest)
    if body.scheduled_start is not None:
        start, now = _timestamp(body.scheduled_start), request.app[CLOCK]()
        if not now - SCHEDULE_BEHIND_S <= start <= now + SCHEDULE_AHEAD_S:
            raise Refusal("invalid", "scheduled_start: from yesterday to a year from now")
    store = request.app[STORE]
    if body.group_id is not None:
        group = await store.get_group(body.group_id)
        if not caller.leads_group(group):
            # the same answer for a missing group and someone else's: nothing to probe
            raise Refusal("not_found", "group_id: no such group of yours")
    record = SessionRecord(
        id="s_" + secrets.token_urlsafe(8),
        title=body.title,
        group_id=body.group_id,
        created_by=caller.facilitator.id if caller.facilitator else None,
        waiting_room=body.waiting_room,
        scheduled_start=body.scheduled_start,
        safety_check=body.safety_check,
        created_at=request.app[CLOCK](),
    )
    await store.add_session(record)
    return web.json_response(await session_json(request, record, caller), status=201)


@key_or_facilitator
async def list_sessions(request: web.Request, caller: Caller) -> web.StreamResponse:
    """A facilitator's sessions: those they made and those of the groups they lead."""
    if caller.facilitator is None:
        raise Refusal("invalid", "listing sessions needs a signed-in facilitator")
    store = request.app[STORE]
    records = {r.id: r for r in await store.sessions_created_by(caller.facilitator.id)}
    for group in await store.groups_of(caller.facilitator.id):
        records.update((r.id, r) for r in await store.sessions_of_group(group.id))
    ordered = sorted(records.values(), key=lambda r: (r.created_at, r.id), reverse=True)
    return web.json_response(
        {"sessions": [await session_json(request, r, caller) for r in ordered]}
    )


@key_or_facilitator
async def get_session(request: web.Request, caller: Caller) -> web.StreamResponse:
    record = await led_session(request, caller)
    return web.json_response(await session_json(request, record, caller))


@key_or_facilitator
async def replace_invite_link(request: web.Request, caller: Caller) -> web.StreamResponse:
    """Revoke the general invite and co-facilitator links (a running session too): links
    already sent stop joining, people already in stay. Answers the session with new links."""
    record = await led_session(request, caller)
    await parse_body(request, EmptyRequest)
    store = request.app[STORE]
    await links.replace_general_link(store, request.app[SETTINGS].secret, record.id)
    await store.append_audit(
        AuditEntry(
            record.id, caller.who, "leader", "replace_link", None, {}, request.app[CLOCK](), "ok"
        )
    )
    return web.json_response(await session_json(request, record, caller))


@key_or_facilitator
async def session_audit(request: web.Request, caller: Caller) -> web.StreamResponse:
    record = await led_session(request, caller)
    try:
        limit = int(request.query.get("limit", "100"))
    except ValueError:
        limit = -1
    if not 1 <= limit <= AUDIT_LIMIT_MAX:
        raise Refusal("invalid", f"limit: a whole number from 1 to {AUDIT_LIMIT_MAX}")
    entries = await request.app[STORE].audit_of_session(record.id, limit)
    names = await _names_in(request, record, entries)
    return web.json_response(
        {
            "entries": [
                {
                    **asdict(e),
                    "actor_name": names.get(e.actor_id, (None, None))[0],
                    "target_name": names.get(e.target_id or "", (None, None))[0],
                    "target_role": names.get(e.target_id or "", (None, None))[1],
                }
                for e in entries
            ]
        }
    )


async def _names_in(
    request: web.Request, record: SessionRecord, entries: list[AuditEntry]
) -> dict[str, tuple[str, str]]:
    """Id -> (name, role) as the leaders saw them: the session's people by the names they had in
    it (its summary), leaders acting through the console by their account's name."""
    summary = await summary_of_session(request.app, record.id)
    people = summary["participants"] if summary else []
    names = {p["id"]: (str(p["name"]), str(p["role"])) for p in people}
    for fid in {e.actor_id for e in entries} - set(names):
        account = await request.app[STORE].get_facilitator(fid)
        if account is not None:
            names[fid] = (account.display_name, "facilitator")
    return names


def invite_json(invite: Invite) -> dict[str, Any]:
    """Everything but the token id, which only ever travels inside signed links."""
    data = asdict(invite)
    del data["token_id"]
    return data


@key_or_facilitator
async def list_invites(request: web.Request, caller: Caller) -> web.StreamResponse:
    group = await led_group(request, caller)
    invites = await request.app[STORE].invites_of_group(group.id)
    return web.json_response({"invites": [invite_json(i) for i in invites]})


@key_or_facilitator
async def create_invite(request: web.Request, caller: Caller) -> web.StreamResponse:
    group = await led_group(request, caller)
    body = await parse_body(request, InviteRequest)
    invite = Invite(
        id="i_" + secrets.token_urlsafe(8),
        group_id=group.id,
        label=body.label,
        token_id="it_" + secrets.token_urlsafe(12),
        created_at=request.app[CLOCK](),
    )
    await request.app[STORE].add_invite(invite)
    return web.json_response(invite_json(invite), status=201)


@key_or_facilitator
async def revoke_invite(request: web.Request, caller: Caller) -> web.StreamResponse:
    store = request.app[STORE]
    group = await store.get_group(request.match_info["group_id"])
    invite = await store.get_invite(request.match_info["invite_id"])
    if (
        group is None
        or not caller.leads_group(group)
        or invite is None
        or invite.group_id != group.id
    ):
        raise Refusal("not_found", "no such invite in a group of yours")
    revoked = await store.revoke_invite(invite.id)
    return web.json_response(invite_json(revoked or invite))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/sessions", create_session)
    app.router.add_get("/api/sessions", list_sessions)
    app.router.add_get("/api/sessions/{session_id}", get_session)
    app.router.add_get("/api/sessions/{session_id}/audit", session_audit)
    app.router.add_post("/api/sessions/{session_id}/invite_link", replace_invite_link)
    app.router.add_get("/api/groups/{group_id}/invites", list_invites)
    app.router.add_post("/api/groups/{group_id}/invites", create_invite)
    app.router.add_delete("/api/groups/{group_id}/invites/{invite_id}", revoke_invite)
