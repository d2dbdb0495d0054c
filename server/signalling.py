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
from rooms.model import Role
from server import accounts, ice_servers, leader_links, links, logs, seats
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
# A move ticket (server/seats.py) outlives any session: it is single-use and bound to the seat's
# key and link, and a page moves with the one its last join gave it (a failover can come hours
# after that join).
MOVE_TICKET_TTL_S = 24 * 3600


@dataclass
class Connection:
    """One socket's state, kept in python-socketio's per-connection session."""

    sid: str
    grant: SessionGrant
    bucket: TokenBucket
    participant_id: str | None = None  # as joined; still joined while live.sids says so
    # The console's sign-in cookie sent with the socket: its account and token version (a
    # co-lead link takes the account of a signed-in leader of the session).
    signed_in: tuple[str, int] | None = None
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
        signed_in = None
        if grant.role.leads:  # a leader's link leads only for a signed-in leader
            signed_in = accounts.read_cookie_claims(
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
        connection = Connection(sid, grant, bucket, None, signed_in, address)
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
        invite = await links.may_join(store, grant)
        name, credentials = request.name or "", ""
        account = await leader_links.leader_account(store, record, conn.grant, conn.signed_in)
        if account is not None:
            # Participants should know who leads: the name and credentials of the account.
            name, credentials = account.display_name, account.credentials
        if conn.gone:
            raise Refusal("gone", "the connection closed")
        live = await self.registry.open(record)
        live.empty_since = None
        link = seats.link_of(grant, account.id if account else None)
        if request.move_ticket is not None:
            settings = self.registry.settings
            pid = seats.moved_seat(
                settings.secret, self.registry.clock(), live.session, request.move_ticket, link
            )
            return {**await self._resume(sid, conn, live, pid, None), **peers}
        presented = seats.key_hash(request.rejoin_key) if request.rejoin_key else None
        seat = continuity.recognise(live.session, presented, grant.invite_token_id, link)
        if seat is not None and seat.present and seat.by_key:
            pid = seat.participant_id
            await self._take_safety(live, pid, request)  # as given now
            return {**await self._resume(sid, conn, live, pid, request.rejoin_key), **peers}
        # Someone's seat claimed by another device (their personal link without its key) or
        # by a key made for another link: a knock, never the seat.
        another = seat.participant_id if seat is not None and seat.present else None
        foreign = continuity.claimed_elsewhere(live.session, presented, link)
        # A co-lead link is no leader by itself: without a signed-in co-lead's account it
        # knocks, and sees nobody's safety answers until the facilitator admits it.
        unvouched = grant.role is Role.COFACILITATOR and account is None
        knock = another is not None or (foreign and not grant.role.leads) or unvouched
        fresh = "p_" + secrets.token_urlsafe(6)
        pid = seat.participant_id if seat is not None and another is None else fresh
        # the page keeps a key the session knows (a return after the place lapsed, a removed
        # person's that must knock or stay out); anyone else gets a new one
        known = live.session.readmit_keys | live.session.knock_keys | live.session.blocked_keys
        kept = request.rejoin_key if presented in known and not foreign else None
        key = kept or seats.new_key()
        now = self.registry.clock()
        joined = live.session.join(
            pid,
            name,
            grant.role,
            now,
            invite_id=grant.invite_token_id,
            invite_label=invite.label if invite else "",
            credentials=credentials,
            rejoin_key_hash=seats.key_hash(key),
            link=link,
            knock=knock,
            another_device_of=another,
        )
        conn.participant_id = pid
        logs.PARTICIPANT_ID.set(pid)
        live.sids[pid] = sid
        await self._take_safety(live, pid, request)
        if invite is not None:
            live.invite_ids[pid] = invite.id
        if grant.role.leads:
            live.leaders[pid] = {
                "name": joined.participant.display_name,
                "credentials": credentials,
            }
        if not request.measure:
            live.engagement.opt_out(pid, True, now)
        admitted = joined.participant.admitted
        reply = {**self._joined_reply(live, pid, key), **peers}
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

    async def _resume(
        self, sid: str, conn: Connection, live: LiveSession, pid: str, key: str | None
    ) -> Reply:
        """Back in the seat `pid`, with the page's `key`; None: a new key (after a move: the
        ticket that carried the seat here stops working)."""
        if key is None:
            key = seats.new_key()
            person = live.session.participants[pid]
            old, person.rejoin_key_hash = person.rejoin_key_hash, seats.key_hash(key)
            if old in live.session.readmit_keys:
                live.session.readmit_keys.discard(old)
                live.session.readmit_keys.add(person.rejoin_key_hash)
        conn.participant_id = pid
        logs.PARTICIPANT_ID.set(pid)
        reply = {**self._joined_reply(live, pid, key), "resumed": True, "restored": live.restored}
        await self.effects.resume(live, pid, sid)
        return reply

    async def _take_safety(self, live: LiveSession, pid: str, request: JoinRequest) -> None:
        """The pre-join safety check, held in the live session only (never logged or saved);
        given again during the person's crisis response, a new audited entry in its record."""
        check, now = request.safety, self.registry.clock()
        if check is None:
            return
        events = crisis.give_safety(
            live.session, pid, check.location, check.contact_name, check.contact_phone, now
        )
        if events:
            role = live.session.participants[pid].role.value
            entry = AuditEntry(live.session.id, pid, role, "safety_updated", pid, {}, now, "ok")
            await self._audit(entry)
            await self.effects.publish(live, events)

    def _joined_reply(self, live: LiveSession, pid: str, key: str) -> Reply:
        """What a page needs once in: its identity, its rejoin key and move ticket, ICE
        servers, and the session as it may see it (a waiting participant sees only the
        title)."""
        person = live.session.participants[pid]
        assert person.rejoin_key_hash is not None
        ticket = seats.MoveTicket(live.session.id, pid, person.rejoin_key_hash, person.link)
        expires = int(self.registry.clock()) + MOVE_TICKET_TTL_S
        reply: Reply = {
            "ok": True,
            "participant_id": pid,
            "role": person.role.value,
            "admitted": person.admitted,
            "rejoin_key": key,
            "move_ticket": seats.issue_ticket(self.registry.settings.secret, ticket, expires),
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


def _cookie(environ: dict[str, Any], name: str) -> str | None:
    try:
        jar = SimpleCookie(environ.get("HTTP_COOKIE", ""))
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None
