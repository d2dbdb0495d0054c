"""socket.io signalling: one handler per client event (`on_<event>`), each validated, rate
limited and checked against the sender's role; what the events cause is in server/live/."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, replace
from http.cookies import CookieError, SimpleCookie
from typing import Any

import socketio

from rooms import controls
from rooms.controls import continuity, crisis
from rooms.errors import Refusal
from server import accounts, ice_servers, links, logs
from server.cluster.node import ClusterNode
from server.limits import AuditCap, JoinLimits, client_address
from server.live.effects import Effects
from server.live.fanout import Fanout
from server.live.registry import LiveSessions, slot_json
from server.live.reports import state_for
from server.live.session import LiveSession
from server.media.selection import Tile
from server.requests import (
    ClientStats,
    EmptyRequest,
    JoinRequest,
    MediaStateRequest,
    Reply,
    SdpRequest,
    TokenBucket,
    ViewRequest,
    parse,
)
from server.socket_server import DISCONNECT_REASONS
from server.store import AuditEntry, AuditOutcome
from server.tokens import SessionGrant, verify

log = logging.getLogger(__name__)

# Events that change the session, one at a time per session (media negotiation is not one:
# it can take a while and changes only the sender's own peer connections).
SESSION_CHANGES = frozenset({"join", "leave", "control", "media_state"})
RATE_PER_S = 10.0  # sustained client events per second per connection
RATE_BURST = 30.0


@dataclass
class Connection:
    """One socket's state, kept in python-socketio's per-connection session."""

    sid: str
    grant: SessionGrant
    bucket: TokenBucket
    participant_id: str | None = None  # as joined; still joined while live.sids says so
    # A leader's account: from the link, else from the console's sign-in cookie.
    facilitator_id: str | None = None
    address: str = "?"  # the client's, for the join limits (server/limits.py)
    gone: bool = False  # the socket has closed


class Signalling(socketio.AsyncNamespace):  # type: ignore[misc]  # socketio is untyped
    """The default namespace. Every client event `x` is handled by `on_x(sid, conn, data)`
    after `trigger_event` has found the connection, applied the rate limit, and before it
    turns a refusal into one error reply to the sender only."""

    def __init__(
        self,
        registry: LiveSessions,
        fanout: Fanout,
        effects: Effects,
        cluster: ClusterNode | None = None,
    ) -> None:
        super().__init__("/")
        self.registry = registry
        self.fanout = fanout
        self.effects = effects
        self.cluster = cluster  # several processes: a session joins only on its owner
        self.join_limits = JoinLimits()
        self.audit_cap = AuditCap()

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        sid, data = args[0], args[1] if len(args) > 1 else None
        handler = getattr(self, f"on_{event}", None)
        conn: Connection | None = (await self.get_session(sid)).get("connection")
        with logs.about(
            conn.grant.session_id if conn else None, conn.participant_id if conn else None
        ):
            return await self._handle(event, sid, conn, handler, data)

    async def _handle(
        self, event: str, sid: str, conn: Connection | None, handler: Any, data: Any
    ) -> Any:
        try:
            if handler is None:
                raise Refusal("unknown_event", f"unknown event {event[:40]!r}")
            if conn is None:
                raise Refusal("invalid_token", "not connected")
            if not conn.bucket.take(time.monotonic()):
                raise Refusal("rate_limited", "too many requests; slow down")
            if event in SESSION_CHANGES:
                async with self.registry.lock(conn.grant.session_id):
                    reply: Reply = await handler(sid, conn, data)
            else:
                reply = await handler(sid, conn, data)
            return reply
        except Refusal as exc:
            log.info(
                "refused %s from %s: %s %s",
                event[:40],
                conn.participant_id if conn else sid,
                exc.code,
                exc.message,
            )
            refused = exc.reply()
            await self.emit("error", {**refused, "event": event[:40]}, to=sid)
            return refused

    def _joined(self, conn: Connection) -> LiveSession | None:
        live = self.registry.get(conn.grant.session_id)
        if live is None or not live.is_connected(conn.participant_id, conn.sid):
            return None
        return live

    def _live(self, conn: Connection) -> tuple[LiveSession, str]:
        """The live session and participant id of someone joined (perhaps still waiting)."""
        live = self._joined(conn)
        if live is None or conn.participant_id is None:
            raise Refusal("not_joined", "join the session first")
        return live, conn.participant_id

    def _admitted_live(self, conn: Connection) -> tuple[LiveSession, str]:
        """The live session and participant id of someone admitted (not still waiting)."""
        live, pid = self._live(conn)
        if pid not in live.router.participants:
            raise Refusal("waiting", "wait until a facilitator lets you in")
        return live, pid

    # -- connection lifecycle -------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if (await self.get_session(sid)).get("connection") is not None:
            # The library refuses a second CONNECT itself; never replace a known connection.
            raise socketio.exceptions.ConnectionRefusedError("already connected")
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            grant = verify(self.registry.settings.secret, token, self.registry.clock())
            wanted = auth.get("session_id") if isinstance(auth, dict) else None
            if wanted is not None and wanted != grant.session_id:
                raise Refusal("invalid_token", "This link belongs to another session.")
        except Refusal as exc:
            log.info("refused connection %s: %s", sid, exc.code)
            raise socketio.exceptions.ConnectionRefusedError(
                exc.message, {"error": exc.code, "message": exc.message}
            ) from exc
        facilitator_id = grant.facilitator_id
        if facilitator_id is None and grant.role.leads:
            facilitator_id = accounts.read_cookie(
                self.registry.settings.secret,
                _cookie(environ, accounts.COOKIE_NAME),
                self.registry.clock(),
            )
        bucket = TokenBucket(RATE_PER_S, RATE_BURST, time.monotonic())
        address = client_address(
            environ.get("REMOTE_ADDR"),
            environ.get("HTTP_X_FORWARDED_FOR"),
            self.registry.settings.trusted_proxies,
        )
        connection = Connection(sid, grant, bucket, None, facilitator_id, address)
        await self.save_session(sid, {"connection": connection})

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        if reason not in DISCONNECT_REASONS:
            log.warning("ignored a disconnect with a reason not of the library: %s", sid)
            return
        conn: Connection | None = (await self.get_session(sid)).get("connection")
        if conn is None:
            return
        conn.gone = True  # a request still in flight must not join them any more
        async with self.registry.lock(conn.grant.session_id):
            if self._joined(conn) is not None:
                assert conn.participant_id is not None
                await self.effects.disconnected(conn.grant.session_id, conn.participant_id)

    # -- requests -------------------------------------------------------------------------

    async def on_join(self, sid: str, conn: Connection, data: Any) -> Reply:
        """Join, or come back as the same person (the page's rejoin key or the personal
        invite). Everything that can wait (store look-ups) comes first; then the session
        changes at once, with no await in between, so a connection that closes meanwhile
        leaves nobody half-joined."""
        request = parse(JoinRequest, data)
        if self._joined(conn) is not None:
            raise Refusal("invalid", "already joined")
        grant = conn.grant
        peers: Reply = {}
        if self.cluster is not None:
            # before the join limits: being sent to the owner is no join
            await self.cluster.locate(grant.session_id)
            peers["nodes"] = await self.cluster.peer_urls()  # where to go if this one dies
        token_key = f"{grant.session_id}/{grant.role}/{grant.invite_token_id or grant.link_id}"
        if not self.join_limits.allow(token_key, conn.address, time.monotonic()):
            raise Refusal("rate_limited", "too many joins; wait a minute")
        store = self.registry.store()
        record = await store.get_session(grant.session_id)
        if record is None:
            raise Refusal("not_found", "This session does not exist any more.")
        if record.ended_at is not None:
            raise Refusal("ended", "This session has ended.")
        invite_id = await links.may_join(store, grant)
        name, credentials = request.name, ""
        account = await store.get_facilitator(conn.facilitator_id) if conn.facilitator_id else None
        if account is not None and grant.role.leads:
            # Participants should know who leads: the name and credentials of the account.
            name, credentials = account.display_name, account.credentials
        if conn.gone:
            raise Refusal("gone", "the connection closed")
        live = await self.registry.open(record)
        live.empty_since = None
        pid = continuity.returning(live.session, request.rejoin_key, grant.invite_token_id)
        if pid is not None and pid in live.session.participants:
            _give_safety(live, pid, request, self.registry.clock())  # as given now
            return {**await self._resume(sid, conn, live, pid), **peers}
        pid = pid or "p_" + secrets.token_urlsafe(6)
        now = self.registry.clock()
        joined = live.session.join(
            pid,
            name,
            grant.role,
            now,
            invite_id=grant.invite_token_id,
            credentials=credentials,
            rejoin_key=request.rejoin_key,
        )
        conn.participant_id = pid
        logs.PARTICIPANT_ID.set(pid)
        live.sids[pid] = sid
        _give_safety(live, pid, request, now)
        if invite_id is not None:
            live.invite_ids[pid] = invite_id
        if grant.role.leads:
            live.leaders[pid] = {
                "name": joined.participant.display_name,
                "credentials": credentials,
            }
        if not request.measure:
            live.engagement.opt_out(pid, True, now)
        admitted = joined.participant.admitted
        reply = {**self._joined_reply(live, pid), **peers}
        log.info(
            "participant %s joined session %s as %s%s",
            pid,
            live.session.id,
            grant.role,
            "" if admitted else " (waiting)",
        )
        if admitted:
            await self.effects.enter(live, pid)
        for event in controls.events_for_join(live.session, joined):
            live.engagement.observe(event, now)
            await self.fanout.deliver(live, event, skip=pid)
        await self.registry.save_state(live)
        return reply

    async def _resume(self, sid: str, conn: Connection, live: LiveSession, pid: str) -> Reply:
        conn.participant_id = pid
        logs.PARTICIPANT_ID.set(pid)
        reply = {**self._joined_reply(live, pid), "resumed": True, "restored": live.restored}
        await self.effects.resume(live, pid, sid)
        return reply

    def _joined_reply(self, live: LiveSession, pid: str) -> Reply:
        """What a page needs once in: its identity, ICE servers, and the session as it may
        see it (a waiting participant sees only the title)."""
        person = live.session.participants[pid]
        reply: Reply = {
            "ok": True,
            "participant_id": pid,
            "role": person.role.value,
            "admitted": person.admitted,
            "ice_servers": ice_servers.for_participant(
                self.registry.settings.media, pid, self.registry.clock()
            ),
        }
        if person.admitted:
            reply.update(state_for(live, pid, self.registry.clock()))
        else:
            reply["session"] = {"id": live.session.id, "title": live.session.title}
        return reply

    async def on_publish(self, sid: str, conn: Connection, data: Any) -> Reply:
        request = parse(SdpRequest, data)
        live, pid = self._admitted_live(conn)
        answer = await live.router.publish(pid, request.sdp)
        return {"ok": True, "sdp": answer}

    async def on_subscribe(self, sid: str, conn: Connection, data: Any) -> Reply:
        parse(EmptyRequest, data)
        live, pid = self._admitted_live(conn)
        offer, slots = await live.router.subscribe(pid)
        return {"ok": True, "sdp": offer, "slots": [slot_json(s) for s in slots]}

    async def on_subscribe_answer(self, sid: str, conn: Connection, data: Any) -> Reply:
        request = parse(SdpRequest, data)
        live, pid = self._admitted_live(conn)
        await live.router.subscribe_answer(pid, request.sdp)
        return {"ok": True}

    async def on_view(self, sid: str, conn: Connection, data: Any) -> Reply:
        """The tiles the sender's page shows: its own subscription gets only their video."""
        request = parse(ViewRequest, data)
        live, pid = self._admitted_live(conn)
        live.router.set_view(
            pid, (Tile(t.participant_id, t.width, t.height) for t in request.tiles)
        )
        return {"ok": True}

    async def on_media_state(self, sid: str, conn: Connection, data: Any) -> Reply:
        request = parse(MediaStateRequest, data)
        live, pid = self._live(conn)
        updated = live.session.set_media_state(pid, request.audio, request.video)
        # The server enforces the participant's own mute too: muted audio is not forwarded.
        for kind, on in (("audio", request.audio), ("video", request.video)):
            if on is not None and pid in live.router.participants:
                live.router.set_paused(pid, kind, not on)
        if request.audio is False:
            live.forget_speaker(pid)
        live.engagement.observe(updated, self.registry.clock())
        await self.fanout.deliver(live, updated)
        return {"ok": True}

    async def on_control(self, sid: str, conn: Connection, data: Any) -> Reply:
        """A facilitator or participant command, checked by the domain against the sender's
        role and the session's state; its effects on media happen here, at once."""
        live, pid = self._live(conn)
        actor = live.session.participants.get(pid)
        action = controls.audit_action(data.get("action") if isinstance(data, dict) else None)
        target = data.get("target") if isinstance(data, dict) else None
        known = isinstance(target, str) and (
            target in live.session.participants or target in live.session.removed
        )
        entry = AuditEntry(
            session_id=live.session.id,
            actor_id=pid,
            actor_role=actor.role.value if actor else "unknown",
            action=action,
            target_id=target if known else ("unknown" if target is not None else None),
            detail={},
            at=self.registry.clock(),
            outcome="ok",
        )
        try:
            command = controls.parse_command(data)
            events = controls.apply(live.session, pid, command, self.registry.clock())
        except Refusal as exc:
            refused: AuditOutcome = "invalid"
            if exc.code == "forbidden":
                refused = "forbidden"
            elif exc.code == "not_found":
                refused = "not_found"
            # refused attempts are audited too
            await self._audit(replace(entry, outcome=refused))
            raise
        await self._audit(entry)
        await self.effects.publish(live, events)
        return {"ok": True}

    async def _audit(self, entry: AuditEntry) -> None:
        await self.audit_cap.write(self.registry.store(), entry)

    async def on_client_stats(self, sid: str, conn: Connection, data: Any) -> Reply:
        report = parse(ClientStats, data)
        live, pid = self._admitted_live(conn)
        live.quality.client_report(
            pid, {"at": self.registry.clock(), **report.model_dump(exclude_none=True)}
        )
        return {"ok": True}

    async def on_restart_media(self, sid: str, conn: Connection, data: Any) -> Reply:
        """The page's peer connections failed or its network changed: close them on the
        server so that it can publish and subscribe anew, in the same room (aiortc has no
        ICE restart, so a fresh pair of connections is the recovery)."""
        parse(EmptyRequest, data)
        live, pid = self._admitted_live(conn)
        person = live.session.participants[pid]
        await live.router.reset(pid, person.room_id, person.stepped_away)
        return {"ok": True}

    async def on_leave(self, sid: str, conn: Connection, data: Any) -> Reply:
        parse(EmptyRequest, data)
        live, pid = self._live(conn)
        await self.effects.depart(live.session.id, pid)
        self.fanout.close_later(sid)
        return {"ok": True}


def _give_safety(live: LiveSession, pid: str, request: JoinRequest, now: float) -> None:
    """The pre-join safety check, held in the live session only (never logged or saved)."""
    if request.safety is not None:
        check = request.safety
        crisis.give_safety(
            live.session, pid, check.location, check.contact_name, check.contact_phone, now
        )


def _cookie(environ: dict[str, Any], name: str) -> str | None:
    try:
        jar = SimpleCookie(environ.get("HTTP_COOKIE", ""))
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None
